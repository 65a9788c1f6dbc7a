/**
 * The study's points regrouped for the reports: policy variants, the "context" of a point (every
 * parameter except the policy variant, the seed and the op count), cells (one variant in one
 * context, replicate seeds pooled), slices for the plots, and number formatting.
 *
 * Like with like: two cells are compared only when their contexts are equal, i.e. the same sweep,
 * machine (cores, SMT, TLB geometry), guest shape, guests, H_LOCAL use, host paging rate,
 * migration rate and workload. Replicates (points that differ only in seed or op count) are pooled,
 * per-guest-op figures weighted by guest ops.
 */
import { COST_CATEGORIES, type CostCategory } from "../model/costs.js";
import {
  POLICIES, POLICY_PARAMS, baselinePolicy, paramValues, policyByName, variantLabel,
  type PolicyDrawing, type PolicyInfo, type PolicyName, type PolicyParam, type PolicyParamValues,
} from "../model/policies.js";
import type { HLocalMode, PointParams, PointResult, StudyResults } from "../study/results.js";

// ─── policy variants ─────────────────────────────────────────────────────────────────────────────

/** A policy with its parameter values (src/model/policies.ts): what a line in a plot or a row in a table is. */
export interface Variant extends PolicyParamValues {
  key: string;
  label: string;
  policy: PolicyName;
}

export function variantOf(p: PointParams): Variant {
  const policy = policyByName(p.policy);
  const values = policy ? paramValues(policy, p) : paramValues(POLICIES[0]!, {});
  const label = variantLabel(p.policy, values);
  return { key: label, label, policy: p.policy, ...values };
}

function policyRank(policy: string): number {
  const i = POLICIES.findIndex((p) => p.name === policy);
  return i < 0 ? POLICIES.length : i;
}

/** A parameter value's rank: an enum's by its order in the registry, a number's by value (none first). */
function valueRank(param: PolicyParam, v: number | string | null): number {
  if (v === null) return -1;
  if (typeof v === "number") return v;
  const i = (param.values ?? []).indexOf(v);
  return i < 0 ? (param.values ?? []).length : i;
}

/** Policies in `hptlab policies` order, then their parameter values in registry order. */
export function compareVariants(a: Variant, b: Variant): number {
  let d = policyRank(a.policy) - policyRank(b.policy);
  for (const param of POLICY_PARAMS) {
    const k = param.key as keyof PolicyParamValues;
    d ||= valueRank(param, a[k]) - valueRank(param, b[k]);
  }
  return d || cmp(a.label, b.label);
}

/** The distinct variants of some points, in order. */
export function variantsOf(points: readonly PointResult[]): Variant[] {
  const byKey = new Map<string, Variant>();
  for (const p of points) {
    const v = variantOf(p.params);
    if (!byKey.has(v.key)) byKey.set(v.key, v);
  }
  return [...byKey.values()].sort(compareVariants);
}

/** The policy every saving is stated against (src/model/policies.ts, family "baseline"). */
export const BASELINE: PolicyInfo = baselinePolicy();

/**
 * The policy whose variants sweep a numeric parameter (the deferred-VA cap K) and that parameter: what
 * the cap-sweep plot and finding are about.
 */
export const SWEPT: { policy: PolicyInfo; param: PolicyParam } | undefined = (() => {
  for (const policy of POLICIES) for (const param of policy.params) if (param.studyList) return { policy, param };
  return undefined;
})();

/** A variant's label without the swept parameter, e.g. the policy's name and "(tlbie overflow)". */
export function seriesLabel(v: Variant): string {
  return variantLabel(v.policy, { ...v, ...(SWEPT ? { [SWEPT.param.key]: null } : {}) });
}

const NO_DRAWING: PolicyDrawing = { color: "#888888", dash: [1, 0], shape: "circle" };
const drawingOf = (policy: string): PolicyDrawing => policyByName(policy)?.draw ?? NO_DRAWING;

export function variantDash(v: Variant): number[] {
  return [...drawingOf(v.policy).dash];
}

export function variantShape(v: Variant): string {
  return drawingOf(v.policy).shape;
}

/** A policy's drawing (src/model/policies.ts). */
export function policyDrawing(policy: string): PolicyDrawing {
  return drawingOf(policy);
}

/**
 * Color of every variant of a study: one hue per policy (src/model/policies.ts), the same in every
 * plot; a policy with several variants (parameter values) gets its shades from light to dark.
 */
export function variantColors(variants: readonly Variant[]): Map<string, string> {
  const colors = new Map<string, string>();
  for (const v of variants) {
    const draw = drawingOf(v.policy);
    const mine = variants.filter((x) => x.policy === v.policy);
    if (!draw.shades || mine.length === 1) {
      colors.set(v.key, draw.color);
      continue;
    }
    const i = mine.indexOf(v);
    const shade = Math.round((i * (draw.shades.length - 1)) / (mine.length - 1));
    colors.set(v.key, draw.shades[shade] ?? draw.color);
  }
  return colors;
}

// ─── contexts and cells ──────────────────────────────────────────────────────────────────────────

/** The parameters that make two points comparable (everything but variant, seed and ops). */
export const CONTEXT_FIELDS = [
  "sweep", "cores", "smt", "tlbSets", "tlbWays", "shape", "vcpus", "threadsPerVcore", "guests",
  "hLocal", "pageOutsPerMop", "migrationRate", "workload",
] as const satisfies readonly (keyof PointParams)[];
export type ContextField = (typeof CONTEXT_FIELDS)[number];
export type Context = Pick<PointParams, ContextField>;

export function contextOf(p: PointParams): Context {
  const c = {} as Record<ContextField, unknown>;
  for (const f of CONTEXT_FIELDS) c[f] = p[f];
  return c as Context;
}

/** A key of a context with some fields left out (compare across those fields). */
export function contextKey(c: Context, without: readonly ContextField[] = []): string {
  return JSON.stringify(CONTEXT_FIELDS.filter((f) => !without.includes(f)).map((f) => c[f]));
}

/** One variant in one context: its runs pooled. */
export interface Cell {
  context: Context;
  variant: Variant;
  points: PointResult[];
  runs: number;
  /** Runs with at least one violation. */
  leakingRuns: number;
  guestOps: number;
  totalCycles: number;
  invalidationCycles: number;
  cycles: Record<CostCategory, number>;
  violations: number;
  staleHarmless: number;
  /** Weighted by guest ops (equal to the point's figure for a single run). */
  cyclesPerGuestOp: number;
  invalidationCyclesPerGuestOp: number;
  tlbieWaitCyclesPerGuestOp: number;
  tlbHitRate: number;
}

/** Points grouped into cells, in a stable order (context fields, then variant). */
export function cellsOf(points: readonly PointResult[]): Cell[] {
  const groups = new Map<string, PointResult[]>();
  for (const p of [...points].sort((a, b) => a.id - b.id)) {
    const k = contextKey(contextOf(p.params)) + variantOf(p.params).key;
    const g = groups.get(k);
    if (g) g.push(p);
    else groups.set(k, [p]);
  }
  return [...groups.values()].map(makeCell).sort(compareCells);
}

function makeCell(points: PointResult[]): Cell {
  const first = points[0]!;
  const sum = (f: (p: PointResult) => number) => points.reduce((s, p) => s + f(p), 0);
  const guestOps = sum((p) => p.guestOps);
  // Weighted by guest ops; a run without guest ops (or all of them) weighs as one.
  const weighted = (f: (p: PointResult) => number) => guestOps > 0
    ? sum((p) => f(p) * p.guestOps) / guestOps
    : sum(f) / points.length;
  const cycles = {} as Record<CostCategory, number>;
  for (const c of COST_CATEGORIES) cycles[c] = sum((p) => p.cycles[c] ?? 0);
  return {
    context: contextOf(first.params),
    variant: variantOf(first.params),
    points,
    runs: points.length,
    leakingRuns: points.filter((p) => p.violations > 0).length,
    guestOps,
    totalCycles: sum((p) => p.totalCycles),
    invalidationCycles: sum((p) => p.invalidationCycles),
    cycles,
    violations: sum((p) => p.violations),
    staleHarmless: sum((p) => p.staleHarmless),
    cyclesPerGuestOp: weighted((p) => p.cyclesPerGuestOp),
    invalidationCyclesPerGuestOp: weighted((p) => p.invalidationCyclesPerGuestOp),
    tlbieWaitCyclesPerGuestOp: weighted((p) => p.tlbieWaitCyclesPerGuestOp),
    tlbHitRate: weighted((p) => p.tlbHitRate),
  };
}

function compareCells(a: Cell, b: Cell): number {
  for (const f of CONTEXT_FIELDS) {
    const d = cmp(a.context[f], b.context[f]);
    if (d !== 0) return d;
  }
  return compareVariants(a.variant, b.variant);
}

/** Cycles of one category per guest op of a cell. */
export function categoryPerGuestOp(cell: Cell, category: CostCategory): number {
  return cell.guestOps > 0 ? cell.cycles[category] / cell.guestOps : 0;
}

/**
 * The part of tlbieWait spent on the tlbie lock (counters.tlbieLockWaitCycles, concurrent fabric,
 * docs/model/costs.md §8) summed over the cells' points; NaN when a point ran the exclusive fabric,
 * where lock and fabric are one.
 */
export function lockWaitCycles(cells: readonly Cell[]): number {
  let sum = 0;
  for (const c of cells) for (const p of c.points) {
    const x = p.counters.tlbieLockWaitCycles;
    if (x === undefined) return NaN;
    sum += x;
  }
  return sum;
}

/** Pooled figures of several cells: ratio of sums. */
export function pooled(cells: readonly Cell[]): { guestOps: number; cyclesPerGuestOp: number; invalidationCyclesPerGuestOp: number; tlbieWaitShare: number; tlbieLockWaitShare: number; violations: number; runs: number } {
  const guestOps = cells.reduce((s, c) => s + c.guestOps, 0);
  const weighted = (f: (c: Cell) => number) => guestOps > 0 ? cells.reduce((s, c) => s + f(c) * c.guestOps, 0) / guestOps : NaN;
  const invalidation = cells.reduce((s, c) => s + c.invalidationCycles, 0);
  return {
    guestOps,
    cyclesPerGuestOp: weighted((c) => c.cyclesPerGuestOp),
    invalidationCyclesPerGuestOp: weighted((c) => c.invalidationCyclesPerGuestOp),
    tlbieWaitShare: invalidation > 0 ? cells.reduce((s, c) => s + c.cycles.tlbieWait, 0) / invalidation : NaN,
    tlbieLockWaitShare: invalidation > 0 ? lockWaitCycles(cells) / invalidation : NaN,
    violations: cells.reduce((s, c) => s + c.violations, 0),
    runs: cells.reduce((s, c) => s + c.runs, 0),
  };
}

/** Guest shapes in order of size (vcpus, then vcpus per vcore, then label). */
export function shapesOf(items: readonly { context: Context }[] | readonly PointResult[]): string[] {
  const byShape = new Map<string, { vcpus: number; tpv: number }>();
  for (const it of items) {
    const c = "context" in it ? it.context : it.params;
    if (!byShape.has(c.shape)) byShape.set(c.shape, { vcpus: c.vcpus, tpv: c.threadsPerVcore });
  }
  return [...byShape.entries()]
    .sort(([a, x], [b, y]) => x.vcpus - y.vcpus || x.tpv - y.tpv || cmp(a, b))
    .map(([s]) => s);
}

// ─── slices for plots ────────────────────────────────────────────────────────────────────────────

/** The context fields a plot fixes to one value when they are not on one of its axes. */
const SLICE_FIELDS = ["sweep", "hLocal", "pageOutsPerMop", "workload", "migrationRate", "guests", "smt", "tlbSets", "tlbWays"] as const satisfies readonly ContextField[];
type SliceField = (typeof SLICE_FIELDS)[number];

export interface Slice {
  cells: Cell[];
  /** The value chosen for each field that had several. */
  chosen: Partial<Record<SliceField, string | number>>;
  /** The value of every slice field in the slice (chosen or the only one there was). */
  fixed: Partial<Record<SliceField, string | number>>;
  /** Variants shown without host paging because they pin memory (src/model/policies.ts pinsMemory). */
  pinned: string[];
}

/**
 * One slice of the cells for a plot: fixes, field by field, the value that keeps the most distinct
 * `free` combinations (the plot's axes and series), preferring honest H_LOCAL and host paging on
 * (the thread's question). A variant of a policy that pins memory, missing from a paging slice, is
 * taken from the same slice without paging, and named in `pinned`.
 */
export function pickSlice(cells: readonly Cell[], free: (c: Cell) => string, primary?: (c: Cell) => string): Slice {
  let cur = [...cells];
  const chosen: Slice["chosen"] = {};
  const fixed: Partial<Record<SliceField, unknown>> = {};
  for (const f of SLICE_FIELDS) {
    let values = distinct(cur.map((c) => c.context[f]));
    if (values.length <= 1) {
      fixed[f] = values[0];
      continue;
    }
    if (f === "hLocal" && values.includes("honest")) values = ["honest"];
    if (f === "pageOutsPerMop" && values.some((v) => (v as number) > 0)) values = values.filter((v) => (v as number) > 0);
    // Score: distinct `primary` combinations (if given), then distinct `free` ones, then cells.
    let best = values[0];
    let bestScore: number[] = [];
    for (const v of values) {
      const sub = cur.filter((c) => c.context[f] === v);
      const score = [primary ? new Set(sub.map(primary)).size : 0, new Set(sub.map(free)).size, sub.length];
      if (lexGreater(score, bestScore)) [best, bestScore] = [v, score];
    }
    cur = cur.filter((c) => c.context[f] === best);
    chosen[f] = best as string | number;
    fixed[f] = best;
  }
  const pinned: string[] = [];
  if (typeof fixed.pageOutsPerMop === "number" && fixed.pageOutsPerMop > 0) {
    const present = new Set(cur.map((c) => c.variant.key));
    const extra = cells.filter((c) => policyByName(c.variant.policy)?.pinsMemory === true && !present.has(c.variant.key)
      && c.context.pageOutsPerMop === 0 && SLICE_FIELDS.every((f) => f === "pageOutsPerMop" || c.context[f] === fixed[f]));
    cur.push(...extra);
    pinned.push(...distinct(extra.map((c) => c.variant.label)));
  }
  return { cells: cur.sort(compareCells), chosen, fixed: fixed as Slice["fixed"], pinned };
}

/** The fields a slice always names (a reader cannot tell them from the sentence), then those chosen among several. */
const NAMED_FIELDS = ["sweep", "hLocal", "pageOutsPerMop"] as const satisfies readonly SliceField[];

/**
 * The slice in words: its sweep, H_LOCAL use and host paging always, then every other field a value
 * was chosen for, e.g. "sweep scaling, H_LOCAL honest, 2000 page-outs per M guest ops". The same
 * slice gives the same words in the findings, plots, tables and the terminal.
 */
export function sliceWords(s: Pick<Slice, "chosen" | "fixed">, opts: { hLocal?: boolean } = {}): string {
  const parts: string[] = [];
  for (const f of NAMED_FIELDS) {
    if (f === "hLocal" && opts.hLocal === false) continue;
    const v = s.fixed[f];
    if (v !== undefined) parts.push(describeField(f, v));
  }
  for (const [f, v] of Object.entries(s.chosen)) {
    if (!(NAMED_FIELDS as readonly string[]).includes(f)) parts.push(describeField(f as ContextField, v as string | number));
  }
  return parts.join(", ");
}

function lexGreater(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) {
    if (b[i] === undefined || a[i]! > b[i]!) return true;
    if (a[i]! < b[i]!) return false;
  }
  return false;
}

/** A slice's choices in words, e.g. "H_LOCAL honest · 100 page-outs per M guest ops". */
export function describeSlice(s: Slice): string {
  const parts = sliceWords(s).split(", ").filter((x) => x);
  if (s.pinned.length > 0) parts.push(`${s.pinned.join(", ")} without paging (pinned memory)`);
  return parts.join(" · ");
}

/** One context field in words. */
export function describeField(f: ContextField, v: string | number): string {
  switch (f) {
    case "hLocal": return `H_LOCAL ${v}`;
    case "pageOutsPerMop": return v === 0 ? "no host paging" : `${v} page-outs per M guest ops`;
    case "sweep": return `sweep ${v}`;
    case "workload": return `workload ${v}`;
    case "migrationRate": return `migration rate ${v}`;
    case "guests": return `${v} guests`;
    case "smt": return `SMT${v}`;
    case "tlbSets": return `${v} TLB sets`;
    case "tlbWays": return `${v} TLB ways`;
    case "cores": return `${v} cores`;
    default: return `${f} ${v}`;
  }
}

// ─── small helpers ───────────────────────────────────────────────────────────────────────────────

/** Total order on the values of a field: numbers numerically, then strings by code unit. */
export function cmp(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  const x = String(a), y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function distinct<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)].sort(cmp);
}

/** "a", "a and b", "a, b and c". */
export function listWords(xs: readonly string[]): string {
  if (xs.length <= 1) return xs.join("");
  return `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`;
}

/** 1234567.8 → "1,234,568" (no locale: the same bytes everywhere). */
export function fmtInt(n: number): string {
  if (!Number.isFinite(n)) return "n/a";
  const s = Math.round(Math.abs(n)).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return n < 0 && Math.round(Math.abs(n)) !== 0 ? `-${s}` : s;
}

/** Cycles: integers from 100 up, then 1 or 2 decimals. */
export function fmtCycles(n: number): string {
  if (!Number.isFinite(n)) return "n/a";
  const a = Math.abs(n);
  return a >= 100 ? fmtInt(n) : n.toFixed(a >= 10 ? 1 : a === 0 ? 0 : 2);
}

/** A fraction as a percentage with one decimal: 0.3725 → "37.3%". */
export function fmtPct(fraction: number): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(1)}%` : "n/a";
}

/** A ratio: 3.42 → "3.4×", 0.456 → "0.46×". */
export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(r < 1 ? 2 : 1)}×` : "n/a";
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${fmtInt(n)} ${n === 1 ? one : many}`;
}

/** "64 vcores" → "64-vcore guests"; "1 vcpu" → "1-vcpu guests"; anything else → `"x" guests`. */
export function shapeGuests(shape: string): string {
  const m = /^(\d+) ([a-z]+?)s?$/i.exec(shape);
  return m ? `${m[1]}-${m[2]} guests` : `"${shape}" guests`;
}

export function hLocalWords(h: HLocalMode | string): string {
  switch (h) {
    case "honest": return "that pass H_LOCAL honestly";
    case "lying": return "that pass H_LOCAL dishonestly";
    case "never": return "that never pass H_LOCAL";
    default: return `with H_LOCAL ${h}`;
  }
}

export function studyPoints(results: StudyResults): PointResult[] {
  return [...results.points].sort((a, b) => a.id - b.id);
}
