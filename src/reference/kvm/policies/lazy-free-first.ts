/**
 * `lazy-free-first` (docs/model/policies.md §9.6): lazy-reuse that frees the frame at the page-out
 * and leaves only the flush to the epoch — the form of Linux commits 20841405940e ("mm: fix TLB flush
 * race between migration, and change_protection_range": the old page "may belong to a new user"
 * while a CPU still writes through its cached translation) and eb66ae030829 ("mremap: properly flush
 * TLB before releasing the page", CVE-2018-18281).
 */
import type { KvmPolicy } from "../policy.js";
import { lazyReuse, lazyReuseFamily } from "./lazy-reuse.js";

export const lazyFreeFirst: KvmPolicy = lazyReuseFamily(lazyReuse.id + 3, "lazy-free-first", "free-first");
