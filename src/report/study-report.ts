/**
 * A study's output files (what `hptlab study` writes): results.json, results.csv, summary.md and a
 * self-contained report.html (inline SVG plots and CSS; no script, no network). Every file is a
 * pure function of the StudyResults: the same results give the same bytes.
 *
 * Findings (findings.ts) and plots (plots.ts) are computed here too, never written by hand.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { COST_CATEGORIES } from "../model/costs.js";
import type { PointParams, PointResult, StudyResults } from "../study/results.js";
import { headlineSlice, syntheticFindings, taggedFindings } from "./findings.js";
import { isBaselineSynthetic, isTracePoint, realGuestSections } from "./real-guest.js";
import { lazySections } from "./lazy.js";
import { schemeSections } from "./schemes.js";
import { type Plot, plots, render } from "./plots.js";
import { tornadoSpecs, type SensitivityResults } from "./sensitivity.js";
import { policySafety, variantSafety, type PolicySafety } from "./safety.js";
import { shapeVerdicts } from "./verdict.js";
import {
  type Cell, CONTEXT_FIELDS, type ContextField, cellsOf, cmp, distinct, fmtCycles, fmtInt, fmtPct, listWords, plural, shapesOf, sliceWords,
  BASELINE, studyPoints, variantsOf,
} from "./study-data.js";

export { findings, syntheticFindings, headlineSlice } from "./findings.js";
export { policySafety, variantSafety } from "./safety.js";
export { shapeVerdicts } from "./verdict.js";
export { realGuestSections, type RealGuestSection } from "./real-guest.js";
export { plots, type Plot } from "./plots.js";

// ─── results.csv ─────────────────────────────────────────────────────────────────────────────────

/** PointParams fields, in the order of the interface (src/study/results.ts). */
export const PARAM_COLUMNS = [
  "sweep", "cores", "smt", "tlbSets", "tlbWays", "policy", "deferredCap", "deferredOverflow", "shape", "vcpus",
  "threadsPerVcore", "guests", "hLocal", "pageOutsPerMop", "migrationRate", "workload", "ops", "seed", "trace",
] as const satisfies readonly (keyof PointParams)[];

const FIGURE_COLUMNS = [
  "guestOps", "engineOps", "totalCycles", "invalidationCycles", "cyclesPerGuestOp", "invalidationCyclesPerGuestOp",
  "tlbieWaitCyclesPerGuestOp", "tlbHitRate", "violations", "staleHarmless", "makespan",
] as const satisfies readonly (keyof PointResult)[];

/**
 * One row per point (in id order) under a header: id, every PointParams field, the figures, one
 * column per cost category (`cycles.<name>`, in cost-table order) and per counter
 * (`counters.<name>`, sorted; empty where a point lacks it). RFC 4180 quoting, "\n" line ends;
 * null and non-finite numbers are empty fields.
 */
export function resultsCsv(results: StudyResults): string {
  const points = studyPoints(results);
  const counters = distinct(points.flatMap((p) => Object.keys(p.counters)));
  const header = ["id", ...PARAM_COLUMNS, ...FIGURE_COLUMNS, ...COST_CATEGORIES.map((c) => `cycles.${c}`), ...counters.map((c) => `counters.${c}`)];
  const lines = [header.map(csvField).join(",")];
  for (const p of points) {
    const row: unknown[] = [
      p.id, ...PARAM_COLUMNS.map((f) => p.params[f]), ...FIGURE_COLUMNS.map((f) => p[f]),
      ...COST_CATEGORIES.map((c) => p.cycles[c]), ...counters.map((c) => p.counters[c]),
    ];
    lines.push(row.map(csvField).join(","));
  }
  return lines.join("\n") + "\n";
}

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
function csvField(x: unknown): string {
  if (x === null || x === undefined) return "";
  if (typeof x === "number") return Number.isFinite(x) ? String(x) : "";
  const s = String(x);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// ─── what was run, summary tables ────────────────────────────────────────────────────────────────

/** "What was run", as label/value lines shared by summary.md and report.html. */
function runFacts(results: StudyResults): { label: string; value: string }[] {
  const points = studyPoints(results);
  const facts: { label: string; value: string }[] = [];
  const shard = results.shard.n > 1 ? ` (shard ${results.shard.k}/${results.shard.n})` : "";
  facts.push({ label: "Points", value: `${fmtInt(points.length)} of ${fmtInt(results.totalPoints)}${shard}` });
  facts.push({ label: "Guest operations", value: `${fmtInt(points.reduce((s, p) => s + p.guestOps, 0))} in total (${fmtInt(points.reduce((s, p) => s + p.engineOps, 0))} engine ops)` });
  if (points.length === 0) return facts;
  const machines = distinct(points.map((p) => `SMT${p.params.smt}, ${p.params.tlbSets}×${p.params.tlbWays} TLB`));
  facts.push({ label: "Machine sizes", value: `${distinct(points.map((p) => p.params.cores)).join(", ")} cores (${machines.join("; ")})` });
  facts.push({ label: "Policies", value: variantsSummary(points) });
  facts.push({ label: "Guest shapes", value: shapesOf(points).join(", ") });
  facts.push({ label: "H_LOCAL", value: distinct(points.map((p) => p.params.hLocal)).join(", ") });
  facts.push({ label: "Host paging", value: `${distinct(points.map((p) => p.params.pageOutsPerMop)).join(", ")} page-outs per million guest ops` });
  const sweeps = [...new Set(points.map((p) => p.params.sweep))].map((s) => `${s} (${fmtInt(points.filter((p) => p.params.sweep === s).length)} points)`);
  facts.push({ label: "Sweeps", value: sweeps.join(", ") });
  facts.push({ label: "Workloads", value: `${distinct(points.map((p) => p.params.workload)).join(", ")}; migration rate ${distinct(points.map((p) => p.params.migrationRate)).join(", ")}` });
  return facts;
}

/** The policies of some points with their parameter values, e.g. "NAME (caps 1, 2, …, 4096; overflow flush)". */
function variantsSummary(points: readonly PointResult[]): string {
  const variants = variantsOf(points);
  const out: string[] = [];
  for (const policy of distinct(variants.map((v) => v.policy)).sort((a, b) => variants.findIndex((v) => v.policy === a) - variants.findIndex((v) => v.policy === b))) {
    const mine = variants.filter((v) => v.policy === policy);
    const caps = distinct(mine.map((v) => v.deferredCap).filter((k) => k !== null));
    const overflows = distinct(mine.map((v) => v.deferredOverflow).filter((o) => o !== null));
    const parts = [caps.length > 0 ? `${caps.length === 1 ? "cap" : "caps"} ${caps.join(", ")}` : "", overflows.length > 0 ? `overflow ${overflows.join(", ")}` : ""].filter((x) => x);
    out.push(parts.length > 0 ? `${policy} (${parts.join("; ")})` : policy);
  }
  return out.join(", ");
}

interface SummaryTable {
  heading: string;
  headers: string[];
  /** Right-aligned columns (numbers). */
  numeric: boolean[];
  rows: string[][];
  /** Columns of long text that wrap (report.html), the others stay on one line. */
  wrap?: boolean[];
}

const FIELD_HEADERS: Partial<Record<ContextField, string>> = {
  sweep: "sweep", hLocal: "H_LOCAL", pageOutsPerMop: "page-outs / M ops", workload: "workload", migrationRate: "migration rate",
  guests: "guests", smt: "SMT", tlbSets: "TLB sets", tlbWays: "TLB ways",
};

/**
 * One table per guest shape at the largest core count: a row per policy variant and configuration
 * (the context fields that differ within the shape lead the row), replicate runs pooled.
 */
function summaryTables(results: StudyResults): { cores: number; tables: SummaryTable[] } | undefined {
  const cells = cellsOf(results.points.filter(isBaselineSynthetic));
  if (cells.length === 0) return undefined;
  const cores = Math.max(...cells.map((c) => c.context.cores));
  const top = cells.filter((c) => c.context.cores === cores);
  const pooledRuns = top.some((c) => c.runs > 1);
  const tables = shapesOf(top).map((shape) => {
    const mine = top.filter((c) => c.context.shape === shape);
    const varying = CONTEXT_FIELDS.filter((f) => FIELD_HEADERS[f] && new Set(mine.map((c) => c.context[f])).size > 1);
    const headers = [
      ...varying.map((f) => FIELD_HEADERS[f]!), "policy variant", ...(pooledRuns ? ["runs"] : []),
      "cycles / guest op", "invalidation cycles / guest op", "tlbie wait / guest op", "TLB hit rate", "violations",
    ];
    const numeric = headers.map((h, i) => i >= varying.length + 1 || (i < varying.length && typeof mine[0]!.context[varying[i]!] === "number"));
    const rows = [...mine].sort((a, b) => compareRows(a, b, varying)).map((c) => [
      ...varying.map((f) => String(c.context[f])), c.variant.label, ...(pooledRuns ? [fmtInt(c.runs)] : []),
      fmtCycles(c.cyclesPerGuestOp), fmtCycles(c.invalidationCyclesPerGuestOp), fmtCycles(c.tlbieWaitCyclesPerGuestOp),
      fmtPct(c.tlbHitRate), fmtInt(c.violations),
    ]);
    const first = mine[0]!.context;
    const vcores = Math.ceil(first.vcpus / first.threadsPerVcore);
    return { heading: `${shape} (${plural(first.vcpus, "vcpu")} in ${plural(vcores, "vcore")})`, headers, numeric, rows };
  });
  return { cores, tables };
}

function compareRows(a: Cell, b: Cell, fields: readonly ContextField[]): number {
  for (const f of fields) {
    const d = cmp(a.context[f], b.context[f]);
    if (d !== 0) return d;
  }
  return 0; // cellsOf's order (variant order within a context) is kept: sort is stable
}

// ─── the first screen: the headline slice and the verdicts ───────────────────────────────────────

/**
 * Every policy variant of every guest shape in the first finding's slice at its largest machine
 * (largest shape first): the terminal's table and summary.md's first table. The title names the slice.
 */
export function headlineCells(results: StudyResults): { title: string; cores: number; slice: string; cells: Cell[] } | undefined {
  const head = headlineSlice(results);
  if (!head) return undefined;
  const fixed = Object.entries(head.slice.fixed) as [ContextField, string | number][];
  const all = cellsOf(results.points.filter(isBaselineSynthetic))
    .filter((c) => c.context.cores === head.cores && fixed.every(([f, v]) => c.context[f] === v));
  const shapes = shapesOf(all).reverse();
  const cells = shapes.flatMap((s) => all.filter((c) => c.context.shape === s));
  const smt = distinct(cells.map((c) => c.context.smt)).join("/");
  const slice = sliceWords(head.slice);
  return { title: `At ${head.cores} cores × SMT${smt} (${slice}; the first finding's slice)`, cores: head.cores, slice, cells };
}

/** Each policy's verdict with its evidence, one line each (the terminal's "Safety"). */
export function safetyLines(results: StudyResults): string[] {
  return policySafety(results).map((s) => `${s.label}: ${s.evidence}`);
}

// ─── summary.md ──────────────────────────────────────────────────────────────────────────────────

/** summary.md: title, what was run, the findings, a table per guest shape at the largest machine. */
export function summaryMarkdown(results: StudyResults): string {
  const out: string[] = [`# hptlab study: ${mdText(results.study)}`, ""];
  const description = configDescription(results);
  if (description) out.push(mdText(description), "");
  const verdicts = shapeVerdicts(results);
  const safety = policySafety(results);
  if (verdicts.length > 0 || safety.length > 0) {
    out.push("## Verdict", "");
    if (verdicts.length > 0) {
      out.push("What honouring H_LOCAL saves (or costs) under the cheapest safe policy at the largest machine:", "");
      out.push("| guest | cores | slice | cheapest safe policy | honouring H_LOCAL (invalidation cycles per guest op) | against |", "|---|---:|---|---|---|---|");
      for (const v of verdicts) out.push(`| ${mdCell(`${v.shape} (${v.kind})`)} | ${v.cores} | ${mdCell(v.slice)} | ${mdCell(v.policy ?? "–")} | ${mdCell(v.text)} | ${mdCell(v.against)} |`);
      out.push("");
    }
    if (safety.length > 0) out.push("Safety, from the scenario catalogue and every random run (\"Scenarios\" below):", "");
    for (const s of safety) out.push(`- ${mdText(s.label)}: ${mdText(s.evidence)}`);
    out.push("");
  }
  out.push("## What was run", "");
  for (const f of runFacts(results)) out.push(`- ${f.label}: ${mdText(f.value)}`);
  out.push("", "## Findings", "");
  const found = syntheticFindings(results);
  const real = realGuestSections(results);
  if (found.length === 0 && real.length === 0) out.push("No finding: the study holds none of the points the findings compare.");
  for (const f of found) out.push(`- ${mdText(f)}`);
  // a section: its title, lead and findings, then each table
  const section = (r: { title: string; lead: string; findings: readonly string[] }, tables: readonly { heading: string; headers: readonly string[]; numeric: readonly boolean[]; rows: readonly (readonly string[])[] }[]) => {
    out.push("", `## ${mdText(r.title)}`, "", mdText(r.lead), "");
    for (const f of r.findings) out.push(`- ${mdText(f)}`);
    for (const t of tables) {
      out.push("", `### ${mdText(t.heading)}`, "");
      out.push(`| ${t.headers.map(mdCell).join(" | ")} |`);
      out.push(`|${t.numeric.map((n) => (n ? "---:" : "---")).join("|")}|`);
      for (const row of t.rows) out.push(`| ${row.map(mdCell).join(" | ")} |`);
    }
  };
  for (const r of real) section(r, r.tables);
  for (const l of lazySections(results)) section(l, [l.table]);
  for (const r of schemeSections(results)) section(r, r.tables);
  out.push(...scenarioMarkdown(results));
  const summary = summaryTables(results);
  if (summary) {
    out.push("", `## At ${summary.cores} cores`, "");
    out.push("Per guest operation; TLB hit rate over translations; violations summed over runs.");
    for (const t of summary.tables) {
      out.push("", `### ${mdText(t.heading)}`, "");
      out.push(`| ${t.headers.map(mdCell).join(" | ")} |`);
      out.push(`|${t.numeric.map((n) => (n ? "---:" : "---")).join("|")}|`);
      for (const r of t.rows) out.push(`| ${r.map(mdCell).join(" | ")} |`);
    }
  }
  out.push("", `Produced by hptlab ${mdText(results.hptlab)} from results.json (${results.format} v${results.version}).`, "");
  return out.join("\n");
}

/** The scenario catalogue's outcomes: a row per policy variant, a column per scenario (violations). */
function scenarioMarkdown(results: StudyResults): string[] {
  const t = scenarioTable(results);
  if (!t) return [];
  const out = ["", "## Scenarios", "", "Violations of each scripted timeline (`hptlab scenario NAME --policy ID`) under each policy variant; (not in the study): a registered policy the study does not run.", ""];
  out.push(`| ${t.headers.map(mdCell).join(" | ")} |`, `|${t.numeric.map((n) => (n ? "---:" : "---")).join("|")}|`);
  for (const r of t.rows) out.push(`| ${r.map(mdCell).join(" | ")} |`);
  return out;
}

/** Markdown-escaped text; "_" is left alone (only inside words here: H_LOCAL, need_tlb_flush). */
function mdText(s: string): string {
  return s.replace(/[\\`*<>[\]]/g, (c) => `\\${c}`);
}

function mdCell(s: string): string {
  return mdText(s).replace(/\|/g, "\\|");
}

function configDescription(results: StudyResults): string | undefined {
  const c = results.config as { description?: unknown } | null;
  return c && typeof c === "object" && typeof c.description === "string" && c.description.trim() ? c.description.trim() : undefined;
}

// ─── report.html ─────────────────────────────────────────────────────────────────────────────────

/** The scenario catalogue's outcomes as a table: a row per policy variant, a column per scenario. */
function scenarioTable(results: StudyResults): SummaryTable | undefined {
  const ev = results.scenarios;
  if (!ev || ev.outcomes.length === 0) return undefined;
  const variants = variantSafety(results).filter((v) => v.scenarios.length > 0);
  const headers = ["policy variant", ...ev.catalogue.map((c) => c.name), "verdict"];
  const rows = variants.map((v) => [
    v.variant.label + (v.scenarios.some((o) => !o.inStudy) ? " (not in the study)" : ""),
    ...ev.catalogue.map((c) => {
      const o = v.scenarios.find((x) => x.scenario === c.name);
      return o ? (o.leaked ? `LEAK (${plural(o.violations, "violation")})` : "0") : "–";
    }),
    v.verdict,
  ]);
  return { heading: "Scenario catalogue", headers, numeric: headers.map((_, i) => i > 0 && i <= ev.catalogue.length), rows };
}

/** The random runs of each policy variant: runs, leaking runs, violations, and the first leaking run. */
function runsTable(results: StudyResults): SummaryTable | undefined {
  const variants = variantSafety(results).filter((v) => v.runs.runs > 0);
  if (variants.length === 0) return undefined;
  const headers = ["policy variant", "runs", "with host paging", "runs with ≥ 1 violation", "violations", "H_LOCAL of the leaks", "first leaking run"];
  const rows = variants.map((v) => {
    const f = v.runs.firstLeak;
    return [
      v.variant.label, fmtInt(v.runs.runs), fmtInt(v.runs.pagedRuns), fmtInt(v.runs.leakingRuns), fmtInt(v.runs.violations),
      v.runs.leakingHLocal.join(", ") || "–",
      f ? `point ${f.id}: sweep ${f.params.sweep}, ${f.params.cores} cores, ${f.params.shape}, H_LOCAL ${f.params.hLocal}, ${f.params.pageOutsPerMop} page-outs per M guest ops` : "–",
    ];
  });
  return { heading: "Random runs", headers, numeric: headers.map((_, i) => i >= 1 && i <= 4), wrap: headers.map((_, i) => i === headers.length - 1), rows };
}

const CSS = `
body { font: 15px/1.5 Helvetica, Arial, sans-serif; color: #222; margin: 0; background: #fafafa; }
main { max-width: 1040px; margin: 0 auto; padding: 16px 32px 64px; background: #fff; box-sizing: border-box; }
h1 { font-size: 24px; margin: 0 0 8px; }
h2 { font-size: 20px; margin: 36px 0 12px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 24px 0 8px; }
.lead { color: #444; font-size: 14px; margin: 0 0 8px; }
section.verdict { border: 2px solid #4c78a8; border-radius: 6px; padding: 8px 16px 10px; margin: 8px 0 20px; background: #f7fafd; }
section.verdict h2 { margin: 4px 0 6px; border: none; padding: 0; font-size: 19px; }
section.verdict p { margin: 4px 0; }
section.verdict table { font-size: 13.5px; margin: 4px 0 8px; width: 100%; }
section.verdict td, section.verdict th { white-space: normal; vertical-align: top; padding: 2px 10px; }
section.verdict tr.group th { background: none; font-weight: 600; font-size: 12.5px; color: #444; padding-top: 6px; }
ul.safety { list-style: none; padding: 0; margin: 4px 0; font-size: 13.5px; columns: 3 17em; column-gap: 1.5em; }
ul.safety li { margin: 2px 0; break-inside: avoid; }
.badge { display: inline-block; min-width: 64px; text-align: center; font-weight: 600; font-size: 12px; border-radius: 3px; padding: 0 6px; margin-right: 6px; color: #fff; }
.badge.safe { background: #2e7d32; } .badge.unsafe { background: #c62828; } .badge.untested { background: #757575; }
td.leak { color: #c62828; font-weight: 600; }
td.wrap { white-space: normal; min-width: 240px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; }
ol.findings li { margin: 6px 0; }
nav ul { columns: 2; }
figure { margin: 24px 0 36px; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #444; margin-top: 6px; font-style: italic; }
.note { font-style: normal; color: #333; }
.scroll { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 16px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e4e4e4; text-align: left; white-space: nowrap; }
th { background: #f2f2f2; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
details { margin: 8px 0; }
details > summary { cursor: pointer; font-weight: 600; }
details pre { background: #f6f6f6; padding: 12px; overflow: auto; font-size: 12px; }
code { font-size: 13px; }
`;

/**
 * report.html, self-contained: the verdict (what honouring H_LOCAL saves per guest shape, each
 * policy's safety with its evidence), every plot (inline SVG) with a line on what to look at, the
 * headline findings (the rest folded), the safety evidence, the real guests, the tables (folded),
 * and how it was produced (hptlab version, study, config).
 */
export async function reportHtml(results: StudyResults): Promise<string> {
  const tornadoes: Plot[] = [];
  for (const t of tornadoSpecs(results)) tornadoes.push({ name: t.name, title: t.title, caption: t.caption, svg: await render(t.name, t.spec) });
  return renderHtml(results, await plots(results), tornadoes);
}

/** The verdict panel: the first screen answers the study's question. */
function verdictPanel(results: StudyResults, safety: readonly PolicySafety[]): string[] {
  const verdicts = shapeVerdicts(results);
  if (verdicts.length === 0 && safety.length === 0) return [];
  const h = ['<section class="verdict" id="verdict">', "<h2>Verdict</h2>"];
  if (verdicts.length > 0) {
    h.push("<p>What honouring <code>H_LOCAL</code> saves (or costs) in invalidation cycles per guest operation, under the cheapest safe policy, at the largest machine:</p>");
    h.push("<table>", "<thead><tr><th>guest shape</th><th>cheapest safe policy</th><th>honouring H_LOCAL</th></tr></thead>", "<tbody>");
    let group = "";
    for (const v of verdicts) {
      const g = `${v.kind === "synthetic" ? "Synthetic guests" : "Real guest"} on ${v.cores} cores (${v.slice}), against ${v.against}`;
      if (g !== group) h.push(`<tr class="group"><th colspan="3">${esc(g)}</th></tr>`);
      group = g;
      h.push(`<tr><td>${esc(v.shape)}</td><td>${esc(v.policy ?? "–")}</td><td><a href="#${v.anchor}">${esc(v.text)}</a></td></tr>`);
    }
    h.push("</tbody>", "</table>");
  }
  if (safety.length > 0) {
    h.push('<p>Safety, from the scenario catalogue and every random run (each name links to its evidence; hover for it):</p>', '<ul class="safety">');
    // one short cell per policy (there are many): the badge and the name, the evidence in its title and
    // under #safety; what a policy did outside its generations is there too, not on the first screen
    for (const s of safety) h.push(`<li><span class="badge ${s.verdict}">${s.verdict}</span><a href="#safety-${esc(slug(s.policy))}" title="${esc(s.evidence.replace(/^\w+: /, "").replace(/; outside its generations.*$/, ""))}">${esc(s.label)}</a></li>`);
    h.push("</ul>");
  }
  h.push("</section>");
  return h;
}

/** The scenario names in an (escaped) evidence sentence, linked to the catalogue. */
function linkScenarios(html: string, s: PolicySafety): string {
  let out = html.replace(/first: point (\d+)/, '<a href="#runs">first: point $1</a>');
  for (const name of s.leakingScenarios) out = out.replace(new RegExp(`\\b${name.replace(/[-]/g, "\\-")}\\b`), `<a href="#scenario-${esc(name)}">${esc(name)}</a>`);
  return out;
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9-]+/g, "-");
}

function renderHtml(results: StudyResults, figures: Plot[], tornadoes: Plot[] = []): string {
  const h: string[] = [];
  const title = `hptlab study: ${results.study}`;
  h.push("<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">', `<title>${esc(title)}</title>`, `<style>${CSS}</style>`, "</head>", "<body>", "<main>");
  h.push(`<h1>${esc(title)}</h1>`);
  const safety = policySafety(results);
  const description = configDescription(results);
  if (description) h.push(`<p class="lead">${esc(description)}</p>`);
  h.push(...verdictPanel(results, safety));

  if (figures.length > 0) {
    h.push('<h2 id="plots">Plots</h2>', "<nav><ul>", ...figures.map((p) => `<li><a href="#plot-${esc(p.name)}">${esc(p.title)}</a></li>`), "</ul></nav>");
    for (const p of figures) {
      h.push(`<figure id="plot-${esc(p.name)}">`, inlineSvg(p.svg), `<figcaption>${esc(p.caption)}${p.note ? ` <span class="note">${esc(p.note)}</span>` : ""}</figcaption>`, "</figure>");
    }
  }

  h.push('<h2 id="findings">Headline findings</h2>');
  const tagged = taggedFindings(results);
  const real = realGuestSections(results);
  const headlines = [...tagged.map((f, i) => ({ ...f, id: `finding-${i + 1}` })).filter((f) => f.headline),
    ...real.flatMap((r, i) => r.headlines.map((text, j) => ({ text: `${r.title} (${r.slice}): ${text}`, id: `real-guest-${i + 1}-headline-${j + 1}` })))];
  const rest = tagged.map((f, i) => ({ ...f, id: `finding-${i + 1}` })).filter((f) => !f.headline);
  if (tagged.length === 0 && real.length === 0) h.push("<p>No finding: the study holds none of the points the findings compare.</p>");
  else {
    h.push('<ol class="findings">', ...headlines.map((f) => `<li id="${f.id}">${esc(f.text)}</li>`), "</ol>");
    if (rest.length > 0) {
      h.push(`<details id="more-findings"><summary>${plural(rest.length, "more finding")} of the synthetic sweeps</summary>`, '<ul class="findings">',
        ...rest.map((f) => `<li id="${f.id}">${esc(f.text)}</li>`), "</ul>", "</details>");
    }
    for (const [i, r] of real.entries()) h.push(`<p>${esc(r.title)}: ${plural(r.findings.length, "finding")} and tables in <a href="#real-guest-${i + 1}">its section</a>.</p>`);
  }

  const sens = results.sensitivity as SensitivityResults | undefined;
  if (sens && tornadoes.length > 0) {
    h.push('<h2 id="sensitivity">How robust the headline findings are</h2>',
      `<p>Every cost value (${esc(sens.params.join(", "))}) scaled one at a time by ${esc(sens.factors.map((f) => `×${f}`).join(", "))}, and the ${plural(new Set(sens.targets.flatMap((t) => t.ids)).size, "point")} the headline findings read re-run with it (${plural(sens.runs.length, "re-run")}): does each finding's conclusion still hold? The costs change cycles only, never the guest's operations.${sens.targets.some((t) => t.kind === "scheme") ? " The newer schemes against " + esc(BASELINE.name) + " get one plot per policy, for the guest shape whose metric swings most; every shape's verdict is in the scheme's own section." : ""}</p>`);
    for (const p of tornadoes) h.push(`<figure id="plot-${esc(p.name)}">`, `<h3>${esc(p.title)}</h3>`, inlineSvg(p.svg), `<figcaption>${esc(p.caption)}</figcaption>`, "</figure>");
  }

  const scen = scenarioTable(results);
  const runs = runsTable(results);
  if (scen || runs) {
    h.push('<h2 id="safety">Safety evidence</h2>');
    for (const s of safety) h.push(`<p id="safety-${esc(slug(s.policy))}"><span class="badge ${s.verdict}">${s.verdict}</span><strong>${esc(s.label)}</strong>: ${linkScenarios(esc(s.evidence.replace(/^\w+: /, "")), s)}</p>`);
    if (scen) {
      h.push(`<h3 id="scenarios">${esc(scen.heading)}</h3>`, "<p>Each scripted timeline replayed on a 4-core machine under each policy variant (<code>hptlab scenario NAME --policy ID</code> shows its timeline); a cell counts the times a guest reached a frame it no longer owns.</p>", "<ul>");
      for (const c of results.scenarios!.catalogue) h.push(`<li id="scenario-${esc(c.name)}"><code>${esc(c.name)}</code>: ${esc(c.summary)}</li>`);
      h.push("</ul>", `<details><summary>Every scenario under every policy variant (${plural(scen.rows.length, "row")})</summary>`, ...htmlTable(scen, false), "</details>");
    }
    if (runs) {
      h.push(`<h3 id="runs">${esc(runs.heading)}</h3>`, `<details><summary>Every point of the study, synthetic and real guest, by policy variant (${plural(runs.rows.length, "row")})</summary>`,
        ...htmlTable(runs, false), "</details>");
    }
  }

  for (const [i, r] of real.entries()) {
    h.push(`<h2 id="real-guest-${i + 1}">${esc(r.title)}</h2>`, `<p>${esc(r.lead)} <small>(${esc(r.slice)})</small></p>`, '<ol class="findings">', ...r.findings.map((f) => `<li>${esc(f)}</li>`), "</ol>");
    h.push(`<details><summary>${plural(r.tables.length, "table")}: every machine size and policy variant (${esc(r.slice)})</summary>`);
    for (const t of r.tables) h.push(...htmlTable(t));
    h.push("</details>");
  }

  for (const [i, l] of lazySections(results).entries()) {
    h.push(`<h2 id="lazy-${i + 1}">${esc(l.title)}</h2>`, `<p>${esc(l.lead)}</p>`, '<ol class="findings">', ...l.findings.map((f) => `<li>${esc(f)}</li>`), "</ol>");
    h.push(`<details><summary>${esc(l.table.heading)}: every guest shape, H_LOCAL mode and paging rate</summary>`, ...htmlTable(l.table), "</details>");
  }
  for (const r of schemeSections(results)) {
    h.push(`<h2 id="scheme-${esc(r.family)}">${esc(r.title)}</h2>`, `<p>${esc(r.lead)}</p>`, '<ul class="findings">', ...r.findings.map((f) => `<li>${esc(f)}</li>`), "</ul>");
    h.push(`<details><summary>${plural(r.tables.length, "table")}: every machine size, against the baseline</summary>`);
    for (const t of r.tables) h.push(...htmlTable(t));
    h.push("</details>");
  }

  const summary = summaryTables(results);
  if (summary) {
    h.push(`<h2 id="tables">At ${summary.cores} cores</h2>`, "<p>Per guest operation; TLB hit rate over translations; violations summed over runs; a row per configuration (the columns before the policy name it) of the synthetic sweeps.</p>");
    h.push(`<details><summary>${plural(summary.tables.length, "table")}, one per guest shape</summary>`);
    for (const t of summary.tables) h.push(...htmlTable(t));
    h.push("</details>");
  }

  h.push('<h2 id="run">What was run</h2>', '<dl class="facts">');
  for (const f of runFacts(results)) h.push(`<dt>${esc(f.label)}</dt><dd>${esc(f.value)}</dd>`);
  h.push("</dl>");

  h.push('<h2 id="provenance">How this was produced</h2>');
  const shard = results.shard.n > 1 ? `, shard ${results.shard.k}/${results.shard.n}` : "";
  h.push(`<p>hptlab ${esc(results.hptlab)}, study <code>${esc(results.study)}</code>: ${fmtInt(results.points.length)} of ${fmtInt(results.totalPoints)} points${esc(shard)}, `
    + `from results.json (${esc(results.format)} v${results.version}). Every number, finding and plot here is computed from that file; `
    + "the same results give the same report, byte for byte. Each point's seed is in results.csv.</p>");
  h.push("<details>", "<summary>Study config (resolved, with the seed)</summary>", `<pre>${esc(JSON.stringify(results.config ?? null, null, 1))}</pre>`, "</details>");
  h.push("</main>", "</body>", "</html>", "");
  return h.join("\n");
}

/** A table in a box that scrolls sideways when wider than the page. */
function htmlTable(t: SummaryTable, heading = true): string[] {
  const h = [...(heading ? [`<h3>${esc(t.heading)}</h3>`] : []), '<div class="scroll">', "<table>", "<thead><tr>"];
  h.push(t.headers.map((x, i) => `<th${t.numeric[i] ? ' class="num"' : ""}>${esc(x)}</th>`).join(""), "</tr></thead>", "<tbody>");
  for (const r of t.rows) {
    h.push(`<tr>${r.map((x, i) => `<td${cls(t.numeric[i], x, t.wrap?.[i])}>${esc(x)}</td>`).join("")}</tr>`);
  }
  h.push("</tbody>", "</table>", "</div>");
  return h;
}

function cls(numeric: boolean | undefined, text: string, wrap?: boolean): string {
  const c = [numeric ? "num" : "", /^LEAK\b|^unsafe$/.test(text) ? "leak" : "", wrap ? "wrap" : ""].filter((x) => x);
  return c.length ? ` class="${c.join(" ")}"` : "";
}

/** An SVG for inline use in HTML: the xlink namespace declaration goes when nothing uses it. */
function inlineSvg(svg: string): string {
  return svg.includes("xlink:") ? svg : svg.replace(/ xmlns:xlink="[^"]*"/, "");
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

// ─── the files ───────────────────────────────────────────────────────────────────────────────────

/** Write results.json, results.csv, summary.md and report.html into `outDir` (created if missing). */
export async function writeStudyOutputs(results: StudyResults, outDir: string): Promise<{ files: string[] }> {
  await mkdir(outDir, { recursive: true });
  const outputs: [string, string][] = [
    ["results.json", JSON.stringify(results, null, 1) + "\n"],
    ["results.csv", resultsCsv(results)],
    ["summary.md", summaryMarkdown(results)],
    ["report.html", await reportHtml(results)],
  ];
  const files: string[] = [];
  for (const [name, text] of outputs) {
    const file = join(outDir, name);
    await writeFile(file, text);
    files.push(file);
  }
  return { files };
}
