// The op writer's mirrors (src/workload/op-writer.ts): a mirror runs each engine call of the writer in
// calls of at most MIRROR_CALL_OPS ops, each copied from its place in the writer's buffer — and ends in
// the state the first machine reaches with the same ops in whole calls.
import { describe, expect, it } from "vitest";
import { Machine } from "../src/engine/machine.js";
import { OP } from "../src/engine/layout.js";
import { OpWriter, MIRROR_CALL_OPS } from "../src/workload/op-writer.js";
import { runWorkloads, DEFAULT_WORKLOAD, type PointRun } from "../src/workload/synthetic.js";

/** Run `f`, recording the op count of every engine call per machine. */
function callSizes<T>(f: () => T): { value: T; sizes: Map<Machine, number[]> } {
  const orig = Machine.prototype.runOps;
  const sizes = new Map<Machine, number[]>();
  Machine.prototype.runOps = function (this: Machine, count: number): void {
    orig.call(this, count);
    const s = sizes.get(this);
    if (s) s.push(count); else sizes.set(this, [count]);
  };
  try {
    return { value: f(), sizes };
  } finally {
    Machine.prototype.runOps = orig;
  }
}

/** What a study point reads of a machine: counters, KVM counters with every cost category, clocks. */
function observed(m: Machine) {
  const cpus = Array.from({ length: m.cpus }, (_, c) => m.cpuCycles(c));
  return { counters: m.counters(), kvm: m.kvmCounters(), makespan: m.makespan(), cpus, tlb0: m.tlbEntries(0) };
}

describe("OpWriter mirrors", () => {
  it("a mirror runs the writer's calls in calls of at most MIRROR_CALL_OPS ops, the same ops in the same order", () => {
    const run: PointRun = {
      cores: 8, smt: 4, tlbSets: 128, tlbWays: 4, policy: "need-tlb-flush", deferredCap: null, deferredOverflow: null,
      vcpus: 16, threadsPerVcore: 4, guests: 2, hLocal: "lying", pageOutsPerMop: 20000, migrationRate: 0.05,
      ops: 30000, seed: 31, workload: DEFAULT_WORKLOAD,
    };
    // the same policy twice: the mirror must end exactly where the first machine does
    const { value, sizes } = callSizes(() => runWorkloads([run, { ...run }]));
    const [first, mirror] = value.machines as [Machine, Machine];
    const a = sizes.get(first)!; // (createGuest's GUEST_INIT runs apart from runOps)
    const b = sizes.get(mirror)!;
    expect(Math.max(...a)).toBeGreaterThan(2 * MIRROR_CALL_OPS); // full buffers were run
    expect(Math.max(...b)).toBe(MIRROR_CALL_OPS);
    // each call of the first machine is, on the mirror, whole calls of MIRROR_CALL_OPS and the rest
    const split = a.flatMap((n) => {
      const out: number[] = [];
      for (let x = n; ; x -= MIRROR_CALL_OPS) { out.push(Math.min(x, MIRROR_CALL_OPS)); if (x <= MIRROR_CALL_OPS) break; }
      return out;
    });
    expect(b).toEqual(split);
    expect(observed(mirror)).toEqual(observed(first));
    for (const m of value.machines) m.dispose();
  });

  it("a mirror's copy is taken from each call's own place in the buffer, and an empty call stays one call", () => {
    const opts = { ramBytes: 2 ** 24, hptOrder: 18, vcpus: 4, policy: "need-tlb-flush" } as const;
    const first = new Machine({ cores: 2, smt: 4 });
    const mirror = new Machine({ cores: 2, smt: 4 });
    const g = first.createGuest(opts);
    const gm = mirror.createGuest(opts);
    const ow = new OpWriter(first, undefined, [mirror]);
    const n = 2 * MIRROR_CALL_OPS + 37;
    const pteh = (i: number) => ((0x300n + BigInt(i)) << 12n) | 1n;
    const ptel = (i: number) => (BigInt(i) << 12n) | 0x10n;
    // H_ENTERs of distinct pages into distinct PTEGs, in one call: a mirror fed the wrong ops (one
    // part twice, another never) ends with other entries in its HPT
    const { sizes } = callSizes(() => {
      for (let i = 0; i < n; i++) {
        const o = ow.op(OP.H_ENTER, i % 8, g.slot);
        const u = ow.u32;
        const w = (k: number, v: bigint) => { u[o + 2 * k] = Number(v & 0xffffffffn); u[o + 2 * k + 1] = Number(v >> 32n); };
        w(1, 0n); w(2, 0n); w(3, BigInt(i * 8)); w(4, pteh(i)); w(5, ptel(i));
        for (let k = 6; k < 16; k++) w(k, 0n);
      }
      ow.flush();
      ow.scheduled(() => {}); // nothing written: one empty call on each machine
    });
    expect(sizes.get(first)).toEqual([n, 0]);
    expect(sizes.get(mirror)).toEqual([MIRROR_CALL_OPS, MIRROR_CALL_OPS, 37, 0]);
    for (let i = 0; i < n; i++) {
      const a = g.hRead(0n, BigInt(i * 8));
      expect(a.ret).toBe(0);
      expect(a.out[0]! >> 7n).toBe(pteh(i) >> 7n); // the entry the i-th op made, in its PTEG's first slot
      expect(gm.hRead(0n, BigInt(i * 8))).toEqual(a);
    }
    expect(observed(mirror)).toEqual(observed(first));
    first.dispose();
    mirror.dispose();
  });
});
