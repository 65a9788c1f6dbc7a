// lazy-reuse-running (a real bug's form): lazy-reuse whose epoch waits only for the cores running the
// VM now, not for those that ran it and still hold its entries — x86's lazy TLB mode before
// commit 2ff6ddf19c0e (docs/model/policies.md §9.5; scenario lazy-core-skipped).
import { LAZY_RUNNING } from "../layout";
import { EV_NAME } from "./events";
import { lazyReuseEvent } from "./common";

export function lazyReuseRunning(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  if (ev == EV_NAME) return <u32>changetype<usize>("lazy-reuse-running");
  return lazyReuseEvent(ev, g, cpu, LAZY_RUNNING);
}
