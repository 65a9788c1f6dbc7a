/**
 * `need-tlb-flush-3.8` (id 1): commit 1b400ba0 as merged in Linux 3.8–3.11
 * (book3s_hv_rm_mmu.c global_invalidates and kvmppc_h_bulk_remove, v3.8.13–v3.11).
 * - H_REMOVE / H_PROTECT: global_invalidates() tests paca kvm_hstate.kvm_vcore, which is set when a
 *   vcore thread starts on the cpu and never cleared: local iff online_vcores = 1 and this cpu
 *   ever started a vcore of any VM. The bit cleared is that (possibly foreign) vcore's pcpu.
 * - H_BULK_REMOVE: local iff online_vcpus = 1, need_tlb_flush untouched (v3.8.13–v3.11).
 * - entry, VM start, HPT reset: as need-tlb-flush.
 */
import type { KvmPolicy } from "../policy.js";
import { entryCheck, oneVcoreStalePointer, setAll } from "../need-tlb-flush.js";

export const needTlbFlush38: KvmPolicy = {
  id: 1,
  name: "need-tlb-flush-3.8",
  pinned: false,
  vmStart: (k, g) => setAll(k, g),
  hptReset: (k, g) => setAll(k, g),
  enter: (k, g, _core, threads) => entryCheck(k, g, threads[0]!.cpu),
  exit: () => {},
  decide(k, g, req) {
    if (req.kind === "H_BULK_REMOVE") return g.onlineVcpus === 1 ? "local" : "global";
    return oneVcoreStalePointer(k, g, req.cpu) ? "local" : "global";
  },
};
