// ipi-tlbiel: the radix host's IPI + tlbiel scheme (Linux 5.12+ arch/powerpc/mm/book3s64/radix_tlb.c
// flush_type_needed(), exit_flush_lazy_tlbs(); docs/model/policies.md §13) transplanted to the HPT
// model. Every invalidation — a guest's hcall and the host's page-out — IPIs the cores in the VM's
// "may hold entries" mask (set at vcore entry, trimmed when a target no longer running the VM has
// flushed its LPID, and when a core goes offline, commit 01b0f0eae081) and each runs tlbiel;
// above IPI_PAGE_CEILING pages a request uses tlbie. need_tlb_flush is kept for VM start and HPT reset.
import { smtShift, guestStatsOf } from "../machine";
import { ipiMaskSet, ipiOfflineTrim } from "../kvm/ipi";
import { EV_VCORE_ENTRY, EV_DECIDE, EV_CAN_PAGE_OUT, EV_NAME, EV_PAGE_OUT, EV_IPI_RULES, EV_CORE_OFFLINE, MODE_IPI } from "./events";
import { needTlbFlushEvent, SET_ALL_ALWAYS } from "./common";

/** ipi-tlbiel's events; `trimOffline` false is the bug before 01b0f0eae081 (an offlined core keeps its bit and its entries). */
export function ipiTlbielEvent(ev: u32, g: usize, cpu: u32, arg: u32, trimOffline: bool): u32 {
  switch (ev) {
    case EV_DECIDE:
    case EV_PAGE_OUT:
      return MODE_IPI;
    case EV_VCORE_ENTRY:
      ipiMaskSet(g, cpu >> smtShift);
      break;
    case EV_CORE_OFFLINE:
      if (trimOffline) ipiOfflineTrim(g, arg, guestStatsOf(g));
      return 0;
    case EV_IPI_RULES:
      return 0; // a target not running the VM flushes its LPID now and leaves the mask
    case EV_CAN_PAGE_OUT:
      return 1;
  }
  needTlbFlushEvent(ev, g, cpu, SET_ALL_ALWAYS);
  return 0;
}

export function ipiTlbiel(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  if (ev == EV_NAME) return <u32>changetype<usize>("ipi-tlbiel");
  return ipiTlbielEvent(ev, g, cpu, arg, true);
}
