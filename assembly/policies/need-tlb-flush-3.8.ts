// need-tlb-flush-3.8: commit 1b400ba0 exactly as merged (docs/model/kvm.md §4.2): global_invalidates() tests
// the never-cleared paca kvm_vcore, and H_BULK_REMOVE decides on its own — tlbiel for the whole
// call iff online_vcpus == 1, without touching need_tlb_flush (v3.8–v3.11; Linux 3.8's candidate gap (docs/model/kvm.md §9.2)).
import { G_VCPUS } from "../layout";
import { smtShift } from "../machine";
import { needFlushSetAll, needFlushTestAndClear, entryFlush } from "../kvm";
import { EV_VM_INIT, EV_HPT_RESET, EV_VCORE_ENTRY, EV_DECIDE, EV_CAN_PAGE_OUT, MODE_GLOBAL, MODE_LOCAL, KIND_BULK } from "./events";
import { globalInvalidates38 } from "./common";

export function needTlbFlush38(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  switch (ev) {
    case EV_VM_INIT:
    case EV_HPT_RESET:
      needFlushSetAll(g);
      return 0;
    case EV_VCORE_ENTRY:
      if (needFlushTestAndClear(g, cpu >> smtShift)) entryFlush(cpu, g);
      return 0;
    case EV_DECIDE:
      if (arg == KIND_BULK) return load<u32>(g, G_VCPUS) == 1 ? MODE_LOCAL : MODE_GLOBAL;
      return globalInvalidates38(g, cpu) ? MODE_GLOBAL : MODE_LOCAL;
    case EV_CAN_PAGE_OUT:
      return 1;
  }
  return 0;
}
