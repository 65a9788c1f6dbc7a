// Golden digests: the engine's simulated results pinned bit for bit. Study points (every policy,
// paging, lying and honest H_LOCAL, several SMT modes and TLB geometries, cost overrides) and
// machine-op streams (random replacement) run, and a SHA-256 is taken of every op slot and counter
// after each batch and of the whole simulated state at the end, wherever the layout puts it: counters, cycles,
// clocks, TLBs, provenance, HPTs, revmaps, rmaps, frame tables, the fabric calendar, violations.
// Performance work must leave every digest unchanged. The digests were recorded before the hot
// paths were optimised (issue 5); `HPTLAB_GOLDEN_WRITE=1 npx vitest run test/golden.test.ts`
// rewrites the fixture — only do that for a deliberate change of the model, never to make this pass.
import { describe, expect, test } from "vitest";
import { createHash, type Hash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { Machine } from "../src/engine/machine.js";
import { OP_BYTES, STATS_BYTES, G, GF_LIVE, GF_QEMU, GUEST_BYTES, REC } from "../src/engine/layout.js";
import { runWorkload, DEFAULT_WORKLOAD, type PointRun } from "../src/workload/synthetic.js";
import { makeHpte, H_AVPN, H_LOCAL } from "../src/hpte.js";

const FIXTURE = new URL("./fixtures/golden-digests.json", import.meta.url);
const WRITE = process.env.HPTLAB_GOLDEN_WRITE === "1";

/**
 * Hash, after every batch run on any machine while `f` runs, its op slots and the counters the host
 * may read between batches: the global stats, the first 8 guests' stats and every cpu's clock and cycles.
 */
function withOpHashing<T>(h: Hash, f: () => T): T {
  const orig = Machine.prototype.runOps;
  Machine.prototype.runOps = function (this: Machine, count: number): void {
    orig.call(this, count);
    const p = this.plan;
    const region = (name: string) => p.regions.find((r) => r.name === name)!;
    h.update(new Uint8Array(this.memory.buffer, p.ops, count * OP_BYTES));
    h.update(new Uint8Array(this.memory.buffer, p.stats, STATS_BYTES));
    h.update(new Uint8Array(this.memory.buffer, p.guestStats, 8 * STATS_BYTES));
    h.update(new Uint8Array(this.memory.buffer, p.cpuTab, region("cpuTab").bytes));
  };
  try {
    return f();
  } finally {
    Machine.prototype.runOps = orig;
  }
}

/**
 * Everything the engine keeps, independent of where it is placed (so the layout may change): the
 * header's values (not its addresses), every fixed region by name, every guest descriptor with its
 * address fields zeroed, and each live guest's HPT, revmap, rmap, frame table and KVM tables.
 */
const HEADER_VALUES: [number, number][] = [[0, 48], [64, 68], [88, 96], [120, 124], [128, 256]];
/** Header bytes of accelerators (the frames-in-use bitmap's address and search hint), hashed as zeros. */
const HEADER_ACCEL: [number, number] = [136, 144];
const DESC_ADDRESSES = [G.HPT, G.REVMAP, G.RMAP, G.FRAMES, G.VCPU_TAB, G.VCORE_TAB, G.NEED_FLUSH, G.LAST_VCPU, G.DEFER, G.IPI_MASK, G.BATCH];
function stateDigest(m: Machine): string {
  const h = createHash("sha256");
  const buf = m.memory.buffer;
  const p = m.plan;
  const bytes = (off: number, len: number) => new Uint8Array(buf, off, len);
  const u32 = new Uint32Array(buf);
  for (const [a, b] of HEADER_VALUES) {
    const v = new Uint8Array(bytes(p.header + a, b - a));
    if (a <= HEADER_ACCEL[0] && HEADER_ACCEL[1] <= b) v.fill(0, HEADER_ACCEL[0] - a, HEADER_ACCEL[1] - a);
    h.update(v);
  }
  for (const r of p.regions) {
    if (r.name === "header" || r.name === "tlbFp" || r.name === "frameUsed") continue; // accelerators, not state
    h.update(r.name);
    if (r.name !== "guests") { h.update(bytes(r.offset, r.bytes)); continue; }
    for (let slot = 0; slot < p.maxGuests; slot++) {
      const d = new Uint8Array(bytes(r.offset + slot * GUEST_BYTES, GUEST_BYTES));
      for (const f of DESC_ADDRESSES) d.fill(0, f, f + 4);
      h.update(d);
    }
  }
  for (let slot = 0; slot < p.maxGuests; slot++) {
    const g = (p.guests + slot * GUEST_BYTES) / 4;
    const field = (f: number) => u32[g + f / 4]!;
    if ((field(G.FLAGS) & GF_LIVE) === 0) continue;
    const kvm = (field(G.FLAGS) & GF_QEMU) === 0;
    const hpt = 2 ** field(G.HPT_ORDER);
    const pages = field(G.RAM_HOST_PAGES);
    const parts: [string, number, number][] = [
      ["hpt", field(G.HPT), hpt], ["revmap", field(G.REVMAP), hpt],
      ["rmap", field(G.RMAP), kvm ? pages * 8 : 0], ["frames", field(G.FRAMES), kvm ? pages * 4 : 0],
      ["vcpus", field(G.VCPU_TAB), field(G.VCPUS) * REC.VCPU_BYTES], ["vcores", field(G.VCORE_TAB), field(G.VCORES) * REC.VCORE_BYTES],
      ["needFlush", field(G.NEED_FLUSH), p.maskWords * 8], ["lastVcpu", field(G.LAST_VCPU), field(G.LAST_VCPU_SLOTS) * 2],
      ["deferred", field(G.DEFER), field(G.DEFER_CAP) * REC.DEFER_BYTES],
    ];
    for (const [name, off, len] of parts) { h.update(`${slot}.${name}`); h.update(bytes(off, len)); }
  }
  return h.digest("hex");
}

function summary(m: Machine) {
  const c = m.counters();
  const k = m.kvmCounters();
  const cycles = Object.values(k.cycles).reduce((a, b) => a + b, 0n);
  return `translations ${c.translations} hits ${c.tlbHits} tlbies ${c.globalTlbies} tlbiels ${c.localTlbiels} violations ${k.violations} stale ${k.staleHarmless} cycles ${cycles}`;
}

const base = (over: Partial<PointRun>): PointRun => ({
  cores: 4, smt: 4, tlbSets: 128, tlbWays: 4, policy: "need-tlb-flush", deferredCap: null, deferredOverflow: null,
  vcpus: 4, threadsPerVcore: 4, guests: 2, hLocal: "honest", pageOutsPerMop: 20000, migrationRate: 0.05,
  ops: 12000, seed: 1234, workload: DEFAULT_WORKLOAD, ...over,
});

const POINTS: Record<string, PointRun> = {
  "ntf-1vcpu-4c": base({ vcpus: 1 }),
  "ntf-64vcores-64c": base({ cores: 64, vcpus: 256, ops: 30000, seed: 7 }),
  "ntf-4vcores-16c-lying": base({ cores: 16, vcpus: 16, hLocal: "lying", guests: 3, seed: 99 }),
  "ntf38-1vcore-8c": base({ cores: 8, policy: "need-tlb-flush-3.8", hLocal: "lying", pageOutsPerMop: 2000, seed: 5 }),
  "ntf38-1vcpu-2c-bulk": base({ cores: 2, vcpus: 1, policy: "need-tlb-flush-3.8", workload: { ...DEFAULT_WORKLOAD, burstRate: 0.02, bulkShare: 1 }, seed: 11 }),
  "lastvcpu-16c-lying": base({ cores: 16, vcpus: 16, policy: "last-vcpu", hLocal: "lying", migrationRate: 0.3, seed: 3 }),
  "lastvcpu-4c-never": base({ cores: 4, vcpus: 8, policy: "last-vcpu", hLocal: "never", seed: 4 }),
  "flushalways-4c": base({ cores: 4, vcpus: 4, policy: "flush-always", pageOutsPerMop: 0, seed: 6 }),
  "deferred-flush-cap4": base({ cores: 16, vcpus: 16, policy: "deferred-va", deferredCap: 4, deferredOverflow: "flush", hLocal: "lying", seed: 8 }),
  "deferred-tlbie-cap2": base({ cores: 16, vcpus: 16, policy: "deferred-va", deferredCap: 2, deferredOverflow: "tlbie", hLocal: "lying", seed: 9 }),
  "deferred-drain-cap3": base({ cores: 8, vcpus: 16, policy: "deferred-va", deferredCap: 3, deferredOverflow: "drain", hLocal: "honest", seed: 10 }),
  "noinit-2c": base({ cores: 2, vcpus: 4, policy: "need-tlb-flush-no-init", seed: 12 }),
  "smt1-ways1-sets64": base({ cores: 8, smt: 1, threadsPerVcore: 1, vcpus: 4, tlbSets: 64, tlbWays: 1, seed: 13 }),
  "smt2-ways2-sets32": base({ cores: 8, smt: 2, threadsPerVcore: 2, vcpus: 8, tlbSets: 32, tlbWays: 2, seed: 14 }),
  "smt8-ways8-sets16": base({ cores: 4, smt: 8, threadsPerVcore: 8, vcpus: 16, tlbSets: 16, tlbWays: 8, seed: 15 }),
  "ways16-sets8": base({ cores: 4, tlbSets: 8, tlbWays: 16, vcpus: 8, seed: 16 }),
  "ways3-sets128": base({ cores: 4, tlbSets: 128, tlbWays: 3, vcpus: 8, seed: 17 }),
  "costs-override-work0": base({ cores: 16, vcpus: 16, costs: { tlbHit: 3, ptegWalk: 77, tlbieBase: 5000, coresPerChip: 2, hcall: 0 }, workload: { ...DEFAULT_WORKLOAD, workCycles: 0 }, seed: 18 }),
  "many-guests-32c": base({ cores: 32, vcpus: 64, guests: 9, hLocal: "lying", seed: 19 }),
  // violations (3 recorded) and many stale-but-harmless hits
  "lastvcpu-violations": base({ cores: 16, vcpus: 16, policy: "last-vcpu", hLocal: "lying", pageOutsPerMop: 200000, migrationRate: 0.2, ops: 20000, seed: 1, workload: { ...DEFAULT_WORKLOAD, burstRate: 0.01 } }),
};

/** Machine ops on a random-replacement machine: translations, tlbie, tlbiel, set and LPID flushes, hcalls. */
function machineOps(h: Hash, replacement: "lru" | "random", ways: number): Machine {
  const m = new Machine({ cores: 6, smt: 2, tlbSets: 16, tlbWays: ways, replacement, seed: 77, hostMemoryBytes: 2 ** 26 });
  const guests = [0, 1, 2].map((i) => m.createGuest({ ramBytes: 2 ** 22, hptOrder: 18, vcpus: 2 + i, threadsPerVcore: 2 }));
  let x = 0x9e3779b9;
  const rnd = (n: number) => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x % n; };
  const pages = guests.map((g, gi) => Array.from({ length: 200 }, (_, k) => makeHpte({ vsid: 0x300n + BigInt(gi), ea: BigInt(k) << 12n, gpa: BigInt(k % 64) << 12n })));
  const ptex = guests.map(() => new Array<bigint>(200).fill(-1n));
  return withOpHashing(h, () => {
    const b = m.batch();
    guests.forEach((g, gi) => g.runVcore(0, gi));
    for (let round = 0; round < 12; round++) {
      b.clear();
      const enters: [number, number, number][] = [];
      for (let i = 0; i < 1500; i++) {
        const gi = rnd(3);
        const g = guests[gi]!;
        const k = rnd(4) === 0 ? rnd(200) : rnd(24);
        const hp = pages[gi]![k]!;
        const r = rnd(100);
        const cpu = rnd(12);
        if (r < 60) b.translate(cpu, g.lpid, hp.slbV, (BigInt(k) << 12n) | BigInt(rnd(4096)), rnd(3) === 0 ? "store" : "load");
        else if (r < 70 && ptex[gi]![k]! < 0n) { enters.push([b.hEnter(g, 0n, hp.ptex(g.hptOrder), hp.v, hp.r, { cpu: gi * 2 }), gi, k]); ptex[gi]![k] = -2n; }
        else if (r < 78 && ptex[gi]![k]! >= 0n) { b.hRemove(g, rnd(2) ? H_AVPN | H_LOCAL : 0n, ptex[gi]![k]!, hp.v & ~0x7fn, { cpu: gi * 2 }); ptex[gi]![k] = -1n; }
        else if (r < 80) b.tlbie(g.lpid, hp.slbV, BigInt(k) << 12n);
        else if (r < 83) b.tlbiel(cpu, g.lpid, hp.slbV, BigInt(k) << 12n);
        else if (r < 84) b.flushLpid(cpu, g.lpid);
        else if (r < 98) b.work(cpu, rnd(5000));
        else b.pageOut(g, rnd(16), cpu);
      }
      b.run();
      for (const [i, gi, k] of enters) ptex[gi]![k] = b.ret(i) === 0 ? b.reg(i, 0) : -1n;
      for (let s = 0; s < 16; s += 5) m.tlbielSet(rnd(12), s, s % 2 ? "all" : guests[rnd(3)]!.lpid);
      if (round % 4 === 3) {
        // LPID recycling: the last guest goes (its entries stay, stale) and a new one takes its LPID
        const old = guests.pop()!;
        m.destroyGuest(old.lpid);
        guests.push(m.createGuest({ ramBytes: 2 ** 22, hptOrder: 18, vcpus: 3, threadsPerVcore: 2 }));
        ptex[2]!.fill(-1n);
        guests[2]!.runVcore(0, 2);
        if (round === 7) {
          // an HPT reset of a stopped guest (no tlbie: its entries go stale)
          guests[1]!.exitVcore(0);
          guests[1]!.resetHpt(3);
          guests[1]!.runVcore(0, 1);
          ptex[1]!.fill(-1n);
        }
      }
    }
    return m;
  });
}

const CASES: Record<string, (h: Hash) => Machine> = {
  ...Object.fromEntries(Object.entries(POINTS).map(([name, run]) => [name, (h: Hash) => withOpHashing(h, () => runWorkload(run).machine)])),
  "machine-ops-random-ways4": (h) => machineOps(h, "random", 4),
  "machine-ops-random-ways2": (h) => machineOps(h, "random", 2),
  "machine-ops-lru-ways4": (h) => machineOps(h, "lru", 4),
};

const expected = (() => {
  try { return JSON.parse(readFileSync(FIXTURE, "utf8")) as Record<string, { ops: string; state: string; summary: string }>; } catch { return {}; }
})();
const written: Record<string, { ops: string; state: string; summary: string }> = {};

describe("golden digests: simulated results are bit-identical to the recorded ones", () => {
  for (const [name, run] of Object.entries(CASES)) {
    test(name, () => {
      const h = createHash("sha256");
      const m = run(h);
      const got = { ops: h.digest("hex"), state: stateDigest(m), summary: summary(m) };
      written[name] = got;
      if (WRITE) {
        writeFileSync(FIXTURE, `${JSON.stringify(written, null, 1)}\n`);
        return;
      }
      expect(got).toEqual(expected[name]);
    });
  }
});

describe("golden digests: the same whether the engine reads ahead always or never (HPTLAB_LOOKAHEAD)", () => {
  for (const mode of ["always", "never"]) {
    for (const [name, run] of Object.entries(CASES)) {
      test(`${mode}: ${name}`, () => {
        if (WRITE) return;
        const before = process.env.HPTLAB_LOOKAHEAD;
        process.env.HPTLAB_LOOKAHEAD = mode;
        try {
          const h = createHash("sha256");
          const m = run(h);
          expect({ ops: h.digest("hex"), state: stateDigest(m), summary: summary(m) }).toEqual(expected[name]);
        } finally {
          if (before === undefined) delete process.env.HPTLAB_LOOKAHEAD; else process.env.HPTLAB_LOOKAHEAD = before;
        }
      });
    }
  }
});
