// deferred-va: Alexander Graf's alternative (docs/model/policies.md §6) on top of need-tlb-flush. A one-vcore VM
// running here invalidates locally exactly as need-tlb-flush does; otherwise an H_REMOVE or
// H_PROTECT that carries H_LOCAL is honoured with tlbiel and its VA recorded in the guest's list
// (cap K; the overflow rule is a guest parameter, see kvm/deferred.ts deferRecord); host paging
// tlbies the recorded VAs of the page it takes. H_BULK_REMOVE has no H_LOCAL input: global unless
// one vcore.
import { G_DEFER_COUNT } from "../layout";
import { EV_HPT_RESET, EV_DECIDE, EV_CAN_PAGE_OUT, EV_NAME, MODE_GLOBAL, MODE_LOCAL, MODE_LOCAL_RECORD, KIND_BULK } from "./events";
import { globalInvalidates, needTlbFlushEvent, SET_ALL_ALWAYS } from "./common";

// @ts-ignore: decorator
@inline const H_LOCAL: u64 = 0x0000000010000000;

export function deferredVa(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  switch (ev) {
    case EV_DECIDE:
      if (!globalInvalidates(g, cpu)) return MODE_LOCAL;
      return arg != KIND_BULK && (flags & H_LOCAL) != 0 ? MODE_LOCAL_RECORD : MODE_GLOBAL;
    case EV_CAN_PAGE_OUT:
      return 1;
    case EV_NAME:
      return <u32>changetype<usize>("deferred-va");
    case EV_HPT_RESET:
      // no vcore runs (reset is refused otherwise) and every core must flush before re-entry (the
      // set-all below): the recorded VAs are covered, the list can go
      store<u32>(g, 0, G_DEFER_COUNT);
      break;
  }
  needTlbFlushEvent(ev, g, cpu, SET_ALL_ALWAYS);
  return 0;
}
