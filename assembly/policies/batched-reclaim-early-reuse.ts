// batched-reclaim-early-reuse: batched-reclaim whose page-out frees the frame at once, before its
// batch's flush — the reuse window the batched flush must close (the RFC's frames stay off the free
// list until the flush; scenario batch-reuse-before-flush). BROKEN on purpose; never use it for answers.
import { EV_NAME, MODE_BATCH_FREE_EARLY } from "./events";
import { batchedReclaimEvent } from "./batched-reclaim";

export function batchedReclaimEarlyReuse(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  if (ev == EV_NAME) return <u32>changetype<usize>("batched-reclaim-early-reuse");
  return batchedReclaimEvent(ev, g, cpu, arg, MODE_BATCH_FREE_EARLY);
}
