// need-tlb-flush: the patch's design (docs/model/kvm.md §4) as later kernels apply it to every hypercall
// (v3.12+ H_BULK_REMOVE path, v3.16+ running-vcpu test): need_tlb_flush set in full at VM start
// and HPT reset, test-and-clear with an LPID flush on entry (thread 0), local invalidation only
// for a one-vcore VM running on this cpu.
import { smtShift } from "../machine";
import { needFlushSetAll, needFlushTestAndClear, entryFlush } from "../kvm";
import { EV_VM_INIT, EV_HPT_RESET, EV_VCORE_ENTRY, EV_DECIDE, EV_CAN_PAGE_OUT, MODE_GLOBAL, MODE_LOCAL } from "./events";
import { globalInvalidates } from "./common";

export function needTlbFlush(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  switch (ev) {
    case EV_VM_INIT:
    case EV_HPT_RESET:
      needFlushSetAll(g);
      return 0;
    case EV_VCORE_ENTRY:
      if (needFlushTestAndClear(g, cpu >> smtShift)) entryFlush(cpu, g);
      return 0;
    case EV_DECIDE:
      return globalInvalidates(g, cpu) ? MODE_GLOBAL : MODE_LOCAL; // H_LOCAL is ignored (mmu notifiers)
    case EV_CAN_PAGE_OUT:
      return 1;
  }
  return 0;
}
