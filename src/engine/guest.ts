/**
 * A guest of a simulated machine: its hypercalls (each one op run at once), its HPT, revmap, rmap
 * and frames read from the shared memory, and its side of the KVM model (vcores, host paging).
 */
import type { GuestOptions } from "../config.js";
import type { CounterBlock, HcallOptions, HcallResult, Semantics, SimGuest } from "../types.js";
import { G, GUEST_BYTES, LZ, NO_FRAME, OP, REC, RMAP, STATS_BYTES } from "./layout.js";
import { checkInt, checkU64, hReadOutCount } from "./ops.js";
import { decodeDeferred, decodeVcore, decodeVcpu, type KvmCounters } from "./records.js";
import type { Machine } from "./machine.js";

/** A guest's slice of the arena. */
export interface ArenaBlock {
  offset: number;
  bytes: number;
}

export class Guest implements SimGuest {
  readonly lpid: number;
  readonly slot: number;
  readonly instance: number;
  readonly options: GuestOptions;
  /** @internal */
  readonly _block: ArenaBlock;
  /** @internal */
  _dead = false;
  readonly #m: Machine;

  constructor(m: Machine, lpid: number, slot: number, instance: number, options: GuestOptions, block: ArenaBlock) {
    this.#m = m;
    this.lpid = lpid;
    this.slot = slot;
    this.instance = instance;
    this.options = options;
    this._block = block;
  }

  get semantics(): Semantics { return this.options.semantics; }
  get hptOrder(): number { return this.options.hptOrder; }
  get npte(): number { return 2 ** (this.options.hptOrder - 4); }

  #desc(field: number): number {
    return this.#m._u32[(this.#m.plan.guests + this.slot * GUEST_BYTES + field) / 4]!;
  }

  #call(opcode: number, regs: bigint[], nOut: number, opts?: HcallOptions): HcallResult {
    if (this._dead) throw new Error(`guest LPID ${this.lpid} was destroyed`);
    return this.#m._hcall(this.slot, opcode, regs, nOut, opts);
  }

  hEnter(flags: bigint, ptex: bigint, pteh: bigint, ptel: bigint, opts?: HcallOptions): HcallResult {
    return this.#call(OP.H_ENTER, [checkU64("flags", flags), checkU64("ptex", ptex), checkU64("pteh", pteh), checkU64("ptel", ptel)], 1, opts);
  }
  hRemove(flags: bigint, ptex: bigint, avpn: bigint, opts?: HcallOptions): HcallResult {
    return this.#call(OP.H_REMOVE, [checkU64("flags", flags), checkU64("ptex", ptex), checkU64("avpn", avpn)], 2, opts);
  }
  hProtect(flags: bigint, ptex: bigint, avpn: bigint, opts?: HcallOptions): HcallResult {
    return this.#call(OP.H_PROTECT, [checkU64("flags", flags), checkU64("ptex", ptex), checkU64("avpn", avpn)], 0, opts);
  }
  hRead(flags: bigint, ptex: bigint, opts?: HcallOptions): HcallResult {
    checkU64("flags", flags);
    return this.#call(OP.H_READ, [flags, checkU64("ptex", ptex)], hReadOutCount(flags), opts);
  }
  hBulkRemove(words: readonly bigint[], opts?: HcallOptions): HcallResult {
    if (words.length > 8) throw new RangeError(`H_BULK_REMOVE takes at most 8 words (4 pairs), got ${words.length}`);
    const regs = Array.from({ length: 8 }, (_, i) => checkU64(`words[${i}]`, words[i] ?? 0n)); // missing registers are 0
    return this.#call(OP.H_BULK_REMOVE, regs, 8, opts);
  }

  hpte(ptex: number): { v: bigint; r: bigint } {
    checkInt("ptex", ptex, this.npte);
    const a = (this.#desc(G.HPT) + ptex * 16) / 8;
    const u = this.#m._u64;
    return { v: u[a]!, r: u[a + 1]! };
  }

  guestRpte(ptex: number): bigint {
    checkInt("ptex", ptex, this.npte);
    if (this.semantics === "qemu") return this.hpte(ptex).r;
    return this.#m._u64[(this.#desc(G.REVMAP) + ptex * 16) / 8]!;
  }

  #ramHostPages(): number { return this.#desc(G.RAM_HOST_PAGES); }

  rmap(gfn: number): bigint {
    if (this.semantics === "qemu") return 0n;
    checkInt("gfn", gfn, this.#ramHostPages());
    return this.#m._u64[(this.#desc(G.RMAP) + gfn * 8) / 8]!;
  }

  rmapChain(gfn: number): number[] {
    const w = this.rmap(gfn);
    if (!(w & RMAP.PRESENT)) return [];
    const head = Number(w & RMAP.INDEX);
    const rev = this.#desc(G.REVMAP) / 4;
    const u32 = this.#m._u32;
    const out = [head];
    for (let i = u32[rev + head * 4 + 2]!; i !== head; i = u32[rev + i * 4 + 2]!) {
      out.push(i);
      if (out.length > this.npte) throw new Error(`rmap ring of gfn ${gfn} does not close`);
    }
    return out;
  }

  frame(gfn: number): number {
    if (this.semantics === "qemu") return -1;
    checkInt("gfn", gfn, this.#ramHostPages());
    const f = this.#m._u32[this.#desc(G.FRAMES) / 4 + gfn]!;
    return f === NO_FRAME ? -1 : f;
  }

  counters(): CounterBlock {
    return this.#m._readStats(this.#m.plan.guestStats + this.slot * STATS_BYTES);
  }

  // ───────── the KVM model ─────────

  get policy(): string { return this.options.policy; }
  /** online_vcpus and online_vcores (vcore = vcpu / threadsPerVcore). */
  get vcpus(): number { return this.options.vcpus; }
  get vcores(): number { return this.#desc(G.VCORES); }

  #live(): void {
    if (this._dead) throw new Error(`guest LPID ${this.lpid} was destroyed`);
  }

  /**
   * Vcore `vcore` enters physical core `core` (kvmppc_run_core): its vcpus selected by `vcpuMask`
   * (bit k = vcpu vcore·threadsPerVcore + k; default all) take threads 0, 1, … of the core.
   */
  runVcore(vcore: number, core: number, vcpuMask = 0): void {
    this.#live();
    checkInt("core", core, this.#m.config.cores);
    this.#m._kvmOp(`runVcore(${vcore}, core ${core})`, OP.VCORE_RUN, 0, this.slot, [BigInt(checkInt("vcore", vcore, 65536)), BigInt(core), BigInt(checkInt("vcpuMask", vcpuMask, 256))]);
  }

  /** The vcore exits to the host. */
  exitVcore(vcore: number): void {
    this.#live();
    this.#m._kvmOp(`exitVcore(${vcore})`, OP.VCORE_EXIT, 0, this.slot, [BigInt(checkInt("vcore", vcore, 65536))]);
  }

  /** The host takes page `gfn` away (MMU notifier, run on host cpu `cpu`). Returns the HPTEs invalidated. */
  pageOut(gfn: number, cpu = 0): number {
    this.#live();
    return Number(this.#m._kvmOp(`pageOut(gfn ${gfn})`, OP.PAGE_OUT, cpu, this.slot, [BigInt(checkInt("gfn", gfn, 2 ** 32))]));
  }

  /**
   * LRU-like host reclaim (kvm_age_rmapp): of up to 8 candidate gfns, page out the first whose HPTEs
   * were not referenced since the last look (else the first), and age them all. Returns the gfn paged out.
   */
  reclaim(gfns: number[], cpu = 0): number {
    this.#live();
    if (gfns.length < 1 || gfns.length > 8) throw new RangeError(`reclaim: 1 to 8 candidate gfns, got ${gfns.length}`);
    const regs = Array.from({ length: 8 }, (_, i) => (i < gfns.length ? BigInt(checkInt("gfn", gfns[i]!, 2 ** 32)) : 0xffffffffffffffffn));
    return Number(this.#m._kvmOp(`reclaim(${gfns.join(", ")})`, OP.RECLAIM, cpu, this.slot, regs));
  }

  /** The host backs page `gfn` with a frame again (lowest free). Returns the frame. */
  pageIn(gfn: number): number {
    this.#live();
    return Number(this.#m._kvmOp(`pageIn(gfn ${gfn})`, OP.PAGE_IN, 0, this.slot, [BigInt(checkInt("gfn", gfn, 2 ** 32))]));
  }

  /** KVM_PPC_ALLOCATE_HTAB on an existing HPT: zeroed, rmap chains emptied, no tlbie. */
  resetHpt(cpu = 0): void {
    this.#live();
    this.#m._kvmOp("resetHpt", OP.HPT_RESET, cpu, this.slot, []);
  }

  kvmCounters(): KvmCounters {
    return this.#m._readKvm(this.#m.plan.guestStats + this.slot * STATS_BYTES);
  }

  /** Cores (or, under p9-hash, TLBs: docs/model/policies.md §10.2) whose need_tlb_flush bit is set. */
  needTlbFlush(): number[] {
    const base = this.#desc(G.NEED_FLUSH) / 8;
    const out: number[] = [];
    for (let core = 0; core < this.#m.tlbCount; core++) {
      if ((this.#m._u64[base + (core >> 6)]! >> BigInt(core & 63)) & 1n) out.push(core);
    }
    return out;
  }

  /** kvm.last_vcpu[slot] (pre-patch; 0xffff after an HPT reset). */
  lastVcpu(slot: number): number {
    checkInt("slot", slot, this.#desc(G.LAST_VCPU_SLOTS));
    return this.#m._u32[(this.#desc(G.LAST_VCPU) + slot * 2) >> 2]! >>> (((this.#desc(G.LAST_VCPU) + slot * 2) & 2) * 8) & 0xffff;
  }

  /** vcpu.last_cpu (pre-patch; 0xffff before its first run) and the cpu it runs on now. */
  vcpuState(vcpu: number): { lastCpu: number; runningOn: number | null } {
    checkInt("vcpu", vcpu, this.options.vcpus);
    return decodeVcpu(this.#m._u32, this.#desc(G.VCPU_TAB) + vcpu * REC.VCPU_BYTES);
  }

  /** vcore.pcpu (thread-0 cpu of its last run), whether it runs now, and how many runs. */
  vcoreState(vcore: number): { pcpu: number | null; running: boolean; vcpuMask: number; runs: number } {
    checkInt("vcore", vcore, this.vcores);
    return decodeVcore(this.#m._u32, this.#desc(G.VCORE_TAB) + vcore * REC.VCORE_BYTES);
  }

  /**
   * lazy-reuse's quarantine (docs/model/policies.md §9), or null for a policy without one: the held
   * frames oldest first, how many of them the closing epoch holds, its pending cores, and the cores
   * that may hold the VM's entries.
   */
  quarantine(): { held: number[]; closing: number; pending: number[]; mayHold: number[] } | null {
    const b = this.#desc(G.LAZY);
    if (b === 0) return null;
    const u32 = this.#m._u32;
    const words = this.#m.plan.maskWords;
    const cores = (mask: number) => {
      const out: number[] = [];
      for (let c = 0; c < this.#m.config.cores; c++) if ((this.#m._u64[mask / 8 + (c >> 6)]! >> BigInt(c & 63)) & 1n) out.push(c);
      return out;
    };
    const n = u32[(b + LZ.COUNT) / 4]!;
    const frames = b + LZ.MASKS + words * 16;
    return {
      held: Array.from({ length: n }, (_, i) => u32[frames / 4 + i]!),
      closing: u32[(b + LZ.CLOSING) / 4]!,
      pending: cores(b + LZ.MASKS),
      mayHold: cores(b + LZ.MASKS + words * 8),
    };
  }

  /** deferred-va: the recorded VAs, oldest first. */
  deferred(): { set: number; vpn4k: bigint; gfn: number | null }[] {
    const n = this.#desc(G.DEFER_COUNT);
    const base = this.#desc(G.DEFER);
    const out = [];
    for (let i = 0; i < n; i++) out.push(decodeDeferred(this.#m._u32, this.#m._u64, base + i * REC.DEFER_BYTES));
    return out;
  }

  /** ipi-tlbiel, batched-reclaim: the cores in the VM's "may hold entries" mask, in order. */
  ipiMask(): number[] {
    const base = this.#desc(G.IPI_MASK) / 8;
    const out: number[] = [];
    for (let core = 0; core < this.#m.config.cores; core++) {
      if ((this.#m._u64[base + (core >> 6)]! >> BigInt(core & 63)) & 1n) out.push(core);
    }
    return out;
  }

  /** batched-reclaim: the frames paged out and held until the batch's flush (−1: freed early), oldest first. */
  heldFrames(): number[] {
    const n = this.#desc(G.BATCH_COUNT);
    const base = this.#desc(G.BATCH);
    return Array.from({ length: n }, (_, i) => { const f = this.#m._u32[base / 4 + i]!; return f === NO_FRAME ? -1 : f; });
  }
}

