// Pieces several policies share: KVM's need_tlb_flush bookkeeping (kvmppc_core_init_vm_hv,
// kvmppc_alloc_reset_hpt, kvmppc_run_core; Linux 3.8 arch/powerpc/kvm/) and the two versions of
// global_invalidates() (docs/model/kvm.md §4.2, §6).
import { G_VCORES, CPU_VC_SLOT, CPU_VC_IDX, NO_CPU } from "../layout";
import { cpuRec, vcoreRec, runningGuest } from "../kvm/records";
import { needFlushSetAll, needFlushSetAllExcept, needFlushTestAndClear, entryFlush } from "../kvm/need-flush";
import { lazyInit, lazyEntry, lazyExit } from "../kvm/quarantine";
import { smtShift, guestDesc, guestStatsOf } from "../machine";
import {
  EV_VM_INIT, EV_HPT_RESET, EV_VCORE_ENTRY, EV_VCORE_EXIT, EV_DECIDE, EV_CAN_PAGE_OUT, MODE_GLOBAL, MODE_LOCAL, PAGE_OUT_LAZY,
} from "./events";

/** needTlbFlushEvent: set need_tlb_flush in full at VM start (kvmppc_core_init_vm). */
// @ts-ignore: decorator
@inline export const SET_ALL_AT_VM_INIT: u32 = 1;
/** needTlbFlushEvent: set need_tlb_flush in full at HPT reset (kvmppc_alloc_reset_hpt). */
// @ts-ignore: decorator
@inline export const SET_ALL_AT_HPT_RESET: u32 = 2;
/** Both, as KVM does (the broken variants leave one out). */
// @ts-ignore: decorator
@inline export const SET_ALL_ALWAYS: u32 = 3;

/**
 * KVM's need_tlb_flush bookkeeping for events EV_VM_INIT, EV_HPT_RESET and EV_VCORE_ENTRY (others
 * are ignored): cpumask_setall(need_tlb_flush) at VM start and at HPT reset, as `setAllAt` says;
 * on a vcore's entry, test and clear the core's bit and flush the VM's LPID there if it was set
 * (kvmppc_run_core; cleared before the flush, as 3.8 does).
 */
// @ts-ignore: decorator
@inline export function needTlbFlushEvent(ev: u32, g: usize, cpu: u32, setAllAt: u32): void {
  if (ev == EV_VM_INIT) {
    if ((setAllAt & SET_ALL_AT_VM_INIT) != 0) needFlushSetAll(g);
  } else if (ev == EV_HPT_RESET) {
    if ((setAllAt & SET_ALL_AT_HPT_RESET) != 0) needFlushSetAll(g);
  } else if (ev == EV_VCORE_ENTRY) {
    if (needFlushTestAndClear(g, cpu >> smtShift)) entryFlush(cpu, g);
  }
}

/**
 * global_invalidates() of v3.16+ (and of the patch "applied to every hcall"): local iff the VM has
 * one vcore and a vcpu of it runs on this cpu (paca kvm_vcpu, cleared at guest exit). When local,
 * need_tlb_flush = ALL except this core. Returns true for a global tlbie.
 */
export function globalInvalidates(g: usize, cpu: u32): bool {
  if (load<u32>(g, G_VCORES) == 1 && runningGuest(cpu) == g) {
    needFlushSetAllExcept(g, cpu >> smtShift);
    return false;
  }
  return true;
}

/**
 * global_invalidates() as merged in 3.8 (to 3.15): local iff the VM has one vcore and
 * paca[cpu].kvm_vcore is non-NULL, which it is on any cpu that ever started a vcore thread of any
 * VM (never cleared). The bit cleared is that of the pointed-to vcore's *current* pcpu.
 */
export function globalInvalidates38(g: usize, cpu: u32): bool {
  const c = cpuRec(cpu);
  const vcSlot = load<u32>(c, CPU_VC_SLOT);
  if (load<u32>(g, G_VCORES) == 1 && vcSlot != 0) {
    const pcpu = load<u32>(vcoreRec(guestDesc(vcSlot - 1), load<u32>(c, CPU_VC_IDX)));
    needFlushSetAllExcept(g, pcpu == NO_CPU ? NO_CPU : pcpu >> smtShift);
    return false;
  }
  return true;
}

/**
 * lazy-reuse and its variants (docs/model/policies.md §9): need-tlb-flush's bookkeeping and decisions
 * for the guest's hcalls; host page-outs are lazy (no tlbie, the frame quarantined, kvm/quarantine.ts);
 * a vcore's entry and exit are the flush points of the epochs. `variant`: LAZY_* (layout.ts).
 */
export function lazyReuseEvent(ev: u32, g: usize, cpu: u32, variant: u32): u32 {
  switch (ev) {
    case EV_DECIDE:
      return globalInvalidates(g, cpu) ? MODE_GLOBAL : MODE_LOCAL;
    case EV_CAN_PAGE_OUT:
      return PAGE_OUT_LAZY;
    case EV_VM_INIT:
      needFlushSetAll(g);
      lazyInit(g, variant);
      break;
    case EV_HPT_RESET:
      needFlushSetAll(g);
      break;
    case EV_VCORE_ENTRY: {
      const flushed = needFlushTestAndClear(g, cpu >> smtShift);
      if (flushed) entryFlush(cpu, g);
      lazyEntry(g, guestStatsOf(g), cpu, flushed);
      break;
    }
    case EV_VCORE_EXIT:
      lazyExit(g, guestStatsOf(g), cpu);
      break;
  }
  return 0;
}
