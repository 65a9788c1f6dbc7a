// The soak's verdict (src/soak/verdict.ts, docs/soak.md) on synthetic series — a machine whose
// state settles, a slowdown in the same state, contention the calibration accounts for, a leak, a
// GC sawtooth, a state that never settles — and on a series recorded from a real soak (as recorded,
// then with a leak or a slowdown laid over it). Then short soaks with each injected fault
// (HPTLAB_SOAK_INJECT's kinds, run as `bench/soak.ts` in a child process): the verdict fails, and
// the fault is checked by what it did (bytes kept, steps added), not by time.
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { soakVerdict, stateDifferences, calibratedMops, DEFAULT_VERDICT, type VerdictEpoch } from "../src/soak/verdict.js";
import { injectionFromEnv } from "../src/soak/run.js";
import { mulberry32 } from "../src/workload/scheduler.js";
import { tempDir } from "./tmp.js";

const MiB = 2 ** 20;
const STATE = { hptFill: 0.0304, rmapMean: 2.25, tlbFill: 0.066, tlbHitRate: 0.564, ptegsPerWalk: 1.014, tlbiesPerMop: 15100, entriesPerTlbie: 14.3 };

/** n epochs of a quiet run (±5% throughput noise, ±2% state noise), each changed by `f`. */
function series(n: number, f: (k: number, e: VerdictEpoch) => void = () => {}, seed = 7): VerdictEpoch[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, (_, k) => {
    const state: Record<string, number> = {};
    for (const [key, v] of Object.entries(STATE)) state[key] = v * (1 + 0.04 * (r() - 0.5));
    const e: VerdictEpoch = {
      guestOps: (k + 1) * 5e7, mopsCpu: 8 * (1 + 0.1 * (r() - 0.5)), heapAfterGc: 10 * MiB + r() * 0.2 * MiB, externalAfterGc: 2.4 * MiB,
      wasmBytes: 25 * MiB, calibrationSeconds: 0.1, state,
    };
    f(k, e);
    return e;
  });
}

/** Mean state of some epochs. */
function stateOf(es: VerdictEpoch[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(es[0]!.state)) out[k] = es.reduce((s, e) => s + e.state[k]!, 0) / es.length;
  return out;
}

describe("soak verdict, synthetic series", () => {
  it("passes a quiet run and says which epochs it compared", () => {
    const v = soakVerdict(series(20));
    expect(v.problems).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.steadyFrom).toBe(DEFAULT_VERDICT.warmup);
    expect([v.early!.from, v.early!.to, v.late!.from, v.late!.to]).toEqual([1, 10, 10, 20]);
    expect(v.throughputRatio!).toBeGreaterThan(0.9);
    expect(v.throughputRatio!).toBeLessThan(1.1);
  });

  it("compares like with like: a warming machine (hit rate rising, ops cheaper) is not a decay", () => {
    // the first 6 epochs: fewer TLB hits and fuller work per op, and faster (a cold machine does other work)
    const es = series(20, (k, e) => {
      if (k < 6) {
        e.state.tlbHitRate = 0.3 + 0.04 * k;
        e.state.tlbFill = 0.02 + 0.008 * k;
        e.mopsCpu = 12 - 0.5 * k;
      }
    });
    // first vs last epochs, unlike states: 12 → 8 would read as a 33% decay
    expect(es.at(-1)!.mopsCpu / es[1]!.mopsCpu).toBeLessThan(0.75);
    const v = soakVerdict(es);
    expect(v.problems).toEqual([]);
    // the compared halves start past most of the warming, and their mean states agree
    expect(v.steadyFrom!).toBeGreaterThanOrEqual(2);
    expect(stateDifferences(v.early!.state, v.late!.state)).toEqual([]);
    expect(stateDifferences(stateOf(es.slice(1, 10)), v.late!.state)).not.toEqual([]);
    expect(v.throughputRatio!).toBeGreaterThan(0.85);
  });

  it("fails a slowdown in the same machine state", () => {
    const v = soakVerdict(series(20, (k, e) => { e.mopsCpu *= 1 - 0.025 * k; }));
    expect(v.ok).toBe(false);
    expect(v.problems).toHaveLength(1);
    expect(v.problems[0]).toMatch(/^throughput decays in the same machine state: /);
    expect(v.throughputRatio!).toBeLessThan(0.8);
  });

  it("a host that ran slower (calibration took longer) is not a slowdown; the same series without calibration is", () => {
    const contended = (k: number, e: VerdictEpoch) => {
      if (k >= 12) { e.mopsCpu *= 0.6; e.calibrationSeconds = 0.1 / 0.6; }
    };
    const v = soakVerdict(series(20, contended));
    expect(v.problems).toEqual([]);
    expect(v.late!.mopsCpu / v.early!.mopsCpu).toBeLessThan(0.8);
    const bare = soakVerdict(series(20, (k, e) => { contended(k, e); delete e.calibrationSeconds; }));
    expect(bare.problems[0]).toMatch(/^throughput decays/);
    // the scaling: throughput × this epoch's calibration / the reference
    expect(calibratedMops({ ...series(1)[0]!, mopsCpu: 6, calibrationSeconds: 0.15 }, 0.1)).toBeCloseTo(9, 12);
    expect(calibratedMops({ ...series(1)[0]!, mopsCpu: 6, calibrationSeconds: undefined }, 0.1)).toBe(6);
  });

  it("fails live memory that grows after full collections, not a sawtooth around a level", () => {
    const leak = soakVerdict(series(20, (k, e) => { e.heapAfterGc += k * MiB; }));
    expect(leak.ok).toBe(false);
    expect(leak.problems).toHaveLength(1);
    expect(leak.problems[0]).toMatch(/^live memory grows: /);
    expect(leak.liveSlopeBytesPerEpoch / MiB).toBeCloseTo(1, 1);
    // external memory (ArrayBuffers) counts too
    expect(soakVerdict(series(20, (k, e) => { e.externalAfterGc += k * MiB; })).problems[0]).toMatch(/^live memory grows/);
    // ±6 MiB every other epoch (what raw heapUsed or rss looks like between collections): no trend
    const saw = soakVerdict(series(20, (k, e) => { e.heapAfterGc += k % 2 ? 6 * MiB : -6 * MiB; }));
    expect(saw.problems).toEqual([]);
    expect(Math.abs(saw.liveGrowthBytes)).toBeLessThan(DEFAULT_VERDICT.maxGrowthBytes);
  });

  it("fails when the state never settles, naming what moved, instead of comparing unlike stretches", () => {
    const v = soakVerdict(series(20, (k, e) => { e.state.tlbHitRate = 0.2 + 0.03 * k; }));
    expect(v.ok).toBe(false);
    expect(v.steadyFrom).toBeNull();
    expect(v.throughputRatio).toBeNull();
    expect(v.problems).toHaveLength(1);
    expect(v.problems[0]).toMatch(/^the machine's state never settles, throughput not compared \(run longer\): after warm-up, tlbHitRate 0\.\d+ → 0\.\d+$/);
  });

  it("fails a WASM memory that grows after warm-up, and too short a run", () => {
    expect(soakVerdict(series(20, (k, e) => { if (k > 10) e.wasmBytes += 64 * 1024; })).problems).toEqual(["the WASM memory grows after warm-up: +0.063 MiB"]);
    expect(soakVerdict(series(4)).problems).toEqual(["too few epochs to compare: 4 (warm-up 1, at least 3 per half)"]);
  });

  it("stateDifferences: relative tolerance, and an absolute floor for near-zero measures", () => {
    expect(stateDifferences({ a: 100, b: 0.0001 }, { a: 109, b: 0.0009 })).toEqual([]);
    expect(stateDifferences({ a: 100, b: 0.5 }, { a: 112, b: 0.5 })).toEqual(["a 100 → 112"]);
  });
});

describe("soak verdict, a recorded series", () => {
  // a real soak's series (test/fixtures/soak-series.json: `npx tsx bench/soak.ts --series FILE`, see the file's command)
  const recorded = JSON.parse(readFileSync(join(import.meta.dirname, "fixtures/soak-series.json"), "utf8")) as { command: string; series: VerdictEpoch[] };
  const copy = () => recorded.series.map((e) => ({ ...e, state: { ...e.state } }));

  it("passes as recorded", () => {
    const v = soakVerdict(recorded.series);
    expect(v.problems).toEqual([]);
    expect(v.steadyFrom).not.toBeNull();
  });

  it("fails with 2 MiB an epoch kept alive laid over it", () => {
    const v = soakVerdict(copy().map((e, k) => ({ ...e, heapAfterGc: e.heapAfterGc + 2 * MiB * k })));
    expect(v.problems.map((p) => p.split(":")[0])).toEqual(["live memory grows"]);
  });

  it("fails with a slowdown of 5% an epoch laid over it", () => {
    const v = soakVerdict(copy().map((e, k) => ({ ...e, mopsCpu: e.mopsCpu / (1 + 0.05 * k) })));
    expect(v.problems.map((p) => p.split(":")[0])).toEqual(["throughput decays in the same machine state"]);
  });
});

describe("soak injections", () => {
  it("HPTLAB_SOAK_INJECT: none, leak, slow; anything else is an error", () => {
    expect([undefined, "", "none", "leak", "slow"].map((v) => injectionFromEnv(v))).toEqual(["none", "none", "none", "leak", "slow"]);
    expect(() => injectionFromEnv("fast")).toThrow('HPTLAB_SOAK_INJECT="fast": expected none, leak or slow');
  });

  /** bench/soak.ts in a child process (its own heap and cpu time): exit code, output, the series it wrote. */
  function soak(args: string[]): Promise<{ code: number | null; out: string; err: string; epochs: { ops: number; injectedBytes: number; injectedSteps: number; heapAfterGc: number }[] }> {
    const dir = tempDir("soak");
    const file = join(dir, "series.json");
    const root = join(import.meta.dirname, "..");
    // tsx keeps its cache in the temp folder: the child's is this test's own (removed after the file)
    const child = spawn(process.execPath, ["--import", "tsx", "bench/soak.ts", ...args, "--series", file], { cwd: root, env: { ...process.env, TMPDIR: dir }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => { out += d; });
    child.stderr.on("data", (d) => { err += d; });
    return new Promise((resolve) => child.on("close", (code) => {
      let epochs = [];
      try { epochs = JSON.parse(readFileSync(file, "utf8")).epochs; } catch { /* none written */ }
      resolve({ code, out, err, epochs });
    }));
  }
  const SHORT = ["--ops", "2500000", "--epoch", "250000", "--cores", "128"];

  it("a leak: 8 MiB of arrays kept per epoch fails the verdict on live memory", async () => {
    const r = await soak([...SHORT, "--inject", "leak"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(1);
    const summary = JSON.parse(r.out.trim().split("\n").at(-1)!);
    expect(summary.inject).toBe("leak");
    expect(summary.problems.map((p: string) => p.split(":")[0])).toContain("live memory grows");
    expect(r.epochs).toHaveLength(10);
    // what it did: 8 MiB more each epoch (1 Mi doubles), all of it still alive after full collections
    r.epochs.forEach((e, k) => expect(e.injectedBytes).toBe((k + 1) * 8 * MiB));
    expect(r.epochs.at(-1)!.heapAfterGc - r.epochs[0]!.heapAfterGc).toBeGreaterThan(0.9 * 9 * 8 * MiB);
  }, 300_000);

  it("a slowdown: k × 128 extra steps per guest op in epoch k fails the verdict on throughput", async () => {
    const r = await soak([...SHORT, "--inject", "slow"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(1);
    const summary = JSON.parse(r.out.trim().split("\n").at(-1)!);
    expect(summary.problems.map((p: string) => p.split(":")[0])).toContain("throughput decays in the same machine state");
    expect(r.epochs).toHaveLength(10);
    r.epochs.forEach((e, k) => expect(e.injectedSteps).toBe(k * 128 * e.ops));
    expect(r.epochs.map((e) => e.ops)).toEqual(Array(10).fill(250_000));
  }, 300_000);

  it("bad arguments: one line, exit code 2", async () => {
    const r = await soak(["--ops", "ten"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe('soak: --ops "ten": expected an integer ≥ 1\n');
    const bad = await soak(["--inject", "fast"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toBe('soak: --inject "fast": expected none, leak or slow\n');
  }, 60_000);
});
