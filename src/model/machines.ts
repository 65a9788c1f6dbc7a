/**
 * Machine generations and presets: the one table (docs/model/tlb.md §7). A generation sets a machine's
 * defaults — SMT, TLB geometry, the threads that share one TLB, how many tlbiels a full flush takes,
 * cores per chip (the cost table's `coresPerChip`), LPID width; a preset names a real system of that
 * generation with its largest core count. Below the engine: imported by src/config.ts and the CLI.
 */

export const GENERATIONS = ["power7", "power8", "power9", "power10"] as const;

/**
 * The POWER9 tlbie errata (docs/model/policies.md §10.3): "stq" = CPU_FTR_P9_TLBIE_STQ_BUG (tlbie vs
 * store ordering; Nimbus below DD2.3, Cumulus below DD1.3), "erat" = CPU_FTR_P9_TLBIE_ERAT_BUG (every
 * POWER9): arch/powerpc/kernel/dt_cpu_ftrs.c update_tlbie_feature_flag(), Linux 5.4+.
 */
export const TLBIE_ERRATA = ["stq", "erat"] as const;
export type TlbieErratum = (typeof TLBIE_ERRATA)[number];
export type Generation = (typeof GENERATIONS)[number];

export interface GenerationRow {
  generation: Generation;
  /** Threads per core (the largest SMT mode). */
  smt: 1 | 2 | 4 | 8;
  /** TLB congruence classes the model indexes by (docs/model/tlb.md §7.1). */
  tlbSets: number;
  /** TLB ways (docs/model/tlb.md §7.1: assumed 4 where no public manual gives them). */
  tlbWays: number;
  /**
   * tlbiel IS=0b10 instructions a full LPID flush takes: the kernel's *_TLB_SETS (POWER10: 1, one tlbiel
   * invalidates every congruence class), what the entry flush costs (docs/model/tlb.md §7.1).
   */
  tlbFlushSets: number;
  /** Threads that share one TLB on an SMT8 core (docs/model/tlb.md §7.2): 4 on POWER9/POWER10 (two TLBs per core), else 8; below SMT8 the core shares one. */
  tlbThreadsSmt8: 4 | 8;
  /** Cores per chip of the generation's enterprise systems (the cost table's coresPerChip, docs/model/costs.md §3.5). */
  coresPerChip: number;
  /** LPID width (docs/model/kvm.md §1.3): 10 on POWER7, 12 from POWER8. */
  lpidBits: 10 | 12;
  /** The tlbie errata a part of this generation has by default (POWER9: both, i.e. a part below Nimbus DD2.3 / Cumulus DD1.3). */
  tlbieErrata: readonly TlbieErratum[];
  /** Where the numbers come from. */
  source: string;
}

export const GENERATION_ROWS: readonly GenerationRow[] = [
  {
    generation: "power7", smt: 4, tlbSets: 128, tlbWays: 4, tlbFlushSets: 128, tlbThreadsSmt8: 8, coresPerChip: 8, lpidBits: 10, tlbieErrata: [],
    source: "POWER7_TLB_SETS 128 (arch/powerpc/include/asm/book3s/64/mmu-hash.h, Linux 6.1); 4 ways assumed (docs/model/tlb.md §1)",
  },
  {
    generation: "power8", smt: 8, tlbSets: 512, tlbWays: 4, tlbFlushSets: 512, tlbThreadsSmt8: 8, coresPerChip: 12, lpidBits: 12, tlbieErrata: [],
    source: "POWER8_TLB_SETS 512 (mmu-hash.h, Linux 6.1); 4 ways assumed (no public manual text found, docs/model/tlb.md §7.1); one TLB per core",
  },
  {
    generation: "power9", smt: 8, tlbSets: 256, tlbWays: 4, tlbFlushSets: 256, tlbThreadsSmt8: 4, coresPerChip: 12, lpidBits: 12, tlbieErrata: ["stq", "erat"],
    source: "POWER9_TLB_SETS_HASH 256 (mmu-hash.h, Linux 6.1); 4 ways assumed (no public manual text found, docs/model/tlb.md §7.1); SMT8 core = 2 TLBs of 4 threads (commit 77bbbc0cf848, Linux 5.14)",
  },
  {
    generation: "power10", smt: 8, tlbSets: 256, tlbWays: 4, tlbFlushSets: 1, tlbThreadsSmt8: 4, coresPerChip: 15, lpidBits: 12, tlbieErrata: [],
    source: "POWER10_TLB_SETS 1 (mmu-hash.h, Linux 6.1: one tlbiel flushes all); lookup geometry 256 × 4 assumed (a secondary source says 4,096 entries a core, docs/model/tlb.md §7.1); SMT8 core = 2 TLBs of 4 threads (commit 77bbbc0cf848)",
  },
];

export function generationRow(g: Generation): GenerationRow {
  return GENERATION_ROWS.find((r) => r.generation === g)!;
}

export interface MachinePreset {
  name: string;
  generation: Generation;
  /** The system's largest configuration. */
  cores: number;
  chips: number;
  system: string;
  source: string;
}

/** The largest enterprise system of each generation (docs/model/tlb.md §7.3). */
export const MACHINE_PRESETS: readonly MachinePreset[] = [
  { name: "power7-795", generation: "power7", cores: 256, chips: 32, system: "IBM Power 795 (POWER7, 32 × 8-core chips)", source: "IBM Redpaper REDP-4640, IBM Power 795 Technical Overview and Introduction; 256 POWER7 cores, 1,024 threads: Table 2-2 of REDP-5137 and of the POWER7 and POWER7+ Optimization and Tuning Guide" },
  { name: "power8-e880", generation: "power8", cores: 192, chips: 16, system: "IBM Power System E880 (POWER8, 16 × 12-core chips)", source: "IBM Redpaper REDP-5137, IBM Power System E870 and E880 Technical Overview and Introduction: Table 2-2, POWER8 192 cores/system at SMT8; a four-node E880" },
  { name: "power9-e980", generation: "power9", cores: 192, chips: 16, system: "IBM Power System E980 (POWER9 SMT8, 16 × 12-core chips)", source: "IBM Redpaper REDP-5510, IBM Power System E980 Technical Overview and Introduction (192 cores: checked in IBM's E950/E980 announcement deck, 4 nodes = 192 cores, not in the Redpaper's text)" },
  { name: "power10-e1080", generation: "power10", cores: 240, chips: 16, system: "IBM Power E1080 (POWER10 SMT8, 16 × 15-core chips)", source: "IBM Redpaper REDP-5649, IBM Power E1080 Technical Overview and Introduction; 240 SMT8 cores: REDP-5684 (Power E1050) Table 2-2, the hypervisor's maximum of 240 SMT8 cores (1,920 threads)" },
];

export const PRESET_NAMES = MACHINE_PRESETS.map((p) => p.name) as [string, ...string[]];

export function presetByName(name: string): MachinePreset | undefined {
  return MACHINE_PRESETS.find((p) => p.name === name);
}
