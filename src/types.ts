/**
 * Types shared by the WASM engine and the plain-TypeScript reference model.
 * Both implement `HcallTarget` and produce `Counters` of the same shape, so a
 * differential test can drive either one with the same calls.
 */

export type Semantics = "kvm-hv" | "qemu";

/** PAPR hcall names, as spelled in the architecture and in traces. */
export type HcallName = "H_ENTER" | "H_REMOVE" | "H_PROTECT" | "H_READ" | "H_BULK_REMOVE";
export const HCALL_NAMES: readonly HcallName[] = ["H_ENTER", "H_REMOVE", "H_PROTECT", "H_READ", "H_BULK_REMOVE"];

/** Return-code buckets that counters keep per hcall. `reflected` = KVM-HV problem-state sc 1 (docs/model/hcalls.md §4). */
export type RetBucket = "H_SUCCESS" | "H_PARAMETER" | "H_PTEG_FULL" | "H_NOT_FOUND" | "H_PRIVILEGE" | "other";
export const RET_BUCKETS: readonly RetBucket[] = ["H_SUCCESS", "H_PARAMETER", "H_PTEG_FULL", "H_NOT_FOUND", "H_PRIVILEGE", "other"];

/** Result of one hypercall: r3 as a signed number, r4.. as unsigned 64-bit bigints (PAPR register order). */
export interface HcallResult {
  ret: number;
  out: bigint[];
}

export interface HcallOptions {
  /** Issuing cpu (core × smt + thread). Default 0. */
  cpu?: number;
  /** MSR[PR] = 1 at the `sc 1` (docs/model/hcalls.md §4: QEMU returns H_PRIVILEGE; KVM-HV reflects it to the guest). */
  problemState?: boolean;
}

/** The PAPR HPT hypercalls of one guest. Output lengths: H_ENTER 1, H_REMOVE 2, H_PROTECT 0, H_READ 2 (8 with H_READ_4), H_BULK_REMOVE 8. */
export interface HcallTarget {
  hEnter(flags: bigint, ptex: bigint, pteh: bigint, ptel: bigint, opts?: HcallOptions): HcallResult;
  hRemove(flags: bigint, ptex: bigint, avpn: bigint, opts?: HcallOptions): HcallResult;
  hProtect(flags: bigint, ptex: bigint, avpn: bigint, opts?: HcallOptions): HcallResult;
  hRead(flags: bigint, ptex: bigint, opts?: HcallOptions): HcallResult;
  /** Up to 8 words (r4..r11: 4 translation specifier pairs); registers not given hold 0. */
  hBulkRemove(words: readonly bigint[], opts?: HcallOptions): HcallResult;
}

export type AccessKind = "load" | "store" | "ifetch";

/** Outcome of one translation. `fault`: no HPTE matched (HDSI/HISI to the hypervisor). */
export interface TranslateResult {
  kind: "hit" | "miss" | "fault";
  /** Real address (host real address under kvm-hv, guest real address under qemu); 0n on fault. */
  ra: bigint;
}

/** Per-scope 64-bit counters. Every field is a bigint read straight from memory (engine) or kept as bigint (reference). */
export interface CounterBlock {
  translations: bigint;
  tlbHits: bigint;
  tlbMisses: bigint;
  hptWalks: bigint;
  ptegsProbed: bigint;
  hptFaults: bigint;
  tlbFills: bigint;
  tlbEvictions: bigint;
  globalTlbies: bigint;
  globalTlbieEntries: bigint;
  localTlbiels: bigint;
  localTlbielEntries: bigint;
  tlbielSets: bigint;
  lpidFlushes: bigint;
  flushedEntries: bigint;
  rmapLinks: bigint;
  rmapUnlinks: bigint;
  hcalls: Record<HcallName, Record<RetBucket, bigint>>;
}

export const SCALAR_COUNTERS = [
  "translations", "tlbHits", "tlbMisses", "hptWalks", "ptegsProbed", "hptFaults", "tlbFills", "tlbEvictions",
  "globalTlbies", "globalTlbieEntries", "localTlbiels", "localTlbielEntries", "tlbielSets", "lpidFlushes",
  "flushedEntries", "rmapLinks", "rmapUnlinks",
] as const;
export type ScalarCounter = (typeof SCALAR_COUNTERS)[number];

/** One valid TLB entry, as tests and tools see it. */
export interface TlbEntryView {
  set: number;
  way: number;
  lpid: number;
  /** Segment size field B: 0 = 256 MB, 1 = 1 TB. */
  b: number;
  /** VA >> 12 with the in-page bits cleared. */
  vpn4k: bigint;
  /** The actual page size: the entry covers the whole page (docs/model/translation.md §2.7). */
  pageShift: number;
  /** Only for a larger page in a segment of smaller base pages: the segment's base page shift. */
  basePageShift?: number;
  /** Real page number in 4 KiB units. */
  rpn: bigint;
}

/** One guest (LPID) of a simulated machine. */
export interface SimGuest extends HcallTarget {
  readonly lpid: number;
  readonly semantics: Semantics;
  readonly hptOrder: number;
  /** Number of HPTEs: 2^(hptOrder − 4). */
  readonly npte: number;
  /** The real HPTE (what hardware walks): host real addresses under kvm-hv. */
  hpte(ptex: number): { v: bigint; r: bigint };
  /** revmap[ptex].guest_rpte (kvm-hv; under qemu the HPT's own r). */
  guestRpte(ptex: number): bigint;
  /** rmap word of host page `gfn` of guest RAM (kvm-hv; 0n under qemu). */
  rmap(gfn: number): bigint;
  /** The ptexes of the rmap ring of `gfn`, from the head, following `forw`. */
  rmapChain(gfn: number): number[];
  /** Host frame that backs host page `gfn` of guest RAM, or -1. */
  frame(gfn: number): number;
  counters(): CounterBlock;
}

/** A simulated machine: cores, TLBs, guests. Implemented by the WASM engine and by the reference model. */
export interface SimMachine {
  createGuest(opts?: import("./config.js").GuestOptionsInput): SimGuest;
  destroyGuest(lpid: number): void;
  guest(lpid: number): SimGuest | undefined;
  /** Throws RangeError for an SLB word that is not a valid POWER7 segment (docs/semantics.md). */
  translate(cpu: number, lpid: number, slbV: bigint, ea: bigint, access?: AccessKind): TranslateResult;
  /** Each returns the number of TLB entries it removed. */
  tlbiel(cpu: number, lpid: number, slbV: bigint, ea: bigint): number;
  tlbielSet(cpu: number, set: number, lpid: number | "all"): number;
  flushLpid(cpu: number, lpid: number): number;
  tlbie(lpid: number, slbV: bigint, ea: bigint): number;
  /** Valid entries of one TLB (index tlbOf(cpu); the core's when a core shares one TLB), ordered by set then way. */
  tlbEntries(core: number): TlbEntryView[];
  /** TLBs on the machine: cores × smt / tlbThreadsPerGroup (docs/model/tlb.md §7.2). */
  readonly tlbCount: number;
  /** The TLB a cpu uses. */
  tlbOf(cpu: number): number;
  /** Owner instance id of a host frame (0 = free). */
  frameOwner(frame: number): number;
  counters(): CounterBlock;
}
