/**
 * Sensitivity (src/report/sensitivity.ts, docs/study.md "Sensitivity"): which points are re-run,
 * that a re-run changes cycles only (same op stream, same violations and counters), that the
 * results are the same whatever the workers and shards, and that a flip is found and named.
 */
import { describe, expect, it } from "vitest";
import { expandStudy, resolveStudy, studyCosts } from "../src/study/config.js";
import { mergeResults, runStudy, sensitivityPoints } from "../src/study/run.js";
import { runPoint } from "../src/study/point.js";
import { robustnessWords, sensitivityFindings, type SensitivityResults } from "../src/report/sensitivity.js";
import { findings } from "../src/report/findings.js";
import { reportHtml } from "../src/report/study-report.js";
import { ConfigError } from "../src/config.js";
import { COST_ROWS } from "../src/model/costs.js";

const config = (over: Record<string, unknown> = {}) => resolveStudy({
  name: "sens", seed: 7, opsPerPoint: 8000, sensitivity: { factors: [0.5, 2], params: ["tlbieBase", "tlbiel", "entryExit", "tlbieExtra"] },
  sweeps: [{ name: "s", cores: [1, 16], shapes: [{ label: "4 vcores", vcpus: 16, threadsPerVcore: 4 }],
    policies: [{ policy: "need-tlb-flush" }, { policy: "deferred-va", deferredCaps: [64] }], hLocal: ["honest"], pageOutsPerMop: [2000] }],
  ...over,
});

describe("sensitivity", () => {
  it("re-runs the points the headline findings read: the local-win pair at the largest machine, the baseline at every size shown", () => {
    const c = config();
    const s = sensitivityPoints(c, expandStudy(c))!;
    // points: 0 = 1 core need-tlb-flush, 1 = 1 core deferred-va, 2 = 16 cores need-tlb-flush, 3 = 16 cores deferred-va
    expect(s.targets).toEqual([{ kind: "local-win", ids: [2, 3] }, { kind: "tlbie-queueing", ids: [0, 2] }]);
    // 3 points × 4 values × 2 factors, ids after the study's
    expect(s.points).toHaveLength(24);
    expect(s.points[0]!.id).toBe(4);
    expect(s.plan[0]).toEqual({ base: 0, param: "tlbieBase", factor: 0.5, value: 400 });
    expect(s.points[0]!.run.costs).toEqual({ tlbieBase: 400 });
    expect(s.plan.find((q) => q.param === "entryExit" && q.factor === 2)!.value).toBe(12000);
  });

  it("a scaled cost changes timing only: every counter but tlbieWaits (sequences that queued), and the violations, equal the point's own", () => {
    const c = config();
    const all = expandStudy(c);
    const s = sensitivityPoints(c, all)!;
    for (const j of [0, 9, 23]) {
      const q = s.plan[j]!;
      const base = runPoint(all[q.base]!);
      const re = runPoint(s.points[j]!);
      const { tlbieWaits: _w, ...mine } = re.counters;
      const { tlbieWaits: _v, ...theirs } = base.counters;
      expect(mine).toEqual(theirs);
      expect(re.violations).toBe(base.violations);
      expect(re.guestOps).toBe(base.guestOps);
      expect(re.totalCycles).not.toBe(base.totalCycles);
    }
  });

  it("results are identical with 1 or 2 workers and as two shards merged; the merge computes the verdicts", async () => {
    const c = config();
    const one = (await runStudy(c, { workers: 1 })).results;
    const two = (await runStudy(c, { workers: 2 })).results;
    expect(JSON.stringify(two)).toBe(JSON.stringify(one));
    const a = (await runStudy(c, { workers: 1, shard: { k: 1, n: 2 } })).results;
    const b = (await runStudy(c, { workers: 1, shard: { k: 2, n: 2 } })).results;
    expect((a.sensitivity as SensitivityResults).findings).toBeUndefined();
    const merged = mergeResults([{ file: "a", results: a }, { file: "b", results: b }]);
    expect(JSON.stringify(merged)).toBe(JSON.stringify(one));
    expect(() => mergeResults([{ file: "a", results: a }])).toThrow(/missing/);
    const sens = one.sensitivity as SensitivityResults;
    expect(sens.runs).toHaveLength(24);
    expect(sens.findings!.map((f) => f.key)).toEqual(["local-win 4 vcores", "tlbie-queueing", "safety"]);
    expect(one.costs!.values).toEqual(studyCosts(c).values);
  });

  it("finds a flip, names the value and the factor nearest 1, and the finding's sentence says so", async () => {
    const c = config();
    const res = (await runStudy(c, { workers: 1 })).results;
    const sens = res.sensitivity as SensitivityResults;
    const local = sens.findings!.find((f) => f.key === "local-win 4 vcores")!;
    // make deferred-va (point 3) dearer than the baseline (point 2) when tlbiel is doubled
    const base2 = res.points.find((p) => p.id === 2)!;
    const forged = structuredClone(res);
    const fs = forged.sensitivity as SensitivityResults;
    for (const r of fs.runs) if (r.base === 3 && r.param === "tlbiel" && r.factor === 2) r.cycles = { ...base2.cycles, tlbiel: base2.cycles.tlbiel + 1_000_000 };
    delete fs.findings;
    const f = sensitivityFindings(forged)!.find((x) => x.key === "local-win 4 vcores")!;
    expect(local.base).toBeGreaterThan(0.3); // deferred-va saves ~41% here
    expect(local.robust).toBe(true);
    expect(f.robust).toBe(false);
    expect(f.flips).toEqual([{ param: "tlbiel", factor: 2, value: expect.any(Number) }]);
    expect(f.flips[0]!.value).toBeLessThan(0);
    expect(robustnessWords(f, fs.factors)).toMatch(/^Flips when tlbiel ×2 \(-\d/);
    expect(findings(forged).some((t) => /Flips when tlbiel ×2/.test(t))).toBe(true);
    // the forged run also leaks: the safety verdict flips
    for (const r of fs.runs) if (r.base === 2 && r.param === "tlbieBase" && r.factor === 0.5) r.violations = 3;
    const safety = sensitivityFindings(forged)!.find((x) => x.key === "safety")!;
    expect(safety.flips).toEqual([{ param: "tlbieBase", factor: 0.5, value: 3 }]);
    const html = await reportHtml(res);
    expect(html).toContain('<h2 id="sensitivity">');
    expect((html.match(/<figure id="plot-sensitivity-\d+">/g) ?? []).length).toBe(3);
  });

  it("bad sensitivity configs are refused, naming the field", () => {
    expect(() => config({ sensitivity: { factors: [1] } })).toThrow(/^study\.sensitivity\.factors\.0: /);
    expect(() => config({ sensitivity: { params: ["tlbieBsae"] } })).toThrow(ConfigError);
    expect(() => config({ sensitivity: { findings: "all" } })).toThrow(/^study\.sensitivity\.findings: /);
    expect(config({ sensitivity: {} }).sensitivity).toEqual({ factors: [0.5, 2], findings: "headline" });
    expect(COST_ROWS).toHaveLength(17); // tlbieErrata, the 16th (issue 19): scaled only where a target point has tlbie errata; ipiSend the 17th (issue 16)
  });
});
