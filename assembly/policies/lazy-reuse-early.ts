// lazy-reuse-early (broken on purpose): lazy-reuse whose epoch's end frees the frames that came in
// during it too — a frame handed out one epoch early (docs/model/policies.md §9.4; scenario
// lazy-reuse-early-epoch).
import { LAZY_EARLY } from "../layout";
import { EV_NAME } from "./events";
import { lazyReuseEvent } from "./common";

export function lazyReuseEarly(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  if (ev == EV_NAME) return <u32>changetype<usize>("lazy-reuse-early");
  return lazyReuseEvent(ev, g, cpu, LAZY_EARLY);
}
