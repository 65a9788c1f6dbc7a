// ipi-tlbiel-offline-kept: ipi-tlbiel as powerpc/64s was before commit 01b0f0eae081 ("Trim offlined
// CPUs from mm_cpumasks", Linux 5.10): an offlined core stays in the masks with its TLB unflushed, and
// gets no IPI (smp_call_function_many sends to online cpus only), so it keeps a stale translation
// (scenario cpu-offline-missed-ipi). BROKEN on purpose; never use it for answers.
import { EV_NAME } from "./events";
import { ipiTlbielEvent } from "./ipi-tlbiel";

export function ipiTlbielOfflineKept(ev: u32, g: usize, cpu: u32, arg: u32, flags: u64): u32 {
  if (ev == EV_NAME) return <u32>changetype<usize>("ipi-tlbiel-offline-kept");
  return ipiTlbielEvent(ev, g, cpu, arg, false); // EV_CORE_OFFLINE: nothing (the bug)
}
