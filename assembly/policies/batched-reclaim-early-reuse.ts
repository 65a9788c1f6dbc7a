// batched-reclaim-early-reuse: batched-reclaim whose page-out frees the frame at once, before its
// batch's flush — the reuse window the batched flush must close (the RFC's frames stay off the free
// list until the flush; scenario batch-reuse-before-flush). BROKEN on purpose; never use it for answers.
import { smtShift, guestStatsOf } from "../machine";
import { ipiMaskSet, ipiOfflineTrim } from "../kvm/ipi";
import { EV_VCORE_ENTRY, EV_DECIDE, EV_CAN_PAGE_OUT, EV_NAME, EV_PAGE_OUT, EV_CORE_OFFLINE, MODE_GLOBAL, MODE_LOCAL, MODE_BATCH_FREE_EARLY } from "./events";
import { globalInvalidates, needTlbFlushEvent, SET_ALL_ALWAYS } from "./common";

export function batchedReclaimEarlyReuse(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  switch (ev) {
    case EV_DECIDE:
      return globalInvalidates(g, cpu) ? MODE_GLOBAL : MODE_LOCAL;
    case EV_PAGE_OUT:
      return MODE_BATCH_FREE_EARLY;
    case EV_VCORE_ENTRY:
      ipiMaskSet(g, cpu >> smtShift);
      break;
    case EV_CORE_OFFLINE:
      ipiOfflineTrim(g, arg, guestStatsOf(g));
      return 0;
    case EV_CAN_PAGE_OUT:
      return 1;
    case EV_NAME:
      return <u32>changetype<usize>("batched-reclaim-early-reuse");
  }
  needTlbFlushEvent(ev, g, cpu, SET_ALL_ALWAYS);
  return 0;
}
