/**
 * The study's plots as SVG strings: vega-lite specs compiled to vega and rendered in Node with a
 * headless View (`renderer: "none"`, `toSVG()`): no browser, no canvas. Every policy variant has
 * the same color in every plot (src/model/policies.ts: one hue per policy, the values of a swept
 * parameter in shades of it). A plot whose data is missing from the study is left out, never drawn empty.
 */
import * as vega from "vega";
import * as vl from "vega-lite";
import type { TopLevelSpec } from "vega-lite";
import { COST_CATEGORIES, INVALIDATION_CATEGORIES, type CostCategory } from "../model/costs.js";
import { isBaselineSynthetic, isTracePoint } from "./real-guest.js";
import { variantSafety, type VariantSafety } from "./safety.js";
import type { StudyResults } from "../study/results.js";
import {
  type Cell, type Slice, BASELINE, SWEPT, categoryPerGuestOp, cellsOf, lockWaitCycles, describeSlice, distinct, fmtInt, pickSlice, policyDrawing,
  seriesLabel, shapesOf, variantColors, variantDash, variantShape, variantsOf,
} from "./study-data.js";
import { policiesOf } from "../model/policies.js";

export interface Plot {
  /** File-name-safe identifier, also the prefix of the SVG's element ids. */
  name: string;
  title: string;
  /** What to look at, one line (the report's caption). */
  caption: string;
  /** Lines drawn on top of each other, named (a note of equality), if any. */
  note?: string;
  svg: string;
}

/** Width of a plot's data area (a small multiple gets half, less the gutter). */
const WIDTH = 640;
const HALF = 300;
/**
 * Height of a line plot. Without a canvas vega estimates text at 0.8 × font size per character, so
 * a rotated y title longer than ~HEIGHT / 9.6 characters grows the cell and shifts the layout:
 * keep y titles within 23 characters.
 */
const HEIGHT = 230;

/** Colors of the invalidation cost categories (stacked bars). */
const CATEGORY_COLORS: Record<string, string> = {
  tlbiel: "#8cd17d", tlbie: "#4e79a7", tlbieWait: "#f28e2b", tlbieLockWait: "#ffbe7d", flush: "#b07aa1", ipi: "#e15759",
};
const CATEGORY_LABELS: Record<string, string> = {
  tlbiel: "tlbiel", tlbie: "tlbie", tlbieWait: "tlbie wait (fabric)", tlbieLockWait: "tlbie wait (lock)", flush: "LPID flush", ipi: "IPI (overflow)",
};

export const CONFIG = {
  font: "Helvetica, Arial, sans-serif",
  title: { fontSize: 15, anchor: "start", offset: 12, subtitleFontSize: 11, subtitleColor: "#555555" },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: "normal", gridColor: "#e8e8e8", labelLimit: 240 },
  legend: { orient: "bottom", direction: "horizontal", columns: 3, labelLimit: 320, labelFontSize: 11, titleFontSize: 12, symbolStrokeWidth: 2.5 },
  header: { labelFontSize: 12, labelFontWeight: "bold", title: null },
  view: { stroke: "#cccccc" },
  line: { strokeWidth: 2 },
  point: { size: 36, filled: true },
} as const;

/**
 * Every plot the study's points allow, in a fixed order:
 * cycles, invalidation break-down, tlbie queueing, violations, TLB hit rate, the deferred-VA cap sweep.
 */
export async function plots(results: StudyResults): Promise<Plot[]> {
  const cells = cellsOf(results.points.filter(isBaselineSynthetic));
  if (cells.length === 0) return [];
  const colors = variantColors(variantsOf(results.points));
  // the violations chart counts every run, the real guests' too
  const everyCell = cellsOf(results.points);
  const specs = [
    vsCores(cells, colors, {
      name: "cycles-vs-cores", title: "Cycles per guest operation vs cores",
      caption: "Each line is a policy variant; where the lines part as cores grow is what tlbiel saves over tlbie on a large machine.",
      y: (c) => c.cyclesPerGuestOp, yTitle: "cycles / guest op",
    }),
    invalidationBreakdown(cells),
    vsCores(cells, colors, {
      name: "tlbie-wait-vs-cores", title: "tlbie queueing vs cores",
      caption: "Cycles each guest operation spends waiting for the one tlbie fabric: how the queueing of global invalidations grows with the core count, policy by policy.",
      y: (c) => c.tlbieWaitCyclesPerGuestOp, yTitle: "wait cycles / guest op", sharedY: true,
    }),
    violationsPlot(everyCell, colors, variantSafety(results)),
    vsCores(cells, colors, {
      name: "tlb-hit-rate-vs-cores", title: "TLB hit rate vs cores",
      caption: "What each variant's flushes and invalidations cost in TLB refills as the machine grows (the y axis does not start at 0).",
      y: (c) => c.tlbHitRate, yTitle: "TLB hit rate", yFormat: ".1%", zero: false,
    }),
    capSweep(cells),
  ];
  const out: Plot[] = [];
  for (const s of specs) {
    if (s) out.push({ name: s.name, title: s.title, caption: s.caption, ...(s.note ? { note: s.note } : {}), svg: await render(s.name, s.spec) });
  }
  return out;
}

interface PlotSpec {
  name: string;
  title: string;
  caption: string;
  note?: string;
  spec: TopLevelSpec;
}

/**
 * The lines of a plot that lie on top of each other: per small multiple, the variants whose every
 * point prints the same (3 significant digits), e.g. "Drawn on top of each other: 1-vcpu guests:
 * POLICY-A (cap 64) = POLICY-B." Undefined when no two lines coincide.
 */
export function coincidentLines(rows: readonly { variant: string; shape: string; cores: number; value: number }[], shapes: readonly string[], variants: readonly string[]): string | undefined {
  const parts: string[] = [];
  for (const shape of shapes) {
    const groups = new Map<string, string[]>();
    for (const v of variants) {
      const mine = rows.filter((r) => r.shape === shape && r.variant === v).sort((a, b) => a.cores - b.cores);
      if (mine.length === 0) continue;
      const key = mine.map((r) => `${r.cores}:${r.value.toPrecision(3)}`).join(" ");
      groups.set(key, [...(groups.get(key) ?? []), v]);
    }
    const same = [...groups.values()].filter((g) => g.length > 1).map((g) => g.join(" = "));
    if (same.length > 0) parts.push(`${shape}: ${same.join("; ")}`);
  }
  return parts.length > 0 ? `Drawn on top of each other (equal at every size to 3 significant digits; the markers differ): ${parts.join(" · ")}.` : undefined;
}

/** The color scale of the variants present in some cells, colors fixed for the whole study. */
function variantScale(cells: readonly Cell[], colors: Map<string, string>): { domain: string[]; range: string[] } {
  const domain = variantsOf(cells.flatMap((c) => c.points)).map((v) => v.label);
  return { domain, range: domain.map((d) => colors.get(d) ?? "#888888") };
}

/** Color, dash and point shape of the variants, one merged legend ("policy variant"). */
function variantEncodings(cells: readonly Cell[], colors: Map<string, string>) {
  const variants = variantsOf(cells.flatMap((c) => c.points));
  const domain = variants.map((v) => v.label);
  const title = "policy variant";
  return {
    color: { field: "variant", type: "nominal", title, scale: { domain, range: domain.map((d) => colors.get(d) ?? "#888888") } },
    strokeDash: { field: "variant", type: "nominal", title, scale: { domain, range: variants.map(variantDash) } },
    shape: { field: "variant", type: "nominal", title, scale: { domain, range: variants.map(variantShape) } },
  };
}

/** A d3 format that shows the figures' precision: no decimals from 10 up. */
function countFormat(values: readonly number[]): string {
  return Math.max(0, ...values.map(Math.abs)) >= 10 ? ",.0f" : ",.1f";
}

function subtitle(s: Slice, extra?: string): string | undefined {
  const parts = [extra, describeSlice(s)].filter((x) => x);
  return parts.length > 0 ? parts.join(" · ") : undefined;
}

/**
 * A facet of one small multiple per guest shape, two to a row. The layout is "flush" (long axis
 * titles do not push the cells apart), so the spacing leaves room for the headers and, when each
 * cell has its own y axis, for that axis.
 */
function shapeFacet(shapes: string[], ownYAxis: boolean, columns = 2) {
  return {
    facet: { field: "shape", type: "nominal" as const, sort: shapes, header: { title: null } },
    columns: Math.min(columns, shapes.length),
    spacing: { row: columns === 1 ? 64 : 40, column: ownYAxis ? 84 : 16 },
    bounds: "flush" as const,
  };
}

/**
 * (a), (c), (e): one figure per guest operation against the core count (log 2), one line per
 * policy variant, one small multiple per guest shape.
 */
function vsCores(cells: readonly Cell[], colors: Map<string, string>, o: {
  name: string; title: string; caption: string; y: (c: Cell) => number; yTitle: string; yFormat?: string; zero?: boolean;
  /** One y scale for every guest shape (else each small multiple has its own). */
  sharedY?: boolean;
}): PlotSpec | undefined {
  const slice = pickSlice(cells, (c) => `${c.variant.key}|${c.context.shape}|${c.context.cores}`);
  const cores = distinct(slice.cells.map((c) => c.context.cores));
  if (cores.length < 2) return undefined;
  const rows = slice.cells.filter((c) => Number.isFinite(o.y(c))).map((c) => ({ variant: c.variant.label, shape: c.context.shape, cores: c.context.cores, value: o.y(c) }));
  if (rows.length === 0) return undefined;
  const shapes = shapesOf(slice.cells);
  const note = coincidentLines(rows, shapes, variantsOf(slice.cells.flatMap((c) => c.points)).map((v) => v.label));
  return {
    name: o.name, title: o.title, caption: o.caption, ...(note ? { note } : {}),
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: { text: o.title, subtitle: subtitle(slice) },
      data: { values: rows },
      ...shapeFacet(shapes, !o.sharedY),
      spec: {
        width: shapes.length > 1 ? HALF : WIDTH, height: HEIGHT,
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "cores", type: "quantitative", title: "cores (log scale)", scale: { type: "log", base: 2, nice: false, padding: 10 }, axis: { values: cores, format: "d" } },
          y: { field: "value", type: "quantitative", title: o.yTitle, axis: { format: o.yFormat ?? countFormat(rows.map((r) => r.value)) }, scale: { zero: o.zero ?? true } },
          ...variantEncodings(slice.cells, colors),
        },
      },
      resolve: { scale: { y: o.sharedY ? "shared" : "independent" } },
      config: CONFIG,
    } as TopLevelSpec,
  };
}

/** (b) Stacked bars of the invalidation cost categories per variant at the largest machine. */
function invalidationBreakdown(cells: readonly Cell[]): PlotSpec | undefined {
  const maxCores = Math.max(...cells.map((c) => c.context.cores));
  // The slice with the most policies (not the most values of a swept parameter), then the most variants.
  const slice = pickSlice(cells.filter((c) => c.context.cores === maxCores), (c) => `${c.variant.key}|${c.context.shape}`,
    (c) => `${c.variant.policy}|${c.context.shape}`);
  if (slice.cells.length === 0) return undefined;
  // The concurrent fabric splits tlbieWait into the tlbie lock's part and the fabric's (docs/model/costs.md §8).
  const split = Number.isFinite(lockWaitCycles(slice.cells));
  const cats: string[] = split ? INVALIDATION_CATEGORIES.flatMap((c) => (c === "tlbieWait" ? ["tlbieLockWait", c] : [c])) : [...INVALIDATION_CATEGORIES];
  const value = (c: Cell, cat: string): number => {
    if (!split || (cat !== "tlbieWait" && cat !== "tlbieLockWait")) return categoryPerGuestOp(c, cat as CostCategory);
    const lock = c.guestOps > 0 ? lockWaitCycles([c]) / c.guestOps : 0;
    return cat === "tlbieLockWait" ? lock : categoryPerGuestOp(c, "tlbieWait") - lock;
  };
  const rows = slice.cells.flatMap((c) => cats.map((cat, i) => ({
    variant: c.variant.label, shape: c.context.shape, category: CATEGORY_LABELS[cat] ?? cat,
    order: split ? i : COST_CATEGORIES.indexOf(cat as CostCategory), value: value(c, cat),
  })));
  const shapes = shapesOf(slice.cells);
  const variants = variantsOf(slice.cells.flatMap((c) => c.points)).map((v) => v.label);
  const title = `Invalidation cost by category at ${maxCores} cores`;
  return {
    name: "invalidation-breakdown", title,
    caption: `What each variant's invalidation cycles are made of: global tlbie and its ${split ? "wait for the tlbie lock and for the fabric" : "fabric wait"}, local tlbiel, LPID flushes at guest entry, IPIs on ${policiesOf("local").filter((p) => p.params.length > 0).map((p) => p.name).join(", ")} overflow.`,
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: { text: title, subtitle: subtitle(slice) },
      data: { values: rows },
      // One column: the variant names need the room on the left.
      ...shapeFacet(shapes, true, 1),
      spec: {
        width: WIDTH - 200, height: { step: 16 },
        mark: { type: "bar" },
        encoding: {
          y: { field: "variant", type: "nominal", title: null, sort: variants },
          x: { field: "value", type: "quantitative", stack: "zero", title: "invalidation cycles / guest op", axis: { format: countFormat(rows.map((r) => r.value)) } },
          color: {
            field: "category", type: "nominal", title: "cost category",
            scale: { domain: cats.map((c) => CATEGORY_LABELS[c] ?? c), range: cats.map((c) => CATEGORY_COLORS[c] ?? "#888888") },
          },
          order: { field: "order", type: "quantitative" },
        },
      },
      resolve: { scale: { y: "independent" } },
      config: CONFIG,
    } as TopLevelSpec,
  };
}

const PAGING_ON = "with host paging";
const PAGING_OFF = "without host paging";

/**
 * The violations chart's bars: per variant and host paging, the runs, leaking runs and violations of
 * every cell given (the report gives every point of the study: their runs add up to the points).
 */
export function violationRows(cells: readonly Cell[]): { variant: string; paging: string; runs: number; leaking: number; violations: number }[] {
  const groups = new Map<string, { variant: string; paging: string; runs: number; leaking: number; violations: number }>();
  for (const c of cells) {
    const paging = c.context.pageOutsPerMop > 0 ? PAGING_ON : PAGING_OFF;
    const k = `${c.variant.key}|${paging}`;
    const g = groups.get(k) ?? { variant: c.variant.label, paging, runs: 0, leaking: 0, violations: 0 };
    g.runs += c.runs;
    g.leaking += c.leakingRuns;
    g.violations += c.violations;
    groups.set(k, g);
  }
  return [...groups.values()];
}

/** (d) Runs with at least one violation, and violations in all, per variant, with and without paging. */
function violationsPlot(cells: readonly Cell[], colors: Map<string, string>, safety: readonly VariantSafety[] = []): PlotSpec | undefined {
  // variants that leak only in a scenario: the chart cannot show it, the caption says so
  const scenarioOnly = safety.filter((v) => v.runs.runs > 0 && v.runs.leakingRuns === 0 && v.leakingScenarios.length > 0)
    .map((v) => `${v.variant.label} (${v.leakingScenarios.map((o) => o.scenario).join(", ")})`);
  // each bar is labelled with what it is: no separate legend to match (a bar of 0 draws nothing)
  const short = (g: { paging: string }) => (g.paging === PAGING_ON ? "paging" : "no paging");
  const rows = violationRows(cells).map((g) => ({ ...g, runsText: `${fmtInt(g.leaking)} of ${fmtInt(g.runs)} (${short(g)})`, violationsText: `${fmtInt(g.violations)} (${short(g)})` }));
  if (rows.length === 0) return undefined;
  const variants = variantsOf(cells.flatMap((c) => c.points)).map((v) => v.label);
  const pagings = [PAGING_ON, PAGING_OFF].filter((p) => rows.some((r) => r.paging === p));
  const panel = (field: string, text: string, xTitle: string, showY: boolean) => ({
    width: HALF - 80, height: { step: 12 },
    encoding: {
      y: { field: "variant", type: "nominal", title: null, sort: variants, axis: showY ? {} : null },
      yOffset: { field: "paging", type: "nominal", sort: pagings },
    },
    layer: [
      {
        mark: { type: "bar" },
        encoding: {
          x: { field, type: "quantitative", title: xTitle, axis: { format: "d", tickMinStep: 1 } },
          // The y axis names the variants: no color legend.
          color: { field: "variant", type: "nominal", scale: variantScale(cells, colors), legend: null },
          // solid with host paging, faint without; each bar's label says which
          opacity: { field: "paging", type: "nominal", scale: { domain: pagings, range: pagings.map((p) => (p === PAGING_ON ? 1 : 0.4)) }, legend: null },
        },
      },
      { mark: { type: "text", align: "left", dx: 3, fontSize: 9 }, encoding: { x: { field, type: "quantitative" }, text: { field: text } } },
    ],
  });
  const title = "Violations per policy variant";
  const sweeps = distinct(cells.map((c) => c.context.sweep));
  const sweepWords = `${sweeps.length === 1 ? "sweep" : "sweeps"} ${sweeps.join(", ")}`;
  return {
    name: "violations", title,
    caption: "A violation is a guest reaching a frame it no longer owns. These are the random runs only: a variant without a bar may still leak in a scenario (the report's safety evidence).",
    ...(scenarioOnly.length ? { note: `No bar, yet unsafe in the scenario catalogue: ${scenarioOnly.join("; ")}.` } : {}),
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: { text: title, subtitle: [`all ${fmtInt(rows.reduce((n, r) => n + r.runs, 0))} runs of the study (${sweepWords})`, "per variant: a row with host paging (solid bar), one without (faint bar)"] },
      data: { values: rows },
      hconcat: [panel("leaking", "runsText", "runs with ≥ 1 violation", true), panel("violations", "violationsText", "violations in all", false)],
      config: CONFIG,
    } as TopLevelSpec,
  };
}

/**
 * (f) The swept policy's invalidation cycles per guest op against its swept parameter (the
 * deferred-VA cap, log 2), at the machine size with the most caps; the baseline in the same configuration as a
 * dashed rule; the violations of each shape written in its panel (they should read 0).
 */
function capSweep(cells: readonly Cell[]): PlotSpec | undefined {
  if (!SWEPT) return undefined;
  const swept = SWEPT.policy;
  const dva = cells.filter((c) => c.variant.policy === swept.name && c.variant.deferredCap !== null);
  const byCores = new Map<number, Set<number>>();
  for (const c of dva) byCores.set(c.context.cores, (byCores.get(c.context.cores) ?? new Set()).add(c.variant.deferredCap!));
  let cores: number | undefined;
  for (const [n, caps] of [...byCores.entries()].sort(([a], [b]) => a - b)) {
    if (caps.size >= 2 && (cores === undefined || caps.size >= byCores.get(cores)!.size)) cores = n;
  }
  if (cores === undefined) return undefined;
  const slice = pickSlice(dva.filter((c) => c.context.cores === cores), (c) => `${c.variant.deferredCap}|${c.variant.deferredOverflow}|${c.context.shape}`);
  const caps = distinct(slice.cells.map((c) => c.variant.deferredCap!));
  if (caps.length < 2) return undefined;
  const series = (c: Cell) => seriesLabel(c.variant);
  const contexts = new Set(slice.cells.map((c) => JSON.stringify(c.context)));
  const reference = cells.filter((c) => c.variant.policy === BASELINE.name && contexts.has(JSON.stringify(c.context)));
  const shapes = shapesOf(slice.cells);
  const rows: Record<string, unknown>[] = [
    ...slice.cells.map((c) => ({ kind: "deferred", series: series(c), shape: c.context.shape, cap: c.variant.deferredCap, value: c.invalidationCyclesPerGuestOp })),
    ...reference.map((c) => ({ kind: "reference", series: BASELINE.name, shape: c.context.shape, value: c.invalidationCyclesPerGuestOp })),
    ...shapes.map((s) => {
      const mine = slice.cells.filter((c) => c.context.shape === s);
      const v = mine.reduce((n, c) => n + c.violations, 0);
      const runs = mine.reduce((n, c) => n + c.runs, 0);
      return { kind: "note", shape: s, text: `violations: ${fmtInt(v)} in ${runs} ${runs === 1 ? "run" : "runs"}`, bad: v > 0 };
    }),
  ];
  const seriesNames = [...distinct(slice.cells.map(series)), ...(reference.length > 0 ? [BASELINE.name] : [])];
  const shades = policyDrawing(swept.name).series ?? [policyDrawing(swept.name).color];
  const range = seriesNames.map((s, i) => (s === BASELINE.name ? BASELINE.draw.color : shades[i % shades.length]!));
  const color = { field: "series", type: "nominal", title: null, scale: { domain: seriesNames, range } };
  const title = `${swept.name}: invalidation cost vs cap at ${cores} cores`;
  const cellWidth = shapes.length > 1 ? HALF : WIDTH;
  return {
    name: "deferred-cap-sweep", title,
    caption: `Where the curve flattens a larger cap buys nothing; the dashed rule is ${BASELINE.name} in the same configuration; the violations must read 0.`,
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: { text: title, subtitle: subtitle(slice, reference.length > 0 ? `dashed: ${BASELINE.name}` : undefined) },
      data: { values: rows },
      ...shapeFacet(shapes, true),
      spec: {
        width: cellWidth, height: HEIGHT,
        layer: [
          {
            transform: [{ filter: "datum.kind === 'deferred'" }],
            mark: { type: "line", point: true },
            encoding: {
              x: { field: "cap", type: "quantitative", title: "cap K (deferred records per guest, log scale)", scale: { type: "log", base: 2, nice: false, padding: 10 }, axis: { values: caps, format: "d" } },
              y: { field: "value", type: "quantitative", title: "invalidation cycles/op", axis: { format: ",.0f" } },
              color,
            },
          },
          {
            transform: [{ filter: "datum.kind === 'reference'" }],
            mark: { type: "rule", strokeDash: [6, 4], strokeWidth: 2 },
            encoding: { y: { field: "value", type: "quantitative" }, color },
          },
          {
            transform: [{ filter: "datum.kind === 'note'" }],
            mark: { type: "text", align: "right", baseline: "top", x: cellWidth - 6, y: 6, fontSize: 11 },
            encoding: { text: { field: "text" }, color: { condition: { test: "datum.bad", value: "#d62728" }, value: "#333333" } },
          },
        ],
      },
      resolve: { scale: { y: "independent" } },
      config: CONFIG,
    } as TopLevelSpec,
  };
}

/** vega-lite → vega → SVG in Node, with element ids made unique to the plot (several share a page). */
export async function render(name: string, spec: TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec, { logger: vega.logger(vega.Error) }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none", logLevel: vega.Error });
  try {
    return uniqueIds(await view.toSVG(), name);
  } finally {
    view.finalize();
  }
}

/**
 * vega numbers clip paths and gradients with process-wide counters ("clip7"), so the same plot
 * renders with different ids each time and two inline SVGs can collide: renumber them from 1 in
 * order of appearance, prefixed with the plot's name.
 */
export function uniqueIds(svg: string, prefix: string): string {
  const ids = new Map<string, string>();
  for (const m of svg.matchAll(/\sid="([^"]+)"/g)) if (!ids.has(m[1]!)) ids.set(m[1]!, `${prefix}-${ids.size + 1}`);
  if (ids.size === 0) return svg;
  return svg.replace(/(\sid="|url\(#|href="#)([^")]+)/g, (all, head: string, id: string) => {
    const to = ids.get(id);
    return to ? head + to : all;
  });
}
