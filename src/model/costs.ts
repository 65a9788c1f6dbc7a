/**
 * The cycle cost table (SPEC §9: every row is an assumption [A] of a 4 GHz POWER7 core unless the
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
  | "flushBase" | "flushPerSet" | "entryExit" | "ipi" | "pageOutHpte" | "hvFault" | "coresPerChip";

export const COST_ROWS: readonly CostRow[] = [
  { key: "tlbHit", cycles: 12, note: "every translation: ERAT miss, TLB hit (SPEC §9)" },
  { key: "ptegWalk", cycles: 40, note: "each PTEG a TLB miss probes, line in L2/L3 (SPEC §9; use 390 for DRAM)" },
  { key: "hcall", cycles: 1000, note: "real-mode hcall round trip, 600 + 400 work, invalidation excluded (SPEC §9)" },
  { key: "tlbiel", cycles: 220, note: "ptesync + tlbiel + ptesync, one VA (SPEC §9)" },
  { key: "tlbielExtra", cycles: 10, note: "each further tlbiel of one sequence: (1480 − 200) / 128 from the flush row [A]" },
  { key: "tlbieBase", cycles: 800, note: "lock + ptesync + tlbie + eieio + tlbsync + ptesync: 800 + 60·S (SPEC §9)" },
  { key: "tlbiePerChip", cycles: 60, note: "per chip S in the broadcast domain (Power 795, S = 32: 2720) (SPEC §9)" },
  { key: "tlbieExtra", cycles: 100, note: "each extra tlbie in one batch (SPEC §9)" },
  { key: "flushBase", cycles: 200, note: "LPID flush = 200 + 10·sets: 1480 at 128 sets, 5320 at 512 (SPEC §9)" },
  { key: "flushPerSet", cycles: 10, note: "per congruence class of the LPID flush (SPEC §9)" },
  { key: "entryExit", cycles: 6000, note: "full exit to the host kernel and back, per thread (SPEC §9)" },
  { key: "ipi", cycles: 8000, note: "IPI to a running vcpu: MFRR write → exit (SPEC §9)" },
  { key: "pageOutHpte", cycles: 300, note: "host page-out, per HPTE in the ring, plus its tlbie sequence (SPEC §9)" },
  { key: "hvFault", cycles: 6000, note: "HV page fault re-validating an ABSENT HPTE: an exit to the host [A]" },
  { key: "coresPerChip", cycles: 8, note: "cores per chip, to get S from the core count (POWER7: 8, SPEC §1)" },
];

export type CostTable = Record<CostName, number>;
export const DEFAULT_COSTS: CostTable = Object.fromEntries(COST_ROWS.map((r) => [r.key, r.cycles])) as CostTable;

/** Cost categories, in CC order. */
export const COST_CATEGORIES = [
  "translate", "walk", "hcall", "tlbiel", "tlbie", "tlbieWait", "flush", "entryExit", "ipi", "pageOut", "hvFault",
] as const;
export type CostCategory = (typeof COST_CATEGORIES)[number];
/** The categories that make up "invalidation cost". */
export const INVALIDATION_CATEGORIES: readonly CostCategory[] = ["tlbiel", "tlbie", "tlbieWait", "flush", "ipi"];
