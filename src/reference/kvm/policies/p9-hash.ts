/**
 * `p9-hash` (id 11): KVM today (5.14+) for an HPT guest on a POWER9/POWER10 host (docs/model/policies.md §10).
 * - decision: always global — the hcalls run in virtual mode (kvmppc_pseries_do_hcall on the P9
 *   path) and global_invalidates() (book3s_hv_rm_mmu.c) forces global when MSR[IR|DR] is set.
 * - entry: each thread carrying a vcpu checks its TLB group's bit (check_need_tlb_flush,
 *   book3s_hv_p9_entry.c, commits 77bbbc0cf848 and d5c0e8332d82): the first thread of the group
 *   flushes its TLB and clears the bit; the others find it clear (the kernel's ptesync).
 * - VM start and HPT reset: every TLB's bit set.
 * - global sequences carry the POWER9 errata workarounds where the machine has the errata.
 */
import type { KvmPolicy } from "../policy.js";
import { setAllTlbs, threadCheck } from "../need-tlb-flush.js";

export const p9Hash: KvmPolicy = {
  id: 11,
  name: "p9-hash",
  pinned: false,
  tlbieFixups: true,
  vmStart: (k, g) => setAllTlbs(k, g),
  hptReset: (k, g) => setAllTlbs(k, g),
  enter: (k, g, _core, threads) => { for (const t of threads) threadCheck(k, g, t.cpu, k.tlbOf(t.cpu)); },
  exit: () => {},
  decide: () => "global",
};
