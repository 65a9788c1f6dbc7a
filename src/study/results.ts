/**
 * The results of a study (results.json): what `hptlab study` writes and `hptlab merge` joins, and
 * what the reports (src/report/) read. Every field is deterministic: the same config and seed give
 * byte-identical results whatever the number of workers or shards (wall-clock time lives in
 * timing.json, never here).
 */
import type { Generation } from "../model/machines.js";
import type { CostCategory } from "../model/costs.js";
import type { PolicyName } from "../model/policies.js";

import type { HLocalMode } from "../workload/synthetic.js";
export type { HLocalMode };

/** The parameters of one sweep point (one simulated run). */
export interface PointParams {
  /** Name of the sweep (a study may hold several). */
  sweep: string;
  cores: number;
  smt: number;
  tlbSets: number;
  tlbWays: number;
  /** POWER8/9/10 machines only (absent: POWER7, src/model/machines.ts). */
  generation?: string;
  tlbThreadsPerGroup?: number;
  tlbFlushSets?: number;
  policy: PolicyName;
  /** deferred-va only, else null. */
  deferredCap: number | null;
  deferredOverflow: string | null;
  /** Label of the guest shape, e.g. "1 vcpu", "1 vcore", "4 vcores", "64 vcores". */
  shape: string;
  /** vcpus of the guest under study, and vcpus per vcore. */
  vcpus: number;
  threadsPerVcore: number;
  /** Guests on the machine (the one under study plus neighbours). */
  guests: number;
  hLocal: HLocalMode;
  /** Host page-outs per million guest operations (0 = no host paging). */
  pageOutsPerMop: number;
  migrationRate: number;
  /** Name of the workload generator: "kernel-churn" (synthetic) or "hcall-trace". */
  workload: string;
  /** Guest operations asked for (kernel-churn); trace calls replayed (hcall-trace). */
  ops: number;
  seed: number;
  /** hcall-trace: the trace as the config names it. */
  trace?: string;
}

export interface PointResult {
  /** Index of the point in the study's full list (stable across shards). */
  id: number;
  params: PointParams;
  /** Guest operations: translations + hypercalls. */
  guestOps: number;
  /** Every op executed by the engine, scheduling and paging included. */
  engineOps: number;
  /** The engine's counters (machine-wide), as numbers. */
  counters: Record<string, number>;
  /** Cycles per cost category (machine-wide). */
  cycles: Record<CostCategory, number>;
  /** Derived figures. */
  totalCycles: number;
  invalidationCycles: number;
  cyclesPerGuestOp: number;
  invalidationCyclesPerGuestOp: number;
  tlbieWaitCyclesPerGuestOp: number;
  tlbHitRate: number;
  violations: number;
  staleHarmless: number;
  /** The simulated makespan: the largest cpu clock. */
  makespan: number;
  /** hcall-trace points: the trace's identity (calls replayed, SHA-256 prefix over its calls). */
  trace?: { calls: number; vcpus: number; digest: string };
}

/** One scripted timeline (src/kvm/scenarios.ts) under one policy variant. */
export interface ScenarioOutcome {
  scenario: string;
  policy: PolicyName;
  /** deferred-va only, else null. */
  deferredCap: number | null;
  deferredOverflow: string | null;
  /** The variant is one of the study's points' (else: a registered policy the study does not run, default parameters). */
  inStudy: boolean;
  /** A guest reached a frame it no longer owns. */
  leaked: boolean;
  violations: number;
  staleHarmless: number;
}

/** The scenario catalogue run for a study (src/study/scenarios.ts). */
export interface ScenarioEvidence {
  /** The scenarios, in catalogue order, with what each one plays out. */
  catalogue: { name: string; summary: string; generation?: Generation }[];
  /** Every scenario under every variant: variants in study order, then scenarios in catalogue order. */
  outcomes: ScenarioOutcome[];
}

export interface StudyResults {
  /** Format marker and version of this file. */
  format: "hptlab-results";
  version: 1;
  /** hptlab's package version that produced it. */
  hptlab: string;
  /** The study's name and its resolved config (every default filled in). */
  study: string;
  config: unknown;
  /** Points in the full study. */
  totalPoints: number;
  /** The slice this file holds (a merged file: {k: 1, n: 1} and every point). */
  shard: { k: number; n: number };
  /**
   * The scenario catalogue under the study's policies (and the registry's others); absent from
   * results.json files written before it was part of a study — the reports then call no policy safe.
   */
  scenarios?: ScenarioEvidence;
  /** The cost profile the points ran with and every effective value (machine.costs applied) with its source; absent from older files. */
  costs?: { profile: string; values: Record<string, number>; sources: Record<string, string> };
  points: PointResult[];
  /** The sensitivity of the headline findings to each cost value (docs/study.md, "Sensitivity"); only when the config asks. */
  sensitivity?: unknown;
}
