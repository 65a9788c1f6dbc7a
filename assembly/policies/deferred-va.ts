// deferred-va: Alexander Graf's alternative (docs/model/policies.md §6) on top of need-tlb-flush. A one-vcore VM
// running here invalidates locally exactly as need-tlb-flush does; otherwise an H_REMOVE or
// H_PROTECT that carries H_LOCAL is honoured with tlbiel and its VA recorded in the guest's list
// (cap K; the overflow rule is a guest parameter, see kvm.ts deferRecord); host paging tlbies the
// recorded VAs of the page it takes. H_BULK_REMOVE has no H_LOCAL input: global unless one vcore.
import { smtShift } from "../machine";
import { needFlushSetAll, needFlushTestAndClear, entryFlush } from "../kvm";
import { G_DEFER_COUNT } from "../layout";
import { EV_VM_INIT, EV_HPT_RESET, EV_VCORE_ENTRY, EV_DECIDE, EV_CAN_PAGE_OUT, MODE_GLOBAL, MODE_LOCAL, MODE_LOCAL_RECORD, KIND_BULK } from "./events";
import { globalInvalidates } from "./common";

// @ts-ignore: decorator
@inline const H_LOCAL: u64 = 0x0000000010000000;

export function deferredVa(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  switch (ev) {
    case EV_VM_INIT:
      needFlushSetAll(g);
      return 0;
    case EV_HPT_RESET:
      // no vcore runs (reset is refused otherwise) and every core must flush before re-entry:
      // the recorded VAs are covered, the list can go
      needFlushSetAll(g);
      store<u32>(g, 0, G_DEFER_COUNT);
      return 0;
    case EV_VCORE_ENTRY:
      if (needFlushTestAndClear(g, cpu >> smtShift)) entryFlush(cpu, g);
      return 0;
    case EV_DECIDE:
      if (!globalInvalidates(g, cpu)) return MODE_LOCAL;
      return arg != KIND_BULK && (flags & H_LOCAL) != 0 ? MODE_LOCAL_RECORD : MODE_GLOBAL;
    case EV_CAN_PAGE_OUT:
      return 1;
  }
  return 0;
}
