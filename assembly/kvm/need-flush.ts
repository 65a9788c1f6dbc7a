// KVM's per-VM flush bookkeeping: the need_tlb_flush cpumask (one bit per core; struct kvm_arch,
// Linux 3.8 arch/powerpc/include/asm/kvm_host.h), the pre-patch last_vcpu[] array (Linux 3.7), and
// the flushes a vcore's entry makes. Policies call these
// (assembly/policies/); policies/common.ts holds the block the need_tlb_flush policies share.
import {
  G_LPID, G_NEED_FLUSH, G_LAST_VCPU, G_LAST_VCPU_SLOTS, K_FLUSH_BASE, K_FLUSH_PER_SET, CC_FLUSH, STAT_ENTRY_FLUSHES,
  STAT_FULL_FLUSHES, STAT_LPID_FLUSHES, STAT_FLUSHED_ENTRIES, STAT_NEED_FLUSH_SETS,
} from "../layout";
import { cores, tlbGroups, tlbGroupShift, tlbFlushSets, maskWords, guestStatsOf, bump } from "../machine";
import { flushLpidOnCore, flushCore } from "../tlb";
import { cost, charge } from "./costs";

/** cpumask_setall(need_tlb_flush). */
export function needFlushSetAll(g: usize): void {
  const m = <usize>load<u32>(g, G_NEED_FLUSH);
  for (let i: u32 = 0; i < maskWords; ++i) {
    // maskWords counts TLBs (≥ cores): words past the last core stay 0
    const rest = <i32>cores - <i32>(i << 6);
    store<u64>(m + (<usize>i << 3), rest >= 64 ? 0xffffffffffffffff : rest <= 0 ? 0 : (<u64>1 << <u64>rest) - 1);
  }
  bump(STAT_NEED_FLUSH_SETS, guestStatsOf(g));
}

/**
 * need_tlb_flush = ALL with one bit per TLB (thread group) instead of per core: the bits of the
 * first thread of each TLB group, cpu_first_tlb_thread_sibling() (commit 77bbbc0cf848), which is
 * what the kernel's per-cpu mask comes to when every thread of a group is set and cleared together
 * (docs/model/policies.md §10.2).
 */
export function needFlushSetAllTlbs(g: usize): void {
  const m = <usize>load<u32>(g, G_NEED_FLUSH);
  for (let i: u32 = 0; i < maskWords; ++i) {
    const rest = <i32>tlbGroups - <i32>(i << 6);
    store<u64>(m + (<usize>i << 3), rest >= 64 ? 0xffffffffffffffff : rest <= 0 ? 0 : (<u64>1 << <u64>rest) - 1);
  }
  bump(STAT_NEED_FLUSH_SETS, guestStatsOf(g));
}

/** need_tlb_flush = ALL, then clear the bit of `core` (global_invalidates' local path). */
export function needFlushSetAllExcept(g: usize, core: u32): void {
  needFlushSetAll(g);
  if (core < cores) {
    const w = <usize>load<u32>(g, G_NEED_FLUSH) + (<usize>(core >> 6) << 3);
    store<u64>(w, load<u64>(w) & ~(<u64>1 << (core & 63)));
  }
}

/** The entry check: test_bit(core) and clear it (cleared before the flush, as L3.8 does). */
export function needFlushTestAndClear(g: usize, core: u32): bool {
  const w = <usize>load<u32>(g, G_NEED_FLUSH) + (<usize>(core >> 6) << 3);
  const bit = <u64>1 << (core & 63);
  const x = load<u64>(w);
  if ((x & bit) == 0) return false;
  store<u64>(w, x & ~bit);
  return true;
}

// @ts-ignore: decorator
@inline export function lastVcpuAddr(g: usize, slot: u32): usize {
  return <usize>load<u32>(g, G_LAST_VCPU) + (<usize>slot << 1);
}

/** Pre-patch HPT reset: last_vcpu[] filled with 0xff bytes. */
export function lastVcpuFill(g: usize, x: u16): void {
  const n = load<u32>(g, G_LAST_VCPU_SLOTS);
  for (let i: u32 = 0; i < n; ++i) store<u16>(lastVcpuAddr(g, i), x);
}

/** KVM's flush on entry: tlbFlushSets (POWER7: 128) × tlbiel IS=0b10 of the guest's LPID on cpu's TLB (its core's, or its thread group's: docs/model/tlb.md §7.2). */
export function entryFlush(cpu: u32, g: usize): void {
  const gs = guestStatsOf(g);
  const n = flushLpidOnCore(cpu >> tlbGroupShift, load<u32>(g, G_LPID));
  charge(cpu, gs, CC_FLUSH, cost(K_FLUSH_BASE) + cost(K_FLUSH_PER_SET) * <u64>tlbFlushSets);
  bump(STAT_ENTRY_FLUSHES, gs);
  bump(STAT_LPID_FLUSHES, gs);
  bump(STAT_FLUSHED_ENTRIES, gs, <u64>n);
}

/** PPC970: the whole TLB of cpu (its core's), every LPID (its entries carry none). */
export function fullFlush(cpu: u32, g: usize): void {
  const gs = guestStatsOf(g);
  const n = flushCore(cpu >> tlbGroupShift);
  charge(cpu, gs, CC_FLUSH, cost(K_FLUSH_BASE) + cost(K_FLUSH_PER_SET) * <u64>tlbFlushSets);
  bump(STAT_FULL_FLUSHES, gs);
  bump(STAT_FLUSHED_ENTRIES, gs, <u64>n);
}
