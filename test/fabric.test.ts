// The tlbie fabric's reservation calendar (docs/kvm-model.md, "Cost model"): the engine's search
// reads the calendar 64 slots at a time as bit masks and finds free runs with shifted ANDs
// (assembly/kvm.ts, firstFree). Its answers must be those of the plain slot-by-slot search, also
// when requests jump epochs and overwrite older reservations' slots: a model of the calendar written
// for reading, against the engine, on random programs of guest work and tlbies from several cpus.
import { describe, expect } from "vitest";
import { test, fc } from "@fast-check/vitest";
import { Machine } from "../src/engine/index.js";
import { RefKvmMachine } from "../src/reference/kvm/index.js";

const SLOTS = 65536;
const SHIFT = 7n;
const EPOCH = BigInt(SLOTS) << SHIFT; // cycles per calendar epoch

/**
 * The calendar as docs/kvm-model.md describes it: slot i holds (epoch + 1) of its last reservation,
 * and a sequence holds every slot it runs in — from t in t's own slot, from the slot's start in a
 * later one (docs/model/costs.md §4).
 */
class CalendarModel {
  readonly cal = new Uint32Array(SLOTS);
  reserve(t: bigint, hold: bigint): bigint {
    const slot = 1n << SHIFT;
    const slotsAt = (s: bigint) => (hold === 0n ? 0n : ((s === t >> SHIFT ? t % slot : 0n) + hold + slot - 1n) >> SHIFT);
    const reserved = (slot: bigint) => this.cal[Number(slot % BigInt(SLOTS))] === Number((slot / BigInt(SLOTS)) & 0xffffffffn) + 1 >>> 0;
    let s = t >> SHIFT;
    for (;;) {
      const need = slotsAt(s);
      let k = 0n;
      while (k < need && !reserved(s + k)) k++;
      if (k === need) break;
      s += k + 1n;
    }
    const need = slotsAt(s);
    for (let k = 0n; k < need; k++) this.cal[Number((s + k) % BigInt(SLOTS))] = (Number(((s + k) / BigInt(SLOTS)) & 0xffffffffn) + 1) >>> 0;
    const start = s << SHIFT;
    return start > t ? start : t;
  }
}

type Step = { cpu: number; work: bigint; tlbie: boolean };
const workArb = fc.oneof(
  { weight: 6, arbitrary: fc.bigInt({ min: 0n, max: 20_000n }) },
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: 3n * EPOCH }) },
  // land on the same calendar slots one or more epochs later
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.bigInt({ min: -3000n, max: 3000n })).map(([e, d]) => BigInt(e) * EPOCH + d) },
);
const stepArb: fc.Arbitrary<Step> = fc.record({ cpu: fc.integer({ min: 0, max: 7 }), work: workArb, tlbie: fc.boolean() });

describe("the fabric calendar's search gives the slot-by-slot answers", () => {
  test("a reservation partly overwritten an epoch later is not skipped whole", () => {
    // default costs at 8 cores: a tlbie holds the fabric 800 + 60 = 860 cycles, 7 slots of 128
    const m = new Machine({ cores: 8, smt: 1 });
    const model = new CalendarModel();
    const b = m.batch();
    /** Move cpu's clock to `at` (guest work). */
    const issue = (cpu: number, at: bigint) => {
      b.clear();
      b.work(cpu, Number(at - m.cpuCycles(cpu).clock));
      b.run();
    };
    const g = m.createGuest({ ramBytes: 2 ** 24, hptOrder: 18 });
    /** One tlbie sequence from cpu: H_ENTER, then H_REMOVE of a guest not running there (global). */
    const tlbieFrom = (cpu: number) => {
      const r = g.hEnter(0n, 8n, 0x1001n << 12n | 1n, 0x10n, { cpu }); // + 1000 cycles (hcall)
      g.hRemove(0n, r.out[0]!, 0n, { cpu }); // + 1000, then one global sequence
    };
    // cpu 0 reserves slots 781–787 of epoch 0
    issue(0, 100_000n - 2000n); // (the hcalls add 2000 cycles before the tlbie)
    tlbieFrom(0);
    expect(model.reserve(100_000n, 860n)).toBe(100_000n);
    // cpu 1, one epoch later, takes slots 784–790 of epoch 1: the same calendar entries as 784–787
    issue(1, 100_000n + EPOCH + 3n * 128n - 2000n);
    tlbieFrom(1);
    expect(model.reserve(100_000n + EPOCH + 384n, 860n)).toBe(100_000n + EPOCH + 384n);
    // cpu 2 asks in epoch 0 at slot 776: 781–783 are still taken, 784 on is free again
    issue(2, 776n * 128n - 2000n);
    tlbieFrom(2);
    const start = model.reserve(776n * 128n, 860n);
    expect(start).toBe(784n * 128n);
    expect(m.cpuCycles(2).clock).toBe(start + 860n);
  });

  test.prop([fc.array(stepArb, { minLength: 1, maxLength: 300 }), fc.integer({ min: 100, max: 40_000 }), fc.integer({ min: 0, max: 500 })], { numRuns: 60 })(
    "cpu clocks after random work and tlbies (holds of 1 to 300+ slots, epochs crossed and overwritten)",
    (steps, tlbieBase, perChip) => {
      const m = new Machine({ cores: 8, smt: 1, costs: { tlbieBase, tlbiePerChip: perChip, coresPerChip: 4 } });
      const model = new CalendarModel();
      const hold = BigInt(tlbieBase + perChip * 2);
      const clock = new Array<bigint>(8).fill(0n);
      const b = m.batch();
      for (const st of steps) {
        b.clear();
        if (st.work > 0n) b.work(st.cpu, Number(st.work));
        clock[st.cpu] = clock[st.cpu]! + st.work;
        if (st.tlbie) {
          b.tlbie(0, 0n, 0n);
          // the machine op issues from cpu 0
          const start = model.reserve(clock[0]!, hold);
          clock[0] = start + hold;
        }
        b.run();
      }
      for (let cpu = 0; cpu < 8; cpu++) expect(m.cpuCycles(cpu).clock).toBe(clock[cpu]);
    },
  );

  test.prop([
    fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 6000 })), { minLength: 1, maxLength: 300 }),
    fc.integer({ min: 1, max: 20_000 }),
  ], { numRuns: 60 })(
    "fragmented calendars: free runs of every length, in a word, across words, before and after s",
    (steps, tlbieBase) => {
      // holds of 1 to 157 slots from 8 cpus whose clocks stay close: the calendar fills with gaps of
      // every size, so the first run that fits is often inside a 64-slot word or spans two
      const m = new Machine({ cores: 8, smt: 1, costs: { tlbieBase, tlbiePerChip: 0, hcall: 0 } });
      const model = new CalendarModel();
      const hold = BigInt(tlbieBase);
      const clock = new Array<bigint>(8).fill(0n);
      const g = m.createGuest({ ramBytes: 2 ** 24, hptOrder: 18 });
      for (const [cpu, work] of steps) {
        m.work(cpu, work);
        clock[cpu] = clock[cpu]! + BigInt(work);
        const r = g.hEnter(0n, 8n, 0x1001n << 12n | 1n, 0x10n, { cpu });
        expect(r.ret).toBe(0);
        g.hRemove(0n, r.out[0]!, 0n, { cpu });
        const start = model.reserve(clock[cpu]!, hold);
        clock[cpu] = start + hold;
      }
      for (let cpu = 0; cpu < 8; cpu++) expect(m.cpuCycles(cpu).clock).toBe(clock[cpu]);
    },
  );

  test.prop([
    fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 6000 }), fc.integer({ min: 1, max: 4 })), { minLength: 1, maxLength: 250 }),
    fc.integer({ min: 1, max: 8000 }),
    fc.integer({ min: 0, max: 3000 }),
  ], { numRuns: 150 })(
    "sequences of 1 to 4 tlbies (holds of different lengths) in a fragmented calendar: the search skips no run a longer or shorter one could use",
    (steps, tlbieBase, tlbieExtra) => {
      // an H_BULK_REMOVE of k entries is one sequence of k tlbies: tlbieBase + tlbieExtra·(k − 1) cycles,
      // so the gaps one length leaves are tried by the others (a search that skipped gaps too short
      // for one length, and used that for another, fails this)
      const m = new Machine({ cores: 8, smt: 1, costs: { tlbieBase, tlbiePerChip: 0, tlbieExtra, hcall: 0 } });
      const model = new CalendarModel();
      const clock = new Array<bigint>(8).fill(0n);
      const g = m.createGuest({ ramBytes: 2 ** 24, hptOrder: 18 });
      for (const [cpu, work, k] of steps) {
        m.work(cpu, work);
        clock[cpu] = clock[cpu]! + BigInt(work);
        const words: bigint[] = [];
        for (let i = 0; i < k; i++) {
          const r = g.hEnter(0n, 8n, (0x1001n + BigInt(i)) << 12n | 1n, 0x10n, { cpu });
          expect(r.ret).toBe(0);
          words.push(0x4000000000000000n | r.out[0]!, 0n);
        }
        if (k < 4) words.push(0xc000000000000000n, 0n);
        expect(g.hBulkRemove(words, { cpu }).ret).toBe(0);
        const hold = BigInt(tlbieBase + tlbieExtra * (k - 1));
        const start = model.reserve(clock[cpu]!, hold);
        clock[cpu] = start + hold;
      }
      for (let cpu = 0; cpu < 8; cpu++) expect(m.cpuCycles(cpu).clock).toBe(clock[cpu]);
    },
  );

  test.prop([fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), workArb), { minLength: 1, maxLength: 400 })], { numRuns: 40 })(
    "many cpus issuing at once queue on the fabric exactly as the model does",
    (steps) => {
      const m = new Machine({ cores: 8, smt: 1 });
      const model = new CalendarModel();
      const hold = 800n + 60n * 1n; // defaults: 800 + 60·⌈8 / 8⌉
      const clock = new Array<bigint>(8).fill(0n);
      // page-outs are host work on a cpu: use the tlbie of one guest HPTE per step through a guest
      const g = m.createGuest({ ramBytes: 2 ** 24, hptOrder: 18 });
      for (const [cpu, work] of steps) {
        const w = work % 50_000n;
        m.work(cpu, Number(w));
        clock[cpu] = clock[cpu]! + w;
        // an H_REMOVE of an absent entry costs the hcall only; an H_ENTER + H_REMOVE pair issues one tlbie
        const r = g.hEnter(0n, 8n, 0x1001n << 12n | 1n, 0x10n, { cpu });
        expect(r.ret).toBe(0);
        clock[cpu] = clock[cpu]! + 1000n;
        g.hRemove(0n, r.out[0]!, 0n, { cpu });
        clock[cpu] = clock[cpu]! + 1000n;
        const start = model.reserve(clock[cpu]!, hold);
        clock[cpu] = start + hold;
      }
      for (let cpu = 0; cpu < 8; cpu++) expect(m.cpuCycles(cpu).clock).toBe(clock[cpu]);
    },
  );
});

// ── a sequence holds every slot it runs in (docs/model/costs.md §4): none overlaps another ──

describe("a sequence that starts inside a slot holds the slot its tail runs in", () => {
  for (const [name, make] of [["engine", (c: ConstructorParameters<typeof Machine>[0]) => new Machine(c)], ["reference", (c: ConstructorParameters<typeof Machine>[0]) => new RefKvmMachine(c)]] as const) {
    test(`${name}: [100, 300) holds slots 0–2, so a sequence issued at 256 starts at 384`, () => {
      // one global sequence of 200 cycles (tlbieBase 200, tlbiePerChip 0), hcalls free
      const m: AnyM = make({ cores: 8, smt: 1, costs: { tlbieBase: 200, tlbiePerChip: 0, hcall: 0 } });
      const g = m.createGuest({ ramBytes: 2 ** 24, hptOrder: 18 });
      const at = (cpu: number, t: bigint) => {
        m.work(cpu, Number(t - m.cpuCycles(cpu).clock));
        const r = g.hEnter(0n, 8n, 0x1001n << 12n | 1n, 0x10n, { cpu });
        expect(r.ret).toBe(0);
        expect(m.cpuCycles(cpu).clock).toBe(t);
        g.hRemove(0n, r.out[0]!, 0n, { cpu });
      };
      at(0, 100n);
      expect(m.cpuCycles(0).clock).toBe(300n); // no wait: [100, 300), slots 0, 1 and 2
      at(1, 256n);
      // slot 2 (256–383) is held by the first sequence's tail (256–299): the next free slot is 3
      expect(m.cpuCycles(1).clock).toBe(384n + 200n);
      expect(m.cpuCycles(1).cycles.tlbieWait).toBe(128n);
      // [384, 584) holds slots 3 and 4 (384–639): a sequence issued at 640 (slot 5) does not wait
      at(2, 640n);
      expect(m.cpuCycles(2).clock).toBe(840n);
      expect(m.cpuCycles(2).cycles.tlbieWait).toBe(0n);
    });
  }

  test.prop([fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.bigInt({ min: 0n, max: 5_000n })), { minLength: 2, maxLength: 200 }), fc.integer({ min: 1, max: 2_000 })], { numRuns: 60 })(
    "on the exclusive fabric no two sequences overlap, whatever their starts inside slots (engine)",
    (steps, tlbieBase) => {
      // every clock stays inside the calendar's first epoch (65,536 × 128 cycles), where nothing is forgotten
      const m = new Machine({ cores: 8, smt: 1, costs: { tlbieBase, tlbiePerChip: 0, hcall: 0 } });
      const g = m.createGuest({ ramBytes: 2 ** 24, hptOrder: 18 });
      const hold = BigInt(tlbieBase);
      const runs: [bigint, bigint][] = [];
      for (const [cpu, work] of steps) {
        m.work(cpu, Number(work));
        const r = g.hEnter(0n, 8n, 0x1001n << 12n | 1n, 0x10n, { cpu });
        expect(r.ret).toBe(0);
        g.hRemove(0n, r.out[0]!, 0n, { cpu });
        const end = m.cpuCycles(cpu).clock;
        runs.push([end - hold, end]);
      }
      runs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      for (let i = 1; i < runs.length; i++) expect(runs[i]![0] >= runs[i - 1]![1], `[${runs[i - 1]}] and [${runs[i]}] overlap`).toBe(true);
    },
  );
});

// ── the concurrent fabric (docs/model/costs.md §8): hand-derived timelines on the engine and the reference ──

type Fab = { model?: "exclusive" | "concurrent"; lockScope?: "none" | "vm" | "machine"; inFlight?: number; senderSlowdown?: number };
type AnyM = Machine | RefKvmMachine;
const ENGINES: [string, (cfg: ConstructorParameters<typeof Machine>[0]) => AnyM][] = [
  ["engine", (cfg) => new Machine(cfg)],
  ["reference", (cfg) => new RefKvmMachine(cfg)],
];

/**
 * Each issue is [cpu, guest]: at that cpu's clock, an H_ENTER + H_REMOVE of the guest (hcall = 0),
 * i.e. one global sequence of 1024 cycles (tlbieBase 1024, tlbiePerChip 0): exactly 8 calendar slots.
 */
function timeline(make: (cfg: ConstructorParameters<typeof Machine>[0]) => AnyM, fabric: Fab, issues: [number, number][], guests = 3) {
  const m = make({ cores: 8, smt: 1, costs: { tlbieBase: 1024, tlbiePerChip: 0, hcall: 0 }, fabric });
  const gs = Array.from({ length: guests }, () => m.createGuest({ ramBytes: 2 ** 24, hptOrder: 18 }));
  for (const [cpu, gi] of issues) {
    const g = gs[gi]!;
    const r = g.hEnter(0n, 8n, 0x1001n << 12n | 1n, 0x10n, { cpu });
    expect(r.ret).toBe(0);
    g.hRemove(0n, r.out[0]!, 0n, { cpu });
  }
  const k = m.kvmCounters();
  return {
    clocks: Array.from({ length: 4 }, (_, cpu) => m.cpuCycles(cpu).clock),
    wait: k.cycles.tlbieWait, lockWait: k.tlbieLockWaitCycles, tlbie: k.cycles.tlbie, waits: k.tlbieWaits, fabricFree: m.fabricFreeAt,
  };
}

describe.each(ENGINES)("the concurrent fabric, hand-derived timelines (%s)", (_name, make) => {
  const conc = (f: Fab): Fab => ({ model: "concurrent", ...f });

  test("two VMs at the same cycle under per-VM locks: no lock wait, both on the fabric, the second 50% slower", () => {
    const r = timeline(make, conc({ lockScope: "vm", inFlight: 2, senderSlowdown: 50 }), [[0, 0], [1, 1]]);
    // cpu 0: slots 0–7, alone: 0 → 1024. cpu 1: slots 0–7 hold one sequence (< 2): starts at 0,
    // shares with 1, takes 1024 + 1024·50·1/100 = 1536.
    expect(r.clocks).toEqual([1024n, 1536n, 0n, 0n]);
    expect([r.wait, r.lockWait, r.waits]).toEqual([0n, 0n, 0n]);
    expect(r.tlbie).toBe(1024n + 1536n);
    expect(r.fabricFree).toBe(1536n);
  });

  test("the same VM from two cpus at the same cycle: the second waits for kvm->arch.tlbie_lock, all of it lock", () => {
    const r = timeline(make, conc({ lockScope: "vm", inFlight: 2, senderSlowdown: 50 }), [[0, 0], [1, 0]]);
    // cpu 1 takes the lock at 1024 (cpu 0's end); slot 8 is free: starts at 1024, alone, ends 2048
    expect(r.clocks).toEqual([1024n, 2048n, 0n, 0n]);
    expect([r.wait, r.lockWait, r.waits]).toEqual([1024n, 1024n, 1n]);
  });

  test("a machine-wide lock serialises different VMs (the host's native_tlbie_lock without LOCKLESS_TLBIE)", () => {
    const r = timeline(make, conc({ lockScope: "machine", inFlight: 2, senderSlowdown: 50 }), [[0, 0], [1, 1], [2, 2]]);
    expect(r.clocks).toEqual([1024n, 2048n, 3072n, 0n]);
    expect([r.wait, r.lockWait, r.waits]).toEqual([1024n + 2048n, 1024n + 2048n, 2n]);
  });

  test("no lock, two in flight: the third VM at the same cycle waits for the fabric, all of it fabric", () => {
    const r = timeline(make, conc({ lockScope: "none", inFlight: 2, senderSlowdown: 50 }), [[0, 0], [1, 1], [2, 2]]);
    // slots 0–7 hold two sequences after cpu 1; cpu 2's first run of 8 slots with < 2 starts at slot 8
    // (the slowdown lengthens cpu 1's completion, not its slots): 1024 → 2048, alone
    expect(r.clocks).toEqual([1024n, 1536n, 2048n, 0n]);
    expect([r.wait, r.lockWait, r.waits]).toEqual([1024n, 0n, 1n]);
  });

  test("a lock wait and a fabric wait in one sequence are told apart", () => {
    // inFlight 1: cpu 0 (VM 0) takes slots 0–7 and VM 0's lock until 1024; cpu 1 (VM 1) finds 0–7
    // full and takes 8–15 (1024 → 2048); cpu 2 (VM 0) waits for VM 0's lock until 1024, then for
    // the fabric until slot 16 (2048 → 3072)
    const r = timeline(make, conc({ lockScope: "vm", inFlight: 1, senderSlowdown: 50 }), [[0, 0], [1, 1], [2, 0]]);
    expect(r.clocks).toEqual([1024n, 2048n, 3072n, 0n]);
    // cpu 1: fabric wait 1024. cpu 2: lock wait 1024 (0 → 1024), fabric wait 2048 − 1024 = 1024
    expect([r.wait, r.lockWait, r.waits]).toEqual([1024n + 2048n, 1024n, 2n]);
  });

  test("the lock is a calendar: a sequence earlier in simulated time does not queue behind a later holder", () => {
    const m = make({ cores: 8, smt: 1, costs: { tlbieBase: 1024, tlbiePerChip: 0, hcall: 0 }, fabric: conc({ lockScope: "vm", inFlight: 2, senderSlowdown: 50 }) });
    const g = m.createGuest({ ramBytes: 2 ** 24, hptOrder: 18 });
    const tlbie = (cpu: number) => {
      const r = g.hEnter(0n, 8n, 0x1001n << 12n | 1n, 0x10n, { cpu });
      g.hRemove(0n, r.out[0]!, 0n, { cpu });
    };
    m.work(0, 100_000);
    tlbie(0); // VM 0's lock: slots 781–789 (100,000 → 101,024)
    tlbie(1); // cpu 1 at 0: the lock is free there
    tlbie(2); // cpu 2 at 0: the lock is held over slots 0–7 by cpu 1: it waits until 1024
    expect([m.cpuCycles(0).clock, m.cpuCycles(1).clock, m.cpuCycles(2).clock]).toEqual([101_024n, 1024n, 2048n]);
    expect(m.kvmCounters().tlbieLockWaitCycles).toBe(1024n);
    // cpu 3 just before cpu 0's hold: slots 775–782 would overlap 781 — it waits for slot 790
    m.work(3, 775 * 128);
    tlbie(3);
    expect(m.cpuCycles(3).clock).toBe(790n * 128n + 1024n);
    expect(m.kvmCounters().tlbieLockWaitCycles).toBe(1024n + 790n * 128n - 775n * 128n);
  });

  test.prop([fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 5000 })), { minLength: 1, maxLength: 120 }), fc.integer({ min: 0, max: 300 })], { numRuns: 25 })(
    "inFlight 1 with no lock is the exclusive fabric (clocks, waits, fabric end), whatever the slowdown",
    (steps, slowdown) => {
      const run = (fabric: Fab) => {
        const m = make({ cores: 8, smt: 1, costs: { tlbieBase: 900, tlbiePerChip: 0, hcall: 0 }, fabric });
        const gs = Array.from({ length: 3 }, () => m.createGuest({ ramBytes: 2 ** 24, hptOrder: 18 }));
        for (const [cpu, gi, work] of steps) {
          m.work(cpu, work);
          const r = gs[gi]!.hEnter(0n, 8n, 0x1001n << 12n | 1n, 0x10n, { cpu });
          gs[gi]!.hRemove(0n, r.out[0]!, 0n, { cpu });
        }
        const k = m.kvmCounters();
        return { clocks: Array.from({ length: 8 }, (_, c) => m.cpuCycles(c).clock), cycles: k.cycles, waits: k.tlbieWaits, free: m.fabricFreeAt };
      };
      expect(run(conc({ lockScope: "none", inFlight: 1, senderSlowdown: slowdown }))).toEqual(run({ model: "exclusive" }));
    },
  );
});

describe("the fabric setting is validated", () => {
  test("unknown model, scope, and inFlight out of range are refused with the field's path", () => {
    expect(() => new Machine({ fabric: { model: "pipelined" as never } })).toThrow(/machine\.fabric\.model/);
    expect(() => new Machine({ fabric: { lockScope: "cpu" as never } })).toThrow(/machine\.fabric\.lockScope/);
    expect(() => new Machine({ fabric: { inFlight: 0 } })).toThrow(/machine\.fabric\.inFlight/);
    expect(() => new Machine({ fabric: { inFlight: 256 } })).toThrow(/machine\.fabric\.inFlight/);
  });
});
