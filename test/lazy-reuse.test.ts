// lazy-reuse (docs/model/policies.md §9) in a study: results.json carries the quarantine counters for
// the lazy family only, the report's section reads them (the peak, the fallbacks, the difference with
// the baseline in the same context), and the counters obey the quarantine's own arithmetic.
import { describe, it, expect, beforeAll } from "vitest";
import { resolveStudy } from "../src/study/config.js";
import { runStudy } from "../src/study/run.js";
import type { StudyResults } from "../src/study/results.js";
import { summaryMarkdown, reportHtml } from "../src/report/study-report.js";
import { lazySections } from "../src/report/lazy.js";
import { POLICIES, policiesOf } from "../src/model/policies.js";
import { QUARANTINE_COUNTERS } from "../src/engine/index.js";

function config() {
  return resolveStudy({
    name: "lazy", seed: 7, opsPerPoint: 4000,
    sweeps: [{
      name: "scaling", cores: [2, 8], policies: [{ policy: "need-tlb-flush" }, { policy: "lazy-reuse" }], hLocal: ["honest"], pageOutsPerMop: [0, 20000],
      shapes: [{ label: "1 vcpu", vcpus: 1, threadsPerVcore: 4 }, { label: "4 vcores", vcpus: 16, threadsPerVcore: 4 }],
    }],
  });
}

describe("lazy-reuse in a study", () => {
  let results: StudyResults;
  beforeAll(async () => {
    results = (await runStudy(config(), { workers: 1 })).results;
  }, 120_000);

  it("the registry: the lazy family is lazy-reuse and its three broken forms, with sources and hardware notes", () => {
    expect(policiesOf("lazy").map((p) => [p.name, p.safe, p.broken ?? false, p.quarantine])).toEqual([
      ["lazy-reuse", true, false, true], ["lazy-reuse-early", false, true, true], ["lazy-reuse-running", false, true, true],
      ["lazy-free-first", false, true, true],
    ]);
    expect(POLICIES.find((p) => p.name === "lazy-reuse")!.source).toMatch(/LATR: Lazy Translation Coherence", ASPLOS 2018/);
    expect(POLICIES.find((p) => p.name === "lazy-reuse")!.hardwareNotes).toMatch(/LPID comes from LPIDR/);
  });

  it("results.json: the quarantine counters on lazy points only; held = in − out, never above the peak", () => {
    for (const p of results.points) {
      const lazy = p.params.policy === "lazy-reuse";
      for (const k of QUARANTINE_COUNTERS) expect(k in p.counters, `${p.id} ${k}`).toBe(lazy);
      if (!lazy) continue;
      const c = p.counters;
      expect(c.quarantineReleased!).toBeLessThanOrEqual(c.quarantined!);
      expect(c.quarantined! - c.quarantineReleased!).toBeLessThanOrEqual(c.quarantinePeak! * 8); // at most its guests' peaks (a study point has few guests)
      // a lazy page-out issues no tlbie unless the quarantine is full: its page-outs' HPTEs cost no global tlbie
      if (p.params.pageOutsPerMop === 0) expect([c.quarantined, c.epochFlushes, c.quarantinePeak]).toEqual([0, 0, 0]);
      else expect(c.quarantined! + c.quarantineFallbacks!).toBe(c.pageOuts);
      expect(c.epochFlushes!).toBeLessThanOrEqual(c.lpidFlushes!);
    }
  });

  it("the report's section: one row per context at the largest machine, the peak and the baseline's cycles as in results.json", async () => {
    const [s] = lazySections(results);
    expect(lazySections(results)).toHaveLength(1);
    expect(s!.title).toBe("Lazy page-outs: lazy-reuse");
    expect(s!.table.rows).toHaveLength(4); // 2 shapes × 2 paging rates at 8 cores
    const heavy = results.points.find((p) => p.params.policy === "lazy-reuse" && p.params.cores === 8 && p.params.shape === "4 vcores" && p.params.pageOutsPerMop === 20000)!;
    const base = results.points.find((p) => p.params.policy === "need-tlb-flush" && p.params.cores === 8 && p.params.shape === "4 vcores" && p.params.pageOutsPerMop === 20000)!;
    const row = s!.table.rows.find((r) => r[0] === "4 vcores" && r[2] === "20,000")!;
    expect(row[6]).toBe(String(heavy.counters.quarantinePeak));
    const diff = heavy.invalidationCyclesPerGuestOp / base.invalidationCyclesPerGuestOp - 1;
    expect(row[5]).toBe(`${diff >= 0 ? "+" : "−"}${(Math.abs(diff) * 100).toFixed(1)}%`);
    expect(s!.findings.some((f) => f.startsWith("4 vcores on 8 cores, 20,000 host page-outs per million guest operations: lazy-reuse spends"))).toBe(true);
    expect(summaryMarkdown(results)).toContain("## Lazy page-outs: lazy-reuse");
    expect(await reportHtml(results)).toContain('<h2 id="lazy-1">Lazy page-outs: lazy-reuse</h2>');
  });

  it("no section without the family", async () => {
    const other = { ...results, points: results.points.filter((p) => p.params.policy !== "lazy-reuse") };
    expect(lazySections(other)).toEqual([]);
    expect(summaryMarkdown(other)).not.toContain("Lazy page-outs");
  });
});
