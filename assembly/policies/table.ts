// The invalidation policies, by id (G_POLICY). Adding one: write its file in this folder and add
// one line here and one line in src/kvm/policies.ts (same position: the id).
import { needTlbFlush } from "./need-tlb-flush";
import { needTlbFlush38 } from "./need-tlb-flush-3.8";
import { lastVcpu } from "./last-vcpu";
import { flushAlways } from "./flush-always";
import { deferredVa } from "./deferred-va";
import { needTlbFlushNoInit } from "./need-tlb-flush-no-init";
export { EV_VM_INIT, EV_HPT_RESET, EV_VCORE_ENTRY, EV_THREAD_ENTRY, EV_VCORE_EXIT, EV_DECIDE, EV_CAN_PAGE_OUT } from "./events";

type Policy = (ev: u32, g: usize, cpu: u32, arg: u32, flags: u64) => u32;

const POLICIES: StaticArray<Policy> = [
  needTlbFlush,       // 0 need-tlb-flush (default)
  needTlbFlush38,     // 1 need-tlb-flush-3.8
  lastVcpu,           // 2 last-vcpu
  flushAlways,        // 3 flush-always
  deferredVa,         // 4 deferred-va
  needTlbFlushNoInit, // 5 need-tlb-flush-no-init (broken on purpose)
];

// @ts-ignore: decorator
@inline export const POLICY_COUNT: u32 = 6;

/** Ask policy `id` (unknown ids behave as 0). */
export function policyCall(id: u32, ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  return unchecked(POLICIES[id < POLICY_COUNT ? id : 0])(ev, g, cpu, arg, flags);
}
