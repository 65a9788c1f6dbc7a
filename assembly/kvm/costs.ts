// The cost model (docs/kvm-model.md, "Cost model"): every cpu has a clock; an event's cycles go
// to the cpu's clock, to its breakdown by category, and to the guest's and the machine's counters.
// Global sequences wait for the tlbie fabric (fabric.ts).
import {
  CPU_CLOCK, CPU_CYCLES, K_TLB_HIT, K_PTEG_WALK, K_HCALL, K_TLBIEL, K_TLBIEL_EXTRA, K_FLUSH_BASE, K_FLUSH_PER_SET,
  CC_TRANSLATE, CC_WALK, CC_HCALL, CC_TLBIEL, CC_FLUSH, STAT_CYCLES, STAT_TLBIEL_SEQUENCES,
} from "../layout";
import { costs, tlbFlushSets, bump } from "../machine";
import { cpuRec } from "./records";

/** Cycles of cost-table entry `k` (K_*; header + HDR_COSTS, written by the host). */
// @ts-ignore: decorator
@inline export function cost(k: u32): u64 {
  return <u64>load<u32>(costs + (<usize>k << 2));
}

/** Add `cycles` of category `cc` to cpu's clock, its breakdown, the guest's and the machine's. */
export function charge(cpu: u32, gs: usize, cc: u32, cycles: u64): void {
  const c = cpuRec(cpu);
  store<u64>(c, load<u64>(c, CPU_CLOCK) + cycles, CPU_CLOCK);
  const p = c + CPU_CYCLES + (<usize>cc << 3);
  store<u64>(p, load<u64>(p) + cycles);
  bump(STAT_CYCLES + cc, gs, cycles);
}

/** One local sequence of `n` tlbiels on cpu's core (ptesync; n × tlbiel; ptesync). */
export function localSequence(cpu: u32, gs: usize, n: u32): void {
  if (n == 0) return;
  charge(cpu, gs, CC_TLBIEL, cost(K_TLBIEL) + cost(K_TLBIEL_EXTRA) * <u64>(n - 1));
  bump(STAT_TLBIEL_SEQUENCES, gs);
}

/** One tlbiel of a whole congruence class (IS = 0b10 / 0b11): a tlbiel sequence, counted as a flush. */
export function chargeSetFlush(cpu: u32): void {
  charge(cpu, 0, CC_FLUSH, cost(K_TLBIEL));
}

/** An LPID flush of one core outside guest entry (the machine op). */
export function chargeLpidFlush(cpu: u32): void {
  charge(cpu, 0, CC_FLUSH, cost(K_FLUSH_BASE) + cost(K_FLUSH_PER_SET) * <u64>tlbFlushSets);
}

/** Cost of one translation: the ERAT-miss/TLB-hit path, plus the PTEGs a miss probed. */
export function chargeTranslate(cpu: u32, gs: usize, ptegs: u32): void {
  charge(cpu, gs, CC_TRANSLATE, cost(K_TLB_HIT));
  if (ptegs != 0) charge(cpu, gs, CC_WALK, cost(K_PTEG_WALK) * <u64>ptegs);
}

/** Cost of one hypercall's round trip (real mode), its invalidations excluded. */
export function chargeHcall(cpu: u32, gs: usize): void {
  charge(cpu, gs, CC_HCALL, cost(K_HCALL));
}

/** Guest work between events: the cpu's clock moves on (no cost category). */
export function work(cpu: u32, cycles: u64): void {
  const c = cpuRec(cpu);
  store<u64>(c, load<u64>(c, CPU_CLOCK) + cycles, CPU_CLOCK);
}
