// Pieces several policies share: the two versions of global_invalidates() (docs/model/kvm.md §4.2, §6).
import { G_VCORES, CPU_VC_SLOT, CPU_VC_IDX, NO_CPU } from "../layout";
import { smtShift, guestDesc } from "../machine";
import { cpuRec, vcoreRec, runningGuest, needFlushSetAllExcept } from "../kvm";

/**
 * global_invalidates() of v3.16+ (and of the patch "applied to every hcall"): local iff the VM has
 * one vcore and a vcpu of it runs on this cpu (paca kvm_vcpu, cleared at guest exit). When local,
 * need_tlb_flush = ALL except this core. Returns true for a global tlbie.
 */
export function globalInvalidates(g: usize, cpu: u32): bool {
  if (load<u32>(g, G_VCORES) == 1 && runningGuest(cpu) == g) {
    needFlushSetAllExcept(g, cpu >> smtShift);
    return false;
  }
  return true;
}

/**
 * global_invalidates() as merged in 3.8 (to 3.15): local iff the VM has one vcore and
 * paca[cpu].kvm_vcore is non-NULL, which it is on any cpu that ever started a vcore thread of any
 * VM (never cleared). The bit cleared is that of the pointed-to vcore's *current* pcpu.
 */
export function globalInvalidates38(g: usize, cpu: u32): bool {
  const c = cpuRec(cpu);
  const vcSlot = load<u32>(c, CPU_VC_SLOT);
  if (load<u32>(g, G_VCORES) == 1 && vcSlot != 0) {
    const pcpu = load<u32>(vcoreRec(guestDesc(vcSlot - 1), load<u32>(c, CPU_VC_IDX)));
    needFlushSetAllExcept(g, pcpu == NO_CPU ? NO_CPU : pcpu >> smtShift);
    return false;
  }
  return true;
}
