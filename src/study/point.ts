/**
 * One sweep point, start to finish: run its workload and turn the machine's counters into a
 * PointResult (plain numbers, derived figures). Pure: the same point gives the same result
 * wherever it runs (main thread, a worker, another machine).
 */
import { openSync, closeSync } from "node:fs";
import { join } from "node:path";
import { runWorkload, runWorkloads, generatorKey, type WorkloadTally } from "../workload/synthetic.js";
import { runTraceWorkload, runTraceWorkloads, type TraceTally } from "../workload/trace-driven.js";
import type { Machine } from "../engine/machine.js";
import type { StudyPoint } from "./config.js";
import type { PointResult } from "./results.js";
import { COST_CATEGORIES, INVALIDATION_CATEGORIES, type CostCategory } from "../model/costs.js";
import { SCALAR_COUNTERS } from "../types.js";
import { KVM_COUNTERS, QUARANTINE_COUNTERS } from "../engine/records.js";
import { policyByName } from "../model/policies.js";

const round = (x: number, digits = 4) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/**
 * Test hook: HPTLAB_FAIL_POINTS=3,17 makes those point ids fail (to test that nothing else is lost).
 * With HPTLAB_FAIL_ONCE_DIR=DIR too, each fails only once: its first failure leaves DIR/fail-<id>
 * (created exclusively, so processes on several machines agree), and a retry of the point runs.
 */
function injectedFailure(id: number): boolean {
  const v = process.env.HPTLAB_FAIL_POINTS;
  if (v === undefined || !v.split(",").map(Number).includes(id)) return false;
  const once = process.env.HPTLAB_FAIL_ONCE_DIR;
  if (!once) return true;
  try {
    closeSync(openSync(join(once, `fail-${id}`), "wx"));
    return true;
  } catch (e) {
    // failed before: run it; any other error (no such folder) fails the point as asked
    return (e as NodeJS.ErrnoException).code !== "EEXIST";
  }
}

/** The trace workload's own counts, reported with the engine's counters (docs/study.md, "Real guests"). */
export const TRACE_TALLY = ["traceCalls", "touches", "invalidations", "localEligible", "markedLocal", "splitRemoves", "afterUnmapTouches", "forcedPlacements", "hcalls"] as const;

export function runPoint(p: StudyPoint): PointResult {
  if (injectedFailure(p.id)) throw new Error(`injected failure (HPTLAB_FAIL_POINTS)`);
  let m: Machine;
  let tally: WorkloadTally | TraceTally;
  if (p.run.trace) {
    ({ machine: m, tally } = runTraceWorkload(p.run, programOf(p)));
  } else {
    ({ machine: m, tally } = runWorkload(p.run));
  }
  return pointResult(p, m, tally);
}

function programOf(p: StudyPoint) {
  if (!p.run.program) throw new Error(`point ${p.id}: its trace ${p.run.trace!.file} is not loaded (run it through runStudy, or attachTracePrograms first)`);
  return p.run.program;
}

/** A point's outcome when points run together: its result, or why it failed. */
export type PointOutcome = { result: PointResult } | { error: string };

/**
 * Several points, each with the same result as runPoint gives it. Points that differ only in what
 * the engine sees (policy, deferred-va cap and overflow, costs: generatorKey) share one generator,
 * which drives one machine per point: a configuration's policy variants (which share its seed, in
 * synthetic and trace sweeps alike) cost the generator's work once. A failure is reported for the
 * points it concerns: when a group fails, its points run again one by one, so the others still get
 * their results.
 */
export function runPoints(points: readonly StudyPoint[]): PointOutcome[] {
  const out: PointOutcome[] = new Array(points.length);
  const groups = new Map<string, number[]>();
  points.forEach((p, i) => {
    if (injectedFailure(p.id)) { out[i] = { error: "injected failure (HPTLAB_FAIL_POINTS)" }; return; }
    const key = generatorKey(p.run);
    const g = groups.get(key);
    if (g) g.push(i); else groups.set(key, [i]);
  });
  const fail = (e: unknown) => ({ error: (e as Error)?.message ?? String(e) });
  for (const idx of groups.values()) {
    const first = points[idx[0]!]!;
    const runs = idx.map((i) => points[i]!.run);
    try {
      const { machines, tally } = first.run.trace ? runTraceWorkloads(runs, programOf(first)) : runWorkloads(runs);
      idx.forEach((i, k) => { out[i] = { result: pointResult(points[i]!, machines[k]!, tally) }; });
    } catch (e) {
      // which point failed? each runs alone: the others keep their results
      if (idx.length === 1) out[idx[0]!] = fail(e);
      else for (const i of idx) try { out[i] = { result: runPoint(points[i]!) }; } catch (e2) { out[i] = fail(e2); }
    }
  }
  return out;
}

/** A finished point's result from its machine (then disposed) and its generator's tally. */
function pointResult(p: StudyPoint, m: Machine, tally: WorkloadTally | TraceTally): PointResult {
  const c = m.counters();
  const k = m.kvmCounters();
  const counters: Record<string, number> = {};
  for (const name of SCALAR_COUNTERS) counters[name] = Number(c[name]);
  for (const name of KVM_COUNTERS) counters[name] = Number(k[name]);
  for (const [h, row] of Object.entries(c.hcalls)) for (const [b, x] of Object.entries(row)) counters[`${h}.${b}`] = Number(x);
  counters.faultsMapped = tally.faultsMapped;
  counters.pageOutsTried = tally.pageOutsTried;
  // the concurrent fabric's split of tlbieWait (docs/model/costs.md §8): the lock's part; the rest is the fabric's
  if (p.run.fabric) counters.tlbieLockWaitCycles = Number(k.tlbieLockWaitCycles);
  // lazy-reuse's quarantine (docs/model/policies.md §9.3), for the policies that have one
  if (policyByName(p.params.policy)?.quarantine) for (const name of QUARANTINE_COUNTERS) counters[name] = Number(k[name]);
  // the POWER9 errata workarounds' extra tlbies (docs/model/policies.md §10.3), where a policy issued any
  if (k.errataTlbies > 0n) counters.errataTlbies = Number(k.errataTlbies);
  if ("traceCalls" in tally) {
    for (const k of TRACE_TALLY) counters[k] = tally[k];
  }
  const cycles = Object.fromEntries(COST_CATEGORIES.map((cat) => [cat, Number(k.cycles[cat])])) as Record<CostCategory, number>;
  const totalCycles = COST_CATEGORIES.reduce((a, cat) => a + cycles[cat], 0);
  const invalidationCycles = INVALIDATION_CATEGORIES.reduce((a, cat) => a + cycles[cat], 0);
  const makespan = Number(m.makespan());
  m.dispose(); // its memory goes to the next point's machine (no page faults)
  const g = tally.guestOps;
  return {
    id: p.id,
    params: p.params,
    guestOps: g,
    engineOps: tally.engineOps,
    counters,
    cycles,
    totalCycles,
    invalidationCycles,
    cyclesPerGuestOp: round(totalCycles / g),
    invalidationCyclesPerGuestOp: round(invalidationCycles / g),
    tlbieWaitCyclesPerGuestOp: round(cycles.tlbieWait / g),
    tlbHitRate: round(counters.translations ? counters.tlbHits! / counters.translations : 0, 6),
    violations: counters.violations!,
    staleHarmless: counters.staleHarmless!,
    makespan,
    ...(p.run.program ? { trace: { calls: (tally as TraceTally).traceCalls, vcpus: p.run.program.vcpus, digest: p.run.program.digest } } : {}),
  };
}
