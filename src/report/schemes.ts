/**
 * The report's sections on the schemes proposed since 2012 (docs/study.md, "Invalidation by IPI and
 * batched reclaim"): one section per scheme family of the registry that the study ran — "ipi"
 * (IPIs and tlbiel instead of tlbie) and "batched" (host page-outs flushed once per batch). Each
 * compares the family's policies with the baseline on the synthetic sweeps: invalidation cycles per
 * guest operation along the machine size and where the scheme stops beating tlbie, IPIs per
 * operation, interruptions of other guests, and — where a sweep varies the vcores' migration rate —
 * how much of the cost goes to IPIs to cores that held nothing (the mask's precision). No policy is
 * named here: the registry's families and names decide (test/policy-registry.test.ts).
 */
import type { PointResult, StudyResults } from "../study/results.js";
import { policiesOf, type PolicyFamily, type PolicyInfo } from "../model/policies.js";
import { isTracePoint } from "./real-guest.js";
import { schemeRobustness } from "./sensitivity.js";
import { BASELINE, distinct, fmtCycles, fmtPct, fmtRatio, listWords, plural } from "./study-data.js";

export interface SchemeTable {
  heading: string;
  headers: string[];
  numeric: boolean[];
  rows: string[][];
}

export interface SchemeSection {
  family: PolicyFamily;
  /** "Invalidation by IPI and tlbiel". */
  title: string;
  lead: string;
  findings: string[];
  tables: SchemeTable[];
}

const FAMILIES: { family: PolicyFamily; title: string; lead: string }[] = [
  {
    family: "ipi",
    title: "Invalidation by IPI and tlbiel",
    lead: "Instead of a broadcast tlbie, the cores in the VM's \"may hold entries\" mask get an IPI and run tlbiel (the radix host's scheme since Linux 5.12, moved to the HPT model; docs/model/policies.md §13). Its cost is the IPIs: the sender's send per target, each target's exit and handler, which interrupts the guest running there.",
  },
  {
    family: "batched",
    title: "Batched host reclaim",
    lead: "Host page-outs hold their frames and flush once per batch of 32, with IPIs and a whole-LPID tlbiel on the cores of the VM's mask (the 2024 powerpc batched unmap RFC; docs/model/policies.md §14); the guest's own invalidations are the baseline's.",
  },
];

const perOp = (p: PointResult, x: number | undefined) => (x ?? 0) / p.guestOps;
/** A small rate per guest op with three significant digits after the leading zeros (0.000412). */
const fmtRate = (x: number) => (x === 0 ? "0" : x >= 0.01 ? x.toFixed(3) : x.toFixed(Math.min(8, 2 - Math.floor(Math.log10(x)))));
const inv = (p: PointResult) => p.invalidationCyclesPerGuestOp;

/** The points of one comparison: a synthetic sweep with the baseline and the family, one H_LOCAL use, paging rate and migration rate. */
function slice(points: readonly PointResult[], mine: readonly string[]): { points: PointResult[]; words: string } | undefined {
  const synthetic = points.filter((p) => !isTracePoint(p));
  // the sweep where the family meets the baseline on the most machine sizes
  const sweeps = distinct(synthetic.filter((p) => mine.includes(p.params.policy)).map((p) => p.params.sweep))
    .filter((s) => synthetic.some((p) => p.params.sweep === s && p.params.policy === BASELINE.name));
  if (sweeps.length === 0) return undefined;
  const cores = (s: string) => distinct(synthetic.filter((p) => p.params.sweep === s).map((p) => p.params.cores)).length;
  const sweep = [...sweeps].sort((a, b) => cores(b) - cores(a))[0]!;
  let ps = synthetic.filter((p) => p.params.sweep === sweep);
  const pick = <T>(values: T[], preferred: (v: T) => boolean): T => values.find(preferred) ?? values[0]!;
  const hLocal = pick(distinct(ps.map((p) => p.params.hLocal)), (h) => h === "honest");
  ps = ps.filter((p) => p.params.hLocal === hLocal);
  // host paging on (the lightest rate that has it): the batched scheme only acts on page-outs
  const rates = distinct(ps.map((p) => p.params.pageOutsPerMop));
  const paging = rates.find((r) => r > 0) ?? rates[0]!;
  ps = ps.filter((p) => p.params.pageOutsPerMop === paging);
  const migration = distinct(ps.map((p) => p.params.migrationRate))[0]!;
  ps = ps.filter((p) => p.params.migrationRate === migration);
  return { points: ps, words: `sweep ${sweep}, H_LOCAL ${hLocal}, ${ps[0]!.params.pageOutsPerMop} page-outs per M guest ops, migration rate ${migration}` };
}

/** The sections of the families the study ran (empty when it ran none). */
export function schemeSections(results: StudyResults): SchemeSection[] {
  const out: SchemeSection[] = [];
  for (const f of FAMILIES) {
    const policies = policiesOf(f.family).filter((p) => results.points.some((q) => q.params.policy === p.name));
    if (policies.length === 0) continue;
    const s = slice(results.points, policies.map((p) => p.name));
    if (!s) continue;
    out.push({ ...f, findings: familyFindings(results, policies, s.points, s.words), tables: familyTables(policies, s.points, s.words) });
  }
  return out;
}

function familyFindings(results: StudyResults, policies: readonly PolicyInfo[], ps: readonly PointResult[], words: string): string[] {
  const out: string[] = [];
  for (const pol of policies) {
    const shapes = distinct(ps.filter((p) => p.params.policy === pol.name).map((p) => p.params.shape));
    const crossings: string[] = [];
    const atTop: string[] = [];
    for (const shape of shapes) {
      const pairs = distinct(ps.filter((p) => p.params.shape === shape).map((p) => p.params.cores)).flatMap((cores) => {
        const base = ps.find((p) => p.params.shape === shape && p.params.cores === cores && p.params.policy === BASELINE.name);
        const mine = ps.find((p) => p.params.shape === shape && p.params.cores === cores && p.params.policy === pol.name);
        return base && mine ? [{ cores, base, mine, wins: inv(mine) < inv(base) }] : [];
      });
      if (pairs.length === 0) continue;
      const firstLoss = pairs.findIndex((x) => !x.wins);
      const winsAt = pairs.filter((x) => x.wins).map((x) => x.cores);
      let text: string;
      if (firstLoss < 0) text = `${shape}: beats ${BASELINE.name} at every size (${pairs[0]!.cores}–${pairs[pairs.length - 1]!.cores} cores)`;
      else if (firstLoss === 0 && winsAt.length === 0) text = `${shape}: never beats ${BASELINE.name} (${pairs[0]!.cores}–${pairs[pairs.length - 1]!.cores} cores)`;
      else {
        const x = pairs[firstLoss]!;
        text = `${shape}: stops beating ${BASELINE.name} at ${x.cores} cores (${fmtCycles(inv(x.mine))} vs ${fmtCycles(inv(x.base))} cycles per guest op, ${fmtRatio(inv(x.mine) / inv(x.base))})` +
          (winsAt.some((c) => c > x.cores) ? `, and beats it again at ${listWords(winsAt.filter((c) => c > x.cores).map(String))} cores` : "");
      }
      crossings.push(text);
      const top = pairs[pairs.length - 1]!;
      atTop.push(`${shape} ${fmtCycles(inv(top.mine))} vs ${fmtCycles(inv(top.base))} (${fmtRatio(inv(top.mine) / inv(top.base))}), ${fmtRate(perOp(top.mine, top.mine.counters.ipis))} IPIs per guest op, ${fmtCycles(perOp(top.mine, top.mine.counters.ipiOtherGuest) * 1e6)} interruptions of other guests per M guest ops`);
    }
    if (crossings.length > 0) out.push(`${pol.name} (${words}): ${crossings.join("; ")}.`);
    const top = Math.max(...ps.map((p) => p.params.cores));
    if (atTop.length > 0) out.push(`${pol.name} at ${top} cores, invalidation cycles per guest op against ${BASELINE.name}: ${atTop.join("; ")}.`);
    // how robust the comparison at the first finding's largest machine is to the cost table (docs/study.md, "Sensitivity")
    const robust = schemeRobustness(results, pol.name);
    if (robust) out.push(robust);
    const mine = ps.filter((p) => p.params.policy === pol.name);
    const empty = mine.reduce((a, p) => a + (p.counters.ipiEmptyCycles ?? 0), 0);
    const total = mine.reduce((a, p) => a + p.invalidationCycles, 0);
    if ((mine.reduce((a, p) => a + (p.counters.ipis ?? 0), 0)) > 0) out.push(`${pol.name}: IPIs to cores that held none of the VM's entries cost ${fmtPct(total > 0 ? empty / total : NaN)} of its invalidation cycles here (${plural(mine.reduce((a, p) => a + (p.counters.ipiEmpty ?? 0), 0), "such IPI")} in ${plural(mine.length, "point")}).`);
    // its runs on the machines it is the rule for (docs/model/policies.md §12; a POWER7 point has no generation);
    // the others are the safety findings' "outside its generations"
    const runs = results.points.filter((p) => p.params.policy === pol.name && (p.params.generation === undefined || pol.generations.includes(p.params.generation as never)));
    const violations = runs.reduce((a, p) => a + p.violations, 0);
    out.push(`${pol.name}: ${plural(violations, "violation")} in ${plural(runs.length, "random run")} on its generations (${pol.generations.join(", ")}).`);
  }
  out.push(...maskPrecision(results, policies));
  return out;
}

/** Where a sweep varies the migration rate: the empty-IPI share of the family's invalidation cycles at each rate. */
function maskPrecision(results: StudyResults, policies: readonly PolicyInfo[]): string[] {
  const out: string[] = [];
  const names = policies.map((p) => p.name);
  const synthetic = results.points.filter((p) => !isTracePoint(p) && names.includes(p.params.policy));
  for (const sweep of distinct(synthetic.map((p) => p.params.sweep))) {
    const ps = synthetic.filter((p) => p.params.sweep === sweep);
    const rates = distinct(ps.map((p) => p.params.migrationRate));
    if (rates.length < 2 || !ps.some((p) => (p.counters.ipis ?? 0) > 0)) continue;
    const shares = rates.map((r) => {
      const at = ps.filter((p) => p.params.migrationRate === r);
      const total = at.reduce((a, p) => a + p.invalidationCycles, 0);
      return `${fmtPct(total > 0 ? at.reduce((a, p) => a + (p.counters.ipiEmptyCycles ?? 0), 0) / total : NaN)} at ${r}`;
    });
    out.push(`Mask precision (sweep ${sweep}, ${listWords(distinct(ps.map((p) => p.params.cores)).map(String))} cores): the share of ${listWords(distinct(ps.map((p) => p.params.policy)))}'s invalidation cycles spent on IPIs to cores that held nothing, by vcore migration rate: ${shares.join(", ")}.`);
  }
  return out;
}

function familyTables(policies: readonly PolicyInfo[], ps: readonly PointResult[], words: string): SchemeTable[] {
  return distinct(ps.map((p) => p.params.shape)).map((shape) => {
    const rows: string[][] = [];
    for (const cores of distinct(ps.filter((p) => p.params.shape === shape).map((p) => p.params.cores))) {
      const base = ps.find((p) => p.params.shape === shape && p.params.cores === cores && p.params.policy === BASELINE.name);
      for (const pol of policies) {
        const p = ps.find((q) => q.params.shape === shape && q.params.cores === cores && q.params.policy === pol.name);
        if (!p) continue;
        rows.push([String(cores), pol.name, fmtCycles(inv(p)), base ? fmtCycles(inv(base)) : "–", fmtRate(perOp(p, p.counters.ipis)),
          fmtRate(perOp(p, p.counters.ipiInterrupts)), fmtCycles(perOp(p, p.counters.ipiOtherGuest) * 1e6), fmtPct(p.invalidationCycles > 0 ? (p.counters.ipiEmptyCycles ?? 0) / p.invalidationCycles : NaN), String(p.violations)]);
      }
    }
    return {
      heading: `${shape} (${words})`,
      headers: ["cores", "policy", "invalidation cycles / op", `${BASELINE.name} / op`, "IPIs / op", "interrupted guests / op", "other guests / M ops", "empty-IPI share", "violations"],
      numeric: [true, false, true, true, true, true, true, true, true],
      rows,
    };
  });
}
