/**
 * `lazy-reuse-early` (broken on purpose, docs/model/policies.md §9.4): lazy-reuse whose epoch's end
 * frees the frames that came in during it as well — a frame handed out one epoch early.
 */
import type { KvmPolicy } from "../policy.js";
import { lazyReuse, lazyReuseFamily } from "./lazy-reuse.js";

export const lazyReuseEarly: KvmPolicy = lazyReuseFamily(lazyReuse.id + 1, "lazy-reuse-early", "early");
