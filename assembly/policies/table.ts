// The invalidation policies, by id (G_POLICY). Adding one: write its file in this folder (its
// EV_NAME answer is its name in src/model/policies.ts), import it and add its line below at the id
// the registry gives it (test/policy-table.test.ts checks both through the built engine).
import { needTlbFlush } from "./need-tlb-flush";
import { needTlbFlush38 } from "./need-tlb-flush-3.8";
import { lastVcpu } from "./last-vcpu";
import { flushAlways } from "./flush-always";
import { deferredVa } from "./deferred-va";
import { needTlbFlushNoInit } from "./need-tlb-flush-no-init";
import { needTlbFlushNoReset } from "./need-tlb-flush-no-reset";
import { lazyReuse } from "./lazy-reuse";
import { lazyReuseEarly } from "./lazy-reuse-early";
import { lazyReuseRunning } from "./lazy-reuse-running";
import { lazyFreeFirst } from "./lazy-free-first";
import { p9Hash } from "./p9-hash";
import { p9HashCoreTlb } from "./p9-hash-core-tlb";
import { ipiTlbiel } from "./ipi-tlbiel";
import { batchedReclaim } from "./batched-reclaim";
import { ipiTlbielOfflineKept } from "./ipi-tlbiel-offline-kept";
import { ipiTlbielWrongClear } from "./ipi-tlbiel-wrong-clear";
import { batchedReclaimEarlyReuse } from "./batched-reclaim-early-reuse";
import { EV_NAME } from "./events";
export { EV_VM_INIT, EV_HPT_RESET, EV_VCORE_ENTRY, EV_THREAD_ENTRY, EV_VCORE_EXIT, EV_DECIDE, EV_CAN_PAGE_OUT, PAGE_OUT_PINNED, PAGE_OUT_LAZY, EV_TLBIE_FIXUPS, EV_PAGE_OUT, EV_IPI_RULES, EV_CORE_OFFLINE } from "./events";

type Policy = (ev: u32, g: usize, cpu: u32, arg: u32, flags: u64) => u32;

const POLICIES: StaticArray<Policy> = [
  needTlbFlush,        // 0 need-tlb-flush (default)
  needTlbFlush38,      // 1 need-tlb-flush-3.8
  lastVcpu,            // 2 last-vcpu
  flushAlways,         // 3 flush-always
  deferredVa,          // 4 deferred-va
  needTlbFlushNoInit,  // 5 need-tlb-flush-no-init (broken on purpose)
  needTlbFlushNoReset, // 6 need-tlb-flush-no-reset (broken on purpose)
  lazyReuse,           // 7 lazy-reuse (LATR epochs)
  lazyReuseEarly,      // 8 lazy-reuse-early (broken on purpose: one epoch early)
  lazyReuseRunning,    // 9 lazy-reuse-running (the x86 lazy-TLB-mode bug's form)
  lazyFreeFirst,       // 10 lazy-free-first (frame freed before its flush: the migration / mremap bugs' form)
  p9Hash,              // 11 p9-hash
  p9HashCoreTlb,       // 12 p9-hash-core-tlb (before 77bbbc0cf848)
  ipiTlbiel,           // 13 ipi-tlbiel
  batchedReclaim,      // 14 batched-reclaim
  ipiTlbielOfflineKept, // 15 ipi-tlbiel-offline-kept (broken on purpose)
  ipiTlbielWrongClear, // 16 ipi-tlbiel-wrong-clear (broken on purpose)
  batchedReclaimEarlyReuse, // 17 batched-reclaim-early-reuse (broken on purpose)
];

/** Policies the engine knows: ids 0 … policyCount() − 1. */
export function policyCount(): u32 {
  return <u32>POLICIES.length;
}

/**
 * Ask policy `id`. An id not in the table is a host bug (the host checks a guest's policy against
 * this table before creating it): the engine aborts rather than guess.
 */
export function policyCall(id: u32, ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  if (id >= <u32>POLICIES.length) abort("guest descriptor: policy id (G_POLICY) not in assembly/policies/table.ts");
  return unchecked(POLICIES[id])(ev, g, cpu, arg, flags);
}

/** Address of policy `id`'s name (an AssemblyScript string in static data), or 0 if there is none. */
export function policyName(id: u32): usize {
  return id < <u32>POLICIES.length ? <usize>unchecked(POLICIES[id])(EV_NAME, 0, 0, 0, 0) : 0;
}
