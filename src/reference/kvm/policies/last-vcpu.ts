/**
 * `last-vcpu` (id 2): Linux 3.6/3.7 before the patch (book3s_hv_rmhandlers.S kvmppc_hv_entry's
 * last_vcpu check; book3s_hv_rm_mmu.c kvmppc_h_remove, kvmppc_h_protect, kvmppc_h_bulk_remove).
 * - H_REMOVE: global iff !(flags & H_LOCAL) && online_vcpus > 1. H_PROTECT sets H_LOCAL when
 *   online_vcpus == 1, then the same. H_BULK_REMOVE: local iff online_vcpus == 1.
 * - entry: every thread carrying a vcpu computes slot = (cpu & ~3) | (vcpu & 3) (the "& 3" is
 *   hard-coded whatever the SMT mode) and flushes its core if vcpu.last_cpu ≠ slot or
 *   last_vcpu[slot] ≠ vcpu, then records both — a flush per thread, not per core.
 * - HPT reset: last_vcpu[] filled with 0xffff. VM start: nothing (last_vcpu[] is zeroed).
 */
import { H_LOCAL, type KvmPolicy } from "../policy.js";

export const lastVcpu: KvmPolicy = {
  id: 2,
  name: "last-vcpu",
  pinned: false,
  vmStart: () => {},
  hptReset: (_k, g) => { g.lastVcpuTab.fill(0xffff); },
  enter(k, g, _core, threads) {
    for (const { cpu, vcpu } of threads) {
      const slot = (cpu & ~3) | (vcpu & 3);
      const v = g.vcpuTab[vcpu]!;
      if (v.lastCpu !== slot || g.lastVcpuTab[slot] !== vcpu) {
        v.lastCpu = slot;
        g.lastVcpuTab[slot] = vcpu;
        k.entryFlush(cpu, g);
      }
    }
  },
  exit: () => {},
  decide(_k, g, req) {
    if (req.kind === "H_BULK_REMOVE") return g.onlineVcpus === 1 ? "local" : "global";
    return (req.flags & H_LOCAL) !== 0n || g.onlineVcpus === 1 ? "local" : "global";
  },
};
