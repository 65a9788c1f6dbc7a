// p9-hash: what KVM does today for an HPT guest on POWER9/POWER10 (docs/model/policies.md §10): every
// guest runs through the P9 entry path since Linux 5.14 (book3s_hv_p9_entry.c) and its
// hypercalls in virtual mode (kvmppc_pseries_do_hcall):
//  - global_invalidates() (book3s_hv_rm_mmu.c) answers global whenever MSR[IR|DR] is set — "LPID has
//    been switched to host if in virt mode so can't do local" — so every hcall invalidation is a tlbie;
//  - need_tlb_flush is set in full at VM start and HPT reset; each thread entering the guest checks it
//    for its TLB group (check_need_tlb_flush, commits 77bbbc0cf848 and d5c0e8332d82): the first
//    thread of the group flushes its TLB, the others only order with ptesync (one bit per TLB here);
//  - its global sequences carry the POWER9 errata workarounds (fixup_tlbie_lpid) where the machine
//    has the errata (EV_TLBIE_FIXUPS; the host sets which).
import { tlbGroupShift } from "../machine";
import { needFlushSetAllTlbs, needFlushTestAndClear, entryFlush } from "../kvm/need-flush";
import { EV_VM_INIT, EV_HPT_RESET, EV_THREAD_ENTRY, EV_DECIDE, EV_CAN_PAGE_OUT, EV_TLBIE_FIXUPS, EV_NAME, MODE_GLOBAL } from "./events";

export function p9Hash(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  switch (ev) {
    case EV_VM_INIT:
    case EV_HPT_RESET:
      needFlushSetAllTlbs(g);
      return 0;
    case EV_THREAD_ENTRY:
      if (needFlushTestAndClear(g, cpu >> tlbGroupShift)) entryFlush(cpu, g);
      return 0;
    case EV_DECIDE:
      return MODE_GLOBAL; // virtual mode: forced global
    case EV_CAN_PAGE_OUT:
    case EV_TLBIE_FIXUPS:
      return 1;
    case EV_NAME:
      return <u32>changetype<usize>("p9-hash");
  }
  return 0;
}
