/**
 * `batched-reclaim` (id 14): need-tlb-flush for the guest's hcalls; host page-outs batched as the 2024
 * powerpc "batched unmap TLB flush" RFC proposes (docs/model/policies.md §14): a page-out makes its
 * HPTEs ABSENT without a tlbie and holds its frame; every 32 page-outs one flush IPIs the cores in
 * the VM's mask, each flushing the whole LPID with tlbiel, and only then are the frames free.
 */
import type { KvmPolicy } from "../policy.js";
import { entryCheck, oneVcoreRunningHere, setAll } from "../need-tlb-flush.js";

export const batchedReclaim: KvmPolicy = {
  id: 14,
  name: "batched-reclaim",
  pinned: false,
  pageOut: "batch",
  vmStart: (k, g) => setAll(k, g),
  hptReset: (k, g) => setAll(k, g),
  enter(k, g, core, threads) {
    g.mayHold[core] = true;
    entryCheck(k, g, threads[0]!.cpu);
  },
  exit: () => {},
  decide: (k, g, req) => (oneVcoreRunningHere(k, g, req.cpu) ? "local" : "global"),
  coreOffline: (k, g, core) => k.ipiOfflineTrim(g, core),
};
