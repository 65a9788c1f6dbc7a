// batched-reclaim: need-tlb-flush for the guest's hcalls, and host page-outs batched as the 2024
// powerpc "batched unmap TLB flush" RFC proposes (Ritesh Harjani, "[RFC / PoC v1] powerpc: Add
// support for batched unmap TLB flush", linuxppc-dev, 22 Sep 2024; docs/model/policies.md §14): a
// page-out makes its HPTEs ABSENT without a tlbie and holds its frame; every BATCH_MAX page-outs
// one flush IPIs the cores in the VM's mask, each flushing the whole LPID with tlbiel, and only
// then are the held frames free for reuse.
import { smtShift, guestStatsOf } from "../machine";
import { ipiMaskSet, ipiOfflineTrim } from "../kvm/ipi";
import { EV_VCORE_ENTRY, EV_DECIDE, EV_CAN_PAGE_OUT, EV_NAME, EV_PAGE_OUT, EV_CORE_OFFLINE, MODE_GLOBAL, MODE_LOCAL, MODE_BATCH } from "./events";
import { globalInvalidates, needTlbFlushEvent, SET_ALL_ALWAYS } from "./common";

/** The batched family's events; `pageOutMode` is what a page-out does with its frame (MODE_BATCH: held until the batch's flush). */
export function batchedReclaimEvent(ev: u32, g: usize, cpu: u32, arg: u32, pageOutMode: u32): u32 {
  switch (ev) {
    case EV_DECIDE:
      return globalInvalidates(g, cpu) ? MODE_GLOBAL : MODE_LOCAL;
    case EV_PAGE_OUT:
      return pageOutMode;
    case EV_VCORE_ENTRY:
      ipiMaskSet(g, cpu >> smtShift);
      break;
    case EV_CORE_OFFLINE:
      ipiOfflineTrim(g, arg, guestStatsOf(g));
      return 0;
    case EV_CAN_PAGE_OUT:
      return 1;
  }
  needTlbFlushEvent(ev, g, cpu, SET_ALL_ALWAYS);
  return 0;
}

export function batchedReclaim(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  if (ev == EV_NAME) return <u32>changetype<usize>("batched-reclaim");
  return batchedReclaimEvent(ev, g, cpu, arg, MODE_BATCH);
}
