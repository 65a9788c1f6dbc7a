/**
 * The reference model of the KVM layer (docs/kvm-model.md), in plain TypeScript, written for a
 * kernel engineer to follow: the reference machine's HPT, TLBs and hypercalls (../) plus vcores
 * placed on cores, need_tlb_flush / last_vcpu bookkeeping through the policies of ./policies/,
 * host paging through the rmap, HV faults, host reclaim, the deferred-VA list, the cycle cost model
 * with its queueing tlbie fabric, and the stale-translation detector.
 *
 * It offers the engine's host API (src/engine: Machine, Guest) so that the same code — the
 * scenarios, the differential tests — drives either. Written from the documentation (docs/
 * kvm-model.md, docs/semantics.md) and the kernel sources, not from the engine's AssemblyScript;
 * where the documentation was silent, the rule the two now share is written in docs/kvm-model.md
 * ("The reference model and the fine print").
 *
 * Reading order: cost model and TLB instructions; the detector's marks; translation with the HV
 * fault path and the detector; hcalls through the policy; vcores; host paging; inspection.
 */
import { resolveGuestOptions, resolveMachineConfig, tlbGroupCount } from "../../config.js";
import type { GuestOptions, GuestOptionsInput, MachineConfig, MachineConfigInput } from "../../config.js";
import type {
  AccessKind, CounterBlock, HcallName, HcallOptions, HcallResult, Semantics, SimGuest, SimMachine, TlbEntryView,
  TranslateResult,
} from "../../types.js";
import { KvmOpError, type KvmCounters, type StaleCause, type Verdict, type ViolationRecord } from "../../engine/index.js";
import type { CostCategory } from "../../model/costs.js";
import {
  H_BULK_REMOVE, H_ENTER, H_PRIVILEGE, H_PROTECT, H_READ, H_REMOVE, HPTE_R_C, HPTE_R_G, HPTE_R_I,
  HPTE_R_M, HPTE_R_PP0, HPTE_R_R, HPTE_R_RPN, HPTE_R_W, HPTE_R_WIMG, HPTE_V_ABSENT, HPTE_V_COMPARE,
  HPTE_V_SECONDARY, HPTE_V_VALID, RMAP_RC_SHIFT, RMAP_REFERENCED, XORSHIFT_ZERO_SEED, lowMask,
} from "../constants.js";
import { CounterSink, copyCounterBlock, newCounterBlock } from "../counters.js";
import { FRAME_HOST } from "../frames.js";
import { compareWord, htabMask, hptHash, primaryPteg, recoverVa, secondaryPteg } from "../hash.js";
import type { HcallEnv, Regs } from "../hcall-env.js";
import { kvmHBulkRemove, kvmHEnter, kvmHProtect, kvmHRead, kvmHRemove } from "../hcalls-kvmhv.js";
import { qemuHBulkRemove, qemuHEnter, qemuHProtect, qemuHRead, qemuHRemove } from "../hcalls-qemu.js";
import { Hpt } from "../hpt.js";
import { kvmHvPageShift } from "../pagesize.js";
import { vaPageOf } from "../slb.js";
import { checkInt, checkU64 } from "./checks.js";
import { RefKvmGuest } from "./guest.js";
import { CoreTlb, Xorshift32, lookupPage, sameTag, tlbSetIndex } from "../tlb.js";
import type { TlbEntry } from "../tlb.js";
import { copyKvmCounters, newCycles, newKvmCounters, type KvmCounterName } from "./counters.js";
import { FABRIC_SLOT_CYCLES, LockCalendar, SharedFabric, TlbieFabric } from "./fabric.js";
import type { Decision, KvmPolicy, Thread } from "./policy.js";
import { referencePolicy } from "./policies/index.js";
import { hasRoom, hold } from "./quarantine.js";
import type { DeferredRecord, KvmGuestState, KvmHost, VcoreState, VcpuState } from "./state.js";

// r3 of the KVM ops the simulated kernel refuses (docs/memory.md, "Op encoding").
const ERR = {
  BAD_VCORE: 0xfffffffffffffff1n, VCORE_BUSY: 0xfffffffffffffff2n, CORE_BUSY: 0xfffffffffffffff3n,
  NOT_RUNNING: 0xfffffffffffffff4n, PINNED: 0xfffffffffffffff5n, BAD_GFN: 0xfffffffffffffff6n,
  NO_FRAME: 0xfffffffffffffff7n, GUEST_RUNNING: 0xfffffffffffffff8n,
} as const;
const ERR_TEXT: Record<keyof typeof ERR, string> = {
  BAD_VCORE: "no such vcore, or no vcpu of it selected",
  VCORE_BUSY: "the vcore is already running",
  CORE_BUSY: "another vcore runs on that core",
  NOT_RUNNING: "the vcore is not running",
  PINNED: "guest memory is pinned under this policy (PPC970: no host paging)",
  BAD_GFN: "gfn is not a page of the guest's RAM (or the guest is a qemu guest)",
  NO_FRAME: "no host frame (already paged out, or none free)",
  GUEST_RUNNING: "a vcore of the guest is running (KVM refuses with -EBUSY)",
};
function refuse(what: string, code: keyof typeof ERR): never {
  throw new KvmOpError(`${what}: ${ERR_TEXT[code]}`, ERR[code]);
}

/** A TLB entry with the detector's mark: why it is stale (it never changes translation). */
interface KvmTlbEntry extends TlbEntry {
  stale: StaleCause | null;
}

/** A virtual page to invalidate (what compute_tlbie_rb recovers from an HPTE). */
interface Va {
  b: number;
  vpn4k: bigint;
  /** The actual page (the TLB entry's size); 0 when the HPTE's encoding gives no page size: the instruction is counted, removes nothing. */
  pageShift: number;
  /** The segment's base page size: pageShift but for a mixed page-size entry (docs/model/translation.md §2.7). */
  baseShift: number;
}

type Handler = (env: HcallEnv, regs: Regs) => number;
const HANDLERS: Record<Semantics, Record<HcallName, Handler>> = {
  "kvm-hv": { H_ENTER: kvmHEnter, H_REMOVE: kvmHRemove, H_PROTECT: kvmHProtect, H_READ: kvmHRead, H_BULK_REMOVE: kvmHBulkRemove },
  qemu: { H_ENTER: qemuHEnter, H_REMOVE: qemuHRemove, H_PROTECT: qemuHProtect, H_READ: qemuHRead, H_BULK_REMOVE: qemuHBulkRemove },
};
const OPCODES: Record<HcallName, number> = { H_ENTER, H_REMOVE, H_PROTECT, H_READ, H_BULK_REMOVE };

/** The invalidations of one hcall so far: each kind forms one instruction sequence for the cost model. */
interface PendingSequences {
  local: number;
  global: number;
  /** ipi-tlbiel: the VAs of this hcall's shootdown. */
  ipi: Va[];
}

/**
 * Above this many pages one request uses tlbie instead of IPIs: "a TLBIE tends to be faster than an
 * IPI+TLBIEL" (radix_tlb.c flush_type_needed(), commit 26418b36a11f, Linux 5.12); tlb_single_page_flush_ceiling = 33.
 */
const IPI_PAGE_CEILING = 33;
/** batched-reclaim: page-outs per batch flush (SWAP_CLUSTER_MAX, docs/model/policies.md §14). */
const BATCH_MAX = 32;

export class RefKvmMachine implements SimMachine, KvmHost {
  readonly config: MachineConfig;
  private readonly tlbs: CoreTlb[];
  private readonly rng: Xorshift32;
  /** Host frame → owner instance (absent = free); frame 0 is the host kernel's. */
  private readonly owner = new Map<number, number>();
  readonly hostFrames: number;
  private readonly global: CounterBlock = newCounterBlock();
  private readonly kvm: KvmCounters = newKvmCounters();
  private readonly clock: bigint[];
  private readonly cpuCycleTab: Record<CostCategory, bigint>[];
  /** What runs on each cpu: the guest and vcpu (paca kvm_vcpu), and the 3.8 paca kvm_vcore. */
  private readonly running: ({ guest: RefKvmGuest; vcpu: number } | null)[];
  private readonly pacaVcore: ({ lpid: number; vcore: number } | null)[];
  /** The vcore running on each core (POWER7: one partition per core). */
  private readonly coreVcore: ({ guest: RefKvmGuest; vcore: number } | null)[];
  /** Cores taken offline (setCoreOnline): no IPI reaches them, no vcore runs there. */
  private readonly offline: boolean[];
  private readonly fabric = new TlbieFabric();
  /** The concurrent fabric (machine.fabric.model "concurrent"), and the machine-wide tlbie lock's free time. */
  private readonly shared: SharedFabric;
  private readonly machineLock = new LockCalendar();
  private readonly violationLog: ViolationRecord[] = [];
  private readonly live = new Map<number, RefKvmGuest>();
  /** The last guest destroyed on each LPID (what a dangling 3.8 paca kvm_vcore still points at). */
  private readonly destroyed = new Map<number, RefKvmGuest>();
  private nextInstance = 1;

  constructor(input: MachineConfigInput = {}) {
    this.config = resolveMachineConfig(input);
    const c = this.config;
    // one TLB per group of tlbThreadsPerGroup threads: per core on POWER7/POWER8 (docs/model/tlb.md §7.2)
    this.tlbs = Array.from({ length: tlbGroupCount(c) }, () => new CoreTlb(c.tlbSets, c.tlbWays));
    this.rng = new Xorshift32(c.seed, XORSHIFT_ZERO_SEED);
    this.shared = new SharedFabric(c.fabric.inFlight);
    this.hostFrames = c.hostMemoryBytes / 2 ** c.hostPageShift;
    this.owner.set(0, FRAME_HOST);
    const cpus = this.cpus;
    this.clock = Array.from({ length: cpus }, () => 0n);
    this.cpuCycleTab = Array.from({ length: cpus }, () => newCycles());
    this.running = Array.from({ length: cpus }, () => null);
    this.pacaVcore = Array.from({ length: cpus }, () => null);
    this.coreVcore = Array.from({ length: c.cores }, () => null);
    this.offline = Array.from({ length: c.cores }, () => false);
  }

  get cpus(): number {
    return this.config.cores * this.config.smt;
  }
  get cores(): number {
    return this.config.cores;
  }
  get smt(): number {
    return this.config.smt;
  }
  coreOf(cpu: number): number {
    return Math.floor(cpu / this.config.smt);
  }
  /** TLBs on the machine: one per thread group (= cores when a core shares one; docs/model/tlb.md §7.2). */
  get tlbCount(): number {
    return this.tlbs.length;
  }
  /** The TLB that `cpu` uses: cpu / tlbThreadsPerGroup. */
  tlbOf(cpu: number): number {
    checkInt("cpu", cpu, this.cpus);
    return Math.floor(cpu / this.config.tlbThreadsPerGroup);
  }

  // ───────── host frames ─────────

  /** The lowest free frame, now owned by `owner`; −1 when none is free. */
  takeFrame(owner: number): number {
    for (let f = 1; f < this.hostFrames; f++) {
      if (!this.owner.has(f)) {
        this.owner.set(f, owner);
        return f;
      }
    }
    return -1;
  }
  freeFrame(f: number): void {
    this.owner.delete(f);
  }
  frameOwner(frame: number): number {
    checkInt("frame", frame, this.hostFrames);
    return this.owner.get(frame) ?? 0;
  }
  get freeFrames(): number {
    return this.hostFrames - this.owner.size;
  }

  // ───────── guests ─────────

  createGuest(input: GuestOptionsInput = {}): RefKvmGuest {
    // The policy is resolved here (the reference knows every policy of ./policies/); the rest of
    // the options by the shared validator.
    const policyName = input.policy ?? "need-tlb-flush";
    const policy = referencePolicy(policyName);
    if (!policy) throw new RangeError(`createGuest: unknown policy ${JSON.stringify(policyName)}`);
    const opts = { ...resolveGuestOptions({ ...input, policy: "need-tlb-flush" }, this.config), policy: policyName } as GuestOptions;
    let lpid = 1;
    while (this.live.has(lpid)) lpid++;
    const maxGuests = 2 ** this.config.lpidBits - 2;
    if (lpid > maxGuests) throw new RangeError(`createGuest: all ${maxGuests} LPIDs are in use`);
    const kvm = opts.semantics === "kvm-hv";
    const hostPages = kvm ? opts.ramBytes / 2 ** this.config.hostPageShift : 0;
    if (hostPages > this.freeFrames) {
      throw new RangeError(`createGuest: RAM needs ${hostPages} host frames; ${this.freeFrames} are free (machine.hostMemoryBytes)`);
    }
    const g = new RefKvmGuest(this, lpid, this.nextInstance++, opts, policy);
    // every host page of guest RAM gets a frame at creation, lowest free first, in gfn order
    for (let gfn = 0; gfn < hostPages; gfn++) g.frames[gfn] = this.takeFrame(g.instance);
    this.live.set(lpid, g);
    policy.vmStart(this, g); // for qemu guests too (their invalidations never ask the policy)
    return g;
  }

  destroyGuest(lpid: number): void {
    const g = this.live.get(lpid);
    if (!g) throw new RangeError(`destroyGuest: no guest has LPID ${lpid}`);
    // running vcores exit; the LPID's TLB entries stay where they are (v3.8 book3s_64_mmu_hv.c kvmppc_free_hpt frees the LPID without a flush), marked
    g.vcoreTab.forEach((vc, i) => { if (vc.running) this.exitVcore(g, i); });
    this.markLpidStale(g, "lpid-freed", 0);
    for (const f of g.frames) if (f >= 0) this.freeFrame(f);
    g.frames.fill(-1);
    for (const f of g.batch) if (f >= 0) this.freeFrame(f); // batched-reclaim's held frames
    g.batch = [];
    g.deferredVas = [];
    // lazy-reuse: what its quarantine holds goes with the rest (the LPID is flushed before it runs again)
    if (g.quarantineState) {
      if (g.quarantineState.variant !== "free-first") for (const f of g.quarantineState.held) this.freeFrame(f);
      g.quarantineState.held = [];
      g.quarantineState.closing = 0;
    }
    this.live.delete(lpid);
    this.destroyed.set(lpid, g);
    g.dead = true;
  }

  guest(lpid: number): RefKvmGuest | undefined {
    return this.live.get(lpid);
  }
  get guests(): RefKvmGuest[] {
    return [...this.live.values()];
  }

  // ───────── counting and the cost model (the cycle table of src/model/costs.ts) ─────────

  sinkFor(g: RefKvmGuest | null | undefined): CounterSink {
    return new CounterSink(g ? [this.global, g.block] : [this.global]);
  }

  countKvm(g: KvmGuestState | null, name: KvmCounterName, n: number | bigint = 1): void {
    const d = BigInt(n);
    this.kvm[name] += d;
    if (g) (g as RefKvmGuest).kvm[name] += d;
  }

  quarantinePeak(g: KvmGuestState, held: number): void {
    const h = BigInt(held);
    const gk = (g as RefKvmGuest).kvm;
    if (h > gk.quarantinePeak) gk.quarantinePeak = h;
    if (h > this.kvm.quarantinePeak) this.kvm.quarantinePeak = h;
  }

  hostPagesOf(g: KvmGuestState): number {
    return (g as RefKvmGuest).hostPages;
  }

  /** Charge `cycles` of `category` to cpu's clock, the machine and the guest it is done for. */
  charge(cpu: number, category: CostCategory, cycles: bigint, g: RefKvmGuest | null): void {
    this.clock[cpu] = this.clock[cpu]! + cycles;
    this.cpuCycleTab[cpu]![category] += cycles;
    this.kvm.cycles[category] += cycles;
    if (g) g.kvm.cycles[category] += cycles;
  }

  /** Guest work between events: moves the clock, no category. */
  work(cpu: number, cycles: number): void {
    checkInt("cpu", cpu, this.cpus);
    checkInt("cycles", cycles, 2 ** 53);
    this.clock[cpu] = this.clock[cpu]! + BigInt(cycles);
  }

  /** S: chips in the broadcast domain, ⌈cores / coresPerChip⌉. */
  private get chips(): bigint {
    return BigInt(Math.ceil(this.config.cores / this.config.costs.coresPerChip));
  }
  /** A full LPID flush: tlbFlushSets tlbiels (the kernel's *_TLB_SETS; POWER10: 1, docs/model/tlb.md §7.1). */
  private get flushCycles(): bigint {
    const c = this.config.costs;
    return BigInt(c.flushBase + c.flushPerSet * this.config.tlbFlushSets);
  }

  // ───────── TLB instructions ─────────

  /** The TLB of cpu's thread group (its core's when a core shares one: docs/model/tlb.md §7.2). */
  private tlbOfCpu(cpu: number): CoreTlb {
    return this.tlbs[Math.floor(cpu / this.config.tlbThreadsPerGroup)]!;
  }

  /** The LPID in the LPIDR of a core: the guest running there, or the host's 0. */
  private lpidr(core: number): number {
    return this.coreVcore[core]?.guest.lpid ?? 0;
  }

  private removeVa(tlb: CoreTlb, lpid: number, va: Va): number {
    if (va.pageShift === 0) return 0;
    const set = tlbSetIndex(va.vpn4k, va.pageShift, this.config.tlbSets);
    return tlb.invalidateInSet(set, (e) => sameTag(e, lpid, va.b, va.vpn4k, va.pageShift, va.baseShift));
  }

  /** tlbie of one VA: every TLB's entries of it go (counted now; the sequence is charged apart). */
  private tlbieVa(g: RefKvmGuest | null, lpid: number, va: Va): number {
    let n = 0;
    for (const tlb of this.tlbs) n += this.removeVa(tlb, lpid, va);
    const count = this.sinkFor(g);
    count.add("globalTlbies");
    count.add("globalTlbieEntries", n);
    return n;
  }

  /**
   * tlbiel of one VA of g from cpu: it acts on cpu's TLB (its thread group's, docs/model/tlb.md §7.2)
   * with the LPID in the core's LPIDR, so it removes g's entry only when g runs on that core. Every
   * copy it leaves behind — other TLBs' (the sibling group of the same core's too), and this TLB's
   * own when the LPIDR is not g's — is marked stale (cause local-invalidation, cpu, its clock now).
   */
  private tlbielVa(cpu: number, g: RefKvmGuest, va: Va): void {
    const lpidr = this.lpidr(this.coreOf(cpu));
    const t = this.tlbOf(cpu);
    const n = this.removeVa(this.tlbs[t]!, lpidr, va);
    const count = this.sinkFor(g);
    count.add("localTlbiels");
    count.add("localTlbielEntries", n);
    this.markVaStale(g, va, lpidr === g.lpid ? t : -1, { cause: "local-invalidation", cpu, time: this.clock[cpu]! });
  }

  /**
   * Charge one global sequence of n tlbie (lock; ptesync; n × tlbie; eieio; tlbsync; ptesync) to
   * cpu; it is 800 + 60·S + 100·(n − 1) cycles long. Exclusive fabric: it waits until the fabric is
   * free for all of it. Concurrent fabric (docs/model/costs.md §8): it waits for the tlbie lock of its
   * scope (a guest's own for "vm", none for the host then) — the earliest run of the lock's calendar
   * free for the sequence's length — then for a share of the fabric, and takes senderSlowdown %
   * longer per sequence already in flight with it; the lock is held from then to its completion.
   */
  private chargeGlobalSequence(cpu: number, g: RefKvmGuest | null, n: number): void {
    const c = this.config.costs;
    // the POWER9 errata workarounds: one ptesync; tlbie per erratum the machine has, under a policy whose kernel applies them
    const errata = g && g.semantics !== "qemu" && g.policy.tlbieFixups ? (this.config.tlbieErrata ?? []).length : 0;
    if (errata > 0) this.countKvm(g, "errataTlbies", errata);
    const hold = BigInt(c.tlbieBase) + BigInt(c.tlbiePerChip) * this.chips + BigInt(c.tlbieExtra) * BigInt(n - 1) + BigInt(c.tlbieErrata) * BigInt(errata);
    const now = this.clock[cpu]!;
    const f = this.config.fabric;
    if (f.model === "exclusive") {
      const start = this.fabric.reserve(now, hold);
      if (start > now) {
        this.charge(cpu, "tlbieWait", start - now, g);
        this.countKvm(g, "tlbieWaits");
      }
      this.charge(cpu, "tlbie", hold, g);
      this.countKvm(g, "tlbieSequences");
      return;
    }
    let lock: LockCalendar | null = null;
    if (f.lockScope === "machine") lock = this.machineLock;
    else if (f.lockScope === "vm" && g) lock = g.tlbieLock ??= new LockCalendar();
    let s1 = 0n;
    let t = now;
    if (lock) {
      s1 = lock.firstFree(now, hold);
      if (s1 * FABRIC_SLOT_CYCLES > t) t = s1 * FABRIC_SLOT_CYCLES;
    }
    const { start, sharedWith } = this.shared.reserve(t, hold);
    const took = hold + (hold * BigInt(f.senderSlowdown) * BigInt(sharedWith)) / 100n;
    const end = start + took;
    if (lock) lock.take(s1, (end + FABRIC_SLOT_CYCLES - 1n) / FABRIC_SLOT_CYCLES);
    if (start > now) {
      this.charge(cpu, "tlbieWait", start - now, g);
      this.countKvm(g, "tlbieWaits");
      if (t > now) this.countKvm(g, "tlbieLockWaitCycles", t - now);
    }
    this.charge(cpu, "tlbie", took, g);
    this.countKvm(g, "tlbieSequences");
    if (end > this.shared.freeAt) this.shared.freeAt = end;
  }

  /** Charge one local sequence of n tlbiel (ptesync; n × tlbiel; ptesync): 220 + 10·(n − 1). */
  private chargeLocalSequence(cpu: number, g: RefKvmGuest | null, n: number): void {
    const c = this.config.costs;
    this.charge(cpu, "tlbiel", BigInt(c.tlbiel) + BigInt(c.tlbielExtra) * BigInt(n - 1), g);
    this.countKvm(g, "tlbielSequences");
  }

  /** A whole global sequence: the VAs' tlbies, then its charge. */
  private tlbieSequence(cpu: number, g: RefKvmGuest | null, lpid: number, vas: readonly Va[]): number {
    let n = 0;
    for (const va of vas) n += this.tlbieVa(g, lpid, va);
    this.chargeGlobalSequence(cpu, g, vas.length);
    return n;
  }

  /**
   * KVM's entry flush: tlbiel IS = 0b10 over every set for g's LPID on cpu's TLB — its thread
   * group's on a split core, so the sibling group is not flushed (the pre-77bbbc0cf848 behaviour,
   * docs/model/tlb.md §7.2).
   */
  entryFlush(cpu: number, g: KvmGuestState): void {
    const guest = g as RefKvmGuest;
    const n = this.tlbOfCpu(cpu).invalidateAll((e) => e.lpid === g.lpid);
    const count = this.sinkFor(guest);
    count.add("lpidFlushes");
    count.add("flushedEntries", n);
    this.countKvm(g, "entryFlushes");
    this.charge(cpu, "flush", this.flushCycles, guest);
  }

  /**
   * lazy-reuse's flush point: g's LPID flushed from every TLB of cpu's core (both thread groups of a
   * split core) but cpu's own when skipOwn (need_tlb_flush just flushed it), each a full KVM flush
   * charged to cpu (docs/model/policies.md §9.3).
   */
  epochFlush(cpu: number, g: KvmGuestState, skipOwn: boolean): void {
    const guest = g as RefKvmGuest;
    const per = this.config.tlbThreadsPerGroup;
    const first = (this.coreOf(cpu) * this.config.smt) / per;
    for (let t = first; t < first + this.config.smt / per; t++) {
      if (skipOwn && t === this.tlbOf(cpu)) continue;
      const n = this.tlbs[t]!.invalidateAll((e) => e.lpid === g.lpid);
      const count = this.sinkFor(guest);
      count.add("lpidFlushes");
      count.add("flushedEntries", n);
      this.countKvm(g, "epochFlushes");
      this.charge(cpu, "flush", this.flushCycles, guest);
    }
  }

  /** PPC970: 256 × tlbiel(set) over the whole TLB of cpu, every LPID. */
  wholeTlbFlush(cpu: number, g: KvmGuestState): void {
    const guest = g as RefKvmGuest;
    const n = this.tlbOfCpu(cpu).invalidateAll(() => true);
    this.sinkFor(guest).add("flushedEntries", n);
    this.countKvm(g, "fullFlushes");
    this.charge(cpu, "flush", this.flushCycles, guest);
  }

  // The machine-level TLB instructions (host API): charged to the issuing cpu, no guest.

  tlbiel(cpu: number, lpid: number, slbV: bigint, ea: bigint): number {
    checkInt("cpu", cpu, this.cpus);
    this.checkLpid(lpid);
    const page = vaPageOf(checkU64("slbV", slbV), checkU64("ea", ea));
    const n = this.removeVa(this.tlbOfCpu(cpu), lpid, segmentPage(page));
    const count = this.sinkFor(null);
    count.add("localTlbiels");
    count.add("localTlbielEntries", n);
    this.countKvm(null, "tlbielSequences");
    this.charge(cpu, "tlbiel", BigInt(this.config.costs.tlbiel), null);
    return n;
  }

  tlbielSet(cpu: number, set: number, lpid: number | "all"): number {
    checkInt("cpu", cpu, this.cpus);
    checkInt("set", set, this.config.tlbSets);
    if (lpid !== "all") this.checkLpid(lpid);
    const match = (e: TlbEntry) => lpid === "all" || e.lpid === lpid;
    // POWER10 (tlbFlushSets 1): a tlbiel of one congruence class invalidates every class (docs/model/tlb.md §7.1)
    const n = this.config.tlbFlushSets === 1 ? this.tlbOfCpu(cpu).invalidateAll(match) : this.tlbOfCpu(cpu).invalidateInSet(set, match);
    const count = this.sinkFor(null);
    count.add("tlbielSets");
    count.add("flushedEntries", n);
    this.charge(cpu, "flush", BigInt(this.config.costs.tlbiel), null);
    return n;
  }

  flushLpid(cpu: number, lpid: number): number {
    checkInt("cpu", cpu, this.cpus);
    this.checkLpid(lpid);
    const n = this.tlbOfCpu(cpu).invalidateAll((e) => e.lpid === lpid);
    const count = this.sinkFor(null);
    count.add("lpidFlushes");
    count.add("flushedEntries", n);
    this.charge(cpu, "flush", this.flushCycles, null);
    return n;
  }

  tlbie(lpid: number, slbV: bigint, ea: bigint): number {
    this.checkLpid(lpid);
    const page = vaPageOf(checkU64("slbV", slbV), checkU64("ea", ea));
    return this.tlbieSequence(0, null, lpid, [segmentPage(page)]);
  }

  private checkLpid(lpid: number): void {
    checkInt("lpid", lpid, 2 ** this.config.lpidBits);
  }

  // ───────── the detector's marks ─────────

  /** Mark g's copies of `va` in every TLB but `exceptTlb` stale. */
  private markVaStale(g: RefKvmGuest, va: Va, exceptTlb: number, why: StaleCause): void {
    if (va.pageShift === 0) return;
    const set = tlbSetIndex(va.vpn4k, va.pageShift, this.config.tlbSets);
    this.tlbs.forEach((tlb, t) => {
      if (t === exceptTlb) return;
      for (let way = 0; way < this.config.tlbWays; way++) {
        const e = tlb.entry(set, way) as KvmTlbEntry | null;
        if (e && sameTag(e, g.lpid, va.b, va.vpn4k, va.pageShift, va.baseShift)) this.mark(g, e, why);
      }
    });
  }

  /** Mark every entry of g's LPID, in every TLB (destroy, HPT reset). */
  private markLpidStale(g: RefKvmGuest, cause: StaleCause["cause"], cpu: number): void {
    const why: StaleCause = { cause, cpu, time: this.clock[cpu]! };
    for (const tlb of this.tlbs) for (const { e } of tlb.valid()) if (e.lpid === g.lpid) this.mark(g, e as KvmTlbEntry, why);
  }

  /**
   * An entry is marked once: it keeps the first event that left it behind. Counted machine-wide and
   * for the guest whose entry it is, as every KVM counter (docs/kvm-model.md, "Stale marks").
   */
  private mark(g: RefKvmGuest, e: KvmTlbEntry, why: StaleCause): void {
    if (e.stale) return;
    e.stale = { ...why, time: why.time & 0xffffffffffn };
    this.countKvm(g, "staleMarked");
  }

  // ───────── translation, the HV fault path and the detector ─────────

  translate(cpu: number, lpid: number, slbV: bigint, ea: bigint, access: AccessKind = "load"): TranslateResult {
    const { kind, ra } = this.access(cpu, lpid, slbV, ea, access);
    return { kind, ra };
  }

  /** translate(), plus the detector's verdict on a hit. */
  access(cpu: number, lpid: number, slbV: bigint, ea: bigint, access: AccessKind = "load"): TranslateResult & { verdict: Verdict } {
    checkInt("cpu", cpu, this.cpus);
    this.checkLpid(lpid);
    const page = vaPageOf(checkU64("slbV", slbV), checkU64("ea", ea));
    const { b, pageShift: p } = page.seg;
    const guest = this.live.get(lpid) ?? null;
    const count = this.sinkFor(guest);
    count.add("translations");
    this.charge(cpu, "translate", BigInt(this.config.costs.tlbHit), guest);

    const tlb = this.tlbOfCpu(cpu);
    // the segment's base page first, then the larger pages it may hold (docs/model/translation.md §2.7)
    const hit = lookupPage(tlb, lpid, b, page.vpn4k, p);
    if (hit) {
      count.add("tlbHits");
      tlb.touch(hit.set, hit.way);
      const e = tlb.entry(hit.set, hit.way) as KvmTlbEntry;
      const verdict = guest && guest.semantics === "kvm-hv" ? this.detect(cpu, guest, e, ea) : "ok";
      return { kind: "hit", ra: (e.rpn << 12n) | (ea & lowMask(hit.pageShift)), verdict };
    }
    count.add("tlbMisses");
    if (!guest) {
      count.add("hptFaults");
      return { kind: "fault", ra: 0n, verdict: "ok" };
    }

    // The hardware walk (Power ISA v2.06 Book III-S, hashed page table search): primary PTEG (H = 0),
    // then secondary (H = 1).
    count.add("hptWalks");
    const hash = hptHash(b, page.seg.vsid, page.off, p);
    const mask = htabMask(guest.hptOrder);
    const cmp = compareWord(slbV, page);
    const groups: [bigint, bigint][] = [[primaryPteg(hash, mask), 0n], [secondaryPteg(hash, mask), HPTE_V_SECONDARY]];
    /** The first ABSENT entry that would match: what kvmppc_hpte_hv_fault finds. */
    let absent = -1;
    for (const [pteg, h] of groups) {
      count.add("ptegsProbed");
      this.charge(cpu, "walk", BigInt(this.config.costs.ptegWalk), guest);
      for (let i = 0; i < 8; i++) {
        const ptex = Number(pteg) * 8 + i;
        const v = guest.table.v(ptex);
        const r = guest.table.r(ptex);
        if ((v & HPTE_V_COMPARE) !== cmp || (v & HPTE_V_SECONDARY) !== h) continue;
        if (guest.decodePagePair(v, r)?.base !== p) continue; // the HPTE's base page must be the segment's
        if ((v & HPTE_V_VALID) !== 0n) return this.found(guest, tlb, page, ptex, access, ea, count);
        if ((v & HPTE_V_ABSENT) !== 0n && absent < 0) absent = ptex;
      }
    }
    if (absent >= 0 && guest.semantics === "kvm-hv" && this.hvFault(cpu, guest, absent)) {
      return this.found(guest, tlb, page, absent, access, ea, count);
    }
    count.add("hptFaults");
    return { kind: "fault", ra: 0n, verdict: "ok" };
  }

  /**
   * A VALID HPTE matched: set R (and C on a store), fill the TLB with one entry for the actual page
   * (docs/model/translation.md §2.7).
   */
  private found(
    guest: RefKvmGuest, tlb: CoreTlb, page: ReturnType<typeof vaPageOf>, ptex: number,
    access: AccessKind, ea: bigint, count: CounterSink,
  ): TranslateResult & { verdict: Verdict } {
    const p = page.seg.pageShift;
    const r = guest.table.r(ptex);
    let newR = r | HPTE_R_R;
    if (access === "store") newR |= HPTE_R_C;
    if (newR !== r) guest.table.setR(ptex, newR);
    const a = guest.decodePagePair(guest.table.v(ptex), r)!.actual;
    const rpn = (r & HPTE_R_RPN & ~lowMask(a)) >> 12n;
    const vpn4k = page.vpn4k & ~lowMask(a - 12);
    const set = tlbSetIndex(vpn4k, a, this.config.tlbSets);
    const e: KvmTlbEntry = { lpid: guest.lpid, b: page.seg.b, vpn4k, pageShift: a, baseShift: p, rpn, stale: null };
    const victim = () => (this.config.replacement === "lru" ? tlb.lruWay(set) : this.rng.next() % this.config.tlbWays);
    const res = tlb.fill(set, e, victim);
    count.add("tlbFills");
    if (res.evicted) count.add("tlbEvictions");
    return { kind: "miss", ra: (rpn << 12n) | (ea & lowMask(a)), verdict: "ok" };
  }

  /**
   * kvmppc_book3s_hv_page_fault for an ABSENT HPTE of guest RAM: give the page a frame (lowest free)
   * if it has none, point the HPTE at it (r = guest_rpte with the host address, WIMG forced to M,
   * R/C only as far as the rmap has them), make it VALID and link it on the rmap ring. False when
   * the entry is emulated MMIO or no frame is free: the access faults.
   */
  private hvFault(cpu: number, guest: RefKvmGuest, ptex: number): boolean {
    const v = guest.table.v(ptex);
    const gr = guest.table.guestRpte(ptex);
    const psize = kvmHvPageShift(v, gr);
    if (psize === 0) return false;
    const gpa = gr & HPTE_R_RPN & ~lowMask(psize);
    if (gpa >= BigInt(guest.ramBytes)) return false;
    const shift = this.config.hostPageShift;
    const gfn = Number(gpa >> BigInt(shift));
    if (guest.frames[gfn]! < 0) {
      const f = this.takeFrame(guest.instance);
      if (f < 0) return false;
      guest.frames[gfn] = f;
    }
    let r = (gr & (HPTE_R_PP0 | lowMask(shift))) | (BigInt(guest.frames[gfn]!) << BigInt(shift));
    const wimg = r & HPTE_R_WIMG;
    if (wimg !== HPTE_R_M && wimg !== (HPTE_R_W | HPTE_R_I | HPTE_R_M)) r = (r & ~(HPTE_R_W | HPTE_R_I | HPTE_R_G)) | HPTE_R_M;
    guest.table.addRevmapChain(gfn, ptex);
    this.sinkFor(guest).add("rmapLinks");
    r &= (guest.table.rmap(gfn) >> RMAP_RC_SHIFT) | ~(HPTE_R_R | HPTE_R_C);
    guest.table.setR(ptex, r);
    guest.table.setV(ptex, (v & ~HPTE_V_ABSENT) | HPTE_V_VALID);
    this.countKvm(guest, "hvFaults");
    this.charge(cpu, "hvFault", BigInt(this.config.costs.hvFault), guest);
    return true;
  }

  /** The detector: does the accessing guest still own the frame the entry points at? */
  private detect(cpu: number, guest: RefKvmGuest, e: KvmTlbEntry, ea: bigint): Verdict {
    const frame = Number(e.rpn >> BigInt(this.config.hostPageShift - 12));
    const owner = this.owner.get(frame) ?? 0;
    if (e.stale) this.countKvm(guest, "staleHits");
    if (owner === guest.instance) {
      if (!e.stale) return "ok";
      this.countKvm(guest, "staleHarmless");
      return "stale-harmless";
    }
    if (this.violationLog.length < this.config.violationRecords) {
      this.violationLog.push({
        cpu, lpid: guest.lpid, guest: guest.instance, owner, ea, vpn4k: e.vpn4k, b: e.b, pageShift: e.pageShift,
        rpn: e.rpn, frame, time: this.clock[cpu]!, leftBy: e.stale ? { ...e.stale } : null,
      });
    }
    this.countKvm(guest, "violations");
    return "violation";
  }

  // ───────── hcalls: the invalidation hook and the policies ─────────

  /** The VA of an HPTE (compute_tlbie_rb). */
  private vaOf(g: RefKvmGuest, v: bigint, r: bigint, ptex: number): Va {
    const pair = g.decodePagePair(v, r);
    if (!pair) return { b: 0, vpn4k: 0n, pageShift: 0, baseShift: 0 };
    // the hash was taken at the base page size; the TLB entry is the actual page's (docs/model/translation.md §2.7)
    const rec = recoverVa(v, BigInt(ptex), htabMask(g.hptOrder), pair.base, pair.actual);
    return { b: rec.b, vpn4k: rec.vpn4k, pageShift: pair.actual, baseShift: pair.base };
  }

  /** @internal one hypercall of guest g from cpu (RefKvmGuest's hEnter … hBulkRemove). */
  hcall(g: RefKvmGuest, name: HcallName, regs: Regs, cpu: number, problemState: boolean): number {
    this.charge(cpu, "hcall", BigInt(this.config.costs.hcall), g);
    if (problemState) return g.semantics === "qemu" ? H_PRIVILEGE : OPCODES[name];
    const pending: PendingSequences = { local: 0, global: 0, ipi: [] };
    // H_BULK_REMOVE asks the policy once, at the top, before any entry is examined (v3.12+)
    let bulkDecision: Decision | null = null;
    if (g.semantics === "kvm-hv" && name === "H_BULK_REMOVE") {
      bulkDecision = g.policy.decide(this, g, { kind: name, flags: 0n, cpu });
    }
    const env: HcallEnv = {
      hpt: g.table,
      npte: BigInt(g.npte),
      ramBytes: BigInt(g.ramBytes),
      hostPageShift: this.config.hostPageShift,
      hptMaxPageShift: g.options.hptMaxPageShift,
      frameOf: (gfn) => g.frames[gfn] ?? -1,
      invalidateHpte: (v, r, ptex, flags, kind) => {
        const va = this.vaOf(g, v, r, ptex);
        // QEMU has no KVM policy: every invalidation is global
        const d = g.semantics === "qemu" ? "global" : bulkDecision ?? g.policy.decide(this, g, { kind, flags, cpu });
        // the TLB work happens now; the instruction sequences are charged when the hcall ends
        if (d === "global" || (d === "ipi" && va.pageShift === 0)) {
          this.tlbieVa(g, g.lpid, va);
          this.countKvm(g, "globalInvalidations");
          pending.global++;
          return;
        }
        if (d === "ipi") {
          // the shootdown is issued when the hcall ends, with its other sequences
          this.countKvm(g, "localInvalidations");
          pending.ipi.push(va);
          return;
        }
        this.tlbielVa(cpu, g, va);
        this.countKvm(g, "localInvalidations");
        pending.local++;
        if (d === "local-record") this.record(cpu, g, va, g.gfnOfHpte(v, ptex), pending);
      },
      count: this.sinkFor(g),
    };
    const ret = HANDLERS[g.semantics][name](env, regs);
    if (pending.ipi.length > 0) pending.global += this.finishIpi(cpu, g, pending.ipi);
    if (pending.local > 0) this.chargeLocalSequence(cpu, g, pending.local);
    if (pending.global > 0) this.chargeGlobalSequence(cpu, g, pending.global);
    return ret;
  }

  /**
   * deferred-va: append a VA just tlbiel'd to g's list, applying the overflow rule when the list is
   * full: (a) tlbie, (b) drain, (c) flush — the ways to stay safe with a capped list (Graf and
   * Mackerras, kvm-ppc thread "Improve handling of local vs. global TLB invalidations", Nov 2012).
   */
  private record(cpu: number, g: RefKvmGuest, va: Va, gfn: number | null, pending: PendingSequences): void {
    if (g.deferredVas.length >= g.deferredCap) {
      this.countKvm(g, "deferredOverflows");
      if (g.deferredOverflow === "tlbie") {
        // (a) this invalidation becomes a tlbie as well (the tlbiel already ran): one more
        // instruction in the hcall's global sequence; the list is left as it is
        this.tlbieVa(g, g.lpid, va);
        pending.global++;
        return;
      }
      if (g.deferredOverflow === "flush") {
        // (c) need_tlb_flush = all; every running vcore of the VM gets an IPI (charged to its
        // thread 0), exits and re-enters at once, flushing at entry; then the list is emptied.
        // This VA was tlbiel'd here and is covered by the flushes: it is not recorded.
        g.needFlush.fill(true, 0, this.cores);
        this.countKvm(g, "needFlushSets");
        g.vcoreTab.forEach((vc, i) => {
          if (!vc.running) return;
          const core = this.coreOf(vc.pcpu!);
          const mask = vc.vcpuMask;
          this.charge(vc.pcpu!, "ipi", BigInt(this.config.costs.ipi), g);
          this.countKvm(g, "ipis");
          this.exitVcore(g, i);
          this.runVcore(g, i, core, mask === 0xffffffff ? 0 : mask);
        });
        g.deferredVas = [];
        return;
      }
      // (b) drain: tlbie every recorded VA as one sequence (charged now), empty the list, then
      // record this one
      this.tlbieDeferred(cpu, g, g.deferredVas);
      g.deferredVas = [];
    }
    const set = va.pageShift === 0 ? 0 : tlbSetIndex(va.vpn4k, va.pageShift, this.config.tlbSets);
    g.deferredVas.push({ lpid: g.lpid, b: va.b, vpn4k: va.vpn4k, pageShift: va.pageShift, baseShift: va.baseShift, set, gfn });
    this.countKvm(g, "deferredRecords");
  }

  /** tlbie of deferred records, as one sequence. */
  private tlbieDeferred(cpu: number, g: RefKvmGuest, recs: readonly DeferredRecord[]): void {
    if (recs.length === 0) return;
    this.countKvm(g, "deferredTlbies", recs.length);
    this.tlbieSequence(cpu, g, g.lpid, recs.map((d) => ({ b: d.b, vpn4k: d.vpn4k, pageShift: d.pageShift, baseShift: d.baseShift })));
  }

  // ───────── invalidation by IPI and tlbiel (ipi-tlbiel, batched-reclaim; docs/model/policies.md §13–§14) ─────────

  /** One request's VAs: a shootdown, or (above the ceiling) tlbies. Returns the tlbies for the hcall's global sequence. */
  private finishIpi(cpu: number, g: RefKvmGuest, vas: readonly Va[]): number {
    if (vas.length > IPI_PAGE_CEILING) {
      for (const va of vas) this.tlbieVa(g, g.lpid, va);
      return vas.length;
    }
    this.shootdown(cpu, g, vas);
    return 0;
  }

  /** The TLBs of `core` (one per thread group). */
  private tlbsOfCore(core: number): number[] {
    const T = this.config.smt;
    const per = this.config.tlbThreadsPerGroup;
    const out: number[] = [];
    for (let t = Math.floor((core * T) / per); t <= Math.floor(((core + 1) * T - 1) / per); t++) out.push(t);
    return out;
  }

  /** g's LPID flushed from every TLB of `core`, charged to `cpu` (one flush per thread group). */
  private flushLpidCore(cpu: number, g: RefKvmGuest, core: number): void {
    for (const t of this.tlbsOfCore(core)) {
      const n = this.tlbs[t]!.invalidateAll((e) => e.lpid === g.lpid);
      const count = this.sinkFor(g);
      count.add("lpidFlushes");
      count.add("flushedEntries", n);
      this.charge(cpu, "flush", this.flushCycles, g);
    }
  }

  /**
   * IPI every online core in g's mask (its own core without an IPI): the sender pays ipiSend per
   * target and waits for the last one; a target pays ipi (exit and handler entry, interrupting
   * whatever ran there). A target running g tlbiels the VAs (none: flushes the LPID); one not running
   * g flushes the LPID and leaves the mask — or, when the policy defers, gets no IPI: need_tlb_flush
   * is set for its core and it leaves the mask. Whatever copy no target removed is marked stale.
   */
  private shootdown(cpu: number, g: RefKvmGuest, vas: readonly Va[]): void {
    const c = this.config.costs;
    const myCore = this.coreOf(cpu);
    let done = this.clock[cpu]!;
    for (let core = 0; core < this.config.cores; core++) {
      if (!g.mayHold[core] || this.offline[core]) continue;
      const there = this.coreVcore[core];
      const running = there?.guest === g;
      if (!running && g.policy.ipiDeferToEntry) {
        // no IPI: a flush request for the VM's next entry there, and the core leaves the mask
        g.needFlush[core] = true;
        g.mayHold[core] = false;
        continue;
      }
      let held = 0;
      for (const t of this.tlbsOfCore(core)) for (const { e } of this.tlbs[t]!.valid()) if (e.lpid === g.lpid) held++;
      let tc = cpu;
      let before = this.clock[cpu]!;
      let sent = before;
      if (core !== myCore) {
        this.charge(cpu, "ipi", BigInt(c.ipiSend), g);
        this.countKvm(g, "ipis");
        sent = this.clock[cpu]!;
        tc = core * this.config.smt;
        before = this.clock[tc]!;
        this.charge(tc, "ipi", BigInt(c.ipi), g);
        if (there) {
          this.countKvm(g, "ipiInterrupts");
          if (!running) this.countKvm(g, "ipiOtherGuest");
        }
      }
      if (running && vas.length > 0) {
        for (const va of vas) {
          for (const t of this.tlbsOfCore(core)) {
            const n = this.removeVa(this.tlbs[t]!, g.lpid, va);
            const count = this.sinkFor(g);
            count.add("localTlbiels");
            count.add("localTlbielEntries", n);
          }
        }
        this.charge(tc, "tlbiel", BigInt(c.tlbiel) + BigInt(c.tlbielExtra) * BigInt(vas.length - 1), g);
        this.countKvm(g, "tlbielSequences");
      } else {
        this.flushLpidCore(tc, g, core);
        if (!running) g.mayHold[core] = false;
      }
      // the handler's cycles delay whatever the target ran; it starts when the IPI is sent (every
      // cpu keeps its own clock), and its end is the ack the sender waits for
      const handler = this.clock[tc]! - before;
      if (held === 0) {
        this.countKvm(g, "ipiEmpty");
        this.countKvm(g, "ipiEmptyCycles", handler + (core !== myCore ? BigInt(c.ipiSend) : 0n));
      }
      const ack = core !== myCore ? sent + handler : this.clock[cpu]!;
      if (ack > done) done = ack;
    }
    const now = this.clock[cpu]!;
    if (done > now) this.charge(cpu, "ipi", done - now, g); // waiting for the last ack
    if (vas.length === 0) this.markLpidStale(g, "local-invalidation", cpu);
    else for (const va of vas) this.markVaStale(g, va, -1, { cause: "local-invalidation", cpu, time: this.clock[cpu]! });
  }

  /** KvmHost: a core going offline leaves g's mask after g's LPID is flushed there (commit 01b0f0eae081). */
  ipiOfflineTrim(g: KvmGuestState, core: number): void {
    const guest = g as RefKvmGuest;
    if (!guest.mayHold[core]) return;
    this.flushLpidCore(core * this.config.smt, guest, core);
    guest.mayHold[core] = false;
  }

  /** batched-reclaim: hold a paged-out frame (the broken variant frees it now) and flush the batch when full. */
  private batchHold(cpu: number, g: RefKvmGuest, frame: number, early: boolean): void {
    if (early) this.freeFrame(frame); // the bug: the frame can be reused before its batch's flush
    g.batch.push(early ? -1 : frame);
    if (g.batch.length >= BATCH_MAX) {
      this.shootdown(cpu, g, []);
      this.countKvm(g, "batchFlushes");
      for (const f of g.batch) if (f >= 0) this.freeFrame(f);
      g.batch = [];
    }
  }

  /**
   * CPU hotplug of a whole core: offline, it gets no IPI (smp_call_function_many sends to online
   * cpus only) and runs no vcore; tlbie still reaches it. Going offline, every kvm-hv guest's policy
   * is told, in LPID order. Refused while a vcore runs there.
   */
  setCoreOnline(core: number, online: boolean): void {
    checkInt("core", core, this.config.cores);
    if (this.coreVcore[core]) refuse(`setCoreOnline(${core}, ${online})`, "CORE_BUSY");
    const was = !this.offline[core];
    this.offline[core] = !online;
    if (online || !was) return;
    for (const g of [...this.live.values()].sort((a, b) => a.lpid - b.lpid)) {
      if (g.semantics === "kvm-hv") g.policy.coreOffline?.(this, g, core);
    }
  }

  // ───────── vcores (kvmppc_run_core) ─────────

  runsVcpuOf(cpu: number, g: KvmGuestState): boolean {
    return this.running[cpu]?.guest === g;
  }
  /**
   * The 3.8 paca kvm_vcore names a vcore by (LPID, index) and is never cleared. Once its VM is
   * destroyed the kernel's pointer dangles; the model reads the vcore of whichever guest holds that
   * LPID now, or else the destroyed guest's vcore as it was left ([model]: docs/kvm-model.md).
   */
  kvmVcoreOf(cpu: number): { guest: KvmGuestState | null; vcore: number } | null {
    const p = this.pacaVcore[cpu];
    return p ? { guest: this.live.get(p.lpid) ?? this.destroyed.get(p.lpid) ?? null, vcore: p.vcore } : null;
  }

  /** @internal Guest.runVcore. */
  runVcore(g: RefKvmGuest, vcore: number, core: number, vcpuMask: number): void {
    const what = `runVcore(${vcore}, core ${core})`;
    if (vcore >= g.vcoreTab.length) refuse(what, "BAD_VCORE");
    const first = vcore * g.threadsPerVcore;
    const vcpus: number[] = [];
    for (let k = 0; k < g.threadsPerVcore && first + k < g.onlineVcpus; k++) {
      if (vcpuMask === 0 || (vcpuMask >> k) & 1) vcpus.push(first + k);
    }
    const vc = g.vcoreTab[vcore]!;
    if (vc.running) refuse(what, "VCORE_BUSY");
    if (this.coreVcore[core] || this.offline[core]) refuse(what, "CORE_BUSY");
    if (vcpus.length === 0) refuse(what, "BAD_VCORE");
    const T = this.config.smt;
    // runnable vcpus take ptids 0, 1, …; the threads carrying them rendezvous at the latest clock
    const threads: Thread[] = vcpus.map((vcpu, ptid) => ({ cpu: core * T + ptid, vcpu }));
    let t = 0n;
    for (const th of threads) if (this.clock[th.cpu]! > t) t = this.clock[th.cpu]!;
    for (const th of threads) {
      this.clock[th.cpu] = t;
      this.running[th.cpu] = { guest: g, vcpu: th.vcpu };
      this.pacaVcore[th.cpu] = { lpid: g.lpid, vcore };
      g.vcpuTab[th.vcpu]!.runningOn = th.cpu;
    }
    vc.pcpu = core * T;
    vc.running = true;
    vc.vcpuMask = vcpuMask === 0 ? 0xffffffff : vcpuMask;
    vc.runs++;
    this.coreVcore[core] = { guest: g, vcore };
    this.countKvm(g, "guestEntries");
    g.policy.enter(this, g, core, threads);
  }

  /** @internal Guest.exitVcore. */
  exitVcore(g: RefKvmGuest, vcore: number): void {
    const vc = g.vcoreTab[vcore];
    if (!vc || !vc.running) refuse(`exitVcore(${vcore})`, "NOT_RUNNING");
    const core = this.coreOf(vc.pcpu!);
    const threads: Thread[] = [];
    for (let t = 0; t < this.config.smt; t++) {
      const cpu = core * this.config.smt + t;
      const run = this.running[cpu];
      if (run && run.guest === g) threads.push({ cpu, vcpu: run.vcpu });
    }
    g.policy.exit(this, g, core, threads);
    for (const th of threads) {
      this.charge(th.cpu, "entryExit", BigInt(this.config.costs.entryExit), g);
      this.running[th.cpu] = null; // paca kvm_vcpu cleared; the 3.8 kvm_vcore stays
      g.vcpuTab[th.vcpu]!.runningOn = null;
    }
    vc.running = false;
    this.coreVcore[core] = null;
  }

  // ───────── host paging (MMU notifiers: v3.8 book3s_64_mmu_hv.c kvm_unmap_rmapp, kvm_age_rmapp) ─────────

  /** @internal Guest.pageOut: kvm_unmap_rmapp run by the host on `cpu`. */
  pageOut(g: RefKvmGuest, gfn: number, cpu: number): number {
    const what = `pageOut(gfn ${gfn})`;
    if (g.semantics !== "kvm-hv" || gfn >= g.hostPages) refuse(what, "BAD_GFN");
    if (g.policy.pinned) refuse(what, "PINNED");
    if (g.frames[gfn]! < 0) refuse(what, "NO_FRAME");
    // lazy-reuse (docs/model/policies.md §9): no tlbie, the entries left behind marked, the frame held — unless the quarantine is full
    const lazy = g.policy.lazyPageOut === true && hasRoom(g);
    if (g.policy.lazyPageOut && !lazy) this.countKvm(g, "quarantineFallbacks");
    // an eager page-out goes the policy's way: tlbie per HPTE, an IPI shootdown (ipi-tlbiel) or the batch (batched-reclaim)
    const mode = lazy ? "global" : g.policy.pageOut ?? "global";
    let n = 0;
    for (const ptex of g.table.chain(gfn)) {
      const v = g.table.v(ptex);
      const r = g.table.r(ptex);
      if ((v & HPTE_V_VALID) !== 0n) {
        g.table.setV(ptex, (v | HPTE_V_ABSENT) & ~HPTE_V_VALID);
        if (lazy) this.markVaStale(g, this.vaOf(g, v, r, ptex), -1, { cause: "lazy-page-out", cpu, time: this.clock[cpu]! });
        this.charge(cpu, "pageOut", BigInt(this.config.costs.pageOutHpte), g);
        const va = this.vaOf(g, v, r, ptex);
        if (lazy) { /* no flush now: the epoch's flush points do it */ }
        else if (mode === "global") this.tlbieSequence(cpu, g, g.lpid, [va]);
        else if (mode === "ipi" && va.pageShift !== 0) this.finishIpi(cpu, g, [va]); // one shootdown per HPTE
        n++;
      }
      g.table.removeRevmapChain(gfn, ptex, (v & HPTE_V_VALID) !== 0n ? r : 0n); // unlink, harvest R/C
    }
    // deferred-va: the records of this gfn are tlbie'd too, then dropped
    const mine = g.deferredVas.filter((d) => d.gfn === gfn);
    if (mine.length > 0) {
      this.tlbieDeferred(cpu, g, mine);
      g.deferredVas = g.deferredVas.filter((d) => d.gfn !== gfn);
    }
    const frame = g.frames[gfn]!;
    g.frames[gfn] = -1;
    this.countKvm(g, "pageOuts");
    this.countKvm(g, "pageOutHptes", n);
    if (lazy) hold(this, g, frame);
    else if (mode === "batch" || mode === "batch-free-early") {
      this.countKvm(g, "batchHeld");
      this.batchHold(cpu, g, frame, mode === "batch-free-early");
    } else this.freeFrame(frame);
    return n;
  }

  /** @internal Guest.pageIn: the page gets the lowest free frame. */
  pageIn(g: RefKvmGuest, gfn: number): number {
    const what = `pageIn(gfn ${gfn})`;
    if (g.semantics !== "kvm-hv" || gfn >= g.hostPages) refuse(what, "BAD_GFN");
    if (g.frames[gfn]! >= 0) return g.frames[gfn]!; // already present: its frame
    const f = this.takeFrame(g.instance);
    if (f < 0) refuse(what, "NO_FRAME");
    g.frames[gfn] = f;
    this.countKvm(g, "pageIns");
    return f;
  }

  /**
   * @internal Guest.reclaim (kvm_age_rmapp, then kvm_unmap_rmapp): look at the candidates in order —
   * skipping gfns outside RAM or without a frame — ageing each (REFERENCED cleared in the rmap word,
   * R cleared in every HPTE of its ring, no tlbie); the first one not referenced since the last look
   * (neither bit was set) is paged out, else the first candidate looked at.
   */
  reclaim(g: RefKvmGuest, gfns: readonly number[], cpu: number): number {
    const what = `reclaim(${gfns.join(", ")})`;
    if (g.semantics !== "kvm-hv") refuse(what, "BAD_GFN");
    let first = -1;
    let chosen = -1;
    for (const gfn of gfns) {
      if (gfn >= g.hostPages || g.frames[gfn]! < 0) continue;
      if (first < 0) first = gfn;
      let referenced = (g.table.rmap(gfn) & RMAP_REFERENCED) !== 0n;
      for (const ptex of g.table.chain(gfn)) {
        const r = g.table.r(ptex);
        if ((r & HPTE_R_R) !== 0n) {
          referenced = true;
          g.table.setR(ptex, r & ~HPTE_R_R);
        }
      }
      g.table.setRmap(gfn, g.table.rmap(gfn) & ~RMAP_REFERENCED);
      if (!referenced && chosen < 0) chosen = gfn;
    }
    if (chosen < 0) chosen = first;
    if (chosen < 0) refuse(what, "NO_FRAME");
    this.pageOut(g, chosen, cpu);
    return chosen;
  }

  /** @internal Guest.resetHpt: KVM_PPC_ALLOCATE_HTAB on an existing HPT. */
  resetHpt(g: RefKvmGuest, cpu: number): void {
    if (g.vcoreTab.some((vc) => vc.running)) refuse("resetHpt", "GUEST_RUNNING");
    g.table = new Hpt(g.npte, g.semantics === "qemu" ? 0x40n : 0n); // HPT, revmap and rmap zeroed, no tlbie
    this.markLpidStale(g, "hpt-reset", cpu);
    this.countKvm(g, "hptResets");
    g.policy.hptReset(this, g);
  }

  // ───────── inspection ─────────

  counters(): CounterBlock {
    return copyCounterBlock(this.global);
  }
  kvmCounters(): KvmCounters {
    return copyKvmCounters(this.kvm);
  }
  cpuCycles(cpu: number): { clock: bigint; cycles: Record<CostCategory, bigint> } {
    checkInt("cpu", cpu, this.cpus);
    return { clock: this.clock[cpu]!, cycles: { ...this.cpuCycleTab[cpu]! } };
  }
  makespan(): bigint {
    return this.clock.reduce((a, b) => (b > a ? b : a), 0n);
  }
  cpuState(cpu: number): { lpid: number | null; vcpu: number | null; kvmVcore: { lpid: number; vcore: number } | null } {
    checkInt("cpu", cpu, this.cpus);
    const run = this.running[cpu];
    const vc = this.pacaVcore[cpu];
    return {
      lpid: run ? run.guest.lpid : null,
      vcpu: run ? run.vcpu : null,
      kvmVcore: vc ? { lpid: vc.lpid, vcore: vc.vcore } : null,
    };
  }
  get fabricFreeAt(): bigint {
    return this.config.fabric.model === "exclusive" ? this.fabric.freeAt : this.shared.freeAt;
  }
  violations(): ViolationRecord[] {
    return this.violationLog.map((v) => ({ ...v, leftBy: v.leftBy ? { ...v.leftBy } : null }));
  }
  /** Valid entries of TLB `core` (tlbOf(cpu); the core's when a core shares one TLB). */
  tlbEntries(core: number): TlbEntryView[] {
    checkInt("core", core, this.tlbs.length);
    return [...this.tlbs[core]!.valid()].map(({ set, way, e }) => entryView(set, way, e));
  }
  /** Valid entries of TLB `core` that the detector has marked stale, with why. */
  staleEntries(core: number): (TlbEntryView & { leftBy: StaleCause })[] {
    checkInt("core", core, this.tlbs.length);
    const out: (TlbEntryView & { leftBy: StaleCause })[] = [];
    for (const { set, way, e } of this.tlbs[core]!.valid()) {
      const k = e as KvmTlbEntry;
      if (k.stale) out.push({ ...entryView(set, way, e), leftBy: { ...k.stale } });
    }
    return out;
  }
  /** No memory to give back (the engine's Machine.dispose pools its memory). */
  dispose(): void {}
}

/** The host API's view of a TLB entry; a mixed page-size entry names its segment's base page too. */
function entryView(set: number, way: number, e: TlbEntry): TlbEntryView {
  return {
    set, way, lpid: e.lpid, b: e.b, vpn4k: e.vpn4k, pageShift: e.pageShift,
    ...(e.baseShift !== e.pageShift ? { basePageShift: e.baseShift } : {}), rpn: e.rpn,
  };
}

/** The page a machine tlbiel / tlbie names: the segment's base page (an entry of a larger page is not matched). */
function segmentPage(page: ReturnType<typeof vaPageOf>): Va {
  return { b: page.seg.b, vpn4k: page.vpn4k, pageShift: page.seg.pageShift, baseShift: page.seg.pageShift };
}

/** A reference machine with the KVM layer (the plain-TypeScript model the engine's KVM model is held to). */
export function createReferenceKvmMachine(config?: MachineConfigInput): RefKvmMachine {
  return new RefKvmMachine(config);
}
