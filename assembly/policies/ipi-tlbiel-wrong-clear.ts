// ipi-tlbiel-wrong-clear: ipi-tlbiel where a core of the mask no longer running the VM gets no IPI:
// its flush is deferred to the VM's next entry there (need_tlb_flush set for its core, like
// KVM_VCPU_FLUSH_TLB for a preempted x86 vcpu) — and the entry check then clears the whole need_tlb_flush mask, so a flush requested
// for one core is cleared by a thread entering another: CVE-2019-3016 (x86 KVM paravirt TLB flush,
// commits 8c6de56a42e0, b043138246a4) in POWER form (scenario need-flush-cleared-by-wrong-thread).
// BROKEN on purpose; never use it for answers.
import { smtShift, guestStatsOf, maskWords } from "../machine";
import { G_NEED_FLUSH } from "../layout";
import { ipiMaskSet, ipiOfflineTrim } from "../kvm/ipi";
import { needFlushTestAndClear, entryFlush } from "../kvm/need-flush";
import {
  EV_VCORE_ENTRY, EV_DECIDE, EV_CAN_PAGE_OUT, EV_NAME, EV_PAGE_OUT, EV_IPI_RULES, EV_CORE_OFFLINE, MODE_IPI, IPI_RULE_DEFER_TO_ENTRY,
} from "./events";
import { needTlbFlushEvent, SET_ALL_ALWAYS } from "./common";

export function ipiTlbielWrongClear(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  switch (ev) {
    case EV_DECIDE:
    case EV_PAGE_OUT:
      return MODE_IPI;
    case EV_VCORE_ENTRY:
      ipiMaskSet(g, cpu >> smtShift);
      if (needFlushTestAndClear(g, cpu >> smtShift)) entryFlush(cpu, g);
      memory.fill(<usize>load<u32>(g, G_NEED_FLUSH), 0, <usize>maskWords << 3); // the bug: every core's request cleared here
      return 0;
    case EV_CORE_OFFLINE:
      ipiOfflineTrim(g, arg, guestStatsOf(g));
      return 0;
    case EV_IPI_RULES:
      return IPI_RULE_DEFER_TO_ENTRY;
    case EV_CAN_PAGE_OUT:
      return 1;
    case EV_NAME:
      return <u32>changetype<usize>("ipi-tlbiel-wrong-clear");
  }
  needTlbFlushEvent(ev, g, cpu, SET_ALL_ALWAYS);
  return 0;
}
