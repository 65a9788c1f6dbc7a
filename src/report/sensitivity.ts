/**
 * How robust the headline findings are to the cost table (docs/study.md, "Sensitivity"): which
 * points each headline finding reads (chosen from the points' parameters alone, before anything
 * runs, so every shard agrees), and — once those points have been re-run with one cost value scaled
 * at a time — whether each finding's conclusion still holds, and the first factor at which it
 * flips. The costs change cycles only, never the op stream (the generator does not look at the
 * engine), so a re-run needs no new workload: it shares its generator with the points it re-runs.
 */
import { COST_CATEGORIES, COST_ROWS, INVALIDATION_CATEGORIES, type CostCategory, type CostName, type CostTable } from "../model/costs.js";
import type { PointParams, PointResult, StudyResults } from "../study/results.js";
import { POLICIES, type PolicyFamily } from "../model/policies.js";
import { BASELINE, cellsOf, contextKey, distinct, fmtPct, fmtRatio, pickSlice, plural, pooled, shapeGuests, shapesOf, sliceWords, type Cell } from "./study-data.js";
import { LOCAL_FAMILIES, localSlice, pickProgression } from "./findings.js";
import { isBaselineSynthetic, isTracePoint } from "./real-guest.js";
import { policySafety } from "./safety.js";

/** One point re-run with one cost value scaled: what changed (cycles) and what must not (violations). */
export interface SensitivityRun {
  /** Its id: after the study's points (totalPoints + index in the plan). */
  id: number;
  /** The point it re-runs. */
  base: number;
  param: CostName;
  factor: number;
  /** The scaled value it ran with. */
  value: number;
  cycles: Record<CostCategory, number>;
  violations: number;
  staleHarmless: number;
}

export type SensitivityKind = "local-win" | "tlbie-queueing" | "safety" | "scheme";

/** The registry families whose headline comparison with the baseline is re-run (kind "scheme"): the schemes proposed since 2012. */
const SCHEME_FAMILIES: readonly PolicyFamily[] = ["lazy", "ipi", "batched"];

/** One headline finding's robustness. */
export interface SensitivityFinding {
  /** e.g. "local-win 64 vcores". */
  key: string;
  kind: SensitivityKind;
  /** The conclusion in words, under the study's own costs. */
  conclusion: string;
  /** What is measured, and how it is printed. */
  metric: string;
  format: "pct" | "count";
  base: number;
  /** Each cost value: the metric at each factor and whether the conclusion holds there. */
  rows: { param: CostName; points: { factor: number; value: number; holds: boolean }[] }[];
  /** Every value that flips the conclusion, at the factor nearest 1 that does. */
  flips: { param: CostName; factor: number; value: number }[];
  robust: boolean;
  /** The metric's range over every re-run (the study's own value included). */
  range: [number, number];
}

export interface SensitivityResults {
  factors: number[];
  params: CostName[];
  /** The points each finding reads (ids), which were re-run. */
  targets: { kind: SensitivityKind; ids: number[] }[];
  runs: SensitivityRun[];
  /** The verdicts; absent from a shard's file (merge computes them from every shard's runs). */
  findings?: SensitivityFinding[];
}

/** The share of invalidation cycles spent waiting above which "queueing dominates". */
const DOMINATES = 0.5;

/** A result with only its parameters: enough for the slices, which never look at values. */
function bare(id: number, params: PointParams): PointResult {
  const cycles = Object.fromEntries(COST_CATEGORIES.map((c) => [c, 0])) as Record<CostCategory, number>;
  return {
    id, params, guestOps: 1, engineOps: 0, counters: {}, cycles, totalCycles: 0, invalidationCycles: 0, cyclesPerGuestOp: 0,
    invalidationCyclesPerGuestOp: 0, tlbieWaitCyclesPerGuestOp: 0, tlbHitRate: 0, violations: 0, staleHarmless: 0, makespan: 0,
  };
}

/** The local-win comparison of the first finding: per guest shape at the largest machine, the baseline and the first local family's variants. */
function localWinGroups(cells: Cell[]): { shape: string; base: Cell; mine: Cell[] }[] {
  const slice = localSlice(cells);
  if (!slice) return [];
  const family = LOCAL_FAMILIES.find((f) => slice.cells.some((c) => c.variant.policy === f));
  if (!family) return [];
  const same = (a: Cell, b: Cell) => a.context.cores === b.context.cores && a.context.shape === b.context.shape;
  const comparable = slice.cells.filter((c) => c.variant.policy === BASELINE.name && slice.cells.some((d) => d.variant.policy === family && same(c, d)));
  if (comparable.length === 0) return [];
  const cores = Math.max(...comparable.map((c) => c.context.cores));
  const out: { shape: string; base: Cell; mine: Cell[] }[] = [];
  for (const shape of shapesOf(comparable).reverse()) {
    const base = comparable.find((c) => c.context.cores === cores && c.context.shape === shape);
    if (!base) continue;
    out.push({ shape, base, mine: slice.cells.filter((c) => c.variant.policy === family && same(c, base)) });
  }
  return out;
}

/** The tlbie-queueing finding's cells: the baseline at the three sizes it names, in the shapes run at every size. */
function queueingCells(cells: Cell[]): Cell[] {
  const base = cells.filter((c) => c.variant.policy === BASELINE.name);
  if (base.length === 0) return [];
  const slice = pickSlice(base, (c) => `${c.context.shape}|${c.context.cores}`);
  const sizes = distinct(slice.cells.map((c) => c.context.cores));
  if (sizes.length < 2) return [];
  const shapes = shapesOf(slice.cells).filter((s) => sizes.every((n) => slice.cells.some((c) => c.context.shape === s && c.context.cores === n)));
  const shown = pickProgression(sizes, 3);
  return slice.cells.filter((c) => shown.includes(c.context.cores) && shapes.includes(c.context.shape));
}

/** The schemes' policies (not broken), in registry order. */
const schemePolicies = () => POLICIES.filter((p) => !p.broken && SCHEME_FAMILIES.includes(p.family)).map((p) => p.name);

/** Per scheme policy and guest shape: the baseline's cell and the scheme's in the same context (the pairs among `cells`). */
function schemePairs(base: readonly Cell[], cells: readonly Cell[]): { policy: string; shape: string; base: Cell; mine: Cell }[] {
  const out: { policy: string; shape: string; base: Cell; mine: Cell }[] = [];
  for (const policy of schemePolicies()) {
    for (const shape of shapesOf(base).reverse()) {
      const b = base.find((c) => c.context.shape === shape);
      const mine = b && cells.find((c) => c.variant.policy === policy && contextKey(c.context) === contextKey(b.context));
      if (b && mine) out.push({ policy, shape, base: b, mine });
    }
  }
  return out;
}

/**
 * The schemes' comparison in the first finding's slice (the local-win one): at the largest machine
 * the baseline runs there, per scheme policy and guest shape where both run, the baseline's cell and
 * the scheme's in the same context (the slice's sweep, H_LOCAL use, paging rate and the rest).
 */
function schemeGroups(cells: Cell[]): { policy: string; shape: string; base: Cell; mine: Cell }[] {
  const slice = localSlice(cells);
  if (!slice) return [];
  const base = slice.cells.filter((c) => c.variant.policy === BASELINE.name);
  if (base.length === 0) return [];
  const cores = Math.max(...base.map((c) => c.context.cores));
  return schemePairs(base.filter((c) => c.context.cores === cores), cells);
}

/** The scheme pairs among the target points (the baseline's cells there are all at one machine size). */
function schemeTargetPairs(cells: Cell[]): { policy: string; shape: string; base: Cell; mine: Cell }[] {
  return schemePairs(cells.filter((c) => c.variant.policy === BASELINE.name), cells);
}

const idsOf = (cells: readonly Cell[]) => cells.flatMap((c) => c.points.map((p) => p.id));

/** The points each headline finding reads, from the points' parameters (synthetic points only). */
export function sensitivityTargets(points: readonly { id: number; params: PointParams }[]): { kind: SensitivityKind; ids: number[] }[] {
  const cells = cellsOf(points.map((p) => bare(p.id, p.params)).filter(isBaselineSynthetic));
  const out: { kind: SensitivityKind; ids: number[] }[] = [];
  const local = localWinGroups(cells).flatMap((g) => [g.base, ...g.mine]);
  if (local.length > 0) out.push({ kind: "local-win", ids: idsOf(local).sort((a, b) => a - b) });
  const queue = queueingCells(cells);
  if (queue.length > 0) out.push({ kind: "tlbie-queueing", ids: idsOf(queue).sort((a, b) => a - b) });
  const schemes = schemeGroups(cells).flatMap((g) => [g.base, g.mine]);
  if (schemes.length > 0) out.push({ kind: "scheme", ids: [...new Set(idsOf(schemes))].sort((a, b) => a - b) });
  return out;
}

/** The re-runs: every target point × every cost value × every factor whose scaled value differs; `costsOf(id)` is the table point id ran with. */
export function sensitivityPlan(targets: readonly { ids: number[] }[], costsOf: (id: number) => CostTable, params: readonly CostName[], factors: readonly number[]): { base: number; param: CostName; factor: number; value: number }[] {
  const ids = [...new Set(targets.flatMap((t) => t.ids))].sort((a, b) => a - b);
  const out: { base: number; param: CostName; factor: number; value: number }[] = [];
  for (const base of ids) {
    const costs = costsOf(base);
    for (const param of params) {
      for (const factor of factors) {
        const value = scaled(costs[param], factor, param);
        if (value !== costs[param]) out.push({ base, param, factor, value });
      }
    }
  }
  return out;
}

/** A cost value × factor, a whole number (cores per chip at least 1). */
export function scaled(value: number, factor: number, param: CostName): number {
  return Math.max(param === "coresPerChip" ? 1 : 0, Math.round(value * factor));
}

/** A re-run as the point it re-runs, with its cycles. */
function asPoint(base: PointResult, r: SensitivityRun): PointResult {
  const totalCycles = COST_CATEGORIES.reduce((a, c) => a + r.cycles[c], 0);
  const invalidationCycles = INVALIDATION_CATEGORIES.reduce((a, c) => a + r.cycles[c], 0);
  const g = base.guestOps;
  return {
    ...base, cycles: r.cycles, totalCycles, invalidationCycles, cyclesPerGuestOp: totalCycles / g, invalidationCyclesPerGuestOp: invalidationCycles / g,
    tlbieWaitCyclesPerGuestOp: r.cycles.tlbieWait / g, violations: r.violations, staleHarmless: r.staleHarmless,
  };
}

interface Measure {
  key: string;
  kind: SensitivityKind;
  metric: string;
  format: "pct" | "count";
  /** The metric over some points (the study's, or one re-run's with the rest as they were). */
  value: (points: Map<number, PointResult>) => number;
  /** Does the conclusion hold at this value (given the study's own value)? */
  holds: (x: number, base: number) => boolean;
  conclusion: (base: number) => string;
}

function measures(results: StudyResults, targets: readonly { kind: SensitivityKind; ids: number[] }[]): Measure[] {
  const out: Measure[] = [];
  const byId = new Map(results.points.map((p) => [p.id, p]));
  const cellsFrom = (ids: readonly number[], pts: Map<number, PointResult>) => cellsOf(ids.map((i) => pts.get(i) ?? byId.get(i)!).filter(Boolean));
  const local = targets.find((t) => t.kind === "local-win");
  if (local) {
    for (const g of localWinGroups(cellsOf(local.ids.map((i) => byId.get(i)!).filter(Boolean)))) {
      const ids = idsOf([g.base, ...g.mine]);
      const label = g.mine[0]!.variant.policy;
      out.push({
        key: `local-win ${g.shape}`, kind: "local-win", metric: `${label}'s invalidation saving over ${BASELINE.name}, ${shapeGuests(g.shape)} on ${g.base.context.cores} cores`, format: "pct",
        value: (pts) => {
          const cells = cellsFrom(ids, pts);
          const b = cells.find((c) => c.variant.policy === BASELINE.name)!;
          const best = Math.min(...cells.filter((c) => c.variant.policy !== BASELINE.name).map((c) => c.invalidationCyclesPerGuestOp));
          return b.invalidationCyclesPerGuestOp > 0 ? 1 - best / b.invalidationCyclesPerGuestOp : 0;
        },
        holds: (x, base) => Math.sign(x) === Math.sign(base),
        conclusion: (base) => base > 0 ? `${label} spends fewer invalidation cycles than ${BASELINE.name} for ${shapeGuests(g.shape)}` : `${label} spends no fewer invalidation cycles than ${BASELINE.name} for ${shapeGuests(g.shape)}`,
      });
    }
  }
  const queue = targets.find((t) => t.kind === "tlbie-queueing");
  if (queue) {
    const cells = cellsOf(queue.ids.map((i) => byId.get(i)!).filter(Boolean));
    const top = Math.max(...cells.map((c) => c.context.cores));
    const ids = idsOf(cells.filter((c) => c.context.cores === top));
    out.push({
      key: "tlbie-queueing", kind: "tlbie-queueing", metric: `tlbie queueing's share of ${BASELINE.name}'s invalidation cycles on ${top} cores`, format: "pct",
      value: (pts) => pooled(cellsFrom(ids, pts)).tlbieWaitShare,
      holds: (x, base) => (x > DOMINATES) === (base > DOMINATES),
      conclusion: (base) => base > DOMINATES ? `queueing for the tlbie fabric is most of ${BASELINE.name}'s invalidation cycles on ${top} cores` : `queueing for the tlbie fabric is not most of ${BASELINE.name}'s invalidation cycles on ${top} cores`,
    });
  }
  const scheme = targets.find((t) => t.kind === "scheme");
  if (scheme) {
    for (const g of schemeTargetPairs(cellsOf(scheme.ids.map((i) => byId.get(i)!).filter(Boolean)))) {
      const ids = idsOf([g.base, g.mine]);
      const where = `${shapeGuests(g.shape)} on ${g.base.context.cores} cores`;
      out.push({
        key: `scheme ${g.policy} ${g.shape}`, kind: "scheme", metric: `${g.policy}'s invalidation cycles per guest op against ${BASELINE.name}'s, ${where}`, format: "pct",
        value: (pts) => {
          const cells = cellsFrom(ids, pts);
          const b = cells.find((c) => c.variant.policy === BASELINE.name)!.invalidationCyclesPerGuestOp;
          const mine = cells.find((c) => c.variant.policy === g.policy)!.invalidationCyclesPerGuestOp;
          return b > 0 ? 1 - mine / b : 0;
        },
        holds: (x, base) => Math.sign(x) === Math.sign(base),
        conclusion: (base) => `${g.policy} spends ${base > 0 ? "fewer" : base < 0 ? "more" : "as many"} invalidation cycles than ${BASELINE.name} for ${where}`,
      });
    }
  }
  // the safety verdicts: the policies called safe must not leak in any re-run either
  const safe = new Set(policySafety(results).filter((s) => s.verdict === "safe").map((s) => s.policy));
  const allIds = [...new Set(targets.flatMap((t) => t.ids))].filter((i) => safe.has(byId.get(i)?.params.policy ?? ""));
  if (safe.size > 0 && allIds.length > 0) {
    out.push({
      key: "safety", kind: "safety", metric: "violations of the policies called safe in the re-run points", format: "count",
      value: (pts) => allIds.reduce((a, i) => a + (pts.get(i) ?? byId.get(i)!).violations, 0),
      holds: (x, base) => (x === 0) === (base === 0),
      conclusion: () => `no policy called safe leaks`,
    });
  }
  return out;
}

/** Each headline finding's robustness, from the study's points and the re-runs (all of them: a merged or unsharded results file). */
export function sensitivityFindings(results: StudyResults): SensitivityFinding[] | undefined {
  const s = results.sensitivity as SensitivityResults | undefined;
  if (!s) return undefined;
  const byId = new Map(results.points.map((p) => [p.id, p]));
  const ms = measures(results, s.targets);
  // the re-runs grouped by (param, factor): each group is one changed cost table over the target points
  const groups = new Map<string, { param: CostName; factor: number; pts: Map<number, PointResult> }>();
  for (const r of s.runs) {
    const base = byId.get(r.base);
    if (!base) return undefined;
    const k = `${r.param}|${r.factor}`;
    let g = groups.get(k);
    if (!g) groups.set(k, g = { param: r.param, factor: r.factor, pts: new Map() });
    g.pts.set(r.base, asPoint(base, r));
  }
  const order = [...s.factors].sort((a, b) => Math.abs(Math.log(a)) - Math.abs(Math.log(b)) || a - b);
  return ms.map((m) => {
    const base = m.value(new Map());
    const rows = s.params.map((param) => ({
      param,
      points: s.factors.flatMap((factor) => {
        const g = groups.get(`${param}|${factor}`);
        if (!g) return []; // the scaled value equals the study's (e.g. 0 × 2)
        const value = m.value(g.pts);
        return [{ factor, value, holds: m.holds(value, base) }];
      }),
    }));
    const flips = rows.flatMap((r) => {
      const f = order.map((factor) => r.points.find((p) => p.factor === factor)).find((p) => p && !p.holds);
      return f ? [{ param: r.param, factor: f.factor, value: f.value }] : [];
    });
    const values = [base, ...rows.flatMap((r) => r.points.map((p) => p.value))];
    return {
      key: m.key, kind: m.kind, conclusion: m.conclusion(base), metric: m.metric, format: m.format, base, rows, flips,
      robust: flips.length === 0, range: [Math.min(...values), Math.max(...values)] as [number, number],
    };
  });
}

/** "×0.5–×2" */
export function factorWords(factors: readonly number[]): string {
  const lo = Math.min(...factors);
  const hi = Math.max(...factors);
  return lo === hi ? `×${lo}` : `×${lo}–×${hi}`;
}

function fmtValue(f: SensitivityFinding, x: number): string {
  return f.format === "pct" ? fmtPct(x) : String(x);
}

/** The robustness clause a finding's sentence ends with. */
export function robustnessWords(f: SensitivityFinding, factors: readonly number[]): string {
  const span = f.format === "pct" ? `; ${fmtValue(f, f.range[0])} to ${fmtValue(f, f.range[1])} across them` : f.range[1] === 0 ? "; no violation in any re-run" : "";
  if (f.robust) return `Robust to every ${factorWords(factors)} change of one cost value (${plural(f.rows.length, "value")}${span}).`;
  const shown = f.flips.slice(0, 4).map((x) => `${x.param} ×${x.factor} (${fmtValue(f, x.value)})`);
  return `Flips when ${shown.join(", ")}${f.flips.length > 4 ? ` and ${f.flips.length - 4} more` : ""} (of ${factorWords(factors)} changes of one cost value${span}).`;
}

/** The robustness clause for a kind of finding (the local-win one per guest shape), or undefined when there is no sensitivity. */
export function robustnessOf(results: StudyResults, key: string): string | undefined {
  const s = results.sensitivity as SensitivityResults | undefined;
  const f = (s?.findings ?? sensitivityFindings(results))?.find((x) => x.key === key);
  return f && s ? robustnessWords(f, s.factors) : undefined;
}

/**
 * A scheme's line in its report section (kind "scheme"): at the largest machine of the first
 * finding's slice, per guest shape, its invalidation cycles per guest op as a ratio of the
 * baseline's and how robust that comparison is to the cost table; undefined without sensitivity
 * or when the scheme is not in that slice.
 */
export function schemeRobustness(results: StudyResults, policy: string): string | undefined {
  const s = results.sensitivity as SensitivityResults | undefined;
  const fs = s?.findings ?? sensitivityFindings(results);
  const target = s?.targets.find((t) => t.kind === "scheme");
  if (!s || !fs || !target) return undefined;
  const byId = new Map(results.points.map((p) => [p.id, p]));
  const pairs = schemeTargetPairs(cellsOf(target.ids.map((i) => byId.get(i)!).filter(Boolean))).filter((g) => g.policy === policy);
  const parts = pairs.flatMap((g) => {
    const f = fs.find((x) => x.key === `scheme ${g.policy} ${g.shape}`);
    if (!f) return [];
    return [`${g.shape}: ${fmtRatio(1 - f.base)} (saving ${fmtPct(f.base)}). ${robustnessWords(f, s.factors)}`];
  });
  if (parts.length === 0) return undefined;
  const slice = localSlice(cellsOf(results.points.filter(isBaselineSynthetic)));
  const words = slice ? ` (${sliceWords(slice)})` : "";
  return `${policy}'s invalidation cycles per guest op as a ratio of ${BASELINE.name}'s on ${pairs[0]!.base.context.cores} cores${words}, and how robust the saving (1 − ratio; negative: it costs more) is to each cost value scaled by ${factorWords(s.factors)} — ${parts.join(" ")}`;
}

/** Every scheme's line (schemeRobustness), in registry order: what the terminal prints after the findings. */
export function schemeRobustnessLines(results: StudyResults): string[] {
  return schemePolicies().flatMap((p) => schemeRobustness(results, p) ?? []);
}

/** The findings given a tornado plot: all but the schemes', of which one per policy, its shape whose metric swings most. */
function plotted(fs: readonly SensitivityFinding[]): SensitivityFinding[] {
  const swing = (f: SensitivityFinding) => Math.max(0, ...f.rows.flatMap((r) => r.points.map((p) => Math.abs(p.value - f.base))));
  const policyOf = (f: SensitivityFinding) => f.key.split(" ")[1]!;
  return fs.filter((f) => f.kind !== "scheme"
    || fs.filter((g) => g.kind === "scheme" && policyOf(g) === policyOf(f)).reduce((a, g) => (swing(g) > swing(a) ? g : a)) === f);
}

/** Every cost name, in table order (the default list of values to scale). */
export const COST_NAMES: readonly CostName[] = COST_ROWS.map((r) => r.key);

/**
 * One tornado plot per finding — but per scheme policy (kind "scheme") only the shape whose metric
 * swings most — each cost value's bar spans the metric from its smallest to its largest factor; the
 * rule is the study's own value.
 */
export function tornadoSpecs(results: StudyResults): { name: string; title: string; caption: string; spec: import("vega-lite").TopLevelSpec }[] {
  const s = results.sensitivity as SensitivityResults | undefined;
  const fs = s?.findings ?? sensitivityFindings(results);
  if (!s || !fs) return [];
  return plotted(fs).map((f, i) => {
    // the values that moved the metric, largest swing first (at most 12)
    const swing = (r: SensitivityFinding["rows"][number]) => Math.max(0, ...r.points.map((p) => Math.abs(p.value - f.base)));
    const rows = f.rows.filter((r) => r.points.length > 0).sort((a, b) => swing(b) - swing(a) || COST_NAMES.indexOf(a.param) - COST_NAMES.indexOf(b.param)).slice(0, 12);
    const data = rows.flatMap((r) => r.points.map((p) => ({ param: r.param, factor: `×${p.factor}`, value: p.value, holds: p.holds ? "holds" : "flips" })));
    const bars = rows.map((r) => ({ param: r.param, lo: Math.min(f.base, ...r.points.map((p) => p.value)), hi: Math.max(f.base, ...r.points.map((p) => p.value)) }));
    const format = f.format === "pct" ? ".1%" : "d";
    return {
      name: `sensitivity-${i + 1}`,
      title: f.conclusion,
      caption: `${f.metric}: each bar spans the values one cost value gives when scaled by ${factorWords(s.factors)}; the grey rule is the study's own value; a red mark is a change that flips the conclusion. ${f.robust ? "Nothing flips it." : `${plural(f.flips.length, "value")} flip${f.flips.length === 1 ? "s" : ""} it.`}`,
      spec: {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        width: 560,
        height: { step: 18 },
        layer: [
          { data: { values: bars }, mark: { type: "bar", color: "#c6dbef", height: 10 }, encoding: {
            y: { field: "param", type: "nominal", sort: rows.map((r) => r.param), title: null },
            x: { field: "lo", type: "quantitative", title: f.metric.length > 80 ? f.metric.slice(0, 77) + "…" : f.metric, axis: { format } },
            x2: { field: "hi" },
          } },
          { data: { values: [{ base: f.base }] }, mark: { type: "rule", color: "#777777", strokeDash: [4, 3] }, encoding: { x: { field: "base", type: "quantitative" } } },
          { data: { values: data }, mark: { type: "point", filled: true, size: 60 }, encoding: {
            y: { field: "param", type: "nominal", sort: rows.map((r) => r.param) },
            x: { field: "value", type: "quantitative" },
            shape: { field: "factor", type: "nominal", title: "factor" },
            color: { field: "holds", type: "nominal", title: "conclusion", scale: { domain: ["holds", "flips"], range: ["#4e79a7", "#e15759"] } },
          } },
        ],
        config: { font: "Helvetica, Arial, sans-serif", axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: "normal", gridColor: "#e8e8e8" }, legend: { orient: "bottom", direction: "horizontal" }, view: { stroke: "#cccccc" } },
      } as import("vega-lite").TopLevelSpec,
    };
  });
}
