/**
 * The cycle cost table (docs/model/costs.md §3: every row is an assumption [A] of a 4 GHz POWER7 core unless the
 * source says otherwise; sweep them ×0.25–×4). Index = K.* of src/engine/layout.ts.
 */
export interface CostRow {
  key: CostName;
  cycles: number;
  /** What it charges, and where the number comes from. */
  note: string;
}

export type CostName =
  | "tlbHit" | "ptegWalk" | "hcall" | "tlbiel" | "tlbielExtra" | "tlbieBase" | "tlbiePerChip" | "tlbieExtra"
  | "flushBase" | "flushPerSet" | "entryExit" | "ipi" | "pageOutHpte" | "hvFault" | "coresPerChip" | "tlbieErrata" | "ipiSend";

export const COST_ROWS: readonly CostRow[] = [
  { key: "tlbHit", cycles: 12, note: "every translation: ERAT miss, TLB hit (docs/model/costs.md §3.1)" },
  { key: "ptegWalk", cycles: 40, note: "each PTEG a TLB miss probes, line in L2/L3 (docs/model/costs.md §3.2; use 390 for DRAM)" },
  { key: "hcall", cycles: 1000, note: "real-mode hcall round trip, 600 + 400 work, invalidation excluded (docs/model/costs.md §3.3)" },
  { key: "tlbiel", cycles: 220, note: "ptesync + tlbiel + ptesync, one VA (docs/model/costs.md §3.4)" },
  { key: "tlbielExtra", cycles: 10, note: "each further tlbiel of one sequence: (1480 − 200) / 128 from the flush row (docs/model/costs.md §3.4)" },
  { key: "tlbieBase", cycles: 800, note: "lock + ptesync + tlbie + eieio + tlbsync + ptesync: 800 + 60·S (docs/model/costs.md §3.5)" },
  { key: "tlbiePerChip", cycles: 60, note: "per chip S in the broadcast domain (Power 795, S = 32: 2720) (docs/model/costs.md §3.5)" },
  { key: "tlbieExtra", cycles: 100, note: "each extra tlbie in one batch (docs/model/costs.md §3.5)" },
  { key: "flushBase", cycles: 200, note: "LPID flush = 200 + 10·sets: 1480 at 128 sets, 5320 at 512 (docs/model/costs.md §3.6)" },
  { key: "flushPerSet", cycles: 10, note: "per congruence class of the LPID flush (docs/model/costs.md §3.6)" },
  { key: "entryExit", cycles: 6000, note: "full exit to the host kernel and back, per thread (docs/model/costs.md §3.7)" },
  { key: "ipi", cycles: 8000, note: "IPI received: the target's exit (or interrupt) and handler entry, per target core; POWER8 real-mode exits averaged 4.2–4.6 µs and interrupts 1.3–1.7 µs (Mackerras, commit 66feed61cdf6) (docs/model/costs.md §3.8)" },
  { key: "pageOutHpte", cycles: 300, note: "host page-out, per HPTE in the ring, plus its tlbie sequence (docs/model/costs.md §3.9)" },
  { key: "hvFault", cycles: 6000, note: "HV page fault re-validating an ABSENT HPTE: an exit to the host (docs/model/costs.md §3.10)" },
  { key: "coresPerChip", cycles: 8, note: "cores per chip, to get S from the core count (POWER7: 8, docs/model/kvm.md §1.1)" },
  { key: "tlbieErrata", cycles: 200, note: "one POWER9 tlbie erratum workaround's ptesync + tlbie in a global sequence, 100 + 100 as §3.4 (assumed); charged only on a machine with the errata under a policy that applies them (docs/model/costs.md §6.3, docs/model/policies.md §10.3)" },
  { key: "ipiSend", cycles: 300, note: "assumed: the IPI sender's part per target — one cache-inhibited store to the XICS MFRR (icp_native_cause_ipi) or a msgsnd; swept by the sensitivity analysis (docs/model/costs.md §3.8)" },
];

export type CostTable = Record<CostName, number>;
export const DEFAULT_COSTS: CostTable = Object.fromEntries(COST_ROWS.map((r) => [r.key, r.cycles])) as CostTable;

/** The unit of each value: cycles of the profile's core, except the chip size. */
export function costUnit(key: CostName): "cycles" | "cores" {
  return key === "coresPerChip" ? "cores" : "cycles";
}

/** One value of a cost profile and where it comes from. */
export interface CostValue {
  value: number;
  /** A published figure, a kernel comment, or "assumed: …" with the reasoning (docs/model/costs.md §6). */
  source: string;
}

/** A cost table for one POWER generation (or a user's measurements): every value with its source. */
export interface CostProfile {
  name: string;
  summary: string;
  values: Record<CostName, CostValue>;
}

const P7 = Object.fromEntries(COST_ROWS.map((r) => [r.key, { value: r.cycles, source: r.note }])) as Record<CostName, CostValue>;
const same = (from: Record<CostName, CostValue>, key: CostName, why: string): CostValue => ({ value: from[key].value, source: `assumed: as ${why}` });

const P8: Record<CostName, CostValue> = {
  ...(Object.fromEntries(COST_ROWS.map((r) => [r.key, same(P7, r.key, "power7 — no public POWER8 figure; KVM runs the same real-mode HPT code and entry/exit path (book3s_hv_rmhandlers.S) on both")])) as Record<CostName, CostValue>),
  coresPerChip: { value: 12, source: "POWER8 single-chip module: up to 12 cores per chip (product summaries; docs/model/costs.md §6.2)" },
};

const P9_ENTRY_EXIT = 5200;
const P9: Record<CostName, CostValue> = {
  ...(Object.fromEntries(COST_ROWS.map((r) => [r.key, same(P7, r.key, "power7 — no public POWER9 figure for this row")])) as Record<CostName, CostValue>),
  entryExit: { value: P9_ENTRY_EXIT, source: "POWER9 guest entry+exit: the exit tlbsync sequence's 520 cycles were 'nearly 10%' of it (Piggin, commit d5c0e8332d82, Linux 5.17), so ≈5,200 (docs/model/costs.md §6.3)" },
  hvFault: { value: P9_ENTRY_EXIT, source: "an exit to the host, as entryExit (docs/model/costs.md §3.10)" },
  tlbieBase: { value: 720, source: "ptesync 100 + tlbie 100 + eieio;tlbsync;ptesync 520 (the POWER9 exit sequence, Piggin d5c0e8332d82); the errata's extra ptesync;tlbie pairs are tlbieErrata, charged per erratum (docs/model/costs.md §6.3)" },
  tlbieErrata: { value: 200, source: "ptesync 100 + tlbie 100 (assumed, as §3.4) per erratum workaround: fixup_tlbie_lpid() in do_tlbies, book3s_hv_rm_mmu.c (CPU_FTR_P9_TLBIE_ERAT_BUG: every POWER9; CPU_FTR_P9_TLBIE_STQ_BUG: Nimbus < DD2.3, Cumulus < DD1.3) (docs/model/costs.md §6.3)" },
  coresPerChip: { value: 24, source: "POWER9 scale-out (Nimbus): up to 24 SMT4 cores per chip (product summaries; docs/model/costs.md §6.3)" },
};

const P10: Record<CostName, CostValue> = {
  ...(Object.fromEntries(COST_ROWS.map((r) => [r.key, same(P9, r.key, "power9 — no public POWER10 figure for this row")])) as Record<CostName, CostValue>),
  entryExit: { value: P9_ENTRY_EXIT - 520, source: "the POWER9 figure less the exit tlbsync sequence the 2021 series removed: 5,200 − 520 ≈ 4,700 (assumed: the P9 entry path also runs POWER10 guests; docs/model/costs.md §6.4)" },
  hvFault: { value: P9_ENTRY_EXIT - 520, source: "an exit to the host, as entryExit (docs/model/costs.md §3.10)" },
  tlbieBase: { value: 720, source: "the power9 sequence; POWER10 has no CPU_FTR_P9_TLBIE_* errata, so its machines charge no tlbieErrata (docs/model/costs.md §6.4)" },
  tlbieExtra: { value: 980, source: "the 2021 'Upgrade va tlbie to PID tlbie' RFC on a 105-core POWER10 LPAR: 32 tlbies per 2 MiB stalled 43% of cycles, one PID tlbie 2.6%, so 32 cost ≈27.7× one: (27.7 − 1) × 1,140 / 31 ≈ 980 (docs/model/costs.md §6.4)" },
  coresPerChip: { value: 15, source: "POWER10: up to 15 active SMT8 cores per chip (product summaries; docs/model/costs.md §6.4)" },
};

/** The built-in profiles, oldest first; `power7` is the default table (COST_ROWS). */
export const COST_PROFILES: readonly CostProfile[] = [
  { name: "power7", summary: "POWER7 at 4 GHz: the default table (docs/model/costs.md §3)", values: P7 },
  { name: "power8", summary: "POWER8: the POWER7 table with 12-core chips (docs/model/costs.md §6.2)", values: P8 },
  { name: "power9", summary: "POWER9: measured entry/exit and tlbsync figures, the tlbie errata (docs/model/costs.md §6.3)", values: P9 },
  { name: "power10", summary: "POWER10: a tlbie range cost fitted to the 2021 PID-tlbie RFC (docs/model/costs.md §6.4)", values: P10 },
];
export const COST_PROFILE_NAMES = COST_PROFILES.map((p) => p.name) as readonly string[];
export const DEFAULT_COST_PROFILE = "power7";

export function costProfileByName(name: string): CostProfile | undefined {
  return COST_PROFILES.find((p) => p.name === name);
}

/** A profile's values as a plain table. */
export function profileTable(p: CostProfile): CostTable {
  return Object.fromEntries(COST_ROWS.map((r) => [r.key, p.values[r.key].value])) as CostTable;
}

/** Cost categories, in CC order. */
export const COST_CATEGORIES = [
  "translate", "walk", "hcall", "tlbiel", "tlbie", "tlbieWait", "flush", "entryExit", "ipi", "pageOut", "hvFault",
] as const;
export type CostCategory = (typeof COST_CATEGORIES)[number];
/** The categories that make up "invalidation cost". */
export const INVALIDATION_CATEGORIES: readonly CostCategory[] = ["tlbiel", "tlbie", "tlbieWait", "flush", "ipi"];

// ── the tlbie fabric model (docs/model/costs.md §8) ──

/** exclusive: one machine-wide fabric every global sequence holds alone (§4); concurrent: lock + shared fabric (§8). */
export const FABRIC_MODELS = ["exclusive", "concurrent"] as const;
export type FabricModel = (typeof FABRIC_MODELS)[number];
/** Whose global sequences a tlbie lock serialises: nobody's, one VM's (kvm->arch.tlbie_lock), the machine's. */
export const TLBIE_LOCK_SCOPES = ["none", "vm", "machine"] as const;
export type TlbieLockScope = (typeof TLBIE_LOCK_SCOPES)[number];

/** The concurrent fabric's settings (docs/model/costs.md §8). */
export interface FabricSettings {
  model: FabricModel;
  lockScope: TlbieLockScope;
  /** Global sequences on the fabric at once (1–255). */
  inFlight: number;
  /** Percent of its own length a sequence takes longer per other sequence in flight with it. */
  senderSlowdown: number;
}

/** Per generation: the lock scope its KVM uses, the fabric's width and slowdown, each with its source. */
export interface FabricProfile {
  lockScope: { value: TlbieLockScope; source: string };
  inFlight: { value: number; source: string };
  senderSlowdown: { value: number; source: string };
}

const LOCK_3X = "kvm->arch.tlbie_lock, one per VM, taken around every global sequence in Linux 3.x book3s_hv_rm_mmu.c (kvmppc_h_remove, later do_tlbies) (docs/model/costs.md §5.1)";
const IN_FLIGHT_ASSUMED = "assumed: no published figure for sequences in flight; POWER10's PM_TLBIE_FIN 'two TLBIEs can finish each cycle' read as two (docs/model/costs.md §8.2)";
const SLOWDOWN_ASSUMED = "assumed: arm64 broadcast TLBI reported to slow almost linearly with concurrent senders (no POWER figure found): +100% per other sequence in flight (docs/model/costs.md §8.3)";

export const FABRIC_PROFILES: Readonly<Record<string, FabricProfile>> = {
  power7: { lockScope: { value: "vm", source: LOCK_3X }, inFlight: { value: 2, source: IN_FLIGHT_ASSUMED }, senderSlowdown: { value: 100, source: SLOWDOWN_ASSUMED } },
  power8: { lockScope: { value: "vm", source: LOCK_3X }, inFlight: { value: 2, source: IN_FLIGHT_ASSUMED }, senderSlowdown: { value: 100, source: SLOWDOWN_ASSUMED } },
  power9: {
    lockScope: { value: "vm", source: "the POWER9 do_tlbies() that issues the 5-operand tlbie (and the 2019 errata version with fixup_tlbie_lpid()) still takes kvm->arch.tlbie_lock (docs/model/costs.md §5.1)" },
    inFlight: { value: 2, source: IN_FLIGHT_ASSUMED },
    senderSlowdown: { value: 100, source: SLOWDOWN_ASSUMED },
  },
  power10: {
    lockScope: { value: "none", source: "the later do_tlbies() (torvalds/linux book3s_hv_rm_mmu.c at 010e85f9e47c) takes no lock; assumed: a POWER10 host runs such a kernel (docs/model/costs.md §5.1)" },
    inFlight: { value: 2, source: "POWER10 PM_TLBIE_FIN: 'Two TLBIEs can finish each cycle' (power10/pipeline.json), read as two sequences in flight — assumed (docs/model/costs.md §8.2)" },
    senderSlowdown: { value: 100, source: SLOWDOWN_ASSUMED },
  },
};

/** The default fabric settings: exclusive, with power7's concurrent settings ready for model "concurrent". */
export const DEFAULT_FABRIC: FabricSettings = {
  model: "exclusive",
  lockScope: FABRIC_PROFILES.power7!.lockScope.value,
  inFlight: FABRIC_PROFILES.power7!.inFlight.value,
  senderSlowdown: FABRIC_PROFILES.power7!.senderSlowdown.value,
};
