// lazy-free-first (broken: real bugs' form): lazy-reuse that frees the frame at the page-out and
// leaves only the flush to the epoch — the frame can be handed out while a core still translates to
// it, as in Linux commits 20841405940e (NUMA migration with a TLB flush pending) and eb66ae030829
// (mremap, CVE-2018-18281) (docs/model/policies.md §9.6; scenario flush-pending-reuse).
import { LAZY_FREE_FIRST } from "../layout";
import { EV_NAME } from "./events";
import { lazyReuseEvent } from "./common";

export function lazyFreeFirst(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  if (ev == EV_NAME) return <u32>changetype<usize>("lazy-free-first");
  return lazyReuseEvent(ev, g, cpu, LAZY_FREE_FIRST);
}
