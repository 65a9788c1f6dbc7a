// last-vcpu: Linux 3.6/3.7 before the patch (docs/model/kvm.md §3). Each thread entering with a vcpu checks
// slot = (cpu & ~3) | (vcpu.id & 3) — the low two bits hard-coded "as if threads mapped 1:1", kept
// literally whatever the SMT mode — against vcpu.last_cpu and kvm.last_vcpu[slot] and flushes the
// LPID on its core on a mismatch. Invalidation is local when the VM has one vcpu or the guest says
// H_LOCAL; H_BULK_REMOVE is local iff online_vcpus == 1. No need_tlb_flush.
import { G_VCPUS } from "../layout";
import { vcpuRec } from "../kvm/records";
import { lastVcpuAddr, lastVcpuFill, entryFlush } from "../kvm/need-flush";
import { EV_HPT_RESET, EV_THREAD_ENTRY, EV_DECIDE, EV_CAN_PAGE_OUT, EV_NAME, MODE_GLOBAL, MODE_LOCAL, KIND_BULK } from "./events";

// @ts-ignore: decorator
@inline const H_LOCAL: u64 = 0x0000000010000000;

export function lastVcpu(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  switch (ev) {
    case EV_HPT_RESET:
      lastVcpuFill(g, 0xffff);
      return 0;
    case EV_THREAD_ENTRY: {
      const slot = (cpu & ~(<u32>3)) | (arg & 3);
      const v = vcpuRec(g, arg);
      const lv = lastVcpuAddr(g, slot);
      if (load<u32>(v) != slot || <u32>load<u16>(lv) != arg) {
        store<u32>(v, slot);
        store<u16>(lv, <u16>arg);
        entryFlush(cpu, g);
      }
      return 0;
    }
    case EV_DECIDE: {
      const one = load<u32>(g, G_VCPUS) == 1;
      if (arg == KIND_BULK) return one ? MODE_LOCAL : MODE_GLOBAL;
      return one || (flags & H_LOCAL) != 0 ? MODE_LOCAL : MODE_GLOBAL;
    }
    case EV_CAN_PAGE_OUT:
      return 1;
    case EV_NAME:
      return <u32>changetype<usize>("last-vcpu");
  }
  return 0;
}
