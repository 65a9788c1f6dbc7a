// need-tlb-flush-3.8: commit 1b400ba0 exactly as merged (docs/model/kvm.md §4.2): global_invalidates() tests
// the never-cleared paca kvm_vcore, and H_BULK_REMOVE decides on its own — tlbiel for the whole
// call iff online_vcpus == 1, without touching need_tlb_flush (v3.8–v3.11; Linux 3.8's candidate gap (docs/model/kvm.md §9.2)).
import { G_VCPUS } from "../layout";
import { EV_DECIDE, EV_CAN_PAGE_OUT, EV_NAME, MODE_GLOBAL, MODE_LOCAL, KIND_BULK } from "./events";
import { globalInvalidates38, needTlbFlushEvent, SET_ALL_ALWAYS } from "./common";

export function needTlbFlush38(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  switch (ev) {
    case EV_DECIDE:
      if (arg == KIND_BULK) return load<u32>(g, G_VCPUS) == 1 ? MODE_LOCAL : MODE_GLOBAL;
      return globalInvalidates38(g, cpu) ? MODE_GLOBAL : MODE_LOCAL;
    case EV_CAN_PAGE_OUT:
      return 1;
    case EV_NAME:
      return <u32>changetype<usize>("need-tlb-flush-3.8");
  }
  needTlbFlushEvent(ev, g, cpu, SET_ALL_ALWAYS);
  return 0;
}
