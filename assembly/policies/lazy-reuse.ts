// lazy-reuse: LATR-style lazy translation coherence for host page-outs (Kumar et al., "LATR: Lazy
// Translation Coherence", ASPLOS 2018; docs/model/policies.md §9). need-tlb-flush for the guest's
// hcalls; a page-out issues no tlbie and quarantines the frame until every core that may hold the
// VM's entries has flushed its LPID at a flush point (the VM's exit from or entry to that core).
import { LAZY_EPOCH } from "../layout";
import { EV_NAME } from "./events";
import { lazyReuseEvent } from "./common";

export function lazyReuse(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  if (ev == EV_NAME) return <u32>changetype<usize>("lazy-reuse");
  return lazyReuseEvent(ev, g, cpu, LAZY_EPOCH);
}
