// need-tlb-flush: the patch's design (docs/model/kvm.md §4) as later kernels apply it to every hypercall
// (v3.12+ H_BULK_REMOVE path, v3.16+ running-vcpu test): need_tlb_flush set in full at VM start
// and HPT reset, test-and-clear with an LPID flush on entry (thread 0), local invalidation only
// for a one-vcore VM running on this cpu.
import { EV_DECIDE, EV_CAN_PAGE_OUT, EV_NAME, MODE_GLOBAL, MODE_LOCAL } from "./events";
import { globalInvalidates, needTlbFlushEvent, SET_ALL_ALWAYS } from "./common";

export function needTlbFlush(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  switch (ev) {
    case EV_DECIDE:
      return globalInvalidates(g, cpu) ? MODE_GLOBAL : MODE_LOCAL; // H_LOCAL is ignored (mmu notifiers)
    case EV_CAN_PAGE_OUT:
      return 1;
    case EV_NAME:
      return <u32>changetype<usize>("need-tlb-flush");
  }
  needTlbFlushEvent(ev, g, cpu, SET_ALL_ALWAYS);
  return 0;
}
