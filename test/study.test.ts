// Studies: config validation, point expansion, determinism whatever the workers or shards, merge.
import { tempDir } from "./tmp.js";
import { describe, expect, it } from "vitest";
import { resolveStudy, expandStudy, pointSeed, parseShard, studyCosts } from "../src/study/config.js";
import { runStudy, mergeResults, shardPoints, taskGroups, type Progress } from "../src/study/run.js";
import { etaSeconds } from "../src/cli-study.js";
import { runPoint, runPoints } from "../src/study/point.js";
import { test as propTest, fc } from "@fast-check/vitest";
import { ZipfSampler } from "../src/workload/synthetic.js";
import { mulberry32 } from "../src/workload/scheduler.js";
import { ConfigError } from "../src/config.js";
import { hugePagesUnavailable } from "../src/engine/hugepages.js";
import { readFileSync } from "node:fs";

const small = (over: Record<string, unknown> = {}) => resolveStudy({
  name: "small",
  seed: 7,
  opsPerPoint: 4000,
  sweeps: [{
    name: "s", cores: [1, 4], shapes: [{ label: "1 vcpu", vcpus: 1, threadsPerVcore: 4 }, { label: "4 vcores", vcpus: 16, threadsPerVcore: 4 }],
    policies: [{ policy: "need-tlb-flush" }, { policy: "last-vcpu" }, { policy: "deferred-va", deferredCaps: [1, 8] }],
    hLocal: ["lying"], pageOutsPerMop: [5000],
  }],
  ...over,
});

describe("study config", () => {
  it("fills defaults and expands points in a fixed order with per-point seeds", () => {
    const s = small();
    expect(s.machine).toEqual({ smt: 4, tlbSets: 128, tlbWays: 4, costs: {} });
    expect(s.workload.zipf).toBe(0.9);
    const pts = expandStudy(s);
    expect(pts).toHaveLength(2 * 2 * 4); // cores × shapes × (2 policies + 2 caps)
    expect(pts.map((p) => p.id)).toEqual([...pts.keys()]);
    expect(pts.slice(0, 4).map((p) => [p.params.cores, p.params.shape, p.params.policy, p.params.deferredCap])).toEqual([
      [1, "1 vcpu", "need-tlb-flush", null], [1, "1 vcpu", "last-vcpu", null], [1, "1 vcpu", "deferred-va", 1], [1, "1 vcpu", "deferred-va", 8],
    ]);
    // one seed per configuration (cores × shape here), shared by its 4 policy variants
    expect(pts[5]!.params.seed).toBe(pointSeed(7, 1));
    expect(pts.slice(0, 4).every((p) => p.params.seed === pointSeed(7, 0))).toBe(true);
    expect(new Set(pts.map((p) => p.params.seed)).size).toBe(4);
  });

  it("errors name the field (and the file)", () => {
    expect(() => resolveStudy({ name: "x", sweeps: [{ name: "s", cores: [2048], shapes: [{ label: "a", vcpus: 1, threadsPerVcore: 4 }], policies: [{ policy: "last-vcpu" }] }] })).toThrow(/study\.sweeps\.0\.cores\.0/);
    expect(() => resolveStudy({ name: "x", sweeps: [] }, "f.json")).toThrow(/^f\.json: study\.sweeps/);
    expect(() => resolveStudy({ name: "x", sweeps: [{ name: "s", cores: [1], shapes: [{ label: "a", vcpus: 1, threadsPerVcore: 4 }], policies: [{ policy: "last-vcpu", deferredCaps: [4] }] }] })).toThrow(ConfigError);
    expect(() => resolveStudy({ ...small(), bogus: 1 })).toThrow(/unknown key "bogus"/);
    expect(() => parseShard("3/2")).toThrow(/--shard/);
    expect(parseShard("2/5")).toEqual({ k: 2, n: 5 });
  });

  it("the default study: POWER7 scale, every policy, ≥ 100 million guest operations", () => {
    const s = resolveStudy(JSON.parse(readFileSync(new URL("../studies/default.json", import.meta.url), "utf8")));
    const pts = expandStudy(s);
    expect(pts.reduce((a, p) => a + p.params.ops, 0)).toBeGreaterThanOrEqual(100e6);
    expect(Math.max(...pts.map((p) => p.params.cores))).toBe(256);
    expect(new Set(pts.map((p) => p.params.policy))).toEqual(new Set(["need-tlb-flush", "need-tlb-flush-3.8", "last-vcpu", "flush-always", "deferred-va", "lazy-reuse", "ipi-tlbiel", "batched-reclaim", "p9-hash", "p9-hash-core-tlb"]));
    // lazy-reuse (docs/model/policies.md §9) runs in the POWER7 scaling sweep (every core count, shape, H_LOCAL mode and
    // paging rate) and, outside its generations, in the POWER9/POWER10 sweeps (3 core counts × 2 shapes each)
    const lazy = pts.filter((p) => p.params.policy === "lazy-reuse");
    expect([new Set(lazy.map((p) => p.params.sweep)), lazy.length]).toEqual([new Set(["scaling", "power9", "power10"]), 9 * 4 * 2 * 3 + 2 * 3 * 2]);
    // issue 16: the IPI and batched schemes in the POWER7 scaling sweep, and the mask-precision sweep of the migration rate
    const scaling = pts.filter((p) => p.params.sweep === "scaling");
    for (const policy of ["ipi-tlbiel", "batched-reclaim"]) expect(scaling.filter((p) => p.params.policy === policy)).toHaveLength(9 * 4 * 2 * 3);
    const mask = pts.filter((p) => p.params.sweep === "ipi-mask");
    expect([new Set(mask.map((p) => p.params.policy)), new Set(mask.map((p) => p.params.migrationRate)), mask.length])
      .toEqual([new Set(["need-tlb-flush", "ipi-tlbiel"]), new Set([0.01, 0.05, 0.2, 0.5]), 3 * 2 * 2 * 4]);
    const synthetic = pts.filter((p) => p.params.workload === "kernel-churn" && p.params.generation === undefined);
    expect(new Set(synthetic.map((p) => p.params.shape))).toEqual(new Set(["1 vcpu", "1 vcore", "4 vcores", "64 vcores"]));
    // issue 19: the POWER9 (E980) and POWER10 (E1080) sweeps beside the POWER7 ones, each on its preset with its generation's profile
    const today = pts.filter((p) => p.params.generation !== undefined);
    expect(new Set(today.map((p) => `${p.params.sweep}:${p.params.generation}:${p.params.smt}:${p.params.tlbThreadsPerGroup}`))).toEqual(new Set(["power9:power9:8:4", "power10:power10:8:4"]));
    // issue 16: the newer schemes beside them (their generations are power7/power8: outside them here, listed apart)
    expect(new Set(today.map((p) => p.params.policy))).toEqual(new Set(["need-tlb-flush", "p9-hash", "p9-hash-core-tlb", "deferred-va", "flush-always", "lazy-reuse", "ipi-tlbiel", "batched-reclaim"]));
    expect(Math.max(...today.filter((p) => p.params.generation === "power9").map((p) => p.params.cores))).toBe(192);
    expect(Math.max(...today.filter((p) => p.params.generation === "power10").map((p) => p.params.cores))).toBe(240);
    expect(today).toHaveLength(2 * 3 * 2 * 8);
    expect(Object.fromEntries(Object.entries(studyCosts(s).sweeps!).map(([k, v]) => [k, v.profile]))).toEqual({ power9: "power9", power10: "power10" });
    // the real guest: the shipped Linux 6.1 trace, 1 to 256 cores, every H_LOCAL mode, both vcore shapes
    const real = pts.filter((p) => p.params.workload === "hcall-trace");
    expect(new Set(real.map((p) => p.params.trace))).toEqual(new Set(["../data/traces/linux-6.1-guest-boot-wl20.jsonl.gz"]));
    expect(new Set(real.map((p) => p.params.hLocal))).toEqual(new Set(["never", "honest", "lying"]));
    expect(new Set(real.map((p) => p.params.cores))).toEqual(new Set([1, 2, 4, 8, 16, 32, 64, 128, 256]));
    expect(new Set(real.map((p) => `${p.params.vcpus}/${p.params.threadsPerVcore}`))).toEqual(new Set(["2/1", "2/2"]));
    expect(real).toHaveLength(9 * 2 * 3 * 5);
    const caps = new Set(pts.filter((p) => p.params.policy === "deferred-va").map((p) => p.params.deferredCap));
    expect(Math.min(...caps as Set<number>)).toBe(1);
    expect(Math.max(...caps as Set<number>)).toBe(4096);
  });
});

describe("workload pieces", () => {
  it("Zipf alias sampler matches the distribution", () => {
    const z = new ZipfSampler(10, 1);
    const r = mulberry32(3);
    const n = 200000;
    const counts = new Array(10).fill(0);
    for (let i = 0; i < n; i++) counts[z.draw(r(), r())]++;
    const h = Array.from({ length: 10 }, (_, i) => 1 / (i + 1)).reduce((a, b) => a + b);
    counts.forEach((c, i) => expect(Math.abs(c / n - 1 / (i + 1) / h)).toBeLessThan(0.006));
  });

  it("a shared Zipf sampler draws what a fresh one draws", () => {
    const shared = ZipfSampler.of(300, 0.9);
    expect(ZipfSampler.of(300, 0.9)).toBe(shared);
    expect(ZipfSampler.of(300, 0.8)).not.toBe(shared);
    const fresh = new ZipfSampler(300, 0.9);
    const r = mulberry32(11);
    for (let i = 0; i < 5000; i++) {
      const u = r(), v = r();
      expect(shared.draw(u, v)).toBe(fresh.draw(u, v));
    }
  });

  it("a point's counters add up and the engine refuses none of the generator's hcalls", () => {
    const [p] = expandStudy(small()).filter((x) => x.params.cores === 4 && x.params.shape === "4 vcores" && x.params.policy === "deferred-va");
    const r = runPoint(p!);
    expect(r.guestOps).toBe(4000);
    expect(r.counters.translations! + r.counters["H_ENTER.H_SUCCESS"]! + r.counters["H_REMOVE.H_SUCCESS"]! + r.counters["H_PROTECT.H_SUCCESS"]! + r.counters["H_BULK_REMOVE.H_SUCCESS"]!).toBeGreaterThanOrEqual(4000);
    for (const h of ["H_ENTER", "H_REMOVE", "H_PROTECT", "H_BULK_REMOVE"]) {
      for (const b of ["H_PARAMETER", "H_PTEG_FULL", "H_NOT_FOUND", "H_PRIVILEGE", "other"]) expect([h, b, r.counters[`${h}.${b}`]]).toEqual([h, b, 0]);
    }
    expect(r.totalCycles).toBe(Object.values(r.cycles).reduce((a, b) => a + b, 0));
    expect(r.counters.deferredRecords).toBeGreaterThan(0); // lying H_LOCAL on a 4-vcore guest
    expect(r.violations).toBe(0);
  });
});

describe("running studies", () => {
  it("results are byte-identical with 1 or 2 workers, and as two shards merged", async () => {
    const s = small();
    const one = await runStudy(s, { workers: 1 });
    const two = await runStudy(s, { workers: 2 });
    const a = JSON.stringify(one.results);
    expect(JSON.stringify(two.results)).toBe(a);
    const s1 = await runStudy(s, { workers: 1, shard: { k: 1, n: 2 } });
    const s2 = await runStudy(s, { workers: 1, shard: { k: 2, n: 2 } });
    expect(s1.results.points.map((p) => p.id)).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
    const merged = mergeResults([{ file: "b", results: s2.results }, { file: "a", results: s1.results }]);
    expect(JSON.stringify(merged)).toBe(a);
    expect(() => mergeResults([{ file: "a", results: s1.results }])).toThrow(/8 of 16 points are missing/);
    expect(mergeResults([{ file: "a", results: s1.results }], true).points).toHaveLength(8);
    const other = await runStudy(small({ seed: 8 }), { workers: 1, shard: { k: 2, n: 2 } });
    expect(() => mergeResults([{ file: "a", results: s1.results }, { file: "c", results: other.results }])).toThrow(/c: a different study/);
    expect(one.timing.guestOps).toBe(16 * 4000);
  });

  const SHAPES = [
    { label: "1 vcpu", vcpus: 1, threadsPerVcore: 4 },
    { label: "4 vcores", vcpus: 16, threadsPerVcore: 4 },
    { label: "64 vcores", vcpus: 256, threadsPerVcore: 4 }, // more vcpus than small machines have: preemption
  ];
  const variants = (c: { cores: number; shape: number; hLocal: string; paging: number; seed: number }) => expandStudy(resolveStudy({
    name: "g", seed: c.seed, opsPerPoint: 3000,
    sweeps: [{
      name: "s", cores: [c.cores], shapes: [SHAPES[c.shape]!], hLocal: [c.hLocal], pageOutsPerMop: [c.paging],
      policies: [{ policy: "need-tlb-flush" }, { policy: "last-vcpu" }, { policy: "flush-always" }, { policy: "deferred-va", deferredCaps: [1, 64] }],
    }],
  }));

  propTest.prop([fc.record({
    cores: fc.constantFrom(1, 2, 4, 16), shape: fc.integer({ min: 0, max: 2 }), hLocal: fc.constantFrom("never", "honest", "lying"),
    paging: fc.constantFrom(0, 5000, 50000), seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  })], { numRuns: 8 })("a configuration's policy variants run as one task on one generator, each with its result alone", (c) => {
    const pts = variants(c);
    expect(taskGroups(pts, pts.map((_, i) => i))).toEqual([pts.map((_, i) => i)]);
    const alone = pts.map((p) => runPoint(p));
    expect(runPoints(pts)).toEqual(alone.map((result) => ({ result })));
  });

  it("a point that fails inside its group fails alone: the group's other points still get their results", () => {
    const pts = variants({ cores: 2, shape: 1, hLocal: "honest", paging: 5000, seed: 3 });
    const alone = pts.map((p) => runPoint(p));
    // a cost table the machine refuses, on one variant only (costs are not the generator's)
    const bad = { ...pts[2]!, run: { ...pts[2]!.run, costs: { coresPerChip: 0 } } };
    const mixed = pts.map((p, i) => (i === 2 ? bad : p));
    expect(taskGroups(mixed, mixed.map((_, i) => i))).toEqual([mixed.map((_, i) => i)]);
    const r = runPoints(mixed);
    expect(r[2]).toEqual({ error: "machine.costs.coresPerChip: must be at least 1" });
    expect(r.filter((_, i) => i !== 2)).toEqual(alone.filter((_, i) => i !== 2).map((result) => ({ result })));
  });

  it("the variants sharing a generator see the same ops and differ in what their policies do", () => {
    const pts = variants({ cores: 4, shape: 1, hLocal: "lying", paging: 50000, seed: 11 });
    const together = runPoints(pts).map((o) => ("result" in o ? o.result : null));
    expect(new Set(together.map((r) => r!.counters.translations)).size).toBe(1);
    expect(new Set(together.map((r) => r!.invalidationCycles)).size).toBe(pts.length);
    expect(together).toEqual(pts.map((p) => runPoint(p)));
  });

  it("progress carries the estimated work for the ETA: it rises to the total, and the ETA falls to 0", async () => {
    const seen: Progress[] = [];
    await runStudy(small(), { workers: 1, onProgress: (p) => void seen.push({ ...p }) });
    expect(seen.map((p) => p.done)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.work).toBeGreaterThan(seen[i - 1]!.work);
    expect(seen.at(-1)!.work).toBe(seen[0]!.totalWork);
    expect(etaSeconds(seen.at(-1)!)).toBe(0);
    // a quarter of the work in 10 s: 30 s left, whatever share of the points is done
    expect(etaSeconds({ done: 1, total: 4, guestOps: 0, seconds: 10, work: 25, totalWork: 100 })).toBe(30);
  });

  it("shards partition the points", () => {
    const pts = expandStudy(small());
    const ids = [1, 2, 3].flatMap((k) => shardPoints(pts, { k, n: 3 }).map((p) => p.id)).sort((x, y) => x - y);
    expect(ids).toEqual(pts.map((p) => p.id));
  });
});

import { cli } from "./cli-run.js";
import { writeFileSync, readdirSync } from "node:fs";
import { join } from "node:path";


describe("hptlab study / merge", () => {
  const dir = tempDir("study");
  const cfgFile = join(dir, "small.json");
  writeFileSync(cfgFile, JSON.stringify({
    name: "cli", seed: 3, opsPerPoint: 3000,
    sweeps: [{ name: "s", cores: [1, 4], shapes: [{ label: "4 vcores", vcpus: 16, threadsPerVcore: 4 }], policies: [{ policy: "need-tlb-flush" }, { policy: "deferred-va", deferredCaps: [4] }], hLocal: ["lying"], pageOutsPerMop: [20000] }],
  }));

  it("writes results.json, results.csv, summary.md, report.html and timing.json; prints findings and the report path", async () => {
    const out = join(dir, "one");
    const r = await cli(["study", cfgFile, "--out", out, "--workers", "1", "--quiet"]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(readdirSync(out).sort()).toEqual(["points", "report.html", "results.csv", "results.json", "study.json", "summary.md", "timing.json"]);
    expect(r.stdout).toContain("Findings:");
    expect(r.stdout).toContain(`Report: ${join(out, "report.html")}`);
    const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    expect([res.format, res.totalPoints, res.points.length]).toEqual(["hptlab-results", 4, 4]);
    const timing = JSON.parse(readFileSync(join(out, "timing.json"), "utf8"));
    expect([timing.points, timing.workers, timing.guestOps, timing.hugePages]).toEqual([4, 1, 4 * 3000, hugePagesUnavailable() === ""]);
  });

  it("two shards merged give the same results.json as one run; --json is machine-readable", async () => {
    const [a, b, m] = ["sa", "sb", "merged"].map((x) => join(dir, x));
    expect((await cli(["study", cfgFile, "--out", a!, "--shard", "1/2", "--workers", "1", "--quiet"])).code).toBe(0);
    expect((await cli(["study", cfgFile, "--out", b!, "--shard", "2/2", "--workers", "1", "--quiet"])).code).toBe(0);
    expect(readdirSync(a!).sort()).toEqual(["points", "results.json", "study.json", "timing.json"]);
    const merged = await cli(["merge", join(a!, "results.json"), join(b!, "results.json"), "--out", m!, "--json"]);
    expect(merged.code).toBe(0);
    expect(JSON.parse(merged.stdout).points).toBe(4);
    expect(readFileSync(join(m!, "results.json"), "utf8")).toBe(readFileSync(join(dir, "one", "results.json"), "utf8"));
    const partial = await cli(["merge", join(a!, "results.json"), "--out", join(dir, "p")]);
    expect(partial.code).toBe(2);
    expect(partial.stderr).toMatch(/2 of 4 points are missing/);
  });

  it("bad input: one-line errors naming the file, line and field; exit 2", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, '{\n  "name": "x",\n  "sweeps": [ }\n');
    const r = await cli(["study", bad, "--out", join(dir, "x")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`hptlab: ${bad}:3:15: invalid JSON: value expected\n`);
    writeFileSync(bad, JSON.stringify({ name: "x", sweeps: [{ name: "s", cores: [0], shapes: [{ label: "a", vcpus: 1, threadsPerVcore: 4 }], policies: [{ policy: "last-vcpu" }] }] }));
    const f = await cli(["study", bad]);
    expect(f.stderr.trim()).toMatch(/bad\.json: study\.sweeps\.0\.cores\.0: /);
    expect((await cli(["study", join(dir, "missing.json")])).stderr).toMatch(/cannot read .*missing\.json: ENOENT/);
    expect((await cli(["study", cfgFile, "--shard", "0/2"])).stderr).toMatch(/--shard/);
  });
});

describe("docs/study.md", () => {
  it("the annotated config is a valid study as written (JSONC)", async () => {
    const { parse } = await import("jsonc-parser");
    const doc = readFileSync(new URL("../docs/study.md", import.meta.url), "utf8");
    const block = /```jsonc\n([\s\S]*?)```/.exec(doc)![1]!;
    const errors: unknown[] = [];
    const s = resolveStudy(parse(block, errors as never));
    expect(errors).toEqual([]);
    expect(expandStudy(s)).toHaveLength(3 * 2 * 2 * 2 * 4 + 3 * 1 * 1 * 1 * 2); // cores × shapes × hLocal × paging × (1 + 3 caps); the power9 sweep
    expect(s.machine.costs.tlbieBase).toBe(800);
  });
});

describe("limits stated up front", () => {
  it("a point that would not fit is refused before anything runs, with its size", async () => {
    const { pointMemoryBytes } = await import("../src/workload/synthetic.js");
    const { checkStudyLimits } = await import("../src/study/run.js");
    const s = small({ sweeps: [{ name: "big", cores: [1024], shapes: [{ label: "huge", vcpus: 4096, threadsPerVcore: 4 }], policies: [{ policy: "deferred-va", deferredCaps: [1 << 20] }], guests: 64 }] });
    const pts = expandStudy(s);
    const need = pointMemoryBytes(pts[0]!.run);
    expect(need).toBeGreaterThan(50 * 2 ** 20); // TLBs of 1024 cores, 64 guests, a 16 MiB deferred list
    expect(() => checkStudyLimits(pts, 50 * 2 ** 20)).toThrow(/^point 0 \(big: 1024 cores, huge, deferred-va cap 1048576, H_LOCAL honest, 0 page-outs\/Mop\) needs [\d.]+ MiB of memory; the limit is 50 MiB$/);
    expect(() => checkStudyLimits(pts)).not.toThrow(); // a study's machines are far below 4 GiB
    // and what fits is what the engine then allocates (within a page)
    const ok = expandStudy(small())[5]!;
    const { runWorkload } = await import("../src/workload/synthetic.js");
    const { machine } = runWorkload({ ...ok.run, ops: 10 });
    expect(Math.abs(machine.memoryBytes - pointMemoryBytes(ok.run))).toBeLessThanOrEqual(65536 * 2);
  });
});
