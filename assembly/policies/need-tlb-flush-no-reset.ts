// need-tlb-flush-no-reset: a deliberately BROKEN variant of need-tlb-flush that skips the
// cpumask_setall() at HPT reset (kvmppc_alloc_reset_hpt), so a core that flushed once keeps the
// entries of the HPT the guest threw away. It exists to prove that scenario hpt-reset can catch
// that; never use it for answers.
import { EV_DECIDE, EV_CAN_PAGE_OUT, EV_NAME, MODE_GLOBAL, MODE_LOCAL } from "./events";
import { globalInvalidates, needTlbFlushEvent, SET_ALL_AT_VM_INIT } from "./common";

export function needTlbFlushNoReset(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  switch (ev) {
    case EV_DECIDE:
      return globalInvalidates(g, cpu) ? MODE_GLOBAL : MODE_LOCAL;
    case EV_CAN_PAGE_OUT:
      return 1;
    case EV_NAME:
      return <u32>changetype<usize>("need-tlb-flush-no-reset");
  }
  needTlbFlushEvent(ev, g, cpu, SET_ALL_AT_VM_INIT);
  return 0;
}
