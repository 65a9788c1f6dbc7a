/**
 * `ipi-tlbiel` (id 13): the radix host's IPI + tlbiel scheme (Linux 5.12+ radix_tlb.c
 * flush_type_needed(), exit_flush_lazy_tlbs()) transplanted to the HPT model (docs/model/policies.md §13).
 * - decision: every invalidation, and every host page-out, IPIs the cores in the VM's mask (the
 *   machine's shootdown); a request above 33 pages would use tlbie.
 * - entry: the core joins the mask (switch_mm's cpumask_set_cpu); need_tlb_flush as need-tlb-flush
 *   (VM start, HPT reset).
 * - a core going offline leaves the mask after flushing the LPID (commit 01b0f0eae081).
 */
import type { KvmPolicy } from "../policy.js";
import { entryCheck, setAll } from "../need-tlb-flush.js";

export const ipiTlbiel: KvmPolicy = {
  id: 13,
  name: "ipi-tlbiel",
  pinned: false,
  pageOut: "ipi",
  vmStart: (k, g) => setAll(k, g),
  hptReset: (k, g) => setAll(k, g),
  enter(k, g, core, threads) {
    g.mayHold[core] = true;
    entryCheck(k, g, threads[0]!.cpu);
  },
  exit: () => {},
  decide: () => "ipi",
  coreOffline: (k, g, core) => k.ipiOfflineTrim(g, core),
};
