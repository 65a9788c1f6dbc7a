/**
 * `lazy-reuse-running` (docs/model/policies.md §9.5): lazy-reuse whose epoch waits only for the cores
 * running the VM when it opens — a core that ran the VM and still holds its entries is skipped, as
 * x86's lazy TLB mode skipped lazy CPUs until commit 2ff6ddf19c0e ("x86/mm/tlb: Leave lazy TLB mode
 * at page table free time", Linux v4.19).
 */
import type { KvmPolicy } from "../policy.js";
import { lazyReuse, lazyReuseFamily } from "./lazy-reuse.js";

export const lazyReuseRunning: KvmPolicy = lazyReuseFamily(lazyReuse.id + 2, "lazy-reuse-running", "running");
