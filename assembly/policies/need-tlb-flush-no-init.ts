// need-tlb-flush-no-init: a deliberately BROKEN variant of need-tlb-flush that skips the
// cpumask_setall() at VM start, so a guest on a recycled LPID can meet its predecessor's entries.
// It exists to prove the detector sees that (scenario lpid-reuse); never use it for answers.
import { EV_DECIDE, EV_CAN_PAGE_OUT, EV_NAME, MODE_GLOBAL, MODE_LOCAL } from "./events";
import { globalInvalidates, needTlbFlushEvent, SET_ALL_AT_HPT_RESET } from "./common";

export function needTlbFlushNoInit(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  switch (ev) {
    case EV_DECIDE:
      return globalInvalidates(g, cpu) ? MODE_GLOBAL : MODE_LOCAL;
    case EV_CAN_PAGE_OUT:
      return 1;
    case EV_NAME:
      return <u32>changetype<usize>("need-tlb-flush-no-init");
  }
  needTlbFlushEvent(ev, g, cpu, SET_ALL_AT_HPT_RESET);
  return 0;
}
