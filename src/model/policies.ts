/**
 * The invalidation policies (docs/kvm-model.md). Position in this list = the id the engine uses
 * (assembly/policies/table.ts has the same order). Adding a policy: one file in
 * assembly/policies/, one line there, one line here.
 */
export interface PolicyInfo {
  id: number;
  name: string;
  /** One line for `hptlab policies` and reports. */
  summary: string;
  /** Where its behaviour comes from. */
  source: string;
  /** Expected never to let a guest reach a page it no longer owns (what the scenarios test). */
  safe: boolean;
  /** A deliberately broken variant, for proving the detector; excluded from default studies. */
  broken?: boolean;
  /** Takes the deferred-VA parameters. */
  deferred?: boolean;
}

export const POLICIES: readonly PolicyInfo[] = [
  { id: 0, name: "need-tlb-flush", summary: "need_tlb_flush cpumask; local only for a 1-vcore VM running here (later kernels, every hcall)", source: "SPEC §6b, §6d (v3.12+ H_BULK_REMOVE, v3.16+ running-vcpu test)", safe: true },
  { id: 1, name: "need-tlb-flush-3.8", summary: "commit 1b400ba0 as merged: stale kvm_vcore test; H_BULK_REMOVE local iff 1 vcpu without need_tlb_flush", source: "SPEC §6b, §7 (v3.8–v3.11)", safe: false },
  { id: 2, name: "last-vcpu", summary: "Linux 3.6/3.7: honour H_LOCAL; per-thread flush on entry when last_cpu/last_vcpu differ", source: "SPEC §6a", safe: false },
  { id: 3, name: "flush-always", summary: "PPC970: flush the whole TLB at every guest entry and exit; memory pinned, no host paging", source: "SPEC §6c", safe: true },
  { id: 4, name: "deferred-va", summary: "Graf: honour H_LOCAL with tlbiel, record the VA (cap K); host paging tlbies the records", source: "SPEC §8 (overflow rules a/b/c)", safe: true, deferred: true },
  { id: 5, name: "need-tlb-flush-no-init", summary: "BROKEN on purpose: need-tlb-flush without the set-all at VM start", source: "test variant (SPEC §1 LPID recycling)", safe: false, broken: true },
];

export type PolicyName = "need-tlb-flush" | "need-tlb-flush-3.8" | "last-vcpu" | "flush-always" | "deferred-va" | "need-tlb-flush-no-init";
export const POLICY_NAMES = POLICIES.map((p) => p.name) as unknown as readonly [PolicyName, ...PolicyName[]];

export function policyByName(name: string): PolicyInfo | undefined {
  return POLICIES.find((p) => p.name === name);
}

export const DEFERRED_OVERFLOW = ["flush", "tlbie", "drain"] as const;
export type DeferredOverflow = (typeof DEFERRED_OVERFLOW)[number];
