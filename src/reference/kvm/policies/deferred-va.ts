/**
 * `deferred-va` (id 4): Alexander Graf's proposal (kvm-ppc thread "Improve handling of local vs.
 * global TLB invalidations", Nov 2012) grafted onto the patch.
 * - decision: need-tlb-flush's one-vcore rule first (need_tlb_flush covers that case, no record);
 *   else H_LOCAL → tlbiel and a record of the VA (the machine applies the cap and the overflow
 *   rule: flush / tlbie / drain); else tlbie. H_BULK_REMOVE has no H_LOCAL input: the one-vcore
 *   rule, else tlbie.
 * - entry, VM start: as need-tlb-flush. HPT reset: need_tlb_flush = all and the list emptied.
 */
import { H_LOCAL, type KvmPolicy } from "../policy.js";
import { entryCheck, oneVcoreRunningHere, setAll } from "../need-tlb-flush.js";

export const deferredVa: KvmPolicy = {
  id: 4,
  name: "deferred-va",
  pinned: false,
  vmStart: (k, g) => setAll(k, g),
  hptReset(k, g) {
    setAll(k, g);
    g.deferredVas = [];
  },
  enter: (k, g, _core, threads) => entryCheck(k, g, threads[0]!.cpu),
  exit: () => {},
  decide(k, g, req) {
    if (oneVcoreRunningHere(k, g, req.cpu)) return "local";
    if (req.kind !== "H_BULK_REMOVE" && (req.flags & H_LOCAL) !== 0n) return "local-record";
    return "global";
  },
};
