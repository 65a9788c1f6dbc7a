/**
 * The invalidation policies (docs/kvm-model.md): the one registry of each policy's id, name,
 * expected safety verdict, source, parameters with their schema, and how reports draw it. The CLI
 * (`hptlab policies`, `hptlab scenario`), guest options (src/config.ts), study configs
 * (src/study/config.ts) and the reports (src/report/) read it; none of them names a policy.
 *
 * Position in POLICIES = the id the engine uses (assembly/policies/table.ts has the same order; a
 * test checks it). Adding a policy: one file in assembly/policies/ and its line in table.ts, one
 * entry here, and its tests.
 */
import { z } from "zod";
import { GENERATIONS, type Generation } from "./machines.js";

// ─── parameters ──────────────────────────────────────────────────────────────────────────────────

/** deferred-va's overflow rules, in the order reports list them (the first is the default). */
export const DEFERRED_OVERFLOW = ["flush", "tlbie", "drain"] as const;
export type DeferredOverflow = (typeof DEFERRED_OVERFLOW)[number];

/**
 * A policy parameter. `key` is its name in guest options, in a study point's params and in
 * results.json (null there for policies without it); `studyKey` its name in a study config's policy
 * entry, a list of values to sweep when `studyList`, else one value.
 */
export interface PolicyParam<T extends number | string = number | string> {
  key: string;
  studyKey: string;
  studyList: boolean;
  /** `hptlab scenario` option, e.g. "--deferred-cap <k>". */
  flag: string;
  /** One line for --help and `hptlab policies`. */
  summary: string;
  /** Validates one value (the study schema and guest options use it). */
  schema: z.ZodType<T>;
  default: T;
  /** An enum's values in report order; numbers order by value. */
  values?: readonly T[];
  /** How a variant's label names the value ("cap 64"), or null to leave it out (the default overflow rule). */
  label: (v: T) => string | null;
}

/** deferred-va's cap K: records of locally invalidated VAs per guest (docs/model/policies.md §6). */
const DEFERRED_CAP: PolicyParam<number> = {
  key: "deferredCap", studyKey: "deferredCaps", studyList: true, flag: "--deferred-cap <k>",
  summary: "cap K of the list of locally invalidated VAs",
  schema: z.number().int().min(1).max(1 << 20), default: 64,
  label: (k) => `cap ${k}`,
};

/** deferred-va's rule for a full list (docs/model/policies.md §6.3: c = flush, a = tlbie, b = drain). */
const DEFERRED_OVERFLOW_PARAM: PolicyParam<DeferredOverflow> = {
  key: "deferredOverflow", studyKey: "deferredOverflow", studyList: false, flag: "--deferred-overflow <rule>",
  summary: "what a full list does: flush (docs/model/policies.md §6.3 c), tlbie (a) or drain (b)",
  schema: z.enum(DEFERRED_OVERFLOW), default: "flush", values: DEFERRED_OVERFLOW,
  label: (o) => (o === "flush" ? null : `${o} overflow`),
};

/** Every parameter of every policy, each once, in registry order (the order of results.json's fields). */
export const POLICY_PARAMS: readonly PolicyParam[] = [DEFERRED_CAP as unknown as PolicyParam, DEFERRED_OVERFLOW_PARAM as unknown as PolicyParam];
export type PolicyParamKey = "deferredCap" | "deferredOverflow";
/** A variant's parameter values (null: its policy has no such parameter). */
export type PolicyParamValues = { deferredCap: number | null; deferredOverflow: string | null };

// ─── how reports draw a policy ───────────────────────────────────────────────────────────────────

/**
 * What the reports compare a policy with, and as what:
 * - "baseline": what KVM does today; the findings state every saving against it (one policy);
 * - "local": honours H_LOCAL with a tlbiel — the local-flush candidates of the 2012 thread;
 * - "full-flush": flushes the whole TLB at every guest entry and exit, and pins guest memory;
 * - "variant": another version of the baseline's bookkeeping (historical or broken on purpose);
 * - "lazy": the baseline's hcalls, but host page-outs flush lazily and hold the frame until every
 *   core has passed a flush point (LATR-style epochs; its variants broken on purpose are "lazy" too);
 * - "ipi": replaces the broadcast tlbie by IPIs to the cores that may hold the VM's entries, each
 *   running tlbiel (the radix host's scheme since Linux 5.11, on the HPT model);
 * - "batched": flushes host page-outs once per batch (IPIs and a whole-LPID tlbiel) and holds the
 *   frames until then.
 */
export type PolicyFamily = "baseline" | "local" | "full-flush" | "variant" | "lazy" | "ipi" | "batched";

export interface PolicyDrawing {
  /** Hue (Tableau 10), the same in every plot. */
  color: string;
  /** Shades from light to dark for its variants when a study sweeps its parameters. */
  shades?: readonly string[];
  /** Colors of its series in a plot along its swept parameter (one line per value of the others). */
  series?: readonly string[];
  /** Vega-Lite strokeDash and point shape, so that overlapping lines stay visible. */
  dash: readonly number[];
  shape: string;
}

// ─── the registry ────────────────────────────────────────────────────────────────────────────────

/** A registry entry. */
export interface PolicyEntry {
  id: number;
  name: string;
  /** One line for `hptlab policies` and reports. */
  summary: string;
  /** Where its behaviour comes from: kernel release, file and function, or the thread. */
  source: string;
  /**
   * The expected verdict: never lets a guest reach a page it no longer owns (the scenarios and the
   * report's safety findings check it).
   */
  safe: boolean;
  /** A deliberately broken variant, for proving the detector; excluded from default studies. */
  broken?: boolean;
  /** Guest memory is pinned (no MMU notifiers): the engine refuses the host's page-outs (KVM_PINNED). */
  pinsMemory?: boolean;
  /**
   * Host page-outs are lazy: no tlbie, the frame quarantined until an epoch of flushes ends
   * (docs/model/policies.md §9); results.json reports its quarantine counters.
   */
  quarantine?: boolean;
  /** Where the scheme needs hardware help the modelled POWER lacks, and what POWER has instead. */
  hardwareNotes?: string;
  /**
   * The machines it is KVM's (or the proposed) rule for (docs/model/policies.md §12): its safety
   * verdict counts only scenarios and runs on these generations; the others are reported apart,
   * "outside its generations".
   */
  generations: readonly Generation[];
  /** Why those generations, in one line. */
  generationsWhy: string;
  /** Its parameters (POLICY_PARAMS entries), in sweep order. */
  params: readonly PolicyParam[];
  family: PolicyFamily;
  draw: PolicyDrawing;
}

/** lazy-reuse's id (its variants follow it); the lead renumbers on merge by changing this one line. */
export const LAZY_REUSE_ID = 7;

const REGISTRY = [
  {
    id: 0, name: "need-tlb-flush",
    summary: "need_tlb_flush cpumask; local only for a 1-vcore VM running here (later kernels, every hcall)",
    source: "Linux v3.12+ arch/powerpc/kvm/book3s_hv_rm_mmu.c global_invalidates() (H_BULK_REMOVE calls it; v3.16+ tests kvm_hstate.kvm_vcpu); docs/model/kvm.md §4.2, §6",
    safe: true, generations: ["power7", "power8"], generationsWhy: "the 3.12–3.16 kernels' bookkeeping: one need_tlb_flush bit per core, flushed by the vcore's thread 0 — one TLB per core, as on POWER7 and POWER8",
    params: [], family: "baseline",
    draw: { color: "#4c78a8", dash: [1, 0], shape: "circle" },
  },
  {
    id: 1, name: "need-tlb-flush-3.8",
    summary: "commit 1b400ba0 as merged: stale kvm_vcore test; H_BULK_REMOVE local iff 1 vcpu without need_tlb_flush",
    source: "Linux v3.8–v3.11, commit 1b400ba0 \"KVM: PPC: Book3S HV: Improve handling of local vs. global TLB invalidations\"; book3s_hv_rm_mmu.c kvmppc_h_bulk_remove(); docs/model/kvm.md §4, §9.2",
    safe: false, generations: ["power7"], generationsWhy: "Linux 3.8–3.11, before KVM-HV ran POWER8 (its 512-set entry flush came with v3.14)",
    params: [], family: "variant",
    draw: { color: "#72b7b2", dash: [6, 3], shape: "square" },
  },
  {
    id: 2, name: "last-vcpu",
    summary: "Linux 3.6/3.7: honour H_LOCAL; per-thread flush on entry when last_cpu/last_vcpu differ",
    source: "Linux v3.6/v3.7 arch/powerpc/kvm/book3s_hv_rm_mmu.c kvmppc_h_remove() (H_LOCAL → tlbiel) and book3s_hv_rmhandlers.S (last_vcpu flush at entry); docs/model/kvm.md §3",
    safe: false, generations: ["power7"], generationsWhy: "Linux 3.6/3.7, whose HV KVM ran POWER7 (and PPC970, the flush-always rule)",
    params: [], family: "local",
    draw: { color: "#e45756", dash: [1, 0], shape: "triangle-up" },
  },
  {
    id: 3, name: "flush-always",
    summary: "PPC970: flush the whole TLB at every guest entry and exit; memory pinned, no host paging",
    source: "Linux v3.7 arch/powerpc/kvm/book3s_hv_rmhandlers.S, PPC970 entry and exit paths (no LPID in TLB entries); docs/model/kvm.md §5",
    safe: true, pinsMemory: true, generations: GENERATIONS, generationsWhy: "a yardstick rather than one kernel's rule (PPC970's): it pins guest memory, so no TLB split can let a guest reach a page it no longer owns",
    params: [], family: "full-flush",
    draw: { color: "#b279a2", dash: [1, 0], shape: "diamond" },
  },
  {
    id: 4, name: "deferred-va",
    summary: "Graf: honour H_LOCAL with tlbiel, record the VA (cap K); host paging tlbies the records",
    source: "Alexander Graf's proposal in the 2012 kvm-ppc thread \"Improve handling of local vs. global TLB invalidations\"; docs/model/policies.md §6 (overflow rules a/b/c)",
    safe: true, generations: ["power7", "power8"], generationsWhy: "Graf's 2012 proposal, built on need-tlb-flush's per-core bookkeeping for POWER7; on split SMT8 cores it would need 77bbbc0cf848's per-group bits, which the modelled proposal lacks",
    params: [DEFERRED_CAP as unknown as PolicyParam, DEFERRED_OVERFLOW_PARAM as unknown as PolicyParam], family: "local",
    draw: { color: "#54a24b", shades: ["#a1d99b", "#74c476", "#41ab5d", "#238b45", "#006d2c", "#00441b"], series: ["#54a24b", "#2e7d32", "#9ccc65"], dash: [1, 0], shape: "triangle-down" },
  },
  {
    id: 5, name: "need-tlb-flush-no-init",
    summary: "BROKEN on purpose: need-tlb-flush without the set-all at VM start",
    source: "test variant: need-tlb-flush without kvmppc_core_init_vm()'s cpumask_setall(need_tlb_flush) (LPID recycling; docs/model/kvm.md §1.4)",
    safe: false, broken: true, generations: ["power7", "power8"], generationsWhy: "need-tlb-flush's generations (a broken copy of it)",
    params: [], family: "variant",
    draw: { color: "#f58518", dash: [2, 2], shape: "cross" },
  },
  {
    id: 6, name: "need-tlb-flush-no-reset",
    summary: "BROKEN on purpose: need-tlb-flush without the set-all at HPT reset",
    source: "test variant: need-tlb-flush without kvmppc_alloc_reset_hpt()'s cpumask_setall(need_tlb_flush) (arch/powerpc/kvm/book3s_64_mmu_hv.c, v3.8)",
    safe: false, broken: true, generations: ["power7", "power8"], generationsWhy: "need-tlb-flush's generations (a broken copy of it)",
    params: [], family: "variant",
    draw: { color: "#9d755d", dash: [4, 2], shape: "triangle-left" },
  },
  {
    id: LAZY_REUSE_ID, name: "lazy-reuse",
    summary: "LATR epochs: page-outs issue no tlbie; the frame is held until every core that may hold the VM's entries has flushed its LPID at the VM's exit or entry there",
    source: "Kumar et al., \"LATR: Lazy Translation Coherence\", ASPLOS 2018 (doi:10.1145/3173162.3173198), applied to KVM's kvm_unmap_rmapp; need-tlb-flush for hcalls; docs/model/policies.md §9",
    safe: true, quarantine: true, params: [], family: "lazy",
    generations: ["power7", "power8"], generationsWhy: "its hcalls and entry flushes are need-tlb-flush's, one bit per core (the POWER7/POWER8 rule); on split SMT8 cores its epoch flushes would need per-TLB-group bits",
    hardwareNotes: "LATR flushes each core at its scheduler tick and context switch with x86's invlpg/INVPCID, from any context. POWER's tlbiel acts only on the LPID in the core's LPIDR (Linux radix_tlb.c __tlbiel_lpid: \"LPID comes from LPIDR\"), which holds the VM's LPID only between its entry and exit, so a core can flush the VM only at those points: a core that never runs the VM again holds the quarantine until the cap forces a tlbie (no timer-tick flush without an LPIDR switch). No per-core flush-on-exit hardware either: each flush point is 128 tlbiel (POWER7) of software.",
    draw: { color: "#17becf", dash: [1, 0], shape: "triangle" },
  },
  {
    id: LAZY_REUSE_ID + 1, name: "lazy-reuse-early",
    summary: "BROKEN on purpose: lazy-reuse whose epoch's end also frees the frames that came in during it (one epoch early)",
    source: "test variant: an epoch boundary off by one (LATR's reclaim rule: a frame is reusable only after an epoch that began after it was freed); docs/model/policies.md §9.4",
    safe: false, broken: true, quarantine: true, params: [], family: "lazy",
    generations: ["power7", "power8"], generationsWhy: "lazy-reuse's generations (a broken copy of it)",
    draw: { color: "#bcbd22", dash: [3, 3], shape: "triangle-right" },
  },
  {
    id: LAZY_REUSE_ID + 2, name: "lazy-reuse-running",
    summary: "BROKEN (a real bug's form): lazy-reuse whose epoch waits only for the cores running the VM now, not those that ran it and still hold its entries (x86's lazy TLB mode bug)",
    source: "the form of Linux commit 2ff6ddf19c0e \"x86/mm/tlb: Leave lazy TLB mode at page table free time\" (Rik van Riel, v4.19): a CPU in lazy TLB mode was skipped by the shootdown while the page tables it could still walk were freed and reused; the fix flushes lazy CPUs at page-table free time; docs/model/policies.md §9.5",
    safe: false, broken: true, quarantine: true, params: [], family: "lazy",
    generations: ["power7", "power8"], generationsWhy: "lazy-reuse's generations (a broken copy of it)",
    draw: { color: "#7f7f7f", dash: [5, 2, 1, 2], shape: "wedge" },
  },
  {
    id: LAZY_REUSE_ID + 3, name: "lazy-free-first",
    summary: "BROKEN (real bugs' form): lazy page-outs that free the frame at once and leave only the flush to the epoch",
    source: "the form of Linux commits 20841405940e \"mm: fix TLB flush race between migration, and change_protection_range\" (Rik van Riel, v3.13) and eb66ae030829 \"mremap: properly flush TLB before releasing the page\" (CVE-2018-18281, v4.19): a page reused while a TLB flush for it was pending; docs/model/policies.md §9.6",
    safe: false, broken: true, quarantine: true, params: [], family: "lazy",
    generations: ["power7", "power8"], generationsWhy: "lazy-reuse's generations (a broken copy of it)",
    draw: { color: "#8c564b", dash: [1, 3], shape: "arrow" },
  },
  {
    id: 11, name: "p9-hash",
    summary: "POWER9/10 P9 path: HPT hcalls in virtual mode → always tlbie; need_tlb_flush per TLB thread group at each thread's entry; POWER9 errata tlbies",
    source: "Linux 5.14+ P9 path (079a09a500c3, fae5c9f3664b): arch/powerpc/kvm/book3s_hv_rm_mmu.c global_invalidates() (forced global when MSR[IR|DR]), book3s_hv_p9_entry.c check_need_tlb_flush() (77bbbc0cf848; per thread since d5c0e8332d82), fixup_tlbie_lpid() in do_tlbies(); docs/model/policies.md §10",
    safe: true, generations: ["power9", "power10"], generationsWhy: "the P9 entry path every POWER9/POWER10 guest runs through since Linux 5.14, and its per-TLB-group bookkeeping",
    params: [], family: "variant",
    draw: { color: "#eeca3b", dash: [1, 0], shape: "wedge" },
  },
  {
    id: 12, name: "p9-hash-core-tlb",
    summary: "p9-hash before commit 77bbbc0cf848: need_tlb_flush per core, the first thread to enter flushes only its own TLB group",
    source: "Linux 5.13 book3s_hv_builtin.c kvmppc_check_need_tlb_flush() and book3s_hv_rm_mmu.c global_invalidates() with cpu_first_thread_sibling() (fixed by 77bbbc0cf848, Linux 5.14); docs/model/policies.md §11",
    safe: false, generations: ["power9", "power10"], generationsWhy: "the P9 path with the per-core bookkeeping 77bbbc0cf848 fixed (Linux 5.14)",
    params: [], family: "variant",
    draw: { color: "#ff9da6", dash: [3, 3], shape: "stroke" },
  },
  // ids 13–17 (issue 16); the engine's table
  // (assembly/policies/table.ts) and the reference's (src/reference/kvm/policies/index.ts) follow this order
  {
    id: 13, name: "ipi-tlbiel",
    summary: "IPI the cores in the VM's may-hold mask (trimmed), each runs tlbiel; tlbie above 33 pages",
    source: "the radix host's scheme transplanted to the HPT model: arch/powerpc/mm/book3s64/radix_tlb.c flush_type_needed() and exit_flush_lazy_tlbs(), commit 26418b36a11f \"powerpc/64s/radix: refactor TLB flush type selection\" (Piggin, Linux 5.12: \"a TLBIE tends to be faster than an IPI+TLBIEL\"), after 2275d7b5754a \"powerpc/64s: introduce options to disable use of the tlbie instruction\" (2019), tlb_single_page_flush_ceiling = 33, the mm_cpumask trim of the same series; offline cores trimmed, commit 01b0f0eae081 (Linux 5.10); docs/model/policies.md §13",
    safe: true, params: [], family: "ipi",
    generations: ["power7", "power8"], generationsWhy: "its hcalls are need-tlb-flush's and its may-hold mask and need_tlb_flush have one bit per core (the POWER7/POWER8 TLB); a split SMT8 core would need per-TLB-group bits",
    draw: { color: "#9467bd", dash: [1, 0], shape: "square" },
  },
  {
    id: 14, name: "batched-reclaim",
    summary: "host page-outs hold their frames and flush once per 32 with IPIs + a whole-LPID tlbiel",
    source: "Ritesh Harjani, \"[RFC / PoC v1 1/1] powerpc: Add support for batched unmap TLB flush\" (linuxppc-dev, 22 Sep 2024), on the generic arch_tlbbatch reclaim batching (mm/rmap.c try_to_unmap_flush); batch = SWAP_CLUSTER_MAX (32); guest hcalls as need-tlb-flush; docs/model/policies.md §14",
    safe: true, params: [], family: "batched",
    generations: ["power7", "power8"], generationsWhy: "its hcalls are need-tlb-flush's and its may-hold mask and need_tlb_flush have one bit per core (the POWER7/POWER8 TLB); a split SMT8 core would need per-TLB-group bits",
    draw: { color: "#bab0ac", dash: [1, 0], shape: "wedge" },
  },
  {
    id: 15, name: "ipi-tlbiel-offline-kept",
    summary: "BROKEN on purpose: ipi-tlbiel that leaves an offlined core in the masks, unflushed",
    source: "powerpc/64s before commit 01b0f0eae081 \"powerpc/64s: Trim offlined CPUs from mm_cpumasks\" (Piggin, Linux 5.10): offline CPUs stayed in mm_cpumask without a flush and got no IPI; docs/model/policies.md §13.3",
    safe: false, broken: true, params: [], family: "variant",
    generations: ["power7", "power8"], generationsWhy: "the generations of the scheme it breaks (ipi-tlbiel / batched-reclaim)",
    draw: { color: "#d67195", dash: [2, 2], shape: "stroke" },
  },
  {
    id: 16, name: "ipi-tlbiel-wrong-clear",
    summary: "BROKEN on purpose: a deferred flush request (need_tlb_flush) cleared by a thread entering another core",
    source: "CVE-2019-3016 (x86 KVM paravirt TLB flush: commits 8c6de56a42e0 \"x86/kvm: Be careful not to clear KVM_VCPU_FLUSH_TLB bit\", b043138246a4) in POWER form; docs/model/policies.md §13.3",
    safe: false, broken: true, params: [], family: "variant",
    generations: ["power7", "power8"], generationsWhy: "the generations of the scheme it breaks (ipi-tlbiel / batched-reclaim)",
    draw: { color: "#8c6d31", dash: [6, 2], shape: "arrow" },
  },
  {
    id: 17, name: "batched-reclaim-early-reuse",
    summary: "BROKEN on purpose: batched-reclaim that frees the frame before its batch's flush",
    source: "test variant: batched-reclaim without holding the frame (the RFC keeps unmapped folios off the free list until try_to_unmap_flush()); docs/model/policies.md §14",
    safe: false, broken: true, params: [], family: "variant",
    generations: ["power7", "power8"], generationsWhy: "the generations of the scheme it breaks (ipi-tlbiel / batched-reclaim)",
    draw: { color: "#637939", dash: [3, 3], shape: "triangle-right" },
  },
] as const satisfies readonly PolicyEntry[];

/** A policy's name: one of the registry's. */
export type PolicyName = (typeof REGISTRY)[number]["name"];
export type PolicyInfo = PolicyEntry & { name: PolicyName };
export const POLICIES: readonly PolicyInfo[] = REGISTRY;

export const POLICY_NAMES = POLICIES.map((p) => p.name) as unknown as readonly [PolicyName, ...PolicyName[]];

export function policyByName(name: string): PolicyInfo | undefined {
  return POLICIES.find((p) => p.name === name);
}

/** Whether `policy` takes the parameter `key`. */
export function takesParam(policy: PolicyInfo, key: PolicyParamKey): boolean {
  return policy.params.some((p) => p.key === key);
}

/** Whether `generation` is one of the machines `policy` is the rule for (docs/model/policies.md §12). */
export function onItsGenerations(policy: Pick<PolicyEntry, "generations">, generation: Generation): boolean {
  return policy.generations.includes(generation);
}

/** The policy every saving is stated against (family "baseline"). */
export function baselinePolicy(): PolicyInfo {
  return POLICIES.find((p) => p.family === "baseline")!;
}

/** The policies of a family, in registry order. */
export function policiesOf(family: PolicyFamily): PolicyInfo[] {
  return POLICIES.filter((p) => p.family === family);
}

/** A parameter by key. */
export function policyParam(key: PolicyParamKey): PolicyParam {
  return POLICY_PARAMS.find((p) => p.key === key)!;
}

/** Every parameter value of a variant: the policy's own (default where not given), null for the others. */
export function paramValues(policy: PolicyInfo, given: Partial<Record<PolicyParamKey, number | string | null | undefined>> = {}): PolicyParamValues {
  const out: Record<string, number | string | null> = {};
  for (const p of POLICY_PARAMS) out[p.key] = takesParam(policy, p.key as PolicyParamKey) ? (given[p.key as PolicyParamKey] ?? p.default) : null;
  return out as PolicyParamValues;
}

/** "deferred-va (cap 64, tlbie overflow)": the policy and the labels of its parameter values. */
export function variantLabel(policy: string, values: Partial<Record<PolicyParamKey, number | string | null>>): string {
  const parts: string[] = [];
  for (const p of POLICY_PARAMS) {
    const v = values[p.key as PolicyParamKey];
    if (v === null || v === undefined) continue;
    const l = p.label(v);
    if (l !== null) parts.push(l);
  }
  return parts.length > 0 ? `${policy} (${parts.join(", ")})` : policy;
}
