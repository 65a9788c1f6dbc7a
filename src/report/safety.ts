/**
 * Each policy's safety verdict from all the evidence a study holds: the scenario catalogue
 * (results.scenarios, src/study/scenarios.ts) and every random run (synthetic and real-guest
 * points alike). Every output that says whether a policy is safe — the findings, summary.md,
 * report.html, the terminal — reads it from here, so none can call a policy safe that a scenario
 * or a run shows leaking.
 *
 * - unsafe: some scenario or some run let a guest reach a frame it no longer owns (which ones, how many);
 * - safe: no violation in every scenario of the catalogue and in at least one random run;
 * - untested: the rest (no scenario outcomes in the results, or no random run of the policy).
 *
 * A policy is judged on its own generations only (the registry's `generations`, docs/model/policies.md
 * §11): scenarios whose machine and runs whose points are of another generation are kept apart as
 * "outside its generations" — listed in every verdict's evidence, never counted in the verdict.
 */
import type { HLocalMode, PointResult, ScenarioOutcome, StudyResults } from "../study/results.js";
import { onItsGenerations, policyByName } from "../model/policies.js";
import { GENERATIONS, type Generation } from "../model/machines.js";
import { compareVariants, distinct, fmtInt, listWords, plural, variantOf, type Variant } from "./study-data.js";

export type Verdict = "safe" | "unsafe" | "untested";

export interface RunEvidence {
  runs: number;
  leakingRuns: number;
  violations: number;
  /** With host paging (pageOutsPerMop > 0). */
  pagedRuns: number;
  /** H_LOCAL modes of the leaking runs. */
  leakingHLocal: HLocalMode[];
  /** The first leaking run (lowest point id): a run to look at. */
  firstLeak: PointResult | null;
}

/** Evidence from machines of generations the policy is not the rule for: reported, not judged. */
export interface OutsideEvidence {
  /** The generations it came from. */
  generations: Generation[];
  scenarios: ScenarioOutcome[];
  leakingScenarios: ScenarioOutcome[];
  runs: RunEvidence;
}

export interface VariantSafety {
  variant: Variant;
  verdict: Verdict;
  /** The scenarios run under this variant on its generations. */
  scenarios: ScenarioOutcome[];
  /** The ones that leaked. */
  leakingScenarios: ScenarioOutcome[];
  runs: RunEvidence;
  outside: OutsideEvidence;
}

export interface PolicySafety {
  policy: string;
  /** The policy with its swept caps ("NAME (caps 1, 64 and 4096)"), or its name. */
  label: string;
  verdict: Verdict;
  variants: VariantSafety[];
  /** Scenario names that leaked under some variant. */
  leakingScenarios: string[];
  /** Scenario runs (scenario × variant) in all. */
  scenarioRuns: number;
  runs: RunEvidence;
  /** In the study's points (else: only the scenario catalogue ran it). */
  inStudy: boolean;
  /** What its variants showed on other generations (not counted in the verdict). */
  outside: OutsideEvidence;
  /** The verdict with its evidence, one sentence without the policy's name: "unsafe: …"; then what happened outside its generations, if anything ran there. */
  evidence: string;
}

/** A point's machine generation (absent from POWER7 points). */
export function pointGeneration(p: PointResult): Generation {
  return (p.params as { generation?: Generation }).generation ?? "power7";
}

/** Generations in their order (power7 first). */
function byGeneration(gens: Generation[]): Generation[] {
  return GENERATIONS.filter((g) => gens.includes(g));
}

/** Whether `policy` is the rule for `generation` (a policy not in the registry: every generation). */
function applies(policy: string, generation: Generation): boolean {
  const info = policyByName(policy);
  return !info || onItsGenerations(info, generation);
}

function outsideEvidence(scenarios: readonly ScenarioOutcome[], points: readonly PointResult[], gen: (o: ScenarioOutcome) => Generation): OutsideEvidence {
  return {
    generations: byGeneration(distinct([...scenarios.map(gen), ...points.map(pointGeneration)])),
    scenarios: [...scenarios],
    leakingScenarios: scenarios.filter((o) => o.leaked),
    runs: runEvidence(points),
  };
}

function runEvidence(points: readonly PointResult[]): RunEvidence {
  const leaking = points.filter((p) => p.violations > 0).sort((a, b) => a.id - b.id);
  return {
    runs: points.length,
    leakingRuns: leaking.length,
    violations: points.reduce((s, p) => s + p.violations, 0),
    pagedRuns: points.filter((p) => p.params.pageOutsPerMop > 0).length,
    leakingHLocal: distinct(leaking.map((p) => p.params.hLocal)),
    firstLeak: leaking[0] ?? null,
  };
}

function verdictOf(scenarios: readonly ScenarioOutcome[], catalogue: number, runs: RunEvidence): Verdict {
  if (scenarios.some((s) => s.leaked) || runs.leakingRuns > 0) return "unsafe";
  // every scenario of the catalogue ran, and the random workloads too
  return catalogue > 0 && scenarios.length >= catalogue && runs.runs > 0 ? "safe" : "untested";
}

/** The verdict of every policy variant: the study's (in variant order), then those only the catalogue ran. */
export function variantSafety(results: StudyResults): VariantSafety[] {
  const byKey = new Map<string, { variant: Variant; points: PointResult[]; scenarios: ScenarioOutcome[] }>();
  const entry = (v: Variant) => {
    let e = byKey.get(v.key);
    if (!e) byKey.set(v.key, (e = { variant: v, points: [], scenarios: [] }));
    return e;
  };
  for (const p of results.points) entry(variantOf(p.params)).points.push(p);
  const catalogue = results.scenarios?.catalogue ?? [];
  const scenarioGen = new Map(catalogue.map((c) => [c.name, c.generation ?? ("power7" as Generation)]));
  const gen = (o: ScenarioOutcome): Generation => scenarioGen.get(o.scenario) ?? "power7";
  for (const o of results.scenarios?.outcomes ?? []) {
    entry(variantOf({ policy: o.policy, deferredCap: o.deferredCap, deferredOverflow: o.deferredOverflow } as PointResult["params"])).scenarios.push(o);
  }
  return [...byKey.values()].sort((a, b) => compareVariants(a.variant, b.variant)).map((e) => {
    const policy = e.variant.policy;
    const own = e.scenarios.filter((o) => applies(policy, gen(o)));
    const ownPoints = e.points.filter((p) => applies(policy, pointGeneration(p)));
    const runs = runEvidence(ownPoints);
    const ownCatalogue = catalogue.filter((c) => applies(policy, c.generation ?? "power7")).length;
    return {
      variant: e.variant, verdict: verdictOf(own, ownCatalogue, runs), scenarios: own, leakingScenarios: own.filter((s) => s.leaked), runs,
      outside: outsideEvidence(e.scenarios.filter((o) => !applies(policy, gen(o))), e.points.filter((p) => !applies(policy, pointGeneration(p))), gen),
    };
  });
}

/** The verdict of every policy (its variants pooled: one leaking variant makes the policy unsafe). */
export function policySafety(results: StudyResults): PolicySafety[] {
  const variants = variantSafety(results);
  const catalogue = results.scenarios?.catalogue.map((c) => c.name) ?? [];
  const out: PolicySafety[] = [];
  for (const policy of [...new Set(variants.map((v) => v.variant.policy))]) {
    const mine = variants.filter((v) => v.variant.policy === policy);
    const points = results.points.filter((p) => p.params.policy === policy && applies(policy, pointGeneration(p)));
    const runs = runEvidence(points);
    const outsidePoints = results.points.filter((p) => p.params.policy === policy && !applies(policy, pointGeneration(p)));
    const outsideScenarios = mine.flatMap((v) => v.outside.scenarios);
    const outside: OutsideEvidence = {
      generations: byGeneration(distinct(mine.flatMap((v) => v.outside.generations))),
      scenarios: outsideScenarios, leakingScenarios: outsideScenarios.filter((o) => o.leaked), runs: runEvidence(outsidePoints),
    };
    const ownCatalogue = (results.scenarios?.catalogue ?? []).filter((c) => applies(policy, c.generation ?? "power7"));
    const verdict: Verdict = mine.some((v) => v.verdict === "unsafe") ? "unsafe" : mine.every((v) => v.verdict === "safe") ? "safe" : "untested";
    const leakingScenarios = catalogue.filter((n) => mine.some((v) => v.leakingScenarios.some((s) => s.scenario === n)));
    const scenarioRuns = mine.reduce((s, v) => s + v.scenarios.length, 0);
    const caps = distinct(mine.map((v) => v.variant.deferredCap).filter((k): k is number => k !== null));
    const label = caps.length > 1 ? `${policy} (caps ${capRange(caps)})` : mine.length === 1 ? mine[0]!.variant.label : policy;
    const s: PolicySafety = {
      policy, label, verdict, variants: mine, leakingScenarios, scenarioRuns, runs, inStudy: runs.runs > 0, outside, evidence: "",
    };
    s.evidence = evidenceWords(s, ownCatalogue.length) + outsideWords(s);
    out.push(s);
  }
  return out;
}

/** "1, 2, 4, …, 4096" for a long list of caps. */
function capRange(caps: readonly number[]): string {
  return caps.length > 4 ? `${caps[0]}, ${caps[1]}, …, ${caps[caps.length - 1]}` : listWords(caps.map(String));
}

/** The scenario part of a verdict: "scenario bulk-remove-1vcpu (1 violation)". */
export function scenarioWords(s: PolicySafety): string {
  return listWords(s.leakingScenarios.map((name) => {
    const hits = s.variants.flatMap((v) => v.leakingScenarios.filter((o) => o.scenario === name));
    const violations = hits.reduce((a, o) => a + o.violations, 0);
    const some = s.variants.length > 1 && hits.length < s.variants.length ? ` under ${listWords(distinct(hits.map((o) => variantOf(o as never).label)))}` : "";
    return `${name}${some} (${plural(violations, "violation")})`;
  }));
}

/** The random-run part: "9 of 360 runs (16 violations, H_LOCAL lying; first: point 123)". */
export function runWords(r: RunEvidence): string {
  if (r.leakingRuns === 0) return `no violation in ${plural(r.runs, "random run")}`;
  return `${fmtInt(r.leakingRuns)} of ${plural(r.runs, "random run")} (${plural(r.violations, "violation")}, H_LOCAL ${listWords(r.leakingHLocal)}; first: point ${r.firstLeak!.id})`;
}

function evidenceWords(s: PolicySafety, catalogue: number): string {
  const scen = s.scenarioRuns === 0 ? "the scenario catalogue did not run (results.json without it)"
    : s.leakingScenarios.length > 0 ? `leaks in scenario${s.leakingScenarios.length > 1 ? "s" : ""} ${scenarioWords(s)}`
    : `no violation in the ${plural(catalogue, "scenario")}${s.variants.length > 1 ? ` under each of its ${s.variants.length} variants` : ""}`;
  const runs = !s.inStudy ? `${policyByName(s.policy)?.broken ? "broken on purpose (for the detector), " : ""}not in the study's runs`
    : s.runs.leakingRuns > 0 ? `leaks in ${runWords(s.runs)}` : runWords(s.runs);
  const why = s.verdict === "unsafe" && s.runs.leakingRuns === 0 && s.inStudy ? " — the random workloads did not produce the scenario's timeline" : "";
  return `${s.verdict}: ${scen}; ${runs}${why}`;
}

/** "; outside its generations (power9): leaks in scenario smt8-split-tlb (1 violation); no violation in 40 random runs", or "". */
export function outsideWords(s: PolicySafety): string {
  const o = s.outside;
  if (o.scenarios.length === 0 && o.runs.runs === 0) return "";
  const parts: string[] = [];
  if (o.scenarios.length > 0) {
    const names = distinct(o.leakingScenarios.map((x) => x.scenario));
    parts.push(names.length > 0
      ? `leaks in scenario${names.length > 1 ? "s" : ""} ${listWords(names.map((n) => `${n} (${plural(o.leakingScenarios.filter((x) => x.scenario === n).reduce((a, x) => a + x.violations, 0), "violation")})`))}`
      : `no violation in ${plural(distinct(o.scenarios.map((x) => x.scenario)).length, "scenario")}`);
  }
  if (o.runs.runs > 0) parts.push(o.runs.leakingRuns > 0 ? `leaks in ${runWords(o.runs)}` : runWords(o.runs));
  const mine = policyByName(s.policy)?.generations ?? [];
  return `; outside its generations (${listWords([...mine])}), on ${listWords(o.generations)}: ${parts.join("; ")}`;
}

/** The policies of each verdict, in policy order. */
export function byVerdict(all: readonly PolicySafety[]): Record<Verdict, PolicySafety[]> {
  return {
    safe: all.filter((s) => s.verdict === "safe"),
    unsafe: all.filter((s) => s.verdict === "unsafe"),
    untested: all.filter((s) => s.verdict === "untested"),
  };
}

/** The variant labels judged safe (for the comparisons that want only safe policies). */
export function safeVariants(results: StudyResults): Set<string> {
  return new Set(variantSafety(results).filter((v) => v.verdict === "safe").map((v) => v.variant.label));
}
