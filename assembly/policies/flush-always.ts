// flush-always: PPC970 (docs/model/kvm.md §5). Its TLB entries carry no LPID, so the whole TLB of the core is
// flushed at every guest entry and every exit. Guest memory is pinned: no host paging. H_LOCAL is
// still honoured (post-patch 970: global_invalidates' PPC970 branch), after the one-vcore rule.
import { G_VCPUS } from "../layout";
import { fullFlush } from "../kvm/need-flush";
import { EV_VCORE_ENTRY, EV_VCORE_EXIT, EV_DECIDE, EV_CAN_PAGE_OUT, EV_NAME, MODE_GLOBAL, MODE_LOCAL, KIND_BULK } from "./events";
import { globalInvalidates38 } from "./common";

// @ts-ignore: decorator
@inline const H_LOCAL: u64 = 0x0000000010000000;

export function flushAlways(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  switch (ev) {
    case EV_VCORE_ENTRY:
    case EV_VCORE_EXIT:
      fullFlush(cpu, g);
      return 0;
    case EV_DECIDE:
      if (arg == KIND_BULK) return load<u32>(g, G_VCPUS) == 1 ? MODE_LOCAL : MODE_GLOBAL;
      if (!globalInvalidates38(g, cpu)) return MODE_LOCAL;
      return (flags & H_LOCAL) != 0 ? MODE_LOCAL : MODE_GLOBAL;
    case EV_CAN_PAGE_OUT:
      return 0;
    case EV_NAME:
      return <u32>changetype<usize>("flush-always");
  }
  return 0;
}
