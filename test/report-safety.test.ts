// Safety verdicts from all the evidence, and slices named everywhere (issue: "Safety contradicts
// itself", "The terminal table contradicts the findings under it"): the scenario catalogue runs
// with every study and lands in results.json; no output calls a policy safe that a scenario shows
// leaking; every finding and table names its slice, and the first screen shows the first finding's.
import { describe, it, expect, beforeAll } from "vitest";
import { join } from "node:path";
import { resolveStudy } from "../src/study/config.js";
import { runStudy, mergeResults } from "../src/study/run.js";
import { scenarioEvidence } from "../src/study/scenarios.js";
import { SCENARIOS, runScenario, scenarioMachine } from "../src/kvm/scenarios.js";
import { POLICIES, onItsGenerations, policyByName, type PolicyName } from "../src/model/policies.js";
import type { StudyResults } from "../src/study/results.js";
import {
  findings, syntheticFindings, summaryMarkdown, reportHtml, plots, policySafety, headlineCells, safetyLines, shapeVerdicts,
} from "../src/report/study-report.js";
import { headlineTable } from "../src/cli-study.js";
import { coincidentLines } from "../src/report/plots.js";
import { schemeSections } from "../src/report/schemes.js";
import { fmtCycles } from "../src/report/study-data.js";

const POLICY_SET = [{ policy: "need-tlb-flush" }, { policy: "need-tlb-flush-3.8" }, { policy: "last-vcpu" }, { policy: "flush-always" }, { policy: "deferred-va", deferredCaps: [8, 64] }, { policy: "ipi-tlbiel" }, { policy: "batched-reclaim" }];

/** Two paging rates and both H_LOCAL modes (the terminal table used to pick the other paging rate), and a real guest. */
function config() {
  return resolveStudy({
    name: "safety", seed: 11, opsPerPoint: 2000,
    sweeps: [
      {
        name: "scaling", cores: [1, 4], policies: POLICY_SET, hLocal: ["honest", "lying"], pageOutsPerMop: [2000, 20000],
        shapes: [{ label: "1 vcpu", vcpus: 1, threadsPerVcore: 4 }, { label: "4 vcores", vcpus: 16, threadsPerVcore: 4 }],
      },
      {
        name: "real-guest", trace: join(import.meta.dirname, "..", "data/traces/linux-6.1-guest-boot-wl20.jsonl.gz"), traceCalls: 1500, cores: [1, 4],
        shapes: [{ label: "2 vcpus, 2 vcores", vcpus: 2, threadsPerVcore: 1 }], policies: POLICY_SET.slice(0, 3), hLocal: ["never", "honest"], pageOutsPerMop: [20000],
      },
    ],
  });
}

/**
 * The leaks each scenario is written to show (src/kvm/scenarios.ts, each scenario's summary and
 * finding): the thread's stale-TLB attack and the vcore migration defeat last-vcpu, the 3.8
 * H_BULK_REMOVE gap defeats need-tlb-flush-3.8, LPID reuse defeats the variant without the
 * set-all at VM start, the HPT reset defeats the variant without the set-all at HPT reset, the
 * early epoch, the skipped lazy core and the pending flush defeat lazy-reuse's three broken forms; the
 * split SMT8 TLB defeats every rule with per-core bookkeeping (need-tlb-flush's family, deferred-va,
 * lazy-reuse-running, p9-hash-core-tlb); a core offlined unflushed defeats ipi-tlbiel-offline-kept, a
 * deferred flush cleared by another core's entry defeats ipi-tlbiel-wrong-clear, and a frame reused
 * before its batch's flush defeats batched-reclaim-early-reuse (which also leaves a stale copy on a
 * core the guest left); need-tlb-flush, flush-always, deferred-va, lazy-reuse, ipi-tlbiel,
 * batched-reclaim and p9-hash pass every scenario of their generations (docs/model/policies.md §12).
 */
const EXPECTED_LEAKS: Record<PolicyName, string[]> = {
  "need-tlb-flush": ["smt8-split-tlb"],
  "need-tlb-flush-3.8": ["bulk-remove-1vcpu", "smt8-split-tlb"],
  "last-vcpu": ["stale-tlb", "vcore-migration"],
  "flush-always": [],
  "deferred-va": ["smt8-split-tlb"],
  "need-tlb-flush-no-init": ["lpid-reuse", "smt8-split-tlb"],
  "need-tlb-flush-no-reset": ["hpt-reset", "smt8-split-tlb"],
  "lazy-reuse": [],
  "lazy-reuse-early": ["lazy-reuse-early-epoch"],
  "lazy-reuse-running": ["lazy-core-skipped", "smt8-split-tlb", "cpu-offline-missed-ipi", "need-flush-cleared-by-wrong-thread"],
  "lazy-free-first": ["flush-pending-reuse", "batch-reuse-before-flush"],
  "p9-hash": [],
  "p9-hash-core-tlb": ["smt8-split-tlb"],
  "ipi-tlbiel": ["smt8-split-tlb"],
  "batched-reclaim": [],
  "ipi-tlbiel-offline-kept": ["smt8-split-tlb", "cpu-offline-missed-ipi"],
  "ipi-tlbiel-wrong-clear": ["smt8-split-tlb", "need-flush-cleared-by-wrong-thread"],
  "batched-reclaim-early-reuse": ["lazy-reuse-early-epoch", "lazy-core-skipped", "flush-pending-reuse", "smt8-split-tlb", "need-flush-cleared-by-wrong-thread", "batch-reuse-before-flush"],
};
/** The scenarios of a policy's own generations (the power9 one belongs to the P9 policies and flush-always). */
const onItsOwn = (policy: string, scenario: string) => onItsGenerations(policyByName(policy)!, scenarioMachine(scenario).generation);

/** Policies a text names: tokens equal to a registered policy's name ("need-tlb-flush" is not "need-tlb-flush-3.8"). */
function policiesIn(text: string): string[] {
  const tokens = new Set(text.split(/[\s,;:()]+/));
  return POLICIES.map((p) => p.name).filter((n) => tokens.has(n));
}

/** Clauses of a text that assert safety: "safe" (not "unsafe") or "no violation". */
function safetyClaims(text: string): string[] {
  return text.split(/\n|\. /).filter((c) => /(?<!un)\bsafe\b|no violation/.test(c));
}

describe("safety from every scenario and run", () => {
  let results: StudyResults;
  beforeAll(async () => {
    results = (await runStudy(config(), { workers: 1 })).results;
  }, 120_000);

  it("results.json holds the scenario catalogue under every policy variant of the study, then the registry's others", () => {
    const ev = results.scenarios!;
    expect(ev.catalogue.map((c) => c.name)).toEqual(SCENARIOS.map((s) => s.name));
    const variants = [...new Set(ev.outcomes.map((o) => `${o.policy}|${o.deferredCap}|${o.inStudy}`))];
    expect(variants).toEqual([
      "need-tlb-flush|null|true", "need-tlb-flush-3.8|null|true", "last-vcpu|null|true", "flush-always|null|true",
      "deferred-va|8|true", "deferred-va|64|true", "ipi-tlbiel|null|true", "batched-reclaim|null|true", "need-tlb-flush-no-init|null|false",
      "need-tlb-flush-no-reset|null|false", "lazy-reuse|null|false", "lazy-reuse-early|null|false", "lazy-reuse-running|null|false",
      "lazy-free-first|null|false", "p9-hash|null|false", "p9-hash-core-tlb|null|false",
      "ipi-tlbiel-offline-kept|null|false", "ipi-tlbiel-wrong-clear|null|false", "batched-reclaim-early-reuse|null|false",
    ]);
    expect(ev.outcomes).toHaveLength(19 * SCENARIOS.length);
    expect(ev.catalogue.map((c) => c.generation)).toEqual(SCENARIOS.map((s) => scenarioMachine(s.name).generation));
    for (const o of ev.outcomes) {
      expect(o.leaked, `${o.policy} ${o.scenario}`).toBe(EXPECTED_LEAKS[o.policy].includes(o.scenario));
      expect(o.leaked).toBe(o.violations > 0);
      // the same as `hptlab scenario NAME --policy ID`
      const direct = runScenario(o.scenario, { policy: o.policy, ...(o.deferredCap !== null ? { deferredCap: o.deferredCap } : {}) });
      expect([o.violations, o.staleHarmless]).toEqual([direct.violations, direct.staleHarmless]);
    }
  });

  it("merged shards hold the same catalogue, byte for byte, even shards written without it", async () => {
    const a = (await runStudy(config(), { workers: 1, shard: { k: 1, n: 2 } })).results;
    const b = (await runStudy(config(), { workers: 1, shard: { k: 2, n: 2 } })).results;
    expect(a.scenarios).toEqual(results.scenarios);
    delete (b as { scenarios?: unknown }).scenarios;
    expect(JSON.stringify(mergeResults([{ file: "b", results: b }, { file: "a", results: a }]))).toBe(JSON.stringify(results));
    expect(JSON.stringify(scenarioEvidence(config()))).toBe(JSON.stringify(results.scenarios));
  });

  it("verdicts: unsafe with the scenario that shows it, safe only with every scenario and some runs clean", () => {
    const byPolicy = Object.fromEntries(policySafety(results).map((s) => [s.policy, s]));
    expect(Object.keys(byPolicy)).toEqual(POLICIES.map((p) => p.name));
    for (const p of POLICIES) {
      const s = byPolicy[p.name]!;
      // judged on its own generations; the others are listed apart
      expect(s.leakingScenarios, p.name).toEqual(EXPECTED_LEAKS[p.name as PolicyName].filter((n) => onItsOwn(p.name, n)));
      expect([...new Set(s.outside.leakingScenarios.map((o) => o.scenario))], p.name).toEqual(EXPECTED_LEAKS[p.name as PolicyName].filter((n) => !onItsOwn(p.name, n)));
      // the study's runs are all POWER7: a P9 policy has none of its own, and a policy the study does
      // not run (lazy-reuse here) has no random run: both untested, not safe
      const own = p.generations.includes("power7") && s.inStudy;
      expect(s.verdict, p.name).toBe(s.leakingScenarios.length > 0 || s.runs.leakingRuns > 0 ? "unsafe" : own ? "safe" : "untested");
    }
    // `hptlab policies` marks as safe exactly the policies no scenario of their generations catches
    for (const p of POLICIES) expect(p.safe, p.name).toBe(byPolicy[p.name]!.leakingScenarios.length === 0);
    expect(byPolicy["need-tlb-flush"]!.evidence).toMatch(/; outside its generations \(power7 and power8\), on power9: leaks in scenario smt8-split-tlb \(1 violation\)$/);
    expect(byPolicy["p9-hash"]!.evidence).toMatch(/^untested: no violation in the 1 scenario; not in the study's runs; outside its generations \(power9 and power10\), on power7: no violation in 11 scenarios/);
    expect(byPolicy["need-tlb-flush-3.8"]!.evidence).toMatch(/^unsafe: leaks in scenario bulk-remove-1vcpu \(1 violation\); /);
    expect(byPolicy["need-tlb-flush-no-init"]!.evidence).toBe("unsafe: leaks in scenario lpid-reuse (1 violation); broken on purpose (for the detector), not in the study's runs; outside its generations (power7 and power8), on power9: leaks in scenario smt8-split-tlb (1 violation)");
    // without the catalogue (an older results.json) nothing is called safe
    const old = { ...results, scenarios: undefined };
    expect(policySafety(old).filter((s) => s.verdict === "safe")).toEqual([]);
  });

  it("no output calls a policy safe that a scenario shows leaking", async () => {
    const leaking = new Map(policySafety(results).filter((s) => s.leakingScenarios.length > 0).map((s) => [s.policy, s.leakingScenarios]));
    expect([...leaking.keys()]).toEqual(["need-tlb-flush-3.8", "last-vcpu", "need-tlb-flush-no-init", "need-tlb-flush-no-reset", "lazy-reuse-early", "lazy-reuse-running", "lazy-free-first", "p9-hash-core-tlb", "ipi-tlbiel-offline-kept", "ipi-tlbiel-wrong-clear", "batched-reclaim-early-reuse"]);
    const html = await reportHtml(results);
    const htmlText = html.replace(/<svg[\s\S]*?<\/svg>/g, "").replace(/<(li|p|tr|h\d)[ >]/g, "\n$&").replace(/<[^>]+>/g, "").replace(/&#39;/g, "'");
    const texts = { findings: findings(results).join("\n"), summary: summaryMarkdown(results), terminal: safetyLines(results).join("\n"), html: htmlText };
    for (const [where, text] of Object.entries(texts)) {
      for (const claim of safetyClaims(text)) {
        for (const p of policiesIn(claim).filter((x) => leaking.has(x))) {
          // a clause that says "no violation" of such a policy also says it is unsafe, or names the scenario
          expect(/\bunsafe\b/.test(claim) || leaking.get(p)!.some((n) => claim.includes(n)), `${where}: ${claim}`).toBe(true);
        }
      }
    }
    // and the report's badges agree with the catalogue
    const verdicts = new Map(policySafety(results).map((s) => [s.policy, s.verdict]));
    for (const m of html.matchAll(/<span class="badge (\w+)">\w+<\/span><a href="#safety-[^"]+">([^<]+)<\/a>/g)) {
      const policy = m[2]!.replace(/ \(.*$/, "");
      expect(m[1], policy).toBe(leaking.has(policy) ? "unsafe" : verdicts.get(policy) === "untested" ? "untested" : "safe");
    }
  });

  it("every finding names its slice; the terminal table and the verdict show the first finding's", async () => {
    for (const f of syntheticFindings(results)) {
      const scoped = /^Outside its generations, |\(every sweep, the real guest's included\)|^In the synthetic sweeps? |the study does not run it|not in the study's runs|^[\w.-]+(?: \([^)]*\))?(?:, [\w.-]+(?: \([^)]*\))?)*(?: and [\w.-]+(?: \([^)]*\))?)? are safe here: .*every sweep/;
      const sliced = /sweep \S+, H_LOCAL (honest|lying|never), (\d+ page-outs per M guest ops|no host paging)/;
      expect(sliced.test(f) || scoped.test(f), f).toBe(true);
    }
    for (const f of findings(results).filter((x) => x.startsWith("Real guest"))) expect(f).toMatch(/^Real guest \(Linux 6\.1\) \(sweep real-guest, 20000 page-outs per M guest ops\): /);
    const first = syntheticFindings(results)[0]!;
    const slice = /\((sweep [^)]*page-outs per M guest ops)\)/.exec(first)![1]!;
    expect(slice).toBe("sweep scaling, H_LOCAL honest, 2000 page-outs per M guest ops");
    // the terminal: its title names the same slice, and its rows are that slice's
    const table = await headlineTable(results);
    expect(table.split("\n")[0]).toBe(`At 4 cores × SMT4 (${slice}; the first finding's slice)`);
    const head = headlineCells(results)!;
    expect(head.cells.every((c) => c.context.pageOutsPerMop === 2000 && c.context.hLocal === "honest" && c.context.cores === 4)).toBe(true);
    expect(head.cells).toHaveLength(2 * 8);
    // the report's verdict: the same slice, the same numbers as the first finding
    const html = await reportHtml(results);
    const verdict = html.slice(html.indexOf('<section class="verdict"'), html.indexOf("</section>"));
    expect(verdict).toContain(`Synthetic guests on 4 cores (${slice})`);
    const v = shapeVerdicts(results).find((x) => x.kind === "synthetic" && x.shape === "4 vcores")!;
    const m = /\(([\d.,]+) vs ([\d.,]+)\)/.exec(first);
    expect(v.text).toContain(m ? `(${m[1]} vs ${m[2]} cycles)` : `(${/need-tlb-flush \(([\d.,]+)\)/.exec(first)![1]} cycles either way)`);
  });

  it("a section per scheme family (ipi, batched): where each stops beating the baseline, its IPIs, from the points", async () => {
    const secs = schemeSections(results);
    expect(secs.map((s) => [s.family, s.title])).toEqual([["ipi", "Invalidation by IPI and tlbiel"], ["batched", "Batched host reclaim"]]);
    const slice = (policy: string, shape: string, cores: number) => results.points.find((p) => p.params.sweep === "scaling" && p.params.hLocal === "honest"
      && p.params.pageOutsPerMop === 2000 && p.params.policy === policy && p.params.shape === shape && p.params.cores === cores)!;
    for (const [s, policy] of [[secs[0]!, "ipi-tlbiel"], [secs[1]!, "batched-reclaim"]] as const) {
      for (const shape of ["1 vcpu", "4 vcores"]) {
        const wins = [1, 4].map((c) => slice(policy, shape, c).invalidationCyclesPerGuestOp < slice("need-tlb-flush", shape, c).invalidationCyclesPerGuestOp);
        const firstLoss = wins.indexOf(false);
        const expected = firstLoss < 0 ? `${shape}: beats need-tlb-flush at every size (1–4 cores)`
          : wins.every((w) => !w) ? `${shape}: never beats need-tlb-flush (1–4 cores)` : `${shape}: stops beating need-tlb-flush at 4 cores`;
        expect(s.findings[0], `${policy} ${shape}`).toContain(expected);
        const table = s.tables.find((t) => t.heading.startsWith(`${shape} (`))!;
        expect(table.rows.map((r) => [r[0], r[1], r[2], r[3]])).toEqual([1, 4].map((c) => [String(c), policy,
          fmtCycles(slice(policy, shape, c).invalidationCyclesPerGuestOp), fmtCycles(slice("need-tlb-flush", shape, c).invalidationCyclesPerGuestOp)]));
        const ipis = slice(policy, shape, 4).counters.ipis! / slice(policy, shape, 4).guestOps;
        expect(Number(table.rows[1]![4])).toBeCloseTo(ipis, ipis === 0 ? 9 : Math.max(3, 3 - Math.floor(Math.log10(ipis))));
      }
      expect(s.findings[0]).toMatch(/^\S+ \(sweep scaling, H_LOCAL honest, 2000 page-outs per M guest ops, migration rate [\d.]+\): /);
    }
    expect(summaryMarkdown(results)).toContain("## Invalidation by IPI and tlbiel");
    const html = await reportHtml(results);
    expect(html).toContain('<h2 id="scheme-ipi">Invalidation by IPI and tlbiel</h2>');
    expect(html).toContain('<h2 id="scheme-batched">Batched host reclaim</h2>');
  });

  it("the violations chart counts every run, the real guest's too", async () => {
    const svg = (await plots(results)).find((p) => p.name === "violations")!.svg;
    expect(svg).toContain(`all ${results.points.length} runs of the study (sweeps real-guest, scaling)`);
    const counted = [...svg.matchAll(/>\d+ of (\d+) \((?:no )?paging\)<\/text>/g)].reduce((n, x) => n + Number(x[1]), 0);
    expect(counted).toBe(results.points.length);
  });
});

describe("coincidentLines", () => {
  it("names the variants drawn on top of each other, per small multiple", () => {
    const rows = [
      { variant: "a", shape: "s", cores: 1, value: 10 }, { variant: "b", shape: "s", cores: 1, value: 10.001 },
      { variant: "a", shape: "s", cores: 4, value: 20 }, { variant: "b", shape: "s", cores: 4, value: 20 },
      { variant: "c", shape: "s", cores: 1, value: 10 }, { variant: "c", shape: "s", cores: 4, value: 21 },
      { variant: "a", shape: "t", cores: 1, value: 1 }, { variant: "b", shape: "t", cores: 1, value: 2 },
    ];
    expect(coincidentLines(rows, ["s", "t"], ["a", "b", "c"])).toBe("Drawn on top of each other (equal at every size to 3 significant digits; the markers differ): s: a = b.");
    expect(coincidentLines(rows.filter((r) => r.shape === "t"), ["t"], ["a", "b"])).toBeUndefined();
  });
});
