// The stale-translation detector (docs/kvm-model.md "Detector"): every TLB hit of a kvm-hv guest
// is checked against the frame owner table; entries a translation leaves behind are marked STALE
// with a provenance word (layout.ts draws it: PROV_*) saying what left them.
import {
  VIOL_BYTES, G_LPID, G_INSTANCE, STAT_VIOLATIONS, STAT_STALE_HARMLESS, STAT_STALE_HITS, TLBE_RPN, TLBE_STALE,
  PROV_CAUSE_SHIFT, PROV_CPU_SHIFT, PROV_CPU_MASK, PROV_TIME,
} from "../layout";
import { stats, viol, violSlots, hostPageShift, hostFrames, frameOwner, bump } from "../machine";
import { provOf } from "../tlb";
import { clockOf } from "./records";

/** Stale provenance word (PROV_*): cause, the cpu that left the entry behind, and its clock then. */
// @ts-ignore: decorator
@inline export function provenance(cause: u32, cpu: u32): u64 {
  return (<u64>cause << PROV_CAUSE_SHIFT) | ((<u64>cpu & PROV_CPU_MASK) << PROV_CPU_SHIFT) | (clockOf(cpu) & PROV_TIME);
}

/** Verdicts of the detector, written to op word 6 of a translation. */
// @ts-ignore: decorator
@inline export const VERDICT_OK: u64 = 0;
// @ts-ignore: decorator
@inline export const VERDICT_STALE_HARMLESS: u64 = 1;
// @ts-ignore: decorator
@inline export const VERDICT_VIOLATION: u64 = 2;

/**
 * Every TLB hit of a kvm-hv guest: the real page must still belong to the accessing guest. A hit on
 * a frame it no longer owns is a violation (counted; the first violationSlots recorded); a hit on a
 * stale entry whose frame it still owns is harmless.
 */
export function detect(cpu: u32, g: usize, gs: usize, e: usize, ea: u64): u64 {
  const w1 = load<u64>(e, 8);
  const stale = (w1 & TLBE_STALE) != 0;
  if (stale) bump(STAT_STALE_HITS, gs);
  const frame = (w1 & TLBE_RPN) >> (<u64>hostPageShift - 12);
  const owner = frame < <u64>hostFrames ? load<u32>(frameOwner + (<usize>frame << 2)) : 0;
  const inst = load<u32>(g, G_INSTANCE);
  if (owner == inst) {
    if (!stale) return VERDICT_OK;
    bump(STAT_STALE_HARMLESS, gs);
    return VERDICT_STALE_HARMLESS;
  }
  const k = load<u64>(stats + (<usize>STAT_VIOLATIONS << 3));
  bump(STAT_VIOLATIONS, gs);
  if (k < <u64>violSlots) {
    const r = viol + <usize>k * VIOL_BYTES;
    store<u32>(r, cpu);
    store<u32>(r, load<u32>(g, G_LPID), 4);
    store<u32>(r, inst, 8);
    store<u32>(r, owner, 12);
    store<u64>(r, load<u64>(e), 16);
    store<u64>(r, w1 & TLBE_RPN, 24);
    store<u64>(r, clockOf(cpu), 32);
    store<u64>(r, stale ? load<u64>(provOf(e)) : 0, 40);
    store<u64>(r, ea, 48);
    store<u32>(r, stale ? 1 : 0, 56);
    store<u32>(r, <u32>frame, 60);
  }
  return VERDICT_VIOLATION;
}
