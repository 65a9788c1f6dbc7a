// The engine's KVM layer against the plain-TypeScript reference (src/reference/kvm/): the same
// random machines, guests and op streams — guests created and destroyed, vcores placed and
// migrated, hcalls with honest and lying H_LOCAL aimed mostly at live entries, accesses,
// page-outs, page-ins, reclaim, HPT resets, guest work, cores going offline and online — under every policy and deferred-va
// cap / overflow rule, compared after EVERY op: counters, KVM counters with cycles per category,
// every cpu's clock and cycles, the fabric, violations with their provenance, TLB contents and
// stale marks per core, need_tlb_flush, the IPI mask and held frames, last_vcpu, vcpu / vcore state, deferred lists, HPTEs,
// rmap rings and frames, lazy-reuse's quarantine (held frames, epoch masks). Machines include SMT8 cores whose TLB is split between thread groups
// (docs/model/tlb.md §7.2), POWER10's one-tlbiel flush (§7.1), and guests enter 64K and 16M pages in
// their 4K segment besides 4K ones (mixed page-size segments, docs/model/translation.md §2.7: kvm-hv
// takes 64K-in-4K and refuses 16M above the host page, QEMU the reverse). HPTLAB_FUZZ_RUNS scales the number of runs; HPTLAB_TRACE_OPS=1 prints
// each op and its result (to follow a counterexample).
import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { Machine, KvmOpError, type KvmCounters } from "../src/engine/index.js";
import { POLICIES, policyByName } from "../src/index.js";
import { RefKvmMachine } from "../src/reference/kvm/index.js";
import { makeHpte, slbVsidWord, H_LOCAL, H_AVPN } from "../src/hpte.js";
import type { MachineConfigInput } from "../src/config.js";

// every op compares whole machines: a run costs ~80 ms, so HPTLAB_FUZZ_RUNS / 20 runs per case
const RUNS = Math.max(1, Math.round(Number(process.env.HPTLAB_FUZZ_RUNS ?? 200) / 20));
const PAGES = 8; // EA k·4K of the guest's segment → gpa k·64K (a larger page: the one holding EA k·4K, at gpa k·64K aligned down)
const VSID = (lpid: number) => 0x3000n + BigInt(lpid);

/** Policies to run: the engine's, plus the reference-only ones once the engine knows them. */
const POLICY_NAMES_RUN = [...POLICIES.map((p) => p.name), "need-tlb-flush-no-reset"].filter((n, i, a) => a.indexOf(n) === i && policyByName(n) !== undefined);

// ───────── what both machines offer ─────────

type AnyMachine = Machine | RefKvmMachine;
type AnyGuest = ReturnType<AnyMachine["createGuest"]>;

// ───────── generators ─────────

interface Shape {
  machine: MachineConfigInput;
  policy: string;
  deferredCap: number;
  deferredOverflow: "flush" | "tlbie" | "drain";
}

type Smt = 1 | 2 | 4 | 8;
const shapeArb: fc.Arbitrary<Shape> = fc.record({
  machine: fc.record({
    cores: fc.integer({ min: 2, max: 4 }),
    smt: fc.constantFrom<Smt>(1, 2, 4, 8, 8),
    /** TLBs per core: 2 splits an SMT8 core into POWER9/POWER10's two groups of 4 (an SMT4 core into 2 of 2). */
    tlbsPerCore: fc.constantFrom(1, 2, 2),
    /** 1: POWER10's full flush of one tlbiel, a tlbiel of any class flushing every class (docs/model/tlb.md §7.1). */
    tlbFlushSets: fc.constantFrom(0, 0, 1),
    tlbSets: fc.constantFrom(4, 16),
    tlbWays: fc.constantFrom(1, 2, 4),
    replacement: fc.constantFrom("lru" as const, "random" as const),
    seed: fc.integer({ min: 0, max: 0xffffffff }),
    hostPageShift: fc.constantFrom(16 as const, 16 as const, 12 as const),
    hostMemoryBytes: fc.constant(2 ** 24),
    violationRecords: fc.constantFrom(2, 64),
    costs: fc.record({ tlbieBase: fc.constantFrom(800, 3000, 20000), coresPerChip: fc.constantFrom(1, 8), tlbieErrata: fc.constantFrom(200, 1000) }),
    /** The POWER9 tlbie errata (docs/model/policies.md §10.3): extra tlbies in the sequences of p9-hash and p9-hash-core-tlb. */
    tlbieErrata: fc.constantFrom<("stq" | "erat")[]>([], ["erat"], ["stq", "erat"], ["stq", "erat"]),
    // the tlbie fabric (docs/model/costs.md §8): exclusive, or concurrent with every lock scope
    fabric: fc.oneof(
      fc.constant({ model: "exclusive" as const }),
      fc.record({
        model: fc.constant("concurrent" as const),
        lockScope: fc.constantFrom("none" as const, "vm" as const, "machine" as const),
        inFlight: fc.integer({ min: 1, max: 4 }),
        senderSlowdown: fc.constantFrom(0, 50, 100, 250),
      }),
    ),
  }).map(({ tlbsPerCore, tlbFlushSets, ...m }): MachineConfigInput => ({
    ...m, tlbThreadsPerGroup: Math.max(1, m.smt / tlbsPerCore) as Smt, ...(tlbFlushSets ? { tlbFlushSets } : {}),
  })),
  policy: fc.constantFrom(...POLICY_NAMES_RUN),
  deferredCap: fc.constantFrom(1, 2, 64),
  deferredOverflow: fc.constantFrom("flush" as const, "tlbie" as const, "drain" as const),
});

/**
 * H_LOCAL: never, honest (only when no other core holds the translation: "used only on the
 * current vcpu"), or always — lying whenever another core holds it. (true = always.)
 */
type HLocal = boolean | "honest";
const hLocal = fc.constantFrom<HLocal>(false, "honest", true);

type Op =
  | { t: "create"; vcpus: number; tpv: 1 | 2 | 4 | 8; qemu: boolean }
  | { t: "destroy"; g: number }
  | { t: "run"; g: number; vc: number; core: number; mask: number }
  | { t: "exit"; g: number; vc: number }
  /** size: the page's actual shift in the guest's 4K segment (16, 24: a mixed page-size HPTE). */
  | { t: "enter"; g: number; k: number; cpu: number; size?: 12 | 16 | 24 }
  | { t: "remove"; g: number; pick: number; local: HLocal; cpu: number; avpn: boolean }
  | { t: "protect"; g: number; pick: number; local: HLocal; cpu: number }
  | { t: "bulk"; g: number; picks: number[]; cpu: number }
  | { t: "access"; g: number; k: number; cpu: number; store?: boolean }
  | { t: "pageOut"; g: number; k: number; cpu: number }
  | { t: "pageIn"; g: number; k: number }
  | { t: "reclaim"; g: number; ks: number[]; cpu: number }
  | { t: "reset"; g: number; cpu: number }
  | { t: "work"; cpu: number; cycles: number }
  /** CPU hotplug of a core (ipi-tlbiel's offline trim; refused while a vcore runs there). */
  | { t: "online"; core: number; online: boolean }
  | { t: "tlbOp"; kind: "tlbiel" | "tlbie" | "flushLpid" | "tlbielSet"; g: number; k: number; cpu: number }
  /** The thread's pattern: a (possibly lying) H_LOCAL remove of a live entry, the host takes the page and gives its frame to another guest. */
  | { t: "attack"; g: number; pick: number; cpu: number; to: number };

const g = fc.nat(7);
const cpu = fc.nat(15); // "a cpu running the guest" when one exists (see pickCpu), else cpu % cpus
const k = fc.nat(PAGES - 1);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ t: fc.constant("create" as const), vcpus: fc.integer({ min: 1, max: 6 }), tpv: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const), qemu: fc.nat(6).map((n) => n === 0) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("destroy" as const), g }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant("run" as const), g, vc: fc.nat(3), core: fc.nat(3), mask: fc.constantFrom(0, 0, 1, 2, 3, 5, 8) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("exit" as const), g, vc: fc.nat(3) }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant("enter" as const), g, k, cpu, size: fc.constantFrom(12 as const, 12 as const, 12 as const, 16 as const, 24 as const) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("remove" as const), g, pick: fc.nat(20), local: hLocal, cpu, avpn: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("protect" as const), g, pick: fc.nat(20), local: hLocal, cpu }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("bulk" as const), g, picks: fc.array(fc.nat(20), { minLength: 0, maxLength: 4 }), cpu }) },
  { weight: 12, arbitrary: fc.record({ t: fc.constant("access" as const), g, k, cpu, store: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("pageOut" as const), g, k, cpu }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("pageIn" as const), g, k }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("reclaim" as const), g, ks: fc.array(k, { minLength: 1, maxLength: 4 }), cpu }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("reset" as const), g, cpu }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("work" as const), cpu, cycles: fc.integer({ min: 0, max: 50_000 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("online" as const), core: fc.nat(3), online: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("attack" as const), g, pick: fc.nat(20), cpu, to: g }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("tlbOp" as const), kind: fc.constantFrom("tlbiel" as const, "tlbie" as const, "flushLpid" as const, "tlbielSet" as const), g, k, cpu }) },
);

// ───────── one side of the run ─────────

/** One machine and what the driver knows about it (the same on both sides while they agree). */
class Side {
  readonly guests: AnyGuest[] = [];
  /** Live HPTEs entered per guest (lpid → page k → ptex). */
  readonly live = new Map<number, Map<number, bigint>>();
  constructor(readonly m: AnyMachine, readonly shape: Shape) {}

  get cpus(): number {
    return this.m.config.cores * this.m.config.smt;
  }

  guestAt(i: number): AnyGuest | undefined {
    return this.guests.length ? this.guests[i % this.guests.length] : undefined;
  }

  get tlbs(): number {
    return this.m.tlbCount;
  }

  /** Mostly a cpu running a vcpu of g (hcalls and accesses come from running vcpus), sometimes any cpu. */
  pickCpu(gu: AnyGuest, n: number): number {
    const cpus: number[] = [];
    for (let c = 0; c < this.cpus; c++) if (this.m.cpuState(c).lpid === gu.lpid) cpus.push(c);
    if (cpus.length && n % 5 !== 4) return cpus[n % cpus.length]!;
    // any cpu — but not one whose 3.8 paca kvm_vcore names a vcore its LPID's new guest does not
    // have: the engine would read past that guest's vcore table (the kernel a freed vcore), a case
    // the model leaves undefined (docs/kvm-model.md, "paca kvm_vcore after destroy")
    const ok = (c: number) => {
      const vc = this.m.cpuState(c).kvmVcore;
      const owner = vc ? this.m.guest(vc.lpid) : undefined;
      return !vc || owner === undefined || vc.vcore < owner.vcores;
    };
    for (let i = 0; i < this.cpus; i++) if (ok((n + i) % this.cpus)) return (n + i) % this.cpus;
    return -1;
  }

  /** Live entries of g, and a pick among them (mostly live, sometimes a slot that is not). */
  pickLive(gu: AnyGuest, n: number): { k: number | null; ptex: bigint } {
    const ent = [...(this.live.get(gu.lpid) ?? new Map<number, bigint>()).entries()];
    if (ent.length && n % 7 !== 6) {
      const [kk, p] = ent[n % ent.length]!;
      return { k: kk, ptex: p };
    }
    return { k: null, ptex: BigInt(n * 8 + 3) };
  }

  /** The H_LOCAL flag for an invalidation of page k of gu from cpu: honest when no other TLB (the sibling thread group's too) holds it. */
  hLocal(mode: HLocal, gu: AnyGuest, k: number | null, cpu: number): bigint {
    if (mode !== "honest") return mode ? H_LOCAL : 0n;
    if (k === null || cpu < 0) return 0n;
    const vpn4k = (VSID(gu.lpid) << 16n) | BigInt(k);
    const mine = this.m.tlbOf(cpu);
    const covers = (e: { vpn4k: bigint; pageShift: number }) => e.vpn4k === (vpn4k & ~((1n << BigInt(e.pageShift - 12)) - 1n));
    for (let t = 0; t < this.tlbs; t++) {
      if (t !== mine && this.m.tlbEntries(t).some((e) => e.lpid === gu.lpid && covers(e))) return 0n;
    }
    return H_LOCAL;
  }

  /** Apply one op; returns what it returned (for comparison), or the error. */
  apply(op: Op): unknown {
    const m = this.m;
    if (op.t === "create") {
      const tpv = Math.min(op.tpv, m.config.smt) as 1 | 2 | 4 | 8;
      const gu = m.createGuest({
        ramBytes: 2 ** 20, hptOrder: 18, vcpus: op.vcpus, threadsPerVcore: tpv, semantics: op.qemu ? "qemu" : "kvm-hv",
        policy: this.shape.policy as never, deferredCap: this.shape.deferredCap, deferredOverflow: this.shape.deferredOverflow,
      });
      this.guests.push(gu);
      this.live.set(gu.lpid, new Map());
      return gu.lpid;
    }
    if (op.t === "work") {
      m.work(op.cpu % this.cpus, op.cycles);
      return null;
    }
    if (op.t === "online") {
      m.setCoreOnline(op.core % m.config.cores, op.online);
      return null;
    }
    const gu = this.guestAt(op.g);
    if (!gu) return "no guest";
    const slb = slbVsidWord(VSID(gu.lpid));
    const hpte = (kk: number, size: 12 | 16 | 24 = 12) => makeHpte({ vsid: VSID(gu.lpid), ea: BigInt(kk) << 12n, gpa: BigInt(kk) << 16n, actualPageShift: size });
    const gfn = (kk: number) => Number((BigInt(kk) << 16n) >> BigInt(m.config.hostPageShift));
    const live = this.live.get(gu.lpid)!;
    switch (op.t) {
      case "destroy":
        m.destroyGuest(gu.lpid);
        this.guests.splice(this.guests.indexOf(gu), 1);
        this.live.delete(gu.lpid);
        return null;
      case "run": {
        // mostly a vcore that is not running onto a free core; sometimes anything (refusals)
        const idle = Array.from({ length: gu.vcores }, (_, i) => i).filter((i) => !gu.vcoreState(i).running);
        const free = Array.from({ length: m.config.cores }, (_, c) => c).filter((c) => m.cpuState(c * m.config.smt).lpid === null);
        const any = op.mask === 8 || idle.length === 0 || free.length === 0;
        const vc = any ? op.vc % (gu.vcores + 1) : idle[op.vc % idle.length]!;
        gu.runVcore(vc, any ? op.core % m.config.cores : free[op.core % free.length]!, op.mask === 8 ? 0b10000 : op.mask);
        return null;
      }
      case "exit": {
        const running = Array.from({ length: gu.vcores }, (_, i) => i).filter((i) => gu.vcoreState(i).running);
        gu.exitVcore(running.length && op.vc !== 3 ? running[op.vc % running.length]! : op.vc % gu.vcores);
        return null;
      }
      case "enter": {
        const h = hpte(op.k, op.size);
        const r = gu.hEnter(0n, h.ptex(gu.hptOrder), h.v, h.r, { cpu: this.pickCpu(gu, op.cpu) });
        if (r.ret === 0) live.set(op.k, r.out[0]!);
        return r;
      }
      case "remove": {
        const { k: kk, ptex } = this.pickLive(gu, op.pick);
        const avpn = op.avpn && kk !== null ? hpte(kk).v & ~0x7fn : 0n;
        const cpu = this.pickCpu(gu, op.cpu);
        const r = gu.hRemove(this.hLocal(op.local, gu, kk, cpu) | (op.avpn ? H_AVPN : 0n), ptex, avpn, { cpu });
        if (r.ret === 0) for (const [kk2, p] of live) if (p === ptex) live.delete(kk2);
        return r;
      }
      case "protect": {
        const { k: kk, ptex } = this.pickLive(gu, op.pick);
        const cpu = this.pickCpu(gu, op.cpu);
        return gu.hProtect(this.hLocal(op.local, gu, kk, cpu) | BigInt(op.pick & 3), ptex, 0n, { cpu });
      }
      case "bulk": {
        const ptexes = op.picks.map((p) => this.pickLive(gu, p).ptex);
        const words = ptexes.flatMap((p) => [0x4000000000000000n | p, 0n]);
        if (words.length < 8) words.push(0xc000000000000000n);
        const r = gu.hBulkRemove(words, { cpu: this.pickCpu(gu, op.cpu) });
        for (const p of ptexes) for (const [kk2, q] of live) if (q === p) live.delete(kk2);
        return r;
      }
      case "access":
        return m.access(this.pickCpu(gu, op.cpu), gu.lpid, slb, BigInt(op.k) << 12n, op.store ? "store" : "load");
      case "pageOut":
        return gu.pageOut(gfn(op.k), this.pickCpu(gu, op.cpu + 4));
      case "pageIn":
        return gu.pageIn(gfn(op.k));
      case "reclaim":
        return gu.reclaim(op.ks.map(gfn), op.cpu % this.cpus);
      case "reset":
        gu.resetHpt(op.cpu % this.cpus);
        live.clear();
        return null;
      case "attack": {
        const { k: kk, ptex } = this.pickLive(gu, op.pick);
        if (kk === null) return "no live entry";
        const r = gu.hRemove(H_LOCAL, ptex, 0n, { cpu: this.pickCpu(gu, op.cpu) });
        live.delete(kk);
        const frame = gu.frame(gfn(kk));
        const out = gu.pageOut(gfn(kk), this.pickCpu(gu, op.cpu + 1));
        const to = this.guestAt(op.to)!;
        if (to === gu || frame < 0 || to.semantics !== "kvm-hv") return [r, out];
        to.pageOut(0, 0); // the other guest gives up a page and takes the lowest free frame: this one
        return [r, out, to.pageIn(0)];
      }
      case "tlbOp": {
        const c = op.cpu % this.cpus;
        const ea = BigInt(op.k) << 12n;
        if (op.kind === "tlbiel") return m.tlbiel(c, gu.lpid, slb, ea);
        if (op.kind === "tlbie") return m.tlbie(gu.lpid, slb, ea);
        if (op.kind === "flushLpid") return m.flushLpid(c, gu.lpid);
        return m.tlbielSet(c, op.k % m.config.tlbSets, op.k & 1 ? "all" : gu.lpid);
      }
    }
  }

  /** Everything observable, as plain data. */
  snapshot(): unknown {
    const m = this.m;
    const cpus = Array.from({ length: this.cpus }, (_, c) => ({ ...m.cpuCycles(c), state: m.cpuState(c) }));
    const tlbs = Array.from({ length: this.tlbs }, (_, t) => ({ tlb: m.tlbEntries(t), stale: m.staleEntries(t) }));
    for (const { tlb } of tlbs) for (const e of tlb) if (e.basePageShift !== undefined) shapesSeen.add(`${e.pageShift}-in-${e.basePageShift} entry`);
    if (this.tlbs > m.config.cores && m.counters().tlbFills > 0n) shapesSeen.add("split TLBs filled");
    const guests = this.guests.map((gu) => {
      const ptexes = [...this.live.get(gu.lpid)!.values()];
      const pages = gu.semantics === "kvm-hv" ? Math.min(32, (2 ** 20) / 2 ** m.config.hostPageShift) : 0;
      return {
        lpid: gu.lpid,
        counters: gu.counters(),
        kvm: gu.kvmCounters(),
        needTlbFlush: gu.needTlbFlush(),
        deferred: gu.deferred(),
        quarantine: gu.quarantine(),
        ipiMask: gu.ipiMask(),
        heldFrames: gu.heldFrames(),
        vcores: Array.from({ length: gu.vcores }, (_, i) => gu.vcoreState(i)),
        vcpus: Array.from({ length: gu.vcpus }, (_, i) => gu.vcpuState(i)),
        lastVcpu: Array.from({ length: Math.ceil(this.cpus / 4) * 4 }, (_, s) => gu.lastVcpu(s)),
        hptes: ptexes.map((p) => ({ p, ...gu.hpte(Number(p)), g: gu.guestRpte(Number(p)) })),
        frames: Array.from({ length: pages }, (_, i) => ({ frame: gu.frame(i), rmap: gu.rmap(i), chain: gu.rmapChain(i) })),
      };
    });
    const owners = Array.from({ length: 160 }, (_, f) => m.frameOwner(f));
    return {
      counters: m.counters(), kvm: m.kvmCounters(), cpus, tlbs, guests, violations: m.violations(), fabric: m.fabricFreeAt,
      owners, freeFrames: m.freeFrames,
    };
  }
}

function outcome(side: Side, op: Op): unknown {
  try {
    return { ok: side.apply(op) };
  } catch (e) {
    if (e instanceof KvmOpError) {
      errorsSeen.set(`${op.t} ${e.code}`, (errorsSeen.get(`${op.t} ${e.code}`) ?? 0) + 1);
      return { refused: e.code };
    }
    errorsSeen.set(`${op.t} ${(e as Error).message}`, (errorsSeen.get(`${op.t} ${(e as Error).message}`) ?? 0) + 1);
    return { error: (e as Error).constructor.name };
  }
}

/** What the runs reached (engine counters summed over every run): the generator must reach them. */
const reached = new Map<string, bigint>();
const errorsSeen = new Map<string, number>();
/** Machine and page shapes the streams reached (TLBs split in thread groups, mixed page-size entries). */
const shapesSeen = new Set<string>();

function play(shape: Shape, ops: Op[]): { engine: Side; ref: Side } {
  const engine = new Side(new Machine(shape.machine), shape);
  const ref = new Side(new RefKvmMachine(shape.machine), shape);
  try {
    // two guests to start with
    for (const op of [{ t: "create", vcpus: 1, tpv: 1, qemu: false }, { t: "create", vcpus: 5, tpv: 4, qemu: false }] as Op[]) {
      expect(outcome(ref, op)).toEqual(outcome(engine, op));
    }
    ops.forEach((op, i) => {
      const a = outcome(engine, op);
      const b = outcome(ref, op);
      if (process.env.HPTLAB_TRACE_OPS) console.log(i, JSON.stringify(op), JSON.stringify(b, (_k, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v)));
      expect({ i, op, result: b }).toEqual({ i, op, result: a });
      expect(ref.snapshot(), `after op ${i} ${JSON.stringify(op)}`).toEqual(engine.snapshot());
    });
    const k = engine.m.kvmCounters();
    for (const [name, v] of Object.entries(k)) if (typeof v === "bigint") reached.set(name, (reached.get(name) ?? 0n) + v);
  } finally {
    (engine.m as Machine).dispose();
  }
  return { engine, ref };
}

/** Every policy; deferred-va once per overflow rule (its cap is drawn from 1, 2, 64). */
const CASES: [string, Shape["deferredOverflow"]][] = POLICY_NAMES_RUN.flatMap((p) =>
  (policyByName(p)?.params.some((x) => x.key === "deferredOverflow") ?? false) ? (["flush", "tlbie", "drain"] as const).map((o) => [p, o] as [string, Shape["deferredOverflow"]]) : [[p, "flush"] as [string, Shape["deferredOverflow"]]]);

describe("the KVM layer: engine = reference after every op", () => {
  test.each(CASES)("random op streams under %s (deferred overflow: %s)", (policy, deferredOverflow) => {
    fc.assert(
      fc.property(shapeArb.map((s) => ({ ...s, policy, deferredOverflow })), fc.array(opArb, { minLength: 10, maxLength: 100, size: "large" }), (shape, ops) => { play(shape, ops); }),
      { numRuns: RUNS },
    );
  });
});

describe("directed streams (timelines random streams rarely complete), engine = reference after every op", () => {
  const machine: MachineConfigInput = { cores: 4, smt: 4, tlbSets: 16, tlbWays: 2, hostMemoryBytes: 2 ** 24 };
  const shape = (policy: string, deferredOverflow: Shape["deferredOverflow"] = "flush", deferredCap = 1): Shape => ({ machine, policy, deferredCap, deferredOverflow });
  // guest 0: 1 vcpu; guest 1: 5 vcpus in 2 vcores (vcpus 0–3, vcpu 4)
  // (cores and cpus are picked through the driver: free cores in order, cpus running the guest)
  const stale: Op[] = [
    { t: "create", vcpus: 1, tpv: 1, qemu: false }, // guest 2: its frames are above guest 1's
    { t: "run", g: 1, vc: 0, core: 0, mask: 1 }, { t: "enter", g: 1, k: 2, cpu: 0 }, { t: "enter", g: 1, k: 3, cpu: 0 },
    { t: "run", g: 1, vc: 1, core: 1, mask: 0 }, { t: "access", g: 1, k: 2, cpu: 1 }, { t: "access", g: 1, k: 3, cpu: 1 },
    { t: "exit", g: 1, vc: 1 }, { t: "remove", g: 1, pick: 0, local: true, cpu: 0, avpn: false },
    { t: "run", g: 1, vc: 1, core: 1, mask: 0 }, { t: "access", g: 1, k: 2, cpu: 1 }, { t: "exit", g: 1, vc: 1 },
    { t: "remove", g: 1, pick: 0, local: true, cpu: 0, avpn: false }, { t: "exit", g: 1, vc: 0 },
    { t: "pageOut", g: 1, k: 3, cpu: 3 }, { t: "pageOut", g: 2, k: 0, cpu: 3 }, { t: "pageIn", g: 2, k: 0 },
    { t: "run", g: 1, vc: 1, core: 2, mask: 0 }, { t: "access", g: 1, k: 3, cpu: 1 }, { t: "access", g: 1, k: 2, cpu: 1 },
  ];
  test.each(POLICY_NAMES_RUN)("the thread's stale-TLB timeline under %s", (policy) => {
    const { ref: engine } = play(shape(policy), stale); // (equal to the engine's, which is disposed)
    if (policy === "last-vcpu") expect(engine.m.kvmCounters().violations).toBeGreaterThan(0n);
    if (policy === "last-vcpu") expect(engine.m.kvmCounters().staleHarmless).toBeGreaterThan(0n);
  });

  // SMT8 cores split into two TLBs of 4 threads (POWER9/POWER10, docs/model/tlb.md §7.2): a vcore of
  // 6 vcpus spans both groups of its core. A local remove from thread 0 leaves the copy in the
  // second group; KVM's per-core need_tlb_flush and the entry flush of thread 0's group (the
  // pre-77bbbc0cf848 bookkeeping) never reach it, so the later hit from thread 5 is stale (also a
  // 64K page in the 4K segment, one entry for the whole page).
  const split: MachineConfigInput = { cores: 4, smt: 8, tlbThreadsPerGroup: 4, tlbSets: 16, tlbWays: 2, hostMemoryBytes: 2 ** 24 };
  const spanning: Op[] = [
    { t: "create", vcpus: 6, tpv: 8, qemu: false }, // guest 2: one vcore over both thread groups of a core
    { t: "run", g: 2, vc: 0, core: 0, mask: 0 },
    { t: "enter", g: 2, k: 1, cpu: 0 }, { t: "enter", g: 2, k: 2, cpu: 0, size: 16 }, { t: "enter", g: 2, k: 5, cpu: 0 },
    { t: "access", g: 2, k: 1, cpu: 5 }, { t: "access", g: 2, k: 2, cpu: 5 }, { t: "access", g: 2, k: 3, cpu: 5 }, { t: "access", g: 2, k: 5, cpu: 1 },
    { t: "remove", g: 2, pick: 0, local: true, cpu: 0, avpn: false }, // k 1 from thread 0: group 1's copy stays
    { t: "exit", g: 2, vc: 0 }, { t: "run", g: 2, vc: 0, core: 1, mask: 0 }, { t: "access", g: 2, k: 5, cpu: 5 },
    { t: "remove", g: 2, pick: 1, local: true, cpu: 0, avpn: false }, // k 5 from core 1: core 0's bit set
    { t: "exit", g: 2, vc: 0 }, { t: "run", g: 2, vc: 0, core: 0, mask: 0 }, // entry flush of thread 0's group only
    { t: "access", g: 2, k: 1, cpu: 5 }, { t: "access", g: 2, k: 3, cpu: 5 },
    { t: "tlbOp", kind: "tlbiel", g: 2, k: 2, cpu: 4 }, { t: "tlbOp", kind: "flushLpid", g: 2, k: 0, cpu: 4 }, { t: "access", g: 2, k: 2, cpu: 5 },
    // a qemu guest's 16M page in its 4K segment: filled once, hit through the larger-page probe, removed by a tlbie of the 16M entry
    { t: "create", vcpus: 1, tpv: 1, qemu: true }, { t: "enter", g: 3, k: 3, cpu: 6, size: 24 },
    { t: "access", g: 3, k: 3, cpu: 6 }, { t: "access", g: 3, k: 3, cpu: 6 }, { t: "access", g: 3, k: 3, cpu: 2 },
    { t: "remove", g: 3, pick: 0, local: false, cpu: 6, avpn: true }, { t: "access", g: 3, k: 3, cpu: 6 },
  ];
  test.each(POLICY_NAMES_RUN)("split SMT8 TLBs: the thread's timeline, and a vcore spanning both groups, under %s", (policy) => {
    play({ machine: split, policy, deferredCap: 1, deferredOverflow: "flush" }, stale);
    const { ref } = play({ machine: split, policy, deferredCap: 1, deferredOverflow: "flush" }, spanning);
    if (policy === "need-tlb-flush") expect([ref.m.kvmCounters().entryFlushes, ref.m.kvmCounters().staleHits]).toEqual([3n, 1n]);
  });

  // every refusal of the simulated kernel, in order: f2 vcore running, f3 core busy, f1 no such
  // vcore, f4 not running, f8 HPT reset while running, f6 a qemu guest's page, f7 (f5 when pinned)
  const refusals: Op[] = [
    { t: "create", vcpus: 1, tpv: 1, qemu: true },
    { t: "run", g: 0, vc: 0, core: 0, mask: 0 }, { t: "run", g: 0, vc: 0, core: 0, mask: 8 }, { t: "run", g: 1, vc: 0, core: 0, mask: 8 },
    { t: "run", g: 1, vc: 2, core: 1, mask: 8 }, { t: "exit", g: 1, vc: 3 }, { t: "reset", g: 0, cpu: 0 },
    { t: "pageOut", g: 2, k: 0, cpu: 0 }, { t: "pageIn", g: 2, k: 0 }, { t: "pageOut", g: 1, k: 1, cpu: 0 }, { t: "pageOut", g: 1, k: 1, cpu: 0 },
  ];
  test.each(POLICY_NAMES_RUN)("every refusal under %s", (policy) => {
    play(shape(policy), refusals);
  });

  const overflow: Op[] = [
    { t: "enter", g: 1, k: 1, cpu: 0 }, { t: "enter", g: 1, k: 2, cpu: 0 }, { t: "enter", g: 1, k: 3, cpu: 0 },
    { t: "run", g: 1, vc: 0, core: 0, mask: 0 }, { t: "run", g: 1, vc: 1, core: 2, mask: 0 },
    { t: "access", g: 1, k: 1, cpu: 8 }, { t: "access", g: 1, k: 2, cpu: 8 }, { t: "access", g: 1, k: 3, cpu: 1 },
    { t: "remove", g: 1, pick: 0, local: true, cpu: 0, avpn: false }, { t: "remove", g: 1, pick: 0, local: true, cpu: 0, avpn: false },
    { t: "remove", g: 1, pick: 0, local: true, cpu: 1, avpn: false }, { t: "pageOut", g: 1, k: 3, cpu: 5 },
  ];
  // lazy-reuse (docs/model/policies.md §9): core 1 ran guest 1 and never returns, so no epoch ends; the
  // quarantine (16 frames: 1 MiB of RAM in 64K host pages) fills and the 17th page-out is eager (a tlbie)
  const lazyFill: Op[] = [
    { t: "run", g: 1, vc: 1, core: 1, mask: 0 }, { t: "enter", g: 1, k: 0, cpu: 0 }, { t: "access", g: 1, k: 0, cpu: 0 }, { t: "exit", g: 1, vc: 1 },
    { t: "run", g: 1, vc: 0, core: 0, mask: 0 },
    ...Array.from({ length: 17 }, (): Op[] => [{ t: "pageOut", g: 1, k: 0, cpu: 4 }, { t: "pageIn", g: 1, k: 0 }]).flat(),
    { t: "exit", g: 1, vc: 0 }, { t: "run", g: 1, vc: 1, core: 1, mask: 0 }, { t: "exit", g: 1, vc: 1 },
  ];
  test.each(POLICY_NAMES_RUN.filter((p) => policyByName(p)?.quarantine))("%s: a quarantine that fills up falls back to tlbie; the epoch ends when core 1 returns", (policy) => {
    const { ref } = play(shape(policy), lazyFill);
    const k = ref.m.kvmCounters();
    expect([k.quarantined, k.quarantineFallbacks, k.quarantinePeak]).toEqual([16n, 1n, 16n]);
    // lazy-reuse: the first epoch (1 frame: cores 0 and 1) ends at core 1's entry, the second (15: core 1) at its exit;
    // lazy-reuse-early frees all 16 at core 1's entry; lazy-reuse-running's epochs wait for core 0 only, and
    // the one opened while vcore 0 leaves (still running) waits for core 0's return: 15 frames stay held
    const running = policy === "lazy-reuse-running";
    expect(k.quarantineReleased).toBe(running ? 1n : 16n);
    expect(ref.guests[1]!.quarantine()).toMatchObject(running ? { closing: 15, pending: [0], mayHold: [1] } : { held: [], closing: 0, pending: [] });
  });

  test.each(["flush", "tlbie", "drain"] as const)("deferred-va's overflow rule %s with vcores running", (rule) => {
    const { ref: engine } = play(shape("deferred-va", rule), overflow);
    const k = engine.m.kvmCounters();
    expect(k.deferredOverflows).toBeGreaterThan(0n);
    if (rule === "flush") expect(k.ipis).toBe(2n);
  });

  // IPI shootdowns (a target running the guest, one running another guest, one that left), cores
  // going offline and online (a vcore refused there), and 34 page-outs: one batch flush of 32
  const pageOuts: Op[] = Array.from({ length: 34 }, (_, i): Op[] => [{ t: "pageOut", g: 1, k: 1 + (i % 3), cpu: 3 }, { t: "pageIn", g: 1, k: 1 + (i % 3) }]).flat();
  const shootdowns: Op[] = [
    { t: "run", g: 1, vc: 0, core: 0, mask: 0 }, { t: "run", g: 1, vc: 1, core: 1, mask: 0 },
    { t: "enter", g: 1, k: 1, cpu: 0 }, { t: "enter", g: 1, k: 2, cpu: 0 }, { t: "enter", g: 1, k: 3, cpu: 0 },
    { t: "access", g: 1, k: 1, cpu: 4 }, { t: "access", g: 1, k: 2, cpu: 4 }, { t: "access", g: 1, k: 3, cpu: 0 },
    { t: "exit", g: 1, vc: 1 }, { t: "run", g: 0, vc: 0, core: 1, mask: 0 },
    { t: "remove", g: 1, pick: 0, local: false, cpu: 0, avpn: false },
    { t: "online", core: 3, online: false }, { t: "run", g: 1, vc: 1, core: 3, mask: 0 }, { t: "online", core: 3, online: true },
    { t: "run", g: 1, vc: 1, core: 2, mask: 0 }, { t: "access", g: 1, k: 2, cpu: 8 }, { t: "exit", g: 1, vc: 1 },
    { t: "online", core: 2, online: false }, { t: "protect", g: 1, pick: 0, local: false, cpu: 0 },
    { t: "bulk", g: 1, picks: [0, 1], cpu: 0 }, { t: "online", core: 2, online: true },
    ...pageOuts, { t: "access", g: 1, k: 1, cpu: 0 }, { t: "destroy", g: 1 },
  ];
  test.each(POLICY_NAMES_RUN)("IPI shootdowns, cores offline and a batch flush under %s", (policy) => {
    const { ref } = play(shape(policy), shootdowns);
    const k = ref.m.kvmCounters();
    const family = policyByName(policy)!.family;
    if (family === "ipi") expect([k.ipis > 0n, k.ipiInterrupts > 0n, k.ipiOtherGuest > 0n]).toEqual([true, true, true]);
    if (family === "batched") expect([k.batchHeld, k.batchFlushes]).toEqual([34n, 1n]);
  });
});

test("the op streams reached every part of the KVM layer", () => {
  // (runs after the other tests of this file: a generator that stopped reaching a mechanism fails here;
  // meaningless when they were filtered out or cut below the default number of runs)
  if (reached.size === 0 || RUNS < 10) {
    console.log(`coverage not checked: ${reached.size === 0 ? "no op stream ran" : `${RUNS} runs per case`}`);
    return;
  }
  // (violations, harmless stale hits, IPIs and overflows need whole timelines: the directed streams have them)
  for (const name of ["violations", "staleHarmless", "ipis", "staleMarked", "entryFlushes", "fullFlushes", "tlbieWaits", "tlbieLockWaitCycles", "errataTlbies",
    "pageOutHptes", "pageIns", "hvFaults", "deferredRecords", "deferredOverflows", "deferredTlbies", "hptResets",
    "localInvalidations", "globalInvalidations", "ipiInterrupts", "ipiOtherGuest", "ipiEmpty", "ipiEmptyCycles", "batchHeld", "batchFlushes", "quarantined", "quarantineReleased", "quarantinePeak", "quarantineFallbacks", "epochFlushes"]) {
    expect(reached.get(name) ?? 0n, name).toBeGreaterThan(0n);
  }
  for (const shape of ["split TLBs filled", "16-in-12 entry", "24-in-12 entry"]) expect([...shapesSeen], shape).toContain(shape);
  for (const code of ["f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8"]) {
    expect([...errorsSeen.keys()].some((k) => k.endsWith(BigInt(`0xfffffffffffffff${code.slice(1)}`).toString())), `KVM error ${code}`).toBe(true);
  }
});
