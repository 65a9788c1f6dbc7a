/**
 * `flush-always` (id 3): the PPC970 (v3.7 book3s_hv_rmhandlers.S: whole-TLB flush at
 * entry and exit; book3s_hv.c: no MMU notifiers). Its TLB entries carry no LPID, so the whole TLB of
 * the core (every congruence class, every LPID) is flushed at every guest entry and every exit; it
 * has no MMU notifiers, so guest memory is pinned and host page-outs are refused.
 * - H_REMOVE / H_PROTECT: local iff the 3.8 one-vcore rule (online_vcores = 1 and a non-NULL paca
 *   kvm_vcore) or H_LOCAL (honoured: using_mmu_notifiers = 0). H_BULK_REMOVE: local iff
 *   online_vcpus = 1. The one-vcore rule marks need_tlb_flush as in 3.8 (global_invalidates);
 *   the H_LOCAL branch leaves it alone — it is never read here: the 970 flushes at every entry.
 */
import { H_LOCAL, type KvmPolicy } from "../policy.js";
import { oneVcoreStalePointer } from "../need-tlb-flush.js";

export const flushAlways: KvmPolicy = {
  id: 3,
  name: "flush-always",
  pinned: true,
  vmStart: () => {},
  hptReset: () => {},
  enter: (k, g, _core, threads) => k.wholeTlbFlush(threads[0]!.cpu, g),
  exit: (k, g, _core, threads) => k.wholeTlbFlush(threads[0]!.cpu, g),
  decide(k, g, req) {
    if (req.kind === "H_BULK_REMOVE") return g.onlineVcpus === 1 ? "local" : "global";
    if (oneVcoreStalePointer(k, g, req.cpu)) return "local";
    return (req.flags & H_LOCAL) !== 0n ? "local" : "global";
  },
};
