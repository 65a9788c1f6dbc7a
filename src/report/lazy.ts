/**
 * The report's section for the lazy family (docs/model/policies.md §9; the registry's family
 * "lazy"): host page-outs that skip the tlbie and hold the frame in a quarantine until every core
 * that may hold the VM's entries has flushed. For each such policy the study ran (its broken forms
 * are left to the scenarios): at the largest machine, per guest shape, H_LOCAL mode and paging rate,
 * its invalidation cycles per guest operation against the baseline's in the same context, the most
 * frames its quarantine held (results.json counters.quarantinePeak), page-outs that found it full and
 * fell back to a tlbie, LPID flushes made at flush points, and violations — and the findings in words.
 */
import type { PointResult, StudyResults } from "../study/results.js";
import { policiesOf } from "../model/policies.js";
import { BASELINE, cellsOf, contextKey, distinct, fmtCycles, fmtInt, fmtPct, plural, shapesOf, type Cell } from "./study-data.js";
import { isTracePoint } from "./real-guest.js";
import { schemeRobustness } from "./sensitivity.js";

export interface LazyTable {
  heading: string;
  headers: string[];
  numeric: boolean[];
  rows: string[][];
}

export interface LazySection {
  /** "Lazy page-outs: <policy>". */
  title: string;
  lead: string;
  findings: string[];
  table: LazyTable;
}

/** The most frames one guest's quarantine held in any run of the cell. */
function peak(c: Cell): number {
  return Math.max(0, ...c.points.map((p) => p.counters.quarantinePeak ?? 0));
}
const total = (c: Cell, k: string) => c.points.reduce((s, p) => s + (p.counters[k] ?? 0), 0);

/** One section per policy of the lazy family the study ran, not broken (empty when there is none). */
export function lazySections(results: StudyResults): LazySection[] {
  const points = results.points.filter((p): p is PointResult => !isTracePoint(p));
  return policiesOf("lazy").filter((p) => !p.broken && points.some((q) => q.params.policy === p.name))
    // the machines it is the rule for (docs/model/policies.md §12): a POWER7 study point has no generation
    .map((p) => section(p.name, points.filter((q) => q.params.generation === undefined || p.generations.includes(q.params.generation as never)), schemeRobustness(results, p.name)));
}

function section(policy: string, points: readonly PointResult[], robust: string | undefined): LazySection {
  const mine = points.filter((p) => p.params.policy === policy);
  const cores = Math.max(...mine.map((p) => p.params.cores));
  const at = (ps: readonly PointResult[]) => cellsOf(ps.filter((p) => p.params.cores === cores));
  const cells = at(mine);
  const base = new Map(at(points.filter((p) => p.params.policy === BASELINE.name)).map((c) => [contextKey(c.context), c]));
  const rows: string[][] = [];
  const findings: string[] = [];
  for (const shape of shapesOf(cells)) {
    for (const c of cells.filter((x) => x.context.shape === shape)) {
      const b = base.get(contextKey(c.context));
      const ratio = b && b.invalidationCyclesPerGuestOp > 0 ? c.invalidationCyclesPerGuestOp / b.invalidationCyclesPerGuestOp - 1 : null;
      rows.push([
        shape, String(c.context.hLocal), fmtInt(c.context.pageOutsPerMop),
        fmtCycles(c.invalidationCyclesPerGuestOp), b ? fmtCycles(b.invalidationCyclesPerGuestOp) : "–", ratio === null ? "–" : signed(ratio),
        fmtInt(peak(c)), fmtInt(total(c, "quarantineFallbacks")), fmtInt(total(c, "epochFlushes")), fmtInt(c.violations),
      ]);
    }
    // one sentence per shape: the heaviest paging, the first H_LOCAL mode
    const heavy = Math.max(...cells.filter((x) => x.context.shape === shape).map((x) => x.context.pageOutsPerMop));
    const c = cells.find((x) => x.context.shape === shape && x.context.pageOutsPerMop === heavy);
    const b = c && base.get(contextKey(c.context));
    if (c && b && heavy > 0) {
      const r = b.invalidationCyclesPerGuestOp > 0 ? c.invalidationCyclesPerGuestOp / b.invalidationCyclesPerGuestOp - 1 : 0;
      const fallbacks = total(c, "quarantineFallbacks");
      findings.push(`${shape} on ${cores} cores, ${fmtInt(heavy)} host page-outs per million guest operations: ${policy} spends ` +
        `${fmtCycles(c.invalidationCyclesPerGuestOp)} invalidation cycles per guest operation against ${fmtCycles(b.invalidationCyclesPerGuestOp)} for ${BASELINE.name} ` +
        `(${r <= 0 ? `${fmtPct(-r)} fewer` : `${fmtPct(r)} more`}); its quarantine held at most ${plural(peak(c), "frame")}` +
        `${fallbacks > 0 ? `, and ${plural(fallbacks, "page-out")} found it full and used a tlbie` : ", never full"}; ` +
        `${plural(c.violations, "violation")} in ${plural(c.runs, "run")}.`);
    }
  }
  const peaks = distinct(mine.map((p) => p.params.cores)).sort((a, b) => a - b)
    .map((n) => ({ n, f: Math.max(0, ...mine.filter((p) => p.params.cores === n).map((p) => p.counters.quarantinePeak ?? 0)) }));
  if (peaks.length > 1) {
    const sweeps = distinct(mine.map((p) => p.params.sweep)).sort();
    findings.push(`The most frames a quarantine held, over every shape and paging rate (${sweeps.length === 1 ? "sweep" : "sweeps"} ${sweeps.join(", ")}): ${peaks.map((x) => `${fmtInt(x.f)} on ${plural(x.n, "core")}`).join(", ")} ` +
      `— frames the host cannot give to anyone until the VM's cores pass their flush points.`);
  }
  // how robust its comparison at the first finding's largest machine is to the cost table (docs/study.md, "Sensitivity")
  if (robust) findings.push(robust);
  return {
    title: `Lazy page-outs: ${policy}`,
    lead: `Host page-outs skip the tlbie and hold the frame until every core that may hold the VM's entries has flushed its LPID (docs/model/policies.md §9), compared with ${BASELINE.name} in the same context at ${plural(cores, "core")}.`,
    findings,
    table: {
      heading: `${policy} at ${plural(cores, "core")}`,
      headers: ["guest", "H_LOCAL", "page-outs per M ops", `invalidation cycles / op`, `${BASELINE.name}`, "difference", "quarantine peak (frames)", "full → tlbie", "flush-point flushes", "violations"],
      numeric: [false, false, true, true, true, true, true, true, true, true],
      rows,
    },
  };
}

function signed(r: number): string {
  return `${r >= 0 ? "+" : "−"}${fmtPct(Math.abs(r))}`;
}
