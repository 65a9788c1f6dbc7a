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
  | "flushBase" | "flushPerSet" | "entryExit" | "ipi" | "pageOutHpte" | "hvFault" | "coresPerChip";

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
  { key: "ipi", cycles: 8000, note: "IPI to a running vcpu: MFRR write → exit (docs/model/costs.md §3.8)" },
  { key: "pageOutHpte", cycles: 300, note: "host page-out, per HPTE in the ring, plus its tlbie sequence (docs/model/costs.md §3.9)" },
  { key: "hvFault", cycles: 6000, note: "HV page fault re-validating an ABSENT HPTE: an exit to the host (docs/model/costs.md §3.10)" },
  { key: "coresPerChip", cycles: 8, note: "cores per chip, to get S from the core count (POWER7: 8, docs/model/kvm.md §1.1)" },
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
