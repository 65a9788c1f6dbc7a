// ipi-tlbiel-offline-kept: ipi-tlbiel as powerpc/64s was before commit 01b0f0eae081 ("Trim offlined
// CPUs from mm_cpumasks", Linux 5.10): an offlined core stays in the masks with its TLB unflushed, and
// gets no IPI (smp_call_function_many sends to online cpus only), so it keeps a stale translation
// (scenario cpu-offline-missed-ipi). BROKEN on purpose; never use it for answers.
import { smtShift } from "../machine";
import { ipiMaskSet } from "../kvm/ipi";
import { EV_VCORE_ENTRY, EV_DECIDE, EV_CAN_PAGE_OUT, EV_NAME, EV_PAGE_OUT, MODE_IPI } from "./events";
import { needTlbFlushEvent, SET_ALL_ALWAYS } from "./common";

export function ipiTlbielOfflineKept(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  switch (ev) {
    case EV_DECIDE:
    case EV_PAGE_OUT:
      return MODE_IPI;
    case EV_VCORE_ENTRY:
      ipiMaskSet(g, cpu >> smtShift);
      break;
    case EV_CAN_PAGE_OUT:
      return 1;
    case EV_NAME:
      return <u32>changetype<usize>("ipi-tlbiel-offline-kept");
  }
  // EV_CORE_OFFLINE: nothing (the bug); EV_IPI_RULES: 0, as ipi-tlbiel
  needTlbFlushEvent(ev, g, cpu, SET_ALL_ALWAYS);
  return 0;
}
