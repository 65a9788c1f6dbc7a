/**
 * `lazy-reuse` (docs/model/policies.md §9): LATR-style lazy translation coherence (Kumar et al.,
 * "LATR: Lazy Translation Coherence", ASPLOS 2018) for KVM's host page-outs, on need-tlb-flush.
 * - hcalls, VM start, HPT reset: as need-tlb-flush (v3.12 + v3.16).
 * - host page-out: no tlbie; the frame is quarantined (../quarantine.ts) until every core that may
 *   hold the VM's entries has flushed its LPID at a flush point.
 * - flush points: the VM's vcore entry on a pending core (after need_tlb_flush's own check) and its
 *   exit from it (the LPID is still loaded there).
 * `lazyReuseFamily` makes its broken variants (lazy-reuse-early, lazy-reuse-running) from it.
 */
import type { KvmPolicy } from "../policy.js";
import { entryCheck, oneVcoreRunningHere, setAll } from "../need-tlb-flush.js";
import { entered, exited, newQuarantine, type LazyVariant } from "../quarantine.js";
import { LAZY_REUSE_ID } from "../../../model/policies.js";

export function lazyReuseFamily(id: number, name: string, variant: LazyVariant): KvmPolicy {
  return {
    id,
    name,
    pinned: false,
    lazyPageOut: true,
    vmStart(k, g) {
      setAll(k, g);
      const pages = k.hostPagesOf(g);
      g.quarantineState = pages > 0 ? newQuarantine(variant, pages, k.cores) : null;
    },
    hptReset: (k, g) => setAll(k, g),
    enter(k, g, core) {
      const cpu = core * k.smt;
      const flushed = g.needFlush[core]!;
      entryCheck(k, g, cpu);
      entered(k, g, cpu, flushed);
    },
    exit: (k, g, core) => exited(k, g, core * k.smt),
    decide: (k, g, req) => (oneVcoreRunningHere(k, g, req.cpu) ? "local" : "global"),
  };
}

export const lazyReuse: KvmPolicy = lazyReuseFamily(LAZY_REUSE_ID, "lazy-reuse", "epoch");
