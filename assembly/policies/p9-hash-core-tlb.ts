// p9-hash-core-tlb: p9-hash before commit 77bbbc0cf848 (Linux 5.14, "KVM: PPC: Book3S HV: Fix TLB
// management on SMT8 POWER9 and POWER10 processors"; docs/model/policies.md §11): need_tlb_flush
// has one bit per core (cpu_first_thread_sibling), and the first thread of the core to enter after
// it was set flushes *its own* TLB and clears the core's bit — on an SMT8 core of two TLBs the
// other thread group's TLB is never flushed. Everything else as p9-hash.
import { smtShift } from "../machine";
import { needFlushSetAll, needFlushTestAndClear, entryFlush } from "../kvm/need-flush";
import { EV_VM_INIT, EV_HPT_RESET, EV_THREAD_ENTRY, EV_DECIDE, EV_CAN_PAGE_OUT, EV_TLBIE_FIXUPS, EV_NAME, MODE_GLOBAL } from "./events";

export function p9HashCoreTlb(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  switch (ev) {
    case EV_VM_INIT:
    case EV_HPT_RESET:
      needFlushSetAll(g);
      return 0;
    case EV_THREAD_ENTRY:
      if (needFlushTestAndClear(g, cpu >> smtShift)) entryFlush(cpu, g);
      return 0;
    case EV_DECIDE:
      return MODE_GLOBAL;
    case EV_CAN_PAGE_OUT:
    case EV_TLBIE_FIXUPS:
      return 1;
    case EV_NAME:
      return <u32>changetype<usize>("p9-hash-core-tlb");
  }
  return 0;
}
