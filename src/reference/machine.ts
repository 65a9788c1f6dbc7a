/**
 * The reference machine: cores with per-core TLBs, host frames, LPIDs and guests
 * (docs/semantics.md "Machine", "Guests", "Translation", "TLB replacement", "TLB invalidation",
 * "Counters"). Written for clarity, not speed.
 */
import { resolveGuestOptions, resolveMachineConfig, tlbGroupCount } from "../config.js";
import type { GuestOptions, GuestOptionsInput, MachineConfig, MachineConfigInput } from "../config.js";
import type {
  AccessKind, CounterBlock, HcallName, HcallOptions, HcallResult, Semantics, SimGuest, SimMachine,
  TlbEntryView, TranslateResult,
} from "../types.js";
import {
  H_BULK_REMOVE, H_ENTER, H_PRIVILEGE, H_PROTECT, H_READ, H_READ_4, H_REMOVE, HPTE_R_C, HPTE_R_R,
  HPTE_R_RPN, HPTE_V_COMPARE, HPTE_V_SECONDARY, HPTE_V_VALID, XORSHIFT_ZERO_SEED, lowMask,
} from "./constants.js";
import { CounterSink, copyCounterBlock, newCounterBlock } from "./counters.js";
import { HostFrames, frameAt } from "./frames.js";
import type { FrameRun } from "./frames.js";
import { compareWord, htabMask, hptHash, primaryPteg, recoverVa, secondaryPteg } from "./hash.js";
import type { HcallEnv, Regs } from "./hcall-env.js";
import { kvmHBulkRemove, kvmHEnter, kvmHProtect, kvmHRead, kvmHRemove } from "./hcalls-kvmhv.js";
import { qemuHBulkRemove, qemuHEnter, qemuHProtect, qemuHRead, qemuHRemove } from "./hcalls-qemu.js";
import { Hpt } from "./hpt.js";
import { kvmHvPagePair, kvmHvPageShift, qemuPagePair, qemuPageShift } from "./pagesize.js";
import type { PagePair } from "../model/page-sizes.js";
import { isU64, vaPageOf } from "./slb.js";
import { CoreTlb, Xorshift32, lookupPage, sameTag, tlbSetIndex } from "./tlb.js";
import type { TlbEntry } from "./tlb.js";

function checkIndex(what: string, x: number, limit: number): void {
  if (!Number.isInteger(x) || x < 0 || x >= limit) {
    throw new RangeError(`${what} ${String(x)} is out of range 0..${limit - 1}`);
  }
}

function checkU64(what: string, x: bigint): void {
  if (typeof x !== "bigint") throw new TypeError(`${what} must be a bigint`);
  if (!isU64(x)) throw new RangeError(`${what} ${x} is not a u64`);
}

type Handler = (env: HcallEnv, regs: Regs) => number;

const HANDLERS: Record<Semantics, Record<HcallName, Handler>> = {
  "kvm-hv": {
    H_ENTER: kvmHEnter, H_REMOVE: kvmHRemove, H_PROTECT: kvmHProtect, H_READ: kvmHRead, H_BULK_REMOVE: kvmHBulkRemove,
  },
  qemu: {
    H_ENTER: qemuHEnter, H_REMOVE: qemuHRemove, H_PROTECT: qemuHProtect, H_READ: qemuHRead, H_BULK_REMOVE: qemuHBulkRemove,
  },
};

const OPCODES: Record<HcallName, number> = {
  H_ENTER, H_REMOVE, H_PROTECT, H_READ, H_BULK_REMOVE,
};

export class RefMachine implements SimMachine {
  readonly config: MachineConfig;
  private readonly tlbs: CoreTlb[];
  private readonly rng: Xorshift32;
  private readonly frames: HostFrames;
  private readonly global: CounterBlock = newCounterBlock();
  private readonly live = new Map<number, RefGuest>();
  private nextInstanceId = 1;

  constructor(config: MachineConfigInput = {}) {
    this.config = resolveMachineConfig(config);
    const c = this.config;
    // one TLB per group of tlbThreadsPerGroup threads: per core on POWER7/POWER8 (docs/model/tlb.md §7.2)
    this.tlbs = Array.from({ length: tlbGroupCount(c) }, () => new CoreTlb(c.tlbSets, c.tlbWays));
    this.rng = new Xorshift32(c.seed, XORSHIFT_ZERO_SEED);
    this.frames = new HostFrames(c.hostMemoryBytes / 2 ** c.hostPageShift);
  }

  get cpus(): number {
    return this.config.cores * this.config.smt;
  }
  get frameCount(): number {
    return this.frames.total;
  }
  /** LPID_RSVD = 2^lpidBits − 1, never given out (docs/model/kvm.md §1.3). */
  get lpidReserved(): number {
    return 2 ** this.config.lpidBits - 1;
  }

  // -------------------------------------------------------------------------------------------
  // Guests
  // -------------------------------------------------------------------------------------------

  createGuest(opts: GuestOptionsInput = {}): RefGuest {
    const o = resolveGuestOptions(opts, this.config);
    // lowest free LPID ≥ 1 (kvmppc_alloc_lpid); LPID 0 is the host's, LPID_RSVD is reserved
    let lpid = 1;
    while (lpid < this.lpidReserved && this.live.has(lpid)) lpid++;
    if (lpid >= this.lpidReserved) {
      throw new Error(`no free LPID: all ${this.lpidReserved - 1} guest LPIDs (1..${this.lpidReserved - 1}) are in use`);
    }
    let runs: FrameRun[] = [];
    const needed = o.semantics === "kvm-hv" ? o.ramBytes / 2 ** this.config.hostPageShift : 0;
    if (needed > 0) {
      const free = this.frames.freeCount();
      if (needed > free) {
        throw new Error(`not enough host frames: the guest needs ${needed} frames of ${2 ** this.config.hostPageShift} bytes, ${free} are free`);
      }
    }
    const id = this.nextInstanceId++;
    if (needed > 0) runs = this.frames.allocate(id, needed);
    const g = new RefGuest(this, lpid, id, o, runs);
    this.live.set(lpid, g);
    return g;
  }

  destroyGuest(lpid: number): void {
    const g = this.live.get(lpid);
    if (!g) throw new RangeError(`no live guest has LPID ${String(lpid)}`);
    this.frames.release(g.instanceId);
    this.live.delete(lpid);
    g.markDestroyed();
    // TLB entries are left alone: KVM does not flush at teardown (docs/model/kvm.md §1.4).
  }

  guest(lpid: number): RefGuest | undefined {
    return this.live.get(lpid);
  }

  // -------------------------------------------------------------------------------------------
  // Translation
  // -------------------------------------------------------------------------------------------

  translate(cpu: number, lpid: number, slbV: bigint, ea: bigint, access: AccessKind = "load"): TranslateResult {
    this.checkCpu(cpu);
    this.checkLpid(lpid);
    const page = vaPageOf(slbV, ea); // throws RangeError for a bad SLB word or EA
    const { b, pageShift: p } = page.seg;
    const guest = this.live.get(lpid);
    const count = this.sinkFor(guest);
    count.add("translations");

    const tlb = this.tlbOfCpu(cpu);
    // the segment's base page first, then the larger pages it may hold (docs/model/translation.md §2.7)
    const hit = lookupPage(tlb, lpid, b, page.vpn4k, p);
    if (hit) {
      count.add("tlbHits");
      tlb.touch(hit.set, hit.way);
      return { kind: "hit", ra: (tlb.entry(hit.set, hit.way)!.rpn << 12n) | (ea & lowMask(hit.pageShift)) };
    }
    count.add("tlbMisses");
    if (!guest) {
      // no live guest owns this LPID: nothing to walk
      count.add("hptFaults");
      return { kind: "fault", ra: 0n };
    }

    // Hardware walk (docs/model/translation.md §2.5): primary PTEG with H = 0, then secondary with H = 1.
    count.add("hptWalks");
    const hash = hptHash(b, page.seg.vsid, page.off, p);
    const mask = htabMask(guest.hptOrder);
    const cmp = compareWord(slbV, page);
    const groups: [bigint, bigint][] = [[primaryPteg(hash, mask), 0n], [secondaryPteg(hash, mask), HPTE_V_SECONDARY]];
    for (const [pteg, h] of groups) {
      count.add("ptegsProbed");
      for (let i = 0; i < 8; i++) {
        const ptex = Number(pteg) * 8 + i;
        const v = guest.table.v(ptex);
        const r = guest.table.r(ptex);
        if ((v & HPTE_V_COMPARE) !== cmp) continue;
        if ((v & HPTE_V_VALID) === 0n) continue;
        if ((v & HPTE_V_SECONDARY) !== h) continue;
        const pair = guest.decodePagePair(v, r);
        if (pair?.base !== p) continue; // the HPTE's base page must be the segment's
        // Found: set R (and C on a store) in the HPTE, load the TLB with one entry for the actual page.
        let newR = r | HPTE_R_R;
        if (access === "store") newR |= HPTE_R_C;
        if (newR !== r) guest.table.setR(ptex, newR);
        const a = pair.actual;
        const rpn = (r & HPTE_R_RPN & ~lowMask(a)) >> 12n;
        const vpn = page.vpn4k & ~lowMask(a - 12);
        this.fill(tlb, tlbSetIndex(vpn, a, this.config.tlbSets), { lpid, b, vpn4k: vpn, pageShift: a, baseShift: p, rpn }, count);
        return { kind: "miss", ra: (rpn << 12n) | (ea & lowMask(a)) };
      }
    }
    count.add("hptFaults");
    return { kind: "fault", ra: 0n };
  }

  private fill(tlb: CoreTlb, set: number, e: TlbEntry, count: CounterSink): void {
    const victim = () => (this.config.replacement === "lru" ? tlb.lruWay(set) : this.rng.next() % this.config.tlbWays);
    const res = tlb.fill(set, e, victim);
    count.add("tlbFills");
    if (res.evicted) count.add("tlbEvictions");
  }

  // -------------------------------------------------------------------------------------------
  // TLB invalidation
  // -------------------------------------------------------------------------------------------

  tlbiel(cpu: number, lpid: number, slbV: bigint, ea: bigint): number {
    this.checkCpu(cpu);
    this.checkLpid(lpid);
    const page = vaPageOf(slbV, ea);
    const { b, pageShift } = page.seg;
    const set = tlbSetIndex(page.vpn4k, pageShift, this.config.tlbSets);
    const n = this.tlbOfCpu(cpu).invalidateInSet(set, (e) => sameTag(e, lpid, b, page.vpn4k, pageShift));
    const count = this.sinkFor(undefined);
    count.add("localTlbiels");
    count.add("localTlbielEntries", n);
    return n;
  }

  tlbielSet(cpu: number, set: number, lpid: number | "all"): number {
    this.checkCpu(cpu);
    checkIndex("TLB set", set, this.config.tlbSets);
    if (lpid !== "all") this.checkLpid(lpid);
    const match = (e: { lpid: number }) => lpid === "all" || e.lpid === lpid;
    // POWER10 (tlbFlushSets 1): a tlbiel of one congruence class invalidates every class (docs/model/tlb.md §7.1)
    const n = this.config.tlbFlushSets === 1 ? this.tlbOfCpu(cpu).invalidateAll(match) : this.tlbOfCpu(cpu).invalidateInSet(set, match);
    const count = this.sinkFor(undefined);
    count.add("tlbielSets");
    count.add("flushedEntries", n);
    return n;
  }

  flushLpid(cpu: number, lpid: number): number {
    this.checkCpu(cpu);
    this.checkLpid(lpid);
    const n = this.tlbOfCpu(cpu).invalidateAll((e) => e.lpid === lpid);
    const count = this.sinkFor(undefined);
    count.add("lpidFlushes");
    count.add("flushedEntries", n);
    return n;
  }

  tlbie(lpid: number, slbV: bigint, ea: bigint): number {
    this.checkLpid(lpid);
    const page = vaPageOf(slbV, ea);
    return this.globalTlbie(lpid, page.seg.b, page.vpn4k, page.seg.pageShift, this.sinkFor(undefined));
  }

  /** tlbie on every core of entries tagged (lpid, b, vpn4k, pageShift); one globalTlbies. */
  private globalTlbie(lpid: number, b: number, vpn4k: bigint, pageShift: number, count: CounterSink, baseShift = pageShift): number {
    let n = 0;
    if (pageShift > 0) {
      const set = tlbSetIndex(vpn4k, pageShift, this.config.tlbSets);
      for (const tlb of this.tlbs) n += tlb.invalidateInSet(set, (e) => sameTag(e, lpid, b, vpn4k, pageShift, baseShift));
    }
    count.add("globalTlbies");
    count.add("globalTlbieEntries", n);
    return n;
  }

  /**
   * The invalidation hook (docs/semantics.md): every invalidation of a valid HPTE by an hcall. Until the
   * policies land it is always a global tlbie of the VA recovered from (v, r, ptex) — docs/model/tlb.md §5
   * compute_tlbie_rb — counted in the global block and the guest's.
   */
  invalidateHpte(_cpu: number, guest: RefGuest, v: bigint, r: bigint, ptex: number, _flags: bigint, _kind: HcallName): void {
    const count = this.sinkFor(guest);
    const pair = guest.decodePagePair(v, r);
    if (!pair) {
      this.globalTlbie(guest.lpid, 0, 0n, 0, count); // counted, removes nothing
      return;
    }
    const rec = recoverVa(v, BigInt(ptex), htabMask(guest.hptOrder), pair.base, pair.actual);
    this.globalTlbie(guest.lpid, rec.b, rec.vpn4k, pair.actual, count, pair.base);
  }

  // -------------------------------------------------------------------------------------------
  // Inspection
  // -------------------------------------------------------------------------------------------

  /** TLBs on the machine (docs/model/tlb.md §7.2). */
  get tlbCount(): number {
    return this.tlbs.length;
  }

  /** The TLB that `cpu` uses: cpu / tlbThreadsPerGroup. */
  tlbOf(cpu: number): number {
    this.checkCpu(cpu);
    return Math.floor(cpu / this.config.tlbThreadsPerGroup);
  }

  /** Valid entries of TLB `core` (tlbOf(cpu); the core's when a core shares one TLB). */
  tlbEntries(core: number): TlbEntryView[] {
    checkIndex("core", core, this.tlbs.length);
    const out: TlbEntryView[] = [];
    for (const { set, way, e } of this.tlbs[core]!.valid()) {
      out.push({ set, way, lpid: e.lpid, b: e.b, vpn4k: e.vpn4k, pageShift: e.pageShift, ...(e.baseShift !== e.pageShift ? { basePageShift: e.baseShift } : {}), rpn: e.rpn });
    }
    return out;
  }

  frameOwner(frame: number): number {
    checkIndex("frame", frame, this.frames.total);
    return this.frames.ownerOf(frame);
  }

  freeFrames(): number {
    return this.frames.freeCount();
  }

  counters(): CounterBlock {
    return copyCounterBlock(this.global);
  }

  // -------------------------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------------------------

  /** Counts into the global block, and the guest's block when there is one. */
  sinkFor(guest: RefGuest | undefined): CounterSink {
    return new CounterSink(guest ? [this.global, guest.block] : [this.global]);
  }

  checkCpu(cpu: number): void {
    checkIndex("cpu", cpu, this.cpus);
  }

  private checkLpid(lpid: number): void {
    checkIndex("lpid", lpid, 2 ** this.config.lpidBits);
  }

  private tlbOfCpu(cpu: number): CoreTlb {
    return this.tlbs[Math.floor(cpu / this.config.tlbThreadsPerGroup)]!;
  }

  frameOf(runs: readonly FrameRun[], gfn: number): number {
    return frameAt(runs, gfn);
  }
}

export class RefGuest implements SimGuest {
  readonly semantics: Semantics;
  readonly hptOrder: number;
  readonly npte: number;
  readonly ramBytes: number;
  readonly options: Readonly<GuestOptions>;
  /** Counter block of this guest. */
  readonly block: CounterBlock = newCounterBlock();
  /** The real HPT and KVM's revmap / rmap. */
  readonly table: Hpt;
  private alive = true;

  constructor(
    private readonly machine: RefMachine,
    readonly lpid: number,
    /** Owner id of this guest's frames: 1, 2, 3 … in creation order, never reused. */
    readonly instanceId: number,
    options: GuestOptions,
    private readonly frameRuns: readonly FrameRun[],
  ) {
    this.options = { ...options };
    this.semantics = options.semantics;
    this.hptOrder = options.hptOrder;
    this.npte = 2 ** (options.hptOrder - 4);
    this.ramBytes = options.ramBytes;
    // kvm-hv: zeroed HPT; qemu: every HPTE starts v = 0x40, r = 0 (docs/model/hcalls.md §3.1)
    this.table = new Hpt(this.npte, options.semantics === "qemu" ? 0x40n : 0n);
  }

  get isLive(): boolean {
    return this.alive;
  }

  /** Host pages of guest RAM (rmap words). */
  get hostPages(): number {
    return this.ramBytes / 2 ** this.machine.config.hostPageShift;
  }

  markDestroyed(): void {
    this.alive = false;
  }

  /** Page shift of an HPTE under this guest's semantics (0 = refused encoding). */
  decodePageShift(v: bigint, r: bigint): number {
    return this.semantics === "qemu" ? qemuPageShift(v, r, this.options.hptMaxPageShift) : kvmHvPageShift(v, r);
  }

  /** (base, actual) of an HPTE under this guest's semantics, undefined when refused (docs/model/translation.md §2.7). */
  decodePagePair(v: bigint, r: bigint): PagePair | undefined {
    return this.semantics === "qemu" ? qemuPagePair(v, r, this.options.hptMaxPageShift) : kvmHvPagePair(v, r);
  }

  // -------------------------------------------------------------------------------------------
  // Hypercalls
  // -------------------------------------------------------------------------------------------

  hEnter(flags: bigint, ptex: bigint, pteh: bigint, ptel: bigint, opts?: HcallOptions): HcallResult {
    return this.hcall("H_ENTER", [flags, ptex, pteh, ptel], 1, opts);
  }
  hRemove(flags: bigint, ptex: bigint, avpn: bigint, opts?: HcallOptions): HcallResult {
    return this.hcall("H_REMOVE", [flags, ptex, avpn], 2, opts);
  }
  hProtect(flags: bigint, ptex: bigint, avpn: bigint, opts?: HcallOptions): HcallResult {
    return this.hcall("H_PROTECT", [flags, ptex, avpn], 0, opts);
  }
  hRead(flags: bigint, ptex: bigint, opts?: HcallOptions): HcallResult {
    checkU64("flags", flags);
    return this.hcall("H_READ", [flags, ptex], (flags & H_READ_4) !== 0n ? 8 : 2, opts);
  }
  hBulkRemove(words: readonly bigint[], opts?: HcallOptions): HcallResult {
    if (words.length > 8) throw new RangeError(`H_BULK_REMOVE takes at most 8 words (4 pairs), got ${words.length}`);
    return this.hcall("H_BULK_REMOVE", words, 8, opts);
  }

  /**
   * One hypercall: r4..r11 start as the inputs (missing ones 0), the handler overwrites its outputs,
   * the first `outLen` registers are returned. Problem state: qemu → H_PRIVILEGE; kvm-hv reflects the
   * `sc 1` to the guest (r3 stays the opcode). Counted per name and return bucket.
   */
  private hcall(name: HcallName, inputs: readonly bigint[], outLen: number, opts: HcallOptions = {}): HcallResult {
    if (!this.alive) throw new Error(`guest with LPID ${this.lpid} (instance ${this.instanceId}) was destroyed`);
    inputs.forEach((x, i) => checkU64(`${name} argument ${i + 1}`, x));
    const cpu = opts.cpu ?? 0;
    this.machine.checkCpu(cpu);
    const regs: Regs = Array.from({ length: 8 }, (_, i) => inputs[i] ?? 0n);
    let ret: number;
    if (opts.problemState) {
      ret = this.semantics === "qemu" ? H_PRIVILEGE : OPCODES[name];
    } else {
      ret = HANDLERS[this.semantics][name](this.env(cpu), regs);
    }
    this.machine.sinkFor(this).hcall(name, ret);
    return { ret, out: regs.slice(0, outLen) };
  }

  private env(cpu: number): HcallEnv {
    return {
      hpt: this.table,
      npte: BigInt(this.npte),
      ramBytes: BigInt(this.ramBytes),
      hostPageShift: this.machine.config.hostPageShift,
      hptMaxPageShift: this.options.hptMaxPageShift,
      frameOf: (gfn) => this.machine.frameOf(this.frameRuns, gfn),
      invalidateHpte: (v, r, ptex, flags, kind) => this.machine.invalidateHpte(cpu, this, v, r, ptex, flags, kind),
      count: this.machine.sinkFor(this),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Inspection
  // -------------------------------------------------------------------------------------------

  hpte(ptex: number): { v: bigint; r: bigint } {
    checkIndex("ptex", ptex, this.npte);
    return { v: this.table.v(ptex), r: this.table.r(ptex) };
  }

  guestRpte(ptex: number): bigint {
    checkIndex("ptex", ptex, this.npte);
    return this.semantics === "qemu" ? this.table.r(ptex) : this.table.guestRpte(ptex);
  }

  rmap(gfn: number): bigint {
    checkIndex("gfn", gfn, this.hostPages);
    return this.semantics === "qemu" ? 0n : this.table.rmap(gfn);
  }

  rmapChain(gfn: number): number[] {
    checkIndex("gfn", gfn, this.hostPages);
    return this.semantics === "qemu" ? [] : this.table.chain(gfn);
  }

  frame(gfn: number): number {
    checkIndex("gfn", gfn, this.hostPages);
    if (this.semantics === "qemu" || !this.alive) return -1;
    return frameAt(this.frameRuns, gfn);
  }

  counters(): CounterBlock {
    return copyCounterBlock(this.block);
  }
}

/** A reference machine (the plain-TypeScript model the WASM engine is compared with). */
export function createReferenceMachine(config?: MachineConfigInput): RefMachine {
  return new RefMachine(config);
}
