/**
 * `ipi-tlbiel-wrong-clear` (id 16), BROKEN on purpose: a core of the mask not running the VM gets
 * no IPI; its flush is deferred to the VM's next entry there (need_tlb_flush for its core), and every entry check clears the whole
 * mask — CVE-2019-3016 in POWER form (scenario need-flush-cleared-by-wrong-thread).
 */
import type { KvmPolicy } from "../policy.js";
import { entryCheck } from "../need-tlb-flush.js";
import { ipiTlbiel } from "./ipi-tlbiel.js";

export const ipiTlbielWrongClear: KvmPolicy = {
  ...ipiTlbiel,
  id: 16,
  name: "ipi-tlbiel-wrong-clear",
  ipiDeferToEntry: true,
  enter(k, g, core, threads) {
    g.mayHold[core] = true;
    entryCheck(k, g, threads[0]!.cpu);
    g.needFlush.fill(false); // the bug: other cores' requests cleared by this thread
  },
};
