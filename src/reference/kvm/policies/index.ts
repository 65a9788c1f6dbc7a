/**
 * The reference policies, by engine id (the order of src/model/policies.ts). Adding a policy: one file
 * here and one line below.
 */
import type { KvmPolicy } from "../policy.js";
import { needTlbFlush } from "./need-tlb-flush.js";
import { needTlbFlush38 } from "./need-tlb-flush-3.8.js";
import { lastVcpu } from "./last-vcpu.js";
import { flushAlways } from "./flush-always.js";
import { deferredVa } from "./deferred-va.js";
import { needTlbFlushNoInit } from "./need-tlb-flush-no-init.js";
import { needTlbFlushNoReset } from "./need-tlb-flush-no-reset.js";
import { lazyReuse } from "./lazy-reuse.js";
import { lazyReuseEarly } from "./lazy-reuse-early.js";
import { lazyReuseRunning } from "./lazy-reuse-running.js";
import { lazyFreeFirst } from "./lazy-free-first.js";
import { p9Hash } from "./p9-hash.js";
import { p9HashCoreTlb } from "./p9-hash-core-tlb.js";
import { ipiTlbiel } from "./ipi-tlbiel.js";
import { batchedReclaim } from "./batched-reclaim.js";
import { ipiTlbielOfflineKept } from "./ipi-tlbiel-offline-kept.js";
import { ipiTlbielWrongClear } from "./ipi-tlbiel-wrong-clear.js";
import { batchedReclaimEarlyReuse } from "./batched-reclaim-early-reuse.js";

export const REFERENCE_POLICIES: readonly KvmPolicy[] = [
  needTlbFlush,
  needTlbFlush38,
  lastVcpu,
  flushAlways,
  deferredVa,
  needTlbFlushNoInit,
  needTlbFlushNoReset,
  lazyReuse,
  lazyReuseEarly,
  lazyReuseRunning,
  lazyFreeFirst,
  p9Hash,
  p9HashCoreTlb,
  ipiTlbiel,
  batchedReclaim,
  ipiTlbielOfflineKept,
  ipiTlbielWrongClear,
  batchedReclaimEarlyReuse,
];

export function referencePolicy(name: string): KvmPolicy | undefined {
  return REFERENCE_POLICIES.find((p) => p.name === name);
}
