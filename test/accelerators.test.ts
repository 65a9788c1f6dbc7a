// The engine's accelerators are derived from the simulated state and must always agree with it:
// the TLB fingerprints (one byte per entry: 0 when invalid, else the hash of its tag and LPID), and
// the per-LPID holder counts and core masks (exact on fill, eviction and flush), and the host's
// frames-in-use bitmap (bit f set exactly when frame f has an owner; every word below the search
// hint full). Checked after study points of every policy and after random machine ops.
import { describe, expect, test } from "vitest";
import { Machine } from "../src/engine/machine.js";
import { KvmOpError } from "../src/engine/ops.js";
import { runWorkload, DEFAULT_WORKLOAD, type PointRun } from "../src/workload/synthetic.js";
import { makeHpte, H_AVPN } from "../src/hpte.js";
import { HDR, TLBE } from "../src/engine/layout.js";

/** tlb.ts `fingerprint`: a byte in 1..255 from the tag word and the LPID. */
function fingerprint(key: bigint, lpid: number): number {
  const h = Math.imul((Number(key & 0xffffffffn) ^ Number(key >> 32n) ^ Math.imul(lpid, 0x9e3779b9)) >>> 0, 0x85ebca6b) >>> 24;
  return h === 0 ? 1 : h;
}

function checkAccelerators(m: Machine): void {
  const p = m.plan;
  const { cores, tlbSets: sets, tlbWays: ways } = m.config;
  const region = (name: string) => p.regions.find((r) => r.name === name)!;
  const u64 = m._u64;
  const u8 = new Uint8Array(m.memory.buffer);
  const u32 = m._u32;
  const tlb = region("tlb").offset / 8;
  const fp = region("tlbFp").offset;
  const held = new Map<string, number>();
  let bad = 0;
  for (let i = 0; i < sets * cores * ways; i++) {
    const w0 = u64[tlb + 2 * i]!;
    const w1 = u64[tlb + 2 * i + 1]!;
    const valid = (w0 & TLBE.VALID) !== 0n;
    const lpid = Number((w1 & TLBE.LPID) >> TLBE.LPID_SHIFT);
    const want = valid ? fingerprint(w0, lpid) : 0;
    if (u8[fp + i] !== want) bad++;
    if (valid) {
      const core = Math.floor(i / ways) % cores;
      const k = `${lpid}/${core}`;
      held.set(k, (held.get(k) ?? 0) + 1);
    }
  }
  expect(bad, "fingerprints that disagree with their entries").toBe(0);
  // holder counts and masks: exactly the valid entries of each LPID on each core
  const counts = region("lpidCount").offset / 4;
  const masks = region("lpidMask").offset / 8;
  for (let lpid = 0; lpid < p.lpidLimit; lpid++) {
    for (let core = 0; core < cores; core++) {
      const n = held.get(`${lpid}/${core}`) ?? 0;
      expect(u32[counts + lpid * cores + core], `LPID ${lpid} core ${core} count`).toBe(n);
      const bit = (u64[masks + lpid * p.maskWords + (core >> 6)]! >> BigInt(core & 63)) & 1n;
      expect(bit, `LPID ${lpid} core ${core} mask bit`).toBe(n > 0 ? 1n : 0n);
    }
  }
  // frames in use: one bit per frame, set past the last frame; the hint's words are full
  const used = region("frameUsed").offset / 8;
  const words = Math.ceil(p.hostFrames / 64);
  let wrong = 0;
  for (let f = 0; f < words * 64; f++) {
    const bit = (u64[used + (f >> 6)]! >> BigInt(f & 63)) & 1n;
    const want = f >= p.hostFrames || m.frameOwner(f) !== 0 ? 1n : 0n;
    if (bit !== want) wrong++;
  }
  expect(wrong, "frames-in-use bits that disagree with the owners").toBe(0);
  const hint = u32[(p.header + HDR.FRAME_HINT) / 4]!;
  expect(hint).toBeLessThanOrEqual(words);
  for (let i = 0; i < hint; i++) expect(u64[used + i], `bitmap word ${i} below the hint`).toBe(0xffffffffffffffffn);
}

const point = (over: Partial<PointRun>): PointRun => ({
  cores: 8, smt: 4, tlbSets: 32, tlbWays: 4, policy: "need-tlb-flush", deferredCap: null, deferredOverflow: null,
  vcpus: 16, threadsPerVcore: 4, guests: 3, hLocal: "lying", pageOutsPerMop: 20000, migrationRate: 0.1,
  ops: 8000, seed: 42, workload: DEFAULT_WORKLOAD, ...over,
});

describe("accelerators agree with the simulated state", () => {
  test.each([
    ["need-tlb-flush", point({})],
    ["last-vcpu", point({ policy: "last-vcpu", seed: 7 })],
    ["flush-always (whole-TLB flushes)", point({ policy: "flush-always", pageOutsPerMop: 0, seed: 3 })],
    ["deferred-va drain", point({ policy: "deferred-va", deferredCap: 2, deferredOverflow: "drain", seed: 5 })],
    ["2 ways", point({ tlbWays: 2, seed: 9 })],
    ["8 ways", point({ tlbWays: 8, tlbSets: 8, seed: 11 })],
  ])("after a study point: %s", (_name, run) => {
    const m = runWorkload(run).machine;
    checkAccelerators(m);
    let latest = 0n;
    for (let cpu = 0; cpu < m.cpus; cpu++) if (m.cpuCycles(cpu).clock > latest) latest = m.cpuCycles(cpu).clock;
    expect(m.makespan()).toBe(latest);
  });

  test("after random machine ops, guest destroys and HPT resets (random replacement)", () => {
    const m = new Machine({ cores: 4, smt: 2, tlbSets: 8, tlbWays: 4, replacement: "random", hostMemoryBytes: 2 ** 26 });
    let guests = [0, 1].map(() => m.createGuest({ ramBytes: 2 ** 22, hptOrder: 18 }));
    let x = 12345;
    const rnd = (n: number) => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return (x >>> 8) % n; };
    const pages = (vsid: bigint) => Array.from({ length: 64 }, (_, k) => makeHpte({ vsid, ea: BigInt(k) << 12n, gpa: BigInt(k) << 12n }));
    for (let round = 0; round < 20; round++) {
      const b = m.batch();
      for (let i = 0; i < 400; i++) {
        const gi = rnd(guests.length);
        const g = guests[gi]!;
        const h = pages(0x40n + BigInt(gi))[rnd(64)]!;
        const r = rnd(10);
        if (r < 6) b.translate(rnd(8), g.lpid, h.slbV, BigInt(rnd(64)) << 12n);
        else if (r < 7) b.hEnter(g, 0n, h.ptex(18), h.v, h.r, { cpu: rnd(8) });
        else if (r < 8) b.tlbie(g.lpid, h.slbV, BigInt(rnd(64)) << 12n);
        else if (r < 9) b.tlbiel(rnd(8), g.lpid, h.slbV, BigInt(rnd(64)) << 12n);
        else b.flushLpid(rnd(8), g.lpid);
      }
      b.run();
      for (let s = 0; s < 8; s += 3) m.tlbielSet(rnd(8), s, s % 2 ? "all" : guests[0]!.lpid);
      const g = guests[rnd(guests.length)]!;
      for (let k = 0; k < 8; k++) g.hRemove(H_AVPN, BigInt(k), 0n);
      // host paging: frames freed in the middle and taken back lowest first
      // (a page already out, or already in, is refused: KvmOpError)
      const refusedOk = (f: () => unknown) => { try { f(); } catch (e) { if (!(e instanceof KvmOpError)) throw e; } };
      for (let k = 0; k < 6; k++) refusedOk(() => g.pageOut(rnd(64), rnd(8)));
      for (let k = 0; k < 3; k++) refusedOk(() => g.pageIn(rnd(64)));
      if (round % 5 === 4) {
        m.destroyGuest(guests[1]!.lpid);
        guests = [guests[0]!, m.createGuest({ ramBytes: 2 ** 22, hptOrder: 18 })];
      }
      checkAccelerators(m);
    }
  });
});
