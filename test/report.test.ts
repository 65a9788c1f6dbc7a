/**
 * The study's output files (src/report/): exact CSV, findings computed from hand-chosen figures,
 * findings skipped when their points are missing, plots (title, one series per variant), a
 * self-contained report.html, determinism, and the four files on disk.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { COST_CATEGORIES, INVALIDATION_CATEGORIES, type CostCategory } from "../src/model/costs.js";
import type { PointParams, PointResult, StudyResults } from "../src/study/results.js";
import { findings, plots, reportHtml, resultsCsv, summaryMarkdown, writeStudyOutputs, type Plot } from "../src/report/study-report.js";
import { uniqueIds, violationRows, coincidentLines } from "../src/report/plots.js";
import { cellsOf } from "../src/report/study-data.js";

// ─── synthetic studies ───────────────────────────────────────────────────────────────────────────

const BASE: PointParams = {
  sweep: "main", cores: 256, smt: 4, tlbSets: 128, tlbWays: 4, policy: "need-tlb-flush", deferredCap: null, deferredOverflow: null,
  shape: "64 vcores", vcpus: 256, threadsPerVcore: 4, guests: 2, hLocal: "honest", pageOutsPerMop: 2000, migrationRate: 0.05,
  workload: "kernel-churn", ops: 1000, seed: 1,
};

const SHAPES = {
  "1 vcpu": { shape: "1 vcpu", vcpus: 1, threadsPerVcore: 4 },
  "4 vcores": { shape: "4 vcores", vcpus: 16, threadsPerVcore: 4 },
  "64 vcores": { shape: "64 vcores", vcpus: 256, threadsPerVcore: 4 },
} as const;

/** deferred-va at cap K with the runner's default overflow rule. */
const dva = (cap: number): Partial<PointParams> => ({ policy: "deferred-va", deferredCap: cap, deferredOverflow: "flush" });

interface Figures {
  guestOps?: number;
  /** Cycles per guest op, by category (the point's cycles are these × guestOps). */
  perOp?: Partial<Record<CostCategory, number>>;
  violations?: number;
  tlbHitRate?: number;
  counters?: Record<string, number>;
}

/** A point with hand-chosen figures; the derived ones follow from them as the runner computes them. */
function point(id: number, params: Partial<PointParams>, f: Figures = {}): PointResult {
  const p = { ...BASE, ...params };
  const guestOps = f.guestOps ?? 1000;
  const cycles = Object.fromEntries(COST_CATEGORIES.map((c) => [c, (f.perOp?.[c] ?? 0) * guestOps])) as Record<CostCategory, number>;
  const totalCycles = COST_CATEGORIES.reduce((s, c) => s + cycles[c], 0);
  const invalidationCycles = INVALIDATION_CATEGORIES.reduce((s, c) => s + cycles[c], 0);
  return {
    id, params: p, guestOps, engineOps: guestOps + 100, counters: f.counters ?? { translations: guestOps }, cycles,
    totalCycles, invalidationCycles, cyclesPerGuestOp: totalCycles / guestOps, invalidationCyclesPerGuestOp: invalidationCycles / guestOps,
    tlbieWaitCyclesPerGuestOp: cycles.tlbieWait / guestOps, tlbHitRate: f.tlbHitRate ?? 0.9, violations: f.violations ?? 0,
    staleHarmless: 0, makespan: Math.round(totalCycles / p.cores),
  };
}

function study(points: PointResult[], name = "synthetic"): StudyResults {
  return {
    format: "hptlab-results", version: 1, hptlab: "0.1.0", study: name,
    config: { name, description: "A hand-made study.", seed: 2012 }, totalPoints: points.length, shard: { k: 1, n: 1 }, points,
  };
}

/**
 * 64-vcore guests, honest H_LOCAL, paging on, at 16 and 256 cores. Per guest op at 256 cores:
 * need-tlb-flush invalidates for 1000 (tlbie 600 + wait 400) of 3000; deferred-va (cap 64) for 628
 * of 2628; last-vcpu for 500 of 2500, with 3 violations. At 16 cores: 500 (wait 50), 400, 450.
 */
function handStudy(): StudyResults {
  const other = { translate: 12, walk: 38, hcall: 1000, entryExit: 950 }; // 2000 per op that is not invalidation
  return study([
    point(0, { cores: 16 }, { perOp: { ...other, tlbie: 450, tlbieWait: 50 } }),
    point(1, { cores: 16, ...dva(64) }, { perOp: { ...other, tlbiel: 200, tlbie: 180, tlbieWait: 20 } }),
    point(2, { cores: 16, policy: "last-vcpu" }, { perOp: { ...other, tlbiel: 200, flush: 250 } }),
    point(3, {}, { perOp: { ...other, tlbie: 600, tlbieWait: 400 } }),
    point(4, dva(64), { perOp: { ...other, tlbiel: 200, tlbie: 300, tlbieWait: 100, ipi: 28 } }),
    point(5, { policy: "last-vcpu" }, { perOp: { ...other, tlbiel: 200, flush: 300 }, violations: 3 }),
  ]);
}

/** A fuller study for the plots: 3 sizes, 2 shapes, 5 policies, 3 caps, paging on and off. */
function plotStudy(): StudyResults {
  const points: PointResult[] = [];
  const variants: Partial<PointParams>[] = [
    { policy: "need-tlb-flush" }, { policy: "need-tlb-flush-3.8" }, { policy: "last-vcpu" }, { policy: "flush-always" }, dva(8), dva(64), dva(512),
  ];
  for (const cores of [4, 16, 256]) for (const shape of [SHAPES["1 vcpu"], SHAPES["64 vcores"]]) for (const paging of [0, 2000]) {
    for (const [i, v] of variants.entries()) {
      const wait = v.policy === "need-tlb-flush" && shape.vcpus > 4 ? cores : 0;
      points.push(point(points.length, { cores, ...shape, pageOutsPerMop: paging, ...v }, {
        perOp: { translate: 12, hcall: 1000, tlbiel: 100 + i * 10, tlbie: 100 * i, tlbieWait: wait, flush: v.policy === "flush-always" ? 1500 : 100, ipi: v.deferredCap ? 512 / v.deferredCap : 0 },
        violations: v.policy === "last-vcpu" && paging > 0 && shape.vcpus > 4 ? 2 : 0,
        tlbHitRate: 0.9 - i / 100,
      }));
    }
  }
  return study(points, "plots");
}

// ─── results.csv ─────────────────────────────────────────────────────────────────────────────────

describe("resultsCsv", () => {
  test("one row per point in id order, every column, RFC 4180 quoting", () => {
    const results = study([
      point(1, { sweep: 'odd, "quoted"', cores: 16, ...dva(64), shape: "4 vcores", vcpus: 16, seed: 99 },
        { guestOps: 10, perOp: { translate: 12, tlbiel: 220 }, tlbHitRate: 0.75, counters: { translations: 8, hcalls: 2 } }),
      point(0, { hLocal: "lying", pageOutsPerMop: 0 }, { guestOps: 4, perOp: { tlbie: 1000, tlbieWait: 250 }, violations: 1, counters: { translations: 4 } }),
    ]);
    const header = "id,sweep,cores,smt,tlbSets,tlbWays,policy,deferredCap,deferredOverflow,shape,vcpus,threadsPerVcore,guests,hLocal,"
      + "pageOutsPerMop,migrationRate,workload,ops,seed,trace,guestOps,engineOps,totalCycles,invalidationCycles,cyclesPerGuestOp,"
      + "invalidationCyclesPerGuestOp,tlbieWaitCyclesPerGuestOp,tlbHitRate,violations,staleHarmless,makespan,"
      + "cycles.translate,cycles.walk,cycles.hcall,cycles.tlbiel,cycles.tlbie,cycles.tlbieWait,cycles.flush,cycles.entryExit,"
      + "cycles.ipi,cycles.pageOut,cycles.hvFault,counters.hcalls,counters.translations";
    expect(resultsCsv(results)).toBe([
      header,
      // 4 guest ops: tlbie 4000 + wait 1000 = 5000 cycles, all invalidation; makespan 5000 / 256 → 20.
      "0,main,256,4,128,4,need-tlb-flush,,,64 vcores,256,4,2,lying,0,0.05,kernel-churn,1000,1,,4,104,5000,5000,1250,1250,250,0.9,1,0,20,"
        + "0,0,0,0,4000,1000,0,0,0,0,0,,4",
      // 10 guest ops: translate 120 + tlbiel 2200; makespan 2320 / 16 = 145.
      '1,"odd, ""quoted""",16,4,128,4,deferred-va,64,flush,4 vcores,16,4,2,honest,2000,0.05,kernel-churn,1000,99,,10,110,2320,2200,232,220,0,0.75,0,0,145,'
        + "120,0,0,2200,0,0,0,0,0,0,0,2,8",
      "",
    ].join("\n"));
  });

  test("a study without points is the header alone", () => {
    expect(resultsCsv(study([]))).toMatch(/^id,sweep,.*,cycles\.hvFault\n$/);
  });
});

// ─── findings ────────────────────────────────────────────────────────────────────────────────────

describe("findings", () => {
  test("hand-computed study: every sentence and number", () => {
    expect(findings(handStudy())).toEqual([
      // (1000 − 628) / 1000 = 37.2%; (3000 − 2628) / 3000 = 12.4%; last-vcpu (1000 − 500) / 1000 = 50.0%.
      "On 256 cores (sweep main, H_LOCAL honest, 2000 page-outs per M guest ops), for 64-vcore guests, deferred-va (cap 64) spends 37.2% fewer cycles on invalidation "
        + "per guest operation than need-tlb-flush (628 vs 1,000) and 12.4% fewer cycles in all, with 0 violations; "
        + "last-vcpu 50.0% fewer on invalidation (500), with 3 violations.",
      // 16 cores: (500 − 400) / 500 = 20.0%; last-vcpu (500 − 450) / 500 = 10.0%.
      "For 64-vcore guests (sweep main, H_LOCAL honest, 2000 page-outs per M guest ops), the invalidation saving of deferred-va (cap 64) over need-tlb-flush grows "
        + "from 20.0% on 16 cores to 37.2% on 256 cores.",
      "For 64-vcore guests (sweep main, H_LOCAL honest, 2000 page-outs per M guest ops), the invalidation saving of last-vcpu over need-tlb-flush grows "
        + "from 10.0% on 16 cores to 50.0% on 256 cores.",
      // no scenario catalogue in a hand-made results.json: nothing is called safe
      "last-vcpu is unsafe (every sweep, the real guest's included): it leaks in 1 of 2 random runs (3 violations, H_LOCAL honest; first: point 5).",
      "need-tlb-flush is untested: the scenario catalogue did not run (results.json without it); no violation in 2 random runs.",
      "deferred-va (cap 64) is untested: the scenario catalogue did not run (results.json without it); no violation in 2 random runs.",
      "In the synthetic sweep main, last-vcpu leaks in 1 of 2 runs with host paging (3 violations, with 64-vcore guests, H_LOCAL honest).",
      // wait / invalidation: 400 / 1000 at 256 cores, 50 / 500 at 16.
      "tlbie queueing (waiting for the fabric) is 40.0% of need-tlb-flush's invalidation cycles on 256 cores "
        + "(400 cycles per guest operation), 10.0% on 16 cores (64-vcore guests; sweep main, H_LOCAL honest, 2000 page-outs per M guest ops).",
    ]);
  });

  test("the concurrent fabric's points split the queueing finding into lock and fabric wait", () => {
    // handStudy's points, each with the lock's part of its wait: 256 cores, need-tlb-flush waits 400 per
    // op of which 100 are lock (1000 ops: 100,000 cycles); 16 cores: 50 per op, 30 lock
    const lock: Record<number, number> = { 0: 30_000, 1: 0, 2: 0, 3: 100_000, 4: 0, 5: 0 };
    const r = handStudy();
    const pts = r.points.map((p) => ({ ...p, counters: { ...p.counters, tlbieLockWaitCycles: lock[p.id]! } }));
    // 100 / 1000 = 10.0% lock, 300 / 1000 = 30.0% fabric; at 16 cores 30 / 500 = 6.0% and 20 / 500 = 4.0%
    expect(findings(study(pts))).toContain("tlbie queueing (waiting for the tlbie lock and the fabric) is 40.0% (lock 10.0%, fabric 30.0%) of need-tlb-flush's invalidation cycles on 256 cores "
      + "(400 cycles per guest operation), 10.0% (lock 6.0%, fabric 4.0%) on 16 cores (64-vcore guests; sweep main, H_LOCAL honest, 2000 page-outs per M guest ops).");
  });

  test("breakdown of concurrent-fabric points: the tlbie wait in two bars, lock and fabric", async () => {
    const r = handStudy();
    const pts = r.points.map((p) => ({ ...p, counters: { ...p.counters, tlbieLockWaitCycles: p.id === 3 ? 100_000 : 0 } }));
    const svg = (await plots(study(pts))).find((p) => p.name === "invalidation-breakdown")!.svg;
    expect(legendLabels(svg)).toEqual(["tlbiel", "tlbie", "tlbie wait (lock)", "tlbie wait (fabric)", "LPID flush", "IPI (overflow)"]);
  });

  test("flush-always against need-tlb-flush per shape, and the best deferred-va cap with its knee", () => {
    const results = study([
      point(0, { ...SHAPES["1 vcpu"] }, { perOp: { hcall: 1000 } }),
      point(1, { ...SHAPES["1 vcpu"], policy: "flush-always" }, { perOp: { hcall: 1000, flush: 2000 } }),
      point(2, { ...SHAPES["4 vcores"] }, { perOp: { hcall: 1000, tlbie: 1000 } }),
      point(3, { ...SHAPES["4 vcores"], policy: "flush-always" }, { perOp: { hcall: 1000, flush: 2000 } }),
      point(4, { ...SHAPES["4 vcores"], ...dva(8) }, { perOp: { hcall: 1000, tlbie: 900 } }),
      point(5, { ...SHAPES["4 vcores"], ...dva(64) }, { perOp: { hcall: 1000, tlbie: 520 } }),
      point(6, { ...SHAPES["4 vcores"], ...dva(512) }, { perOp: { hcall: 1000, tlbie: 500 } }),
    ]);
    const found = findings(results);
    // Pooled 3000 / 1500 = 2.0×; per shape 3000 / 1000 = 3.0× and 3000 / 2000 = 1.5×.
    expect(found).toContain("flush-always costs 3,000 cycles per guest operation on 256 cores, 2.0× need-tlb-flush "
      + "(from 1.5× for 4-vcore guests to 3.0× for 1-vcpu guests; flush-always pins memory, so the host's page-outs are refused; sweep main, H_LOCAL honest, 2000 page-outs per M guest ops).");
    // 520 ≤ 500 × 1.05: cap 64 is the knee.
    expect(found).toContain("For 4-vcore guests on 256 cores (sweep main, H_LOCAL honest, 2000 page-outs per M guest ops), deferred-va cap 512 spends the fewest invalidation "
      + "cycles per guest operation of caps 8 to 512: 500, vs 900 at cap 8 and 1,000 for need-tlb-flush, with 0 violations across all caps; "
      + "cap 64 comes within 5.0% of it (520).");
    expect(found).toContain("On 256 cores (sweep main, H_LOCAL honest, 2000 page-outs per M guest ops), for 4-vcore guests, deferred-va (cap 512) spends 50.0% fewer cycles "
      + "on invalidation per guest operation than need-tlb-flush (500 vs 1,000) and 25.0% fewer cycles in all, with 0 violations.");
  });

  test("leaks by paging, and 'every guest shape that passes H_LOCAL'", () => {
    const results = study([
      point(0, { policy: "last-vcpu", ...SHAPES["1 vcpu"] }, { violations: 2 }),
      point(1, { policy: "last-vcpu", ...SHAPES["64 vcores"] }, { violations: 5 }),
      point(2, { policy: "last-vcpu", ...SHAPES["64 vcores"], hLocal: "lying" }),
      point(3, { policy: "last-vcpu", ...SHAPES["64 vcores"], pageOutsPerMop: 0 }),
      point(4, { policy: "last-vcpu", ...SHAPES["64 vcores"], hLocal: "never" }),
    ]);
    expect(findings(results)).toEqual([
      "last-vcpu is unsafe (every sweep, the real guest's included): it leaks in 2 of 5 random runs (7 violations, H_LOCAL honest; first: point 0).",
      "In the synthetic sweep main, last-vcpu leaks in 2 of 4 runs with host paging and 0 of 1 without (7 violations, in every guest shape that passes H_LOCAL).",
    ]);
  });

  test("replicate runs (other seeds) are pooled, weighted by guest ops", () => {
    const results = study([
      point(0, { seed: 1 }, { guestOps: 1000, perOp: { tlbie: 1000 } }),
      point(1, { seed: 2 }, { guestOps: 3000, perOp: { tlbie: 600 } }), // need-tlb-flush: (1000 + 1800) / 4 = 700
      point(2, { ...dva(64), seed: 3 }, { perOp: { tlbiel: 350 } }),
    ]);
    expect(findings(results)[0]).toBe("On 256 cores (sweep main, H_LOCAL honest, 2000 page-outs per M guest ops), for 64-vcore guests, deferred-va (cap 64) spends 50.0% fewer "
      + "cycles on invalidation per guest operation than need-tlb-flush (350 vs 700) and 50.0% fewer cycles in all, with 0 violations.");
  });

  test("a saving that rises and falls with the size 'goes', it does not 'grow'", () => {
    const results = study([4, 16, 256].flatMap((cores, i) => [
      point(2 * i, { cores }, { perOp: { tlbie: 1000 } }),
      point(2 * i + 1, { cores, ...dva(64) }, { perOp: { tlbiel: [900, 500, 700][i]! } }),
    ]));
    expect(findings(results)).toContain("For 64-vcore guests (sweep main, H_LOCAL honest, 2000 page-outs per M guest ops), the invalidation saving of deferred-va (cap 64) "
      + "over need-tlb-flush goes from 10.0% on 4 cores to 50.0% on 16 cores and 30.0% on 256 cores.");
  });

  test("equal figures read 'as many', not '0.0% fewer'", () => {
    const results = study([point(0, {}, { perOp: { tlbiel: 300 } }), point(1, dva(64), { perOp: { tlbiel: 300 } })]);
    expect(findings(results)[0]).toContain("spends as many cycles on invalidation per guest operation as need-tlb-flush (300) and as many in all");
  });

  describe("skips what the points do not allow", () => {
    test("no points, no findings", () => {
      expect(findings(study([]))).toEqual([]);
    });

    test("without need-tlb-flush at 16 cores: no saving or queueing across sizes, the rest stays", () => {
      const results = handStudy();
      results.points = results.points.filter((p) => !(p.params.policy === "need-tlb-flush" && p.params.cores === 16));
      const found = findings(results);
      expect(found.some((f) => f.startsWith("On 256 cores (sweep main, H_LOCAL honest, 2000 page-outs per M guest ops), for 64-vcore guests"))).toBe(true);
      expect(found.some((f) => f.includes("saving"))).toBe(false);
      expect(found.some((f) => f.startsWith("tlbie queueing"))).toBe(false);
      expect(found.some((f) => f.startsWith("In the synthetic sweep main, last-vcpu leaks"))).toBe(true);
    });

    test("one policy at one size: only the safety verdict", () => {
      expect(findings(study([point(0, {}, { perOp: { tlbie: 1000 } })]))).toEqual(["need-tlb-flush is untested: the scenario catalogue did not run (results.json without it); no violation in 1 random run."]);
    });

    test("no comparison across different paging rates (like with like)", () => {
      const results = study([point(0, { pageOutsPerMop: 2000 }, { perOp: { tlbie: 1000 } }), point(1, { ...dva(64), pageOutsPerMop: 0 }, { perOp: { tlbiel: 100 } })]);
      const found = findings(results);
      expect(found.some((f) => f.includes("fewer") || f.includes("saving"))).toBe(false);
      expect(found).toEqual([
        "need-tlb-flush is untested: the scenario catalogue did not run (results.json without it); no violation in 1 random run.",
        "deferred-va (cap 64) is untested: the scenario catalogue did not run (results.json without it); no violation in 1 random run.",
      ]);
    });

    test("a single deferred-va cap gives no cap finding; flush-always alone gives no ratio", () => {
      const found = findings(study([point(0, dva(64)), point(1, { policy: "flush-always" }, { perOp: { flush: 100 } })]));
      expect(found.some((f) => f.includes("fewest"))).toBe(false);
      expect(found.some((f) => f.startsWith("flush-always costs"))).toBe(false);
    });
  });
});

// ─── summary.md ──────────────────────────────────────────────────────────────────────────────────

describe("summaryMarkdown", () => {
  test("title, what was run, findings, and the table per shape at the largest size", () => {
    const md = summaryMarkdown(handStudy());
    // the verdict first: what honouring H_LOCAL saves per shape, each policy's safety
    expect(md.startsWith("# hptlab study: synthetic\n\nA hand-made study.\n\n## Verdict\n\n")).toBe(true);
    expect(md).toContain("- last-vcpu: unsafe: the scenario catalogue did not run (results.json without it); leaks in 1 of 2 random runs (3 violations, H_LOCAL honest; first: point 5)\n");
    expect(md).toContain("\n## What was run\n\n- Points: 6 of 6\n"
      + "- Guest operations: 6,000 in total (6,600 engine ops)\n- Machine sizes: 16, 256 cores (SMT4, 128×4 TLB)\n"
      + "- Policies: need-tlb-flush, last-vcpu, deferred-va (cap 64; overflow flush)\n");
    for (const f of findings(handStudy())) expect(md).toContain(`- ${f}\n`);
    expect(md).toContain([
      "## At 256 cores", "", "Per guest operation; TLB hit rate over translations; violations summed over runs.", "",
      "### 64 vcores (256 vcpus in 64 vcores)", "",
      "| policy variant | cycles / guest op | invalidation cycles / guest op | tlbie wait / guest op | TLB hit rate | violations |",
      "|---|---:|---:|---:|---:|---:|",
      "| need-tlb-flush | 3,000 | 1,000 | 400 | 90.0% | 0 |",
      "| last-vcpu | 2,500 | 500 | 0 | 90.0% | 3 |",
      "| deferred-va (cap 64) | 2,628 | 628 | 100 | 90.0% | 0 |",
      "",
    ].join("\n"));
  });

  test("columns for what varies within a shape, and an empty study", () => {
    const md = summaryMarkdown(study([point(0, { hLocal: "lying" }), point(1, { hLocal: "honest" })]));
    expect(md).toContain("| H_LOCAL | policy variant | cycles / guest op |");
    expect(md).toContain("| honest | need-tlb-flush |");
    expect(summaryMarkdown(study([]))).toContain("No finding");
  });
});

// ─── plots ───────────────────────────────────────────────────────────────────────────────────────

/** The texts of a plot's legend labels and axis labels. */
function legendLabels(svg: string): string[] {
  return [...svg.matchAll(/role-legend-label"[^>]*><text[^>]*>([^<]*)<\/text>/g)].map((m) => unescapeXml(m[1]!));
}

function axisLabels(svg: string): string[] {
  return [...svg.matchAll(/role-axis-label"[^>]*>((?:<text[^>]*>[^<]*<\/text>)+)/g)]
    .flatMap((m) => [...m[1]!.matchAll(/>([^<]*)<\/text>/g)].map((t) => unescapeXml(t[1]!)));
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");
}

describe("plots", () => {
  let rendered: Plot[];
  const VARIANTS = ["need-tlb-flush", "need-tlb-flush-3.8", "last-vcpu", "flush-always", "deferred-va (cap 8)", "deferred-va (cap 64)", "deferred-va (cap 512)"];

  beforeAll(async () => {
    rendered = await plots(plotStudy());
  });

  test("all six, in order, as SVG with their titles", () => {
    expect(rendered.map((p) => p.name)).toEqual([
      "cycles-vs-cores", "invalidation-breakdown", "tlbie-wait-vs-cores", "violations", "tlb-hit-rate-vs-cores", "deferred-cap-sweep",
    ]);
    for (const p of rendered) {
      expect(p.svg.startsWith("<svg")).toBe(true);
      expect(p.svg.trimEnd().endsWith("</svg>")).toBe(true);
      expect(p.svg).toContain(`>${p.title}</text>`);
      expect(p.caption.length).toBeGreaterThan(20);
    }
    expect(rendered.find((p) => p.name === "invalidation-breakdown")!.title).toBe("Invalidation cost by category at 256 cores");
  });

  test("lines against cores: one legend entry per policy variant, log-2 axis at the sizes run", () => {
    for (const name of ["cycles-vs-cores", "tlbie-wait-vs-cores", "tlb-hit-rate-vs-cores"]) {
      const svg = rendered.find((p) => p.name === name)!.svg;
      expect(legendLabels(svg)).toEqual(VARIANTS);
      expect(axisLabels(svg)).toEqual(expect.arrayContaining(["4", "16", "256"]));
      expect(svg).toContain(">1 vcpu</text>");
      expect(svg).toContain(">64 vcores</text>");
      // Paging on is the slice shown, and the subtitle says so.
      expect(svg).toContain("2000 page-outs per M guest ops");
    }
  });

  test("breakdown: one bar per variant, the invalidation categories stacked", () => {
    const svg = rendered.find((p) => p.name === "invalidation-breakdown")!.svg;
    expect(legendLabels(svg)).toEqual(["tlbiel", "tlbie", "tlbie wait (fabric)", "LPID flush", "IPI (overflow)"]);
    expect(axisLabels(svg)).toEqual(expect.arrayContaining(VARIANTS));
  });

  test("violations: every variant, with and without paging, counts written on the bars; no legend to contradict them", () => {
    const svg = rendered.find((p) => p.name === "violations")!.svg;
    expect(axisLabels(svg)).toEqual(expect.arrayContaining(VARIANTS));
    // each bar says what it is (a bar of 0 draws nothing, so a legend of solid and faint had nothing to match)
    expect(legendLabels(svg)).toEqual([]);
    // last-vcpu leaks in the 64-vcore paging runs: 3 sizes × 2 violations.
    expect(svg).toContain(">3 of 6 (paging)</text>");
    expect(svg).toContain(">6 (paging)</text>");
    expect(svg).toContain(">0 of 6 (no paging)</text>");
    // 3 sizes × 2 shapes × 2 paging rates × 7 variants: every run counted, and the subtitle says how many
    expect(svg).toContain("all 84 runs of the study (sweep main)");
    const rows = violationRows(cellsOf(plotStudy().points));
    expect(rows.reduce((n, r) => n + r.runs, 0)).toBe(84);
    // one bar per variant and paging rate, each with its label: bars = labels = 7 × 2 per panel
    const labels = [...svg.matchAll(/>(\d+ of \d+ \((?:no )?paging\))<\/text>/g)];
    expect(labels).toHaveLength(14);
  });

  test("cap sweep: deferred-va against need-tlb-flush, violations annotated", () => {
    const svg = rendered.find((p) => p.name === "deferred-cap-sweep")!.svg;
    expect(legendLabels(svg)).toEqual(["deferred-va", "need-tlb-flush"]);
    expect(axisLabels(svg)).toEqual(expect.arrayContaining(["8", "64", "512"]));
    expect(svg).toContain(">violations: 0 in 3 runs</text>");
  });

  test("a plot whose data is missing is left out", async () => {
    expect(await plots(study([]))).toEqual([]);
    // One size, no caps: no plot against cores, no cap sweep; the breakdown and violations remain.
    const one = await plots(study([point(0, {}, { perOp: { tlbie: 100 } }), point(1, dva(64), { perOp: { tlbiel: 100 } })]));
    expect(one.map((p) => p.name)).toEqual(["invalidation-breakdown", "violations"]);
  });

  test("element ids are renumbered per plot, so inline SVGs never collide", () => {
    // These plots may hold no clip path at all; any id there is, is the plot's own.
    for (const p of rendered) {
      for (const m of p.svg.matchAll(/\sid="([^"]+)"/g)) expect(m[1]!.startsWith(`${p.name}-`)).toBe(true);
    }
    expect(uniqueIds('<g id="clip7"><rect clip-path="url(#clip7)"/></g><g clip-path="url(#clip9)"/><g id="clip9"/>', "p"))
      .toBe('<g id="p-1"><rect clip-path="url(#p-1)"/></g><g clip-path="url(#p-2)"/><g id="p-2"/>');
  });
});

// ─── report.html, determinism, files ─────────────────────────────────────────────────────────────

function escHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

describe("reportHtml", () => {
  test("self-contained: every plot and finding, the tables, the config; no script, no URL but the SVG namespace", async () => {
    const results = plotStudy();
    const html = await reportHtml(results);
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    for (const p of await plots(results)) {
      expect(html).toContain(`<figure id="plot-${p.name}">`);
      expect(html).toContain(`>${p.title}</text>`);
      expect(html).toContain(`<figcaption>${escHtml(p.caption)}${p.note ? ` <span class="note">${escHtml(p.note)}</span>` : ""}</figcaption>`);
    }
    const found = findings(results);
    expect(found.length).toBeGreaterThan(4);
    for (const [i, f] of found.entries()) expect(html).toContain(`<li id="finding-${i + 1}">${escHtml(f)}</li>`);
    expect(html).toContain("<h2 id=\"tables\">At 256 cores</h2>");
    expect(html).toContain("<details>");
    expect(html).toContain("&quot;seed&quot;: 2012");
    expect(html).toContain("hptlab 0.1.0");
    expect(html.toLowerCase()).not.toContain("<script");
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)]*/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(["http://www.w3.org/2000/svg"]));
    expect(html).not.toMatch(/(src|href)="(?!#)/);
    // One xmlns per inline SVG.
    expect(html.split('xmlns="http://www.w3.org/2000/svg"').length - 1).toBe(6);
  });
});

describe("determinism", () => {
  test("the same results give the same bytes, whatever was rendered before", async () => {
    const a = await reportHtml(handStudy());
    await plots(plotStudy()); // moves vega's process-wide id counters
    const b = await reportHtml(handStudy());
    expect(b).toBe(a);
    expect(resultsCsv(plotStudy())).toBe(resultsCsv(plotStudy()));
    expect(summaryMarkdown(plotStudy())).toBe(summaryMarkdown(plotStudy()));
    // Point order in the file does not matter: the outputs follow the ids.
    const shuffled = handStudy();
    shuffled.points.reverse();
    expect(resultsCsv(shuffled)).toBe(resultsCsv(handStudy()));
    expect(findings(shuffled)).toEqual(findings(handStudy()));
  });
});

describe("writeStudyOutputs", () => {
  test("writes results.json, results.csv, summary.md and report.html into a new directory", async () => {
    const root = await mkdtemp(join(tmpdir(), "hptlab-report-"));
    try {
      const dir = join(root, "a", "b");
      const results = handStudy();
      const { files } = await writeStudyOutputs(results, dir);
      expect(files).toEqual(["results.json", "results.csv", "summary.md", "report.html"].map((f) => join(dir, f)));
      expect(await readFile(files[0]!, "utf8")).toBe(JSON.stringify(results, null, 1) + "\n");
      expect(JSON.parse(await readFile(files[0]!, "utf8"))).toEqual(results);
      expect(await readFile(files[1]!, "utf8")).toBe(resultsCsv(results));
      expect(await readFile(files[2]!, "utf8")).toBe(summaryMarkdown(results));
      expect(await readFile(files[3]!, "utf8")).toBe(await reportHtml(results));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
