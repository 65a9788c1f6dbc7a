// need-tlb-flush-no-init: a deliberately BROKEN variant of need-tlb-flush that skips the
// cpumask_setall() at VM start, so a guest on a recycled LPID can meet its predecessor's entries.
// It exists to prove the detector sees that (scenario lpid-reuse); never use it for answers.
import { smtShift } from "../machine";
import { needFlushSetAll, needFlushTestAndClear, entryFlush } from "../kvm";
import { EV_HPT_RESET, EV_VCORE_ENTRY, EV_DECIDE, EV_CAN_PAGE_OUT, MODE_GLOBAL, MODE_LOCAL } from "./events";
import { globalInvalidates } from "./common";

export function needTlbFlushNoInit(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  switch (ev) {
    case EV_HPT_RESET:
      needFlushSetAll(g);
      return 0;
    case EV_VCORE_ENTRY:
      if (needFlushTestAndClear(g, cpu >> smtShift)) entryFlush(cpu, g);
      return 0;
    case EV_DECIDE:
      return globalInvalidates(g, cpu) ? MODE_GLOBAL : MODE_LOCAL;
    case EV_CAN_PAGE_OUT:
      return 1;
  }
  return 0;
}
