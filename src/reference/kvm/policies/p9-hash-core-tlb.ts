/**
 * `p9-hash-core-tlb` (id 12): p9-hash before commit 77bbbc0cf848 (Linux 5.14; docs/model/policies.md §11):
 * need_tlb_flush has one bit per core (cpu_first_thread_sibling); the first thread of the core to
 * enter after it was set flushes its own TLB — only its thread group's on a split SMT8 core — and
 * clears the core's bit. Everything else as p9-hash.
 */
import type { KvmPolicy } from "../policy.js";
import { setAll, threadCheck } from "../need-tlb-flush.js";

export const p9HashCoreTlb: KvmPolicy = {
  id: 12,
  name: "p9-hash-core-tlb",
  pinned: false,
  tlbieFixups: true,
  vmStart: (k, g) => setAll(k, g),
  hptReset: (k, g) => setAll(k, g),
  enter: (k, g, _core, threads) => { for (const t of threads) threadCheck(k, g, t.cpu, k.coreOf(t.cpu)); },
  exit: () => {},
  decide: () => "global",
};
