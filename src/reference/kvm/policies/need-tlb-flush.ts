/**
 * `need-tlb-flush` (id 0, the default): commit 1b400ba0 as later kernels apply it
 * (book3s_hv_rm_mmu.c global_invalidates: v3.12 calls it from H_BULK_REMOVE, v3.16 tests kvm_vcpu).
 * - decision (H_REMOVE, H_PROTECT, and H_BULK_REMOVE once per call, v3.12+): tlbiel iff the VM has
 *   one vcore and one of its vcpus runs on this cpu (kvm_vcpu, v3.16+), then need_tlb_flush = all
 *   but this core; else tlbie. H_LOCAL is ignored (POWER7 uses MMU notifiers).
 * - entry: thread 0 tests and clears its core's bit, flushing the LPID if it was set.
 * - VM start and HPT reset: need_tlb_flush = all.
 */
import type { KvmPolicy } from "../policy.js";
import { entryCheck, oneVcoreRunningHere, setAll } from "../need-tlb-flush.js";

export const needTlbFlush: KvmPolicy = {
  id: 0,
  name: "need-tlb-flush",
  pinned: false,
  vmStart: (k, g) => setAll(k, g),
  hptReset: (k, g) => setAll(k, g),
  enter: (k, g, _core, threads) => entryCheck(k, g, threads[0]!.cpu),
  exit: () => {},
  decide: (k, g, req) => (oneVcoreRunningHere(k, g, req.cpu) ? "local" : "global"),
};
