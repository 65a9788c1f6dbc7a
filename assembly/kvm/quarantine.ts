// lazy-reuse's quarantine (docs/model/policies.md §9): LATR-style lazy translation coherence (Kumar et
// al., ASPLOS 2018) for host page-outs. A lazy page-out issues no tlbie: the frame is held, still the
// guest's, until every core that may hold the VM's entries has flushed its LPID once after the frame
// came in (an epoch); only then is it freed for anyone else. Two batches share one list: the closing
// epoch's frames (the first LZ_CLOSING) wait for the cores of the pending mask; frames that come in
// meanwhile open the next epoch, whose mask is taken when the closing one ends.
import {
  G_LAZY, G_LPID, G_VCORES, LZ_COUNT, LZ_CLOSING, LZ_CAP, LZ_VARIANT, LZ_MASKS, LAZY_EARLY, LAZY_RUNNING, LAZY_FREE_FIRST, K_FLUSH_BASE,
  K_FLUSH_PER_SET, CC_FLUSH, STAT_QUARANTINED, STAT_QUARANTINE_RELEASED, STAT_QUARANTINE_PEAK, STAT_EPOCH_FLUSHES,
  STAT_LPID_FLUSHES, STAT_FLUSHED_ENTRIES,
} from "../layout";
import { smtShift, tlbGroupShift, tlbFlushSets, maskWords, stats, guestStatsOf, bump, frameFree } from "../machine";
import { flushLpidOnCore } from "../tlb";
import { vcoreRec } from "./records";
import { cost, charge } from "./costs";

// @ts-ignore: decorator
@inline function block(g: usize): usize {
  return <usize>load<u32>(g, G_LAZY);
}
// @ts-ignore: decorator
@inline function pendingMask(b: usize): usize {
  return b + LZ_MASKS;
}
// @ts-ignore: decorator
@inline function mayHoldMask(b: usize): usize {
  return b + LZ_MASKS + (<usize>maskWords << 3);
}
// @ts-ignore: decorator
@inline function heldFrames(b: usize): usize {
  return b + LZ_MASKS + (<usize>maskWords << 4);
}
// @ts-ignore: decorator
@inline function testBit(m: usize, core: u32): bool {
  return (load<u64>(m + (<usize>(core >> 6) << 3)) & (<u64>1 << (core & 63))) != 0;
}
// @ts-ignore: decorator
@inline function setBit(m: usize, core: u32): void {
  const w = m + (<usize>(core >> 6) << 3);
  store<u64>(w, load<u64>(w) | (<u64>1 << (core & 63)));
}
// @ts-ignore: decorator
@inline function clearBit(m: usize, core: u32): void {
  const w = m + (<usize>(core >> 6) << 3);
  store<u64>(w, load<u64>(w) & ~(<u64>1 << (core & 63)));
}
function empty(m: usize): bool {
  for (let i: u32 = 0; i < maskWords; ++i) if (load<u64>(m + (<usize>i << 3)) != 0) return false;
  return true;
}

/** A new guest's block: nothing held, no core pending or holding, `variant` (LAZY_*). The capacity stays (the host set it). */
export function lazyInit(g: usize, variant: u32): void {
  const b = block(g);
  if (b == 0) return;
  store<u32>(b, 0, LZ_COUNT);
  store<u32>(b, 0, LZ_CLOSING);
  store<u32>(b, variant, LZ_VARIANT);
  memory.fill(pendingMask(b), 0, <usize>maskWords << 4);
}

/** Whether a lazy page-out of g can hold one more frame (else it falls back to the eager path). */
export function lazyHasRoom(g: usize): bool {
  const b = block(g);
  return b != 0 && load<u32>(b, LZ_COUNT) < load<u32>(b, LZ_CAP);
}

/** A lazy page-out hands its frame over: held (still the guest's) until its epoch ends. */
export function lazyHold(g: usize, gs: usize, frame: u32): void {
  const b = block(g);
  const n = load<u32>(b, LZ_COUNT);
  store<u32>(heldFrames(b) + (<usize>n << 2), frame);
  store<u32>(b, n + 1, LZ_COUNT);
  if (load<u32>(b, LZ_VARIANT) == LAZY_FREE_FIRST) frameFree(frame); // the bug: free now, flush later
  bump(STAT_QUARANTINED, gs);
  peak(gs, n + 1);
  if (load<u32>(b, LZ_CLOSING) == 0) openEpoch(g, b, gs);
}

/** The VM's vcore entered the core of cpu (its thread 0); `flushed`: need_tlb_flush already flushed cpu's TLB. */
export function lazyEntry(g: usize, gs: usize, cpu: u32, flushed: bool): void {
  const b = block(g);
  if (b == 0) return;
  const core = cpu >> smtShift;
  setBit(mayHoldMask(b), core);
  if (!testBit(pendingMask(b), core)) return;
  epochFlush(g, gs, cpu, flushed);
  clearBit(pendingMask(b), core);
  if (empty(pendingMask(b))) closeEpoch(g, b, gs);
}

/** The VM's vcore leaves the core of cpu (thread 0; LPIDR still holds the VM's LPID): the flush point of a pending core. */
export function lazyExit(g: usize, gs: usize, cpu: u32): void {
  const b = block(g);
  if (b == 0) return;
  const core = cpu >> smtShift;
  if (!testBit(pendingMask(b), core)) return;
  epochFlush(g, gs, cpu, false);
  clearBit(pendingMask(b), core);
  clearBit(mayHoldMask(b), core); // flushed as it leaves: it holds nothing of the VM
  if (empty(pendingMask(b))) closeEpoch(g, b, gs);
}

/** The guest goes: what it holds is freed with its other frames (its LPID is not run again before a flush, docs/model/kvm.md §1.4). */
export function lazyDestroy(g: usize): void {
  const b = block(g);
  if (b == 0) return;
  const n = load<u32>(b, LZ_COUNT);
  if (load<u32>(b, LZ_VARIANT) != LAZY_FREE_FIRST) for (let i: u32 = 0; i < n; ++i) frameFree(load<u32>(heldFrames(b) + (<usize>i << 2)));
  store<u32>(b, 0, LZ_COUNT);
  store<u32>(b, 0, LZ_CLOSING);
}

/**
 * The held frames become an epoch: the pending mask is every core that may hold the VM's entries
 * (LAZY_RUNNING: only the cores running it now — the bug). An empty mask ends it at once.
 */
function openEpoch(g: usize, b: usize, gs: usize): void {
  store<u32>(b, load<u32>(b, LZ_COUNT), LZ_CLOSING);
  const pm = pendingMask(b);
  if (load<u32>(b, LZ_VARIANT) == LAZY_RUNNING) {
    memory.fill(pm, 0, <usize>maskWords << 3);
    const n = load<u32>(g, G_VCORES);
    for (let vc: u32 = 0; vc < n; ++vc) {
      const rec = vcoreRec(g, vc);
      if (load<u32>(rec, 4) != 0) setBit(pm, load<u32>(rec) >> smtShift);
    }
  } else {
    memory.copy(pm, mayHoldMask(b), <usize>maskWords << 3);
  }
  if (empty(pm)) closeEpoch(g, b, gs);
}

/**
 * Every core of the closing epoch has flushed: its frames are freed (LAZY_EARLY: the next epoch's
 * too — one epoch early), the rest move down and open the next epoch.
 */
function closeEpoch(g: usize, b: usize, gs: usize): void {
  const n = load<u32>(b, LZ_COUNT);
  const k = load<u32>(b, LZ_VARIANT) == LAZY_EARLY ? n : load<u32>(b, LZ_CLOSING);
  const f = heldFrames(b);
  if (load<u32>(b, LZ_VARIANT) != LAZY_FREE_FIRST) for (let i: u32 = 0; i < k; ++i) frameFree(load<u32>(f + (<usize>i << 2)));
  if (k < n) memory.copy(f, f + (<usize>k << 2), <usize>(n - k) << 2);
  store<u32>(b, n - k, LZ_COUNT);
  store<u32>(b, 0, LZ_CLOSING);
  bump(STAT_QUARANTINE_RELEASED, gs, <u64>k);
  if (n - k != 0) openEpoch(g, b, gs);
}

/** The most frames held at once: the guest's, and machine-wide the largest of any guest's. */
function peak(gs: usize, held: u32): void {
  const p = gs + (<usize>STAT_QUARANTINE_PEAK << 3);
  if (<u64>held > load<u64>(p)) store<u64>(p, <u64>held);
  const q = stats + (<usize>STAT_QUARANTINE_PEAK << 3);
  if (<u64>held > load<u64>(q)) store<u64>(q, <u64>held);
}

/**
 * The LPID flush of a flush point: every TLB of the core (both thread groups of a split SMT8 core,
 * docs/model/tlb.md §7.2), each a full KVM flush (K_FLUSH_BASE + K_FLUSH_PER_SET × tlbFlushSets),
 * charged to cpu; `skipOwn`: cpu's TLB was just flushed at entry (need_tlb_flush).
 */
function epochFlush(g: usize, gs: usize, cpu: u32, skipOwn: bool): void {
  const lpid = load<u32>(g, G_LPID);
  const first = (cpu >> smtShift) << (smtShift - tlbGroupShift);
  const groups: u32 = 1 << (smtShift - tlbGroupShift);
  const own = cpu >> tlbGroupShift;
  for (let t = first; t < first + groups; ++t) {
    if (skipOwn && t == own) continue;
    const n = flushLpidOnCore(t, lpid);
    charge(cpu, gs, CC_FLUSH, cost(K_FLUSH_BASE) + cost(K_FLUSH_PER_SET) * <u64>tlbFlushSets);
    bump(STAT_EPOCH_FLUSHES, gs);
    bump(STAT_LPID_FLUSHES, gs);
    bump(STAT_FLUSHED_ENTRIES, gs, <u64>n);
  }
}
