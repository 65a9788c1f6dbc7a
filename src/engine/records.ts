/**
 * Record decoders: the engine's records read back from the shared memory, built from the mirrored
 * layout constants (src/engine/layout.ts: TLBE, PROV, REC, VIOL_REC, …) and the page-size table —
 * TLB entries, stale-entry provenance, violation records, cpu / vcpu / vcore / deferred-VA records
 * and counter blocks.
 */
import type { CounterBlock, HcallName, RetBucket, TlbEntryView } from "../types.js";
import { HCALL_NAMES, RET_BUCKETS, SCALAR_COUNTERS } from "../types.js";
import { COST_CATEGORIES, type CostCategory } from "../model/costs.js";
import { tlbPsizePair } from "../model/page-sizes.js";
import {
  DEFER_REC, NO_CPU, NO_FRAME, PROV, REC, RET_BUCKET_COUNT, STALE, STAT, STAT_CYCLES, STAT_HCALLS, TLBE, VCORE_REC, VCPU_REC, VIOL_REC,
} from "./layout.js";

/** The KVM model's counters (docs/kvm-model.md), with cycles per cost category. */
export interface KvmCounters {
  violations: bigint;
  staleHarmless: bigint;
  staleHits: bigint;
  staleMarked: bigint;
  guestEntries: bigint;
  entryFlushes: bigint;
  fullFlushes: bigint;
  tlbieSequences: bigint;
  tlbielSequences: bigint;
  tlbieWaits: bigint;
  ipis: bigint;
  pageOuts: bigint;
  pageOutHptes: bigint;
  pageIns: bigint;
  hvFaults: bigint;
  deferredRecords: bigint;
  deferredOverflows: bigint;
  deferredTlbies: bigint;
  hptResets: bigint;
  localInvalidations: bigint;
  globalInvalidations: bigint;
  needFlushSets: bigint;
  /** Cycles of tlbieWait spent on the tlbie lock (concurrent fabric, docs/model/costs.md §8); the rest waited for the fabric. */
  tlbieLockWaitCycles: bigint;
  /** lazy-reuse's quarantine (docs/model/policies.md §9): frames put in, freed, the most held at once, page-outs done eagerly when full, flushes made for epochs. */
  quarantined: bigint;
  quarantineReleased: bigint;
  quarantinePeak: bigint;
  quarantineFallbacks: bigint;
  epochFlushes: bigint;
  /** Extra tlbies of the POWER9 errata workarounds (one per erratum per global sequence; docs/model/policies.md §10.3). */
  errataTlbies: bigint;
  /** IPIs that interrupted a core running a guest; of those, a guest other than the one flushed (ipi-tlbiel, batched-reclaim). */
  ipiInterrupts: bigint;
  ipiOtherGuest: bigint;
  /** IPIs to a core that held no entry of the flushed LPID, and the cycles (send, handler, tlbiels) they cost. */
  ipiEmpty: bigint;
  ipiEmptyCycles: bigint;
  /** batched-reclaim: page-outs whose frame waited for a batch flush, and batch flushes. */
  batchHeld: bigint;
  batchFlushes: bigint;
  cycles: Record<CostCategory, bigint>;
}
export const KVM_COUNTERS = [
  "violations", "staleHarmless", "staleHits", "staleMarked", "guestEntries", "entryFlushes", "fullFlushes",
  "tlbieSequences", "tlbielSequences", "tlbieWaits", "ipis", "pageOuts", "pageOutHptes", "pageIns", "hvFaults",
  "deferredRecords", "deferredOverflows", "deferredTlbies", "hptResets", "localInvalidations", "globalInvalidations",
  "needFlushSets", "ipiInterrupts", "ipiOtherGuest", "ipiEmpty", "ipiEmptyCycles", "batchHeld", "batchFlushes",
] as const;

/** lazy-reuse's counters, kept outside KVM_COUNTERS (results.json carries them for its family only). */
export const QUARANTINE_COUNTERS = ["quarantined", "quarantineReleased", "quarantinePeak", "quarantineFallbacks", "epochFlushes"] as const;

/** The detector's verdict on a TLB hit. */
export type Verdict = "ok" | "stale-harmless" | "violation";
/** Verdicts by the code a translate op leaves in its verdict word. */
export const VERDICTS: readonly Verdict[] = ["ok", "stale-harmless", "violation"];

/** One recorded violation: a TLB hit on a frame the accessing guest no longer owns. */
export interface ViolationRecord {
  cpu: number;
  lpid: number;
  /** Instance id of the accessing guest, and the frame's owner now (0 free, 0xffffffff host). */
  guest: number;
  owner: number;
  ea: bigint;
  /** VA >> 12 (page-aligned) of the entry, its segment size B and page shift. */
  vpn4k: bigint;
  b: number;
  pageShift: number;
  /** Real page number (4 KiB units) and host frame. */
  rpn: bigint;
  frame: number;
  /** The accessing cpu's clock. */
  time: bigint;
  /** Why the entry was stale, if the detector had marked it: the event that left it behind. */
  leftBy: StaleCause | null;
}

export interface StaleCause {
  cause: "local-invalidation" | "lpid-freed" | "hpt-reset" | "lazy-page-out";
  /** The cpu that issued the local invalidation (or ran the host operation) … */
  cpu: number;
  /** … and its clock then (low 40 bits). */
  time: bigint;
}

const STALE_CAUSES: Record<number, StaleCause["cause"]> = {
  [STALE.LOCAL]: "local-invalidation", [STALE.LPID_FREE]: "lpid-freed", [STALE.HPT_RESET]: "hpt-reset", [STALE.LAZY]: "lazy-page-out",
};

/** A TLB provenance word → why its entry is stale, or null when no cause is recorded. */
export function decodeProvenance(word: bigint): StaleCause | null {
  const c = Number(word >> PROV.CAUSE_SHIFT);
  if (c === 0) return null;
  return { cause: STALE_CAUSES[c] ?? "hpt-reset", cpu: Number((word >> PROV.CPU_SHIFT) & PROV.CPU_MASK), time: word & PROV.TIME };
}

/** The tag fields of a TLB entry's w0 (also the key of deferred-VA and violation records). */
export function decodeTlbKey(w0: bigint): { vpn4k: bigint; b: number; pageShift: number; basePageShift?: number } {
  const pair = tlbPsizePair(Number((w0 >> TLBE.PSIZE_SHIFT) & TLBE.PSIZE_MASK));
  return {
    vpn4k: w0 & TLBE.VPN, b: Number((w0 >> TLBE.B_SHIFT) & 1n), pageShift: pair.actual,
    // a mixed page-size entry (docs/model/translation.md §2.7) names its segment's base page too
    ...(pair.base !== pair.actual ? { basePageShift: pair.base } : {}),
  };
}

/** Whether a TLB entry's w0 is valid. */
export function tlbEntryValid(w0: bigint): boolean {
  return (w0 >> TLBE.VALID_SHIFT) !== 0n;
}

/** Whether the detector has marked a TLB entry (w1) stale. */
export function tlbEntryStale(w1: bigint): boolean {
  return (w1 & TLBE.STALE) !== 0n;
}

/** A valid TLB entry at (set, way) as the host API shows it. */
export function decodeTlbEntry(set: number, way: number, w0: bigint, w1: bigint): TlbEntryView {
  const k = decodeTlbKey(w0);
  return {
    set, way, lpid: Number((w1 & TLBE.LPID) >> TLBE.LPID_SHIFT), b: k.b, vpn4k: k.vpn4k, pageShift: k.pageShift,
    ...(k.basePageShift !== undefined ? { basePageShift: k.basePageShift } : {}), rpn: w1 & TLBE.RPN,
  };
}

/** The violation record at byte `r`. */
export function decodeViolation(u32: Uint32Array, u64: BigUint64Array, r: number): ViolationRecord {
  const k = decodeTlbKey(u64[(r + VIOL_REC.KEY) / 8]!);
  return {
    cpu: u32[(r + VIOL_REC.CPU) / 4]!, lpid: u32[(r + VIOL_REC.LPID) / 4]!, guest: u32[(r + VIOL_REC.GUEST) / 4]!, owner: u32[(r + VIOL_REC.OWNER) / 4]!,
    vpn4k: k.vpn4k, b: k.b, pageShift: k.pageShift,
    rpn: u64[(r + VIOL_REC.RPN) / 8]!, time: u64[(r + VIOL_REC.TIME) / 8]!,
    leftBy: u32[(r + VIOL_REC.STALE) / 4] ? decodeProvenance(u64[(r + VIOL_REC.PROV) / 8]!) : null,
    ea: u64[(r + VIOL_REC.EA) / 8]!, frame: u32[(r + VIOL_REC.FRAME) / 4]!,
  };
}

/** What runs on the cpu whose record is at byte `b`: guest (LPID = slot + 1) and vcpu, and the 3.8 paca kvm_vcore. */
export function decodeCpuState(u32: Uint32Array, b: number): { lpid: number | null; vcpu: number | null; kvmVcore: { lpid: number; vcore: number } | null } {
  const run = u32[(b + REC.CPU_RUN_SLOT) / 4]!;
  const vc = u32[(b + REC.CPU_VC_SLOT) / 4]!;
  return {
    lpid: run ? run : null,
    vcpu: run ? u32[(b + REC.CPU_RUN_VCPU) / 4]! : null,
    kvmVcore: vc ? { lpid: vc, vcore: u32[(b + REC.CPU_VC_IDX) / 4]! } : null,
  };
}

/** The clock and cycles per cost category of the cpu record at byte `b`. */
export function decodeCpuCycles(u64: BigUint64Array, b: number): { clock: bigint; cycles: Record<CostCategory, bigint> } {
  const base = (b + REC.CPU_CYCLES) / 8;
  const cycles = {} as Record<CostCategory, bigint>;
  COST_CATEGORIES.forEach((name, i) => { cycles[name] = u64[base + i]!; });
  return { clock: u64[(b + REC.CPU_CLOCK) / 8]!, cycles };
}

/** The vcpu record at byte `b`: last_cpu (0xffff before its first run) and the cpu it runs on. */
export function decodeVcpu(u32: Uint32Array, b: number): { lastCpu: number; runningOn: number | null } {
  const on = u32[(b + VCPU_REC.RUNNING) / 4]!;
  return { lastCpu: u32[(b + VCPU_REC.LAST_CPU) / 4]!, runningOn: on ? on - 1 : null };
}

/** The vcore record at byte `b`. */
export function decodeVcore(u32: Uint32Array, b: number): { pcpu: number | null; running: boolean; vcpuMask: number; runs: number } {
  const pcpu = u32[(b + VCORE_REC.PCPU) / 4]!;
  return { pcpu: pcpu === NO_CPU ? null : pcpu, running: u32[(b + VCORE_REC.RUNNING) / 4] !== 0, vcpuMask: u32[(b + VCORE_REC.VCPU_MASK) / 4]!, runs: u32[(b + VCORE_REC.RUNS) / 4]! };
}

/** The deferred-VA record at byte `r`. */
export function decodeDeferred(u32: Uint32Array, u64: BigUint64Array, r: number): { set: number; vpn4k: bigint; gfn: number | null } {
  const gfn = u32[(r + DEFER_REC.GFN) / 4]!;
  return { set: u32[(r + DEFER_REC.SET) / 4]!, vpn4k: u64[(r + DEFER_REC.KEY) / 8]! & TLBE.VPN, gfn: gfn === NO_FRAME ? null : gfn };
}

/** The KVM counters and cycles of the stats block at byte `byteOffset`. */
export function decodeKvmCounters(u64: BigUint64Array, byteOffset: number): KvmCounters {
  const base = byteOffset / 8;
  const out = {} as KvmCounters;
  for (const name of KVM_COUNTERS) (out as unknown as Record<string, bigint>)[name] = u64[base + STAT[name]]!;
  out.tlbieLockWaitCycles = u64[base + STAT.tlbieLockWaitCycles]!;
  for (const name of QUARANTINE_COUNTERS) out[name] = u64[base + STAT[name]]!;
  out.errataTlbies = u64[base + STAT.errataTlbies]!;
  const cycles = {} as Record<CostCategory, bigint>;
  COST_CATEGORIES.forEach((name, i) => { cycles[name] = u64[base + STAT_CYCLES + i]!; });
  out.cycles = cycles;
  return out;
}

/** The counters and hcall matrix of the stats block at byte `byteOffset`. */
export function decodeCounterBlock(u64: BigUint64Array, byteOffset: number): CounterBlock {
  const base = byteOffset / 8;
  const block = {} as CounterBlock;
  for (const name of SCALAR_COUNTERS) (block as unknown as Record<string, bigint>)[name] = u64[base + STAT[name]]!;
  const hcalls = {} as Record<HcallName, Record<RetBucket, bigint>>;
  HCALL_NAMES.forEach((h, k) => {
    const row = {} as Record<RetBucket, bigint>;
    RET_BUCKETS.forEach((r, b) => { row[r] = u64[base + STAT_HCALLS + k * RET_BUCKET_COUNT + b]!; });
    hcalls[h] = row;
  });
  block.hcalls = hcalls;
  return block;
}
