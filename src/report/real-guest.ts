/**
 * The report's "Real guest" section (docs/study.md, "Real guests"): the points of trace-driven
 * sweeps (params.workload "hcall-trace"), one section per sweep. For every guest shape and machine
 * size: invalidation cycles per guest operation of each policy variant with H_LOCAL never, honest
 * and lying; tlbie and tlbiel counts; the share of invalidations an honest guest could mark local;
 * violations — and the findings in plain words. The synthetic findings, plots and tables leave
 * these points out (src/report/findings.ts compares like with like).
 */
import type { PointResult, StudyResults } from "../study/results.js";
import { POLICIES, policiesOf } from "../model/policies.js";
import type { Generation } from "../model/machines.js";
import { BASELINE, SWEPT, cellsOf, variantsOf, describeField, distinct, fmtCycles, fmtInt, fmtPct, listWords, plural, type Cell } from "./study-data.js";
import { policySafety, type PolicySafety } from "./safety.js";

/** The policies that honour H_LOCAL without being safe: a lying guest can make them leak. */
const UNSAFE_LOCAL: readonly string[] = policiesOf("local").filter((p) => !p.safe).map((p) => p.name);

export const TRACE_WORKLOAD = "hcall-trace";

export function isTracePoint(p: PointResult): boolean {
  return p.params.workload === TRACE_WORKLOAD;
}

/**
 * A synthetic point on a machine of the baseline policy's generations (POWER7/POWER8): what the
 * thread's findings, tables, plots and sensitivity compare. Points of other generations have their
 * own finding (findings.ts, "generations") and count in the safety verdicts as their policies' own
 * or outside evidence.
 */
export function isBaselineSynthetic(p: PointResult): boolean {
  return !isTracePoint(p) && BASELINE.generations.includes((p.params as { generation?: Generation }).generation ?? "power7");
}

export interface RealGuestTable {
  heading: string;
  headers: string[];
  numeric: boolean[];
  rows: string[][];
}

export interface RealGuestSection {
  /** "Real guest (Linux 6.1)". */
  title: string;
  /** Its sweep and host paging, in words ("sweep real-guest, 20000 page-outs per M guest ops"). */
  slice: string;
  /** What was replayed, one sentence. */
  lead: string;
  findings: string[];
  /** The findings that answer the study's question (what an honest H_LOCAL saves or costs): the report's headlines. */
  headlines: string[];
  tables: RealGuestTable[];
}

const MODES = ["never", "honest", "lying"] as const;

/** "data/traces/linux-6.1-guest-boot-wl20.jsonl.gz" → "Linux 6.1"; otherwise the file's base name. */
export function traceLabel(file: string): string {
  const m = /linux[-_ ]?(\d+\.\d+)/i.exec(file);
  return m ? `Linux ${m[1]}` : file.replace(/^.*[\\/]/, "").replace(/(\.jsonl?)?(\.gz)?$/, "");
}

/** The real-guest sections of a study, one per trace sweep (empty when it has none). */
export function realGuestSections(results: StudyResults): RealGuestSection[] {
  const points = results.points.filter(isTracePoint);
  if (points.length === 0) return [];
  // the verdicts come from all the evidence (src/report/safety.ts), not from this guest's runs alone
  const safety = policySafety(results);
  return distinct(points.map((p) => p.params.sweep)).map((sweep) => section(points.filter((p) => p.params.sweep === sweep), safety));
}

const sum = (ps: readonly PointResult[], f: (p: PointResult) => number) => ps.reduce((s, p) => s + f(p), 0);
const counter = (name: string) => (p: PointResult) => p.counters[name] ?? 0;

function section(unsorted: PointResult[], safety: readonly PolicySafety[]): RealGuestSection {
  const points = [...unsorted].sort((a, b) => a.id - b.id);
  const first = points[0]!;
  const file = first.params.trace ?? "trace";
  const label = traceLabel(file);
  const cells = cellsOf(points);
  const shapes = distinct(points.map((p) => p.params.shape));
  const coreList = distinct(points.map((p) => p.params.cores)).sort((a, b) => a - b);
  const top = coreList[coreList.length - 1]!;
  const variants = variantsOf(points).map((v) => v.label);
  const cell = (shape: string, cores: number, variant: string, mode: string) =>
    cells.find((c) => c.context.shape === shape && c.context.cores === cores && c.variant.label === variant && c.context.hLocal === mode);

  const t = first.trace;
  const lead = `${fmtInt(first.counters.traceCalls ?? first.params.ops)} hypercalls of ${file}`
    + (t ? ` (${plural(t.vcpus, "vcpu")}, digest ${t.digest})` : "")
    + ` replayed on ${coreList.join(", ")} cores under ${listWords(variants)}, H_LOCAL ${MODES.filter((m) => points.some((p) => p.params.hLocal === m)).join(", ")}`
    + `; ${distinct(points.map((p) => p.params.pageOutsPerMop)).join(", ")} host page-outs per million guest ops.`;

  const findings: string[] = [];
  // 1. what an honest guest could mark
  const honest = points.filter((p) => p.params.hLocal === "honest");
  const pool = honest.length ? honest : points;
  const inv = sum(pool, counter("invalidations"));
  if (inv > 0) {
    findings.push(`An honest guest could mark ${fmtPct(sum(pool, counter("localEligible")) / inv)} of its invalidations H_LOCAL `
      + `(${fmtInt(inv / pool.length)} per run: H_REMOVE and H_PROTECT that found their entry, and H_BULK_REMOVE requests that removed one; `
      + "the rest had been touched by another vcpu since they were entered).");
  }
  // 2. the saving of honest over never, per shape, at the largest machine
  for (const shape of shapes) {
    const clauses: string[] = [];
    for (const v of variants) {
      const never = cell(shape, top, v, "never");
      const hon = cell(shape, top, v, "honest");
      if (!never || !hon || never.invalidationCyclesPerGuestOp <= 0) continue;
      clauses.push(`${v} ${saving(never.invalidationCyclesPerGuestOp, hon.invalidationCyclesPerGuestOp)} (${fmtCycles(hon.invalidationCyclesPerGuestOp)} vs ${fmtCycles(never.invalidationCyclesPerGuestOp)})`);
    }
    const capped = variantsOf(points).filter((v) => v.policy === SWEPT?.policy.name).map((v) => v.label);
    const deferred = capped.map((v) => [cell(shape, top, v, "never"), cell(shape, top, v, "honest")] as const)
      .filter(([a, b]) => a && b && a.invalidationCyclesPerGuestOp > 0);
    if (deferred.length) {
      const best = deferred.reduce((a, b) => (b[1]!.invalidationCyclesPerGuestOp / b[0]!.invalidationCyclesPerGuestOp < a[1]!.invalidationCyclesPerGuestOp / a[0]!.invalidationCyclesPerGuestOp ? b : a));
      const s = 1 - best[1]!.invalidationCyclesPerGuestOp / best[0]!.invalidationCyclesPerGuestOp;
      const split = sum(best[1]!.points, counter("splitRemoves")) / best[1]!.runs;
      findings.push(s >= 0
        ? `An honest H_LOCAL would have saved ${fmtPct(s)} of invalidation cycles on this guest (${shape}) at ${top} cores under ${best[0]!.variant.label}.`
        : `An honest H_LOCAL would have cost ${fmtPct(-s)} more invalidation cycles on this guest (${shape}) at ${top} cores under ${best[0]!.variant.label}: `
          + `its invalidations are already local, and H_LOCAL splits H_BULK_REMOVE (no flags word) into single H_REMOVEs (${fmtInt(split)} per run).`);
    }
    if (clauses.length) findings.push(`Honest H_LOCAL vs none, invalidation cycles per guest operation at ${top} cores (${shape}): ${clauses.join("; ")}.`);
    // 3. the saving as the machine grows, for the capped policy's variant(s)
    for (const v of capped) {
      const steps = coreList.map((c) => [c, cell(shape, c, v, "never"), cell(shape, c, v, "honest")] as const).filter(([, a, b]) => a && b && a.invalidationCyclesPerGuestOp > 0);
      if (steps.length < 2) continue;
      const pick = [steps[0]!, steps[Math.floor(steps.length / 2)]!, steps[steps.length - 1]!];
      findings.push(`Under ${v} (${shape}) the honest saving goes from ${pick.map(([c, a, b]) => `${fmtPct(1 - b!.invalidationCyclesPerGuestOp / a!.invalidationCyclesPerGuestOp)} on ${plural(c, "core")}`).join(" to ")}.`);
    }
  }
  // 4. safety: the policies safe by all the evidence, then the unsafe ones this guest did not catch
  const verdict = (policy: string) => safety.find((s) => s.policy === policy);
  const modesOf = (ps: readonly PointResult[]) => MODES.filter((m) => ps.some((p) => p.params.hLocal === m)).join(", ");
  const safe = points.filter((p) => verdict(p.params.policy)?.verdict === "safe");
  if (safe.length) {
    const v = sum(safe, (p) => p.violations);
    findings.push(`${listWords(distinct(safe.map((p) => p.params.policy)))}, safe by every scenario and run of the study, ${v === 0 ? "have no violation" : `have ${plural(v, "violation")}`} in ${plural(safe.length, "run")} of the real guest (H_LOCAL ${modesOf(safe)}).`);
  }
  for (const s of safety.filter((x) => x.verdict !== "safe" && !UNSAFE_LOCAL.includes(x.policy))) {
    const mine = points.filter((p) => p.params.policy === s.policy);
    if (!mine.length) continue;
    const leaking = mine.filter((p) => p.violations > 0);
    const why = s.leakingScenarios.length ? `scenario ${listWords(s.leakingScenarios)} shows it leaking` : s.evidence;
    findings.push(leaking.length
      ? `${s.policy} leaks in ${leaking.length} of ${plural(mine.length, "run")} of the real guest (${plural(sum(mine, (p) => p.violations), "violation")}, H_LOCAL ${modesOf(leaking)}).`
      : `${s.policy} has no violation in ${plural(mine.length, "run")} of the real guest (H_LOCAL ${modesOf(mine)}), yet is ${s.verdict}: ${why}; this guest's calls never play that timeline out.`);
  }
  for (const policy of UNSAFE_LOCAL) for (const mode of MODES) {
    const lv = points.filter((p) => p.params.policy === policy && p.params.hLocal === mode);
    if (!lv.length) continue;
    const leaking = lv.filter((p) => p.violations > 0);
    if (mode === "lying" || leaking.length) {
      findings.push(`${policy} with ${mode} H_LOCAL leaks in ${leaking.length} of ${plural(lv.length, "run")} (${plural(sum(lv, (p) => p.violations), "violation")}${leaking.length ? `; on ${listWords(distinct(leaking.map((p) => p.params.cores)).sort((a, b) => a - b).map(String))} cores, ${listWords(distinct(leaking.map((p) => p.params.shape)))}` : ""}).`);
    }
  }

  // tables: one per shape, a row per machine size and variant
  const tables = shapes.map((shape) => {
    const headers = ["cores", "policy variant", "inv. cycles / op, never", "honest", "lying", "honest saves", "tlbie, never", "tlbiel, never", "tlbie, honest", "tlbiel, honest", "markable local", "violations never / honest / lying"];
    const rows: string[][] = [];
    for (const c of coreList) {
      for (const v of variants) {
        const by = Object.fromEntries(MODES.map((m) => [m, cell(shape, c, v, m)])) as Record<(typeof MODES)[number], Cell | undefined>;
        const any = by.never ?? by.honest ?? by.lying;
        if (!any) continue;
        const x = (m: (typeof MODES)[number], f: (c: Cell) => string) => (by[m] ? f(by[m]!) : "–");
        const count = (name: string) => (cl: Cell) => fmtInt(sum(cl.points, counter(name)));
        const markable = sum(any.points, counter("invalidations"));
        rows.push([
          String(c), v,
          x("never", (cl) => fmtCycles(cl.invalidationCyclesPerGuestOp)), x("honest", (cl) => fmtCycles(cl.invalidationCyclesPerGuestOp)), x("lying", (cl) => fmtCycles(cl.invalidationCyclesPerGuestOp)),
          by.never && by.honest && by.never.invalidationCyclesPerGuestOp > 0 ? fmtPct(1 - by.honest.invalidationCyclesPerGuestOp / by.never.invalidationCyclesPerGuestOp) : "–",
          x("never", count("globalTlbies")), x("never", count("localTlbiels")), x("honest", count("globalTlbies")), x("honest", count("localTlbiels")),
          markable > 0 ? fmtPct(sum(any.points, counter("localEligible")) / markable) : "–",
          MODES.map((m) => x(m, (cl) => fmtInt(cl.violations))).join(" / "),
        ]);
      }
    }
    const p = points.find((q) => q.params.shape === shape)!.params;
    return { heading: `${shape} (${plural(p.vcpus, "vcpu")}, ${p.threadsPerVcore} per vcore)`, headers, numeric: headers.map((_, i) => i !== 1), rows };
  });
  const slice = [`sweep ${first.params.sweep}`, ...distinct(points.map((p) => p.params.pageOutsPerMop)).map((r) => describeField("pageOutsPerMop", r))].join(", ");
  const headlines = findings.filter((f) => /^An honest H_LOCAL would have/.test(f));
  return { title: `Real guest (${label})`, slice, lead, findings, headlines, tables };
}

function saving(never: number, honest: number): string {
  const s = 1 - honest / never;
  if (Math.abs(s) < 0.0005) return "the same";
  return s > 0 ? `${fmtPct(s)} less` : `${fmtPct(-s)} more`;
}
