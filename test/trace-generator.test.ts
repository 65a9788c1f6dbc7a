// The trace-driven generator's kernel (assembly/workload/trace.ts) against its TypeScript twin
// (runTraceWorkloadsTs): over random configurations of the real guest's trace — core counts, SMT,
// vcore shapes (a vcpu whose vcore is not running gets one placed), neighbours, every H_LOCAL mode
// (H_BULK_REMOVE requests split off as H_REMOVE + H_LOCAL), paging rates, revisit parameters, small
// op buffers, mirrors — both must make the same engine calls: every call's ops, and the engine's
// statistics and cpu table after it, hashed per machine; and the same tallies.
import { describe, expect, it, beforeAll } from "vitest";
import { test as propTest, fc } from "@fast-check/vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Machine } from "../src/engine/machine.js";
import { engineCalls } from "./engine-calls.js";
import { loadHcallProgram, type HcallProgram } from "../src/trace/hcall-program.js";
import { runTraceWorkloads, DEFAULT_TRACE_WORKLOAD, type TraceTally } from "../src/workload/trace-driven.js";
import { T, NB, NB_BYTES } from "../src/workload/trace-wasm.js";
import { DEFAULT_WORKLOAD, pointMemoryBytes, type PointRun } from "../src/workload/synthetic.js";

const TRACE = join(import.meta.dirname, "..", "data", "traces", "linux-6.1-guest-boot-wl20.jsonl.gz");
const SLICE = 90_000; // the first H_BULK_REMOVE is call 84,358; H_REMOVE starts at 16,402

let slice: HcallProgram;
beforeAll(async () => {
  slice = await loadHcallProgram(TRACE, { maxCalls: SLICE });
});

/** How many times `f` entered the trace generator's kernel. */
function kernelRuns(f: () => unknown): number {
  const orig = Machine.prototype.traceRun;
  let n = 0;
  Machine.prototype.traceRun = function (this: Machine, state: number, phase: number) { n++; return orig.call(this, state, phase); };
  try { f(); } finally { Machine.prototype.traceRun = orig; }
  return n;
}

function both(runs: PointRun[], p: HcallProgram) {
  const one = (generator: "ts" | "wasm") => {
    let entered = 0;
    const { value, digests, calls } = engineCalls(() => {
      let out!: ReturnType<typeof runTraceWorkloads>;
      entered = kernelRuns(() => { out = runTraceWorkloads(runs.map((r) => ({ ...r, generator })), p); });
      return out;
    });
    const counters = value.machines.map((m) => m.counters());
    return { tally: value.tally as TraceTally, digests, calls, counters, entered };
  };
  return { ts: one("ts"), wasm: one("wasm") };
}

const base = (over: Partial<PointRun>): PointRun => ({
  cores: 4, smt: 4, tlbSets: 128, tlbWays: 4, policy: "need-tlb-flush", deferredCap: null, deferredOverflow: null,
  vcpus: 2, threadsPerVcore: 1, guests: 2, hLocal: "honest", pageOutsPerMop: 20000, migrationRate: 0.05, ops: SLICE, seed: 11,
  workload: DEFAULT_WORKLOAD, traceWorkload: DEFAULT_TRACE_WORKLOAD, trace: { file: TRACE, maxCalls: null }, ...over,
});

describe("the trace generator's kernel makes its TypeScript twin's engine calls", () => {
  propTest.prop([fc.record({
    cores: fc.constantFrom(1, 2, 3, 4, 8, 16),
    smt: fc.constantFrom(1, 2, 4, 8),
    tpvLog: fc.integer({ min: 0, max: 3 }),
    extraVcpus: fc.constantFrom(0, 0, 1, 5),
    guests: fc.integer({ min: 1, max: 4 }),
    hLocal: fc.constantFrom("never", "honest", "lying"),
    paging: fc.constantFrom(0, 3000, 20000, 300000),
    migrationRate: fc.constantFrom(0, 0.05, 0.3),
    preemptRate: fc.constantFrom(0, 0.05, 0.3),
    exitRate: fc.constantFrom(0, 0.5),
    neighbourShare: fc.constantFrom(0, 0.1, 0.6),
    zipf: fc.constantFrom(0, 0.9),
    reclaimSample: fc.integer({ min: 0, max: 8 }),
    sliceOps: fc.constantFrom(16, 256),
    revisitsPerCall: fc.integer({ min: 0, max: 6 }),
    revisitWindow: fc.constantFrom(1, 7, 256),
    locality: fc.constantFrom(0, 1, 1.5),
    sharedShare: fc.constantFrom(0, 0.1, 0.9),
    lieShare: fc.constantFrom(0, 0.5, 1),
    afterUnmap: fc.constantFrom(0, 0.1, 1),
    maxCalls: fc.constantFrom(1500, 5000, 17000),
    batchOps: fc.constantFrom(undefined, 1, 5, 64),
    mirrors: fc.boolean(),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  })], { numRuns: 20 })("random configurations: every engine call of every machine, tallies", (c) => {
    const tpv = Math.min(2 ** c.tpvLog, c.smt);
    const run = base({
      cores: c.cores, smt: c.smt, threadsPerVcore: tpv, vcpus: 2 + c.extraVcpus, guests: c.guests, hLocal: c.hLocal as PointRun["hLocal"],
      pageOutsPerMop: c.paging, migrationRate: c.migrationRate, seed: c.seed, ops: c.maxCalls, trace: { file: TRACE, maxCalls: c.maxCalls },
      // a tiny op buffer (an engine call per op or few) on short runs only: each call is hashed
      ...(c.batchOps && (c.batchOps >= 64 || c.maxCalls <= 1500) ? { batchOps: c.batchOps } : {}),
      workload: {
        ...DEFAULT_WORKLOAD, preemptRate: Math.min(c.preemptRate, 1 - c.migrationRate), exitRate: c.exitRate,
        neighbourShare: c.neighbourShare, zipf: c.zipf, reclaimSample: c.reclaimSample, sliceOps: c.sliceOps,
      },
      traceWorkload: {
        revisitsPerCall: c.revisitsPerCall, revisitWindow: c.revisitWindow, locality: c.locality, sharedShare: c.sharedShare,
        lieShare: c.lieShare, afterUnmap: c.afterUnmap,
      },
    });
    const runs = c.mirrors ? [run, { ...run, policy: "last-vcpu" }, { ...run, policy: "flush-always" }] : [run];
    const { ts, wasm } = both(runs, slice);
    expect(ts.entered).toBe(0);
    expect(wasm.entered).toBeGreaterThan(0);
    expect(wasm.calls).toEqual(ts.calls);
    expect(wasm.digests).toEqual(ts.digests);
    expect(wasm.tally).toEqual(ts.tally);
    expect(wasm.counters).toEqual(ts.counters);
    expect(ts.calls.length).toBe(runs.length);
  }, 240_000);

  it("the whole slice under lying H_LOCAL on a crowded machine: bulk splits, forced placements, owed touches, every kind of call", () => {
    // one core: the guest's two vcores and the neighbours take turns, so calls often find their vcore not running
    const run = base({ cores: 1, smt: 2, threadsPerVcore: 1, vcpus: 4, guests: 3, hLocal: "lying", workload: { ...DEFAULT_WORKLOAD, preemptRate: 0.3, sliceOps: 16, neighbourShare: 0.3 } });
    const { ts, wasm } = both([run], slice);
    expect(wasm.digests).toEqual(ts.digests);
    expect(wasm.tally).toEqual(ts.tally);
    // what this run exercised (so that agreement means something)
    expect(ts.tally.splitRemoves).toBeGreaterThan(0);
    expect(ts.tally.forcedPlacements).toBeGreaterThan(0);
    expect(ts.tally.afterUnmapTouches).toBeGreaterThan(0);
    expect(ts.tally.markedLocal).toBeGreaterThan(ts.tally.localEligible); // lies among them
    expect(ts.tally.traceCalls).toBe(SLICE);
  });

  it("HPTLAB_GENERATOR picks the loop for trace points too (ts: the twin)", () => {
    const run = base({ ops: 3000, trace: { file: TRACE, maxCalls: 3000 } });
    const before = process.env.HPTLAB_GENERATOR;
    try {
      delete process.env.HPTLAB_GENERATOR;
      expect(kernelRuns(() => runTraceWorkloads([run], slice))).toBeGreaterThan(0);
      expect(kernelRuns(() => runTraceWorkloads([{ ...run, generator: "ts" }], slice))).toBe(0);
      process.env.HPTLAB_GENERATOR = "ts";
      expect(kernelRuns(() => runTraceWorkloads([run], slice))).toBe(0);
      expect(kernelRuns(() => runTraceWorkloads([{ ...run, generator: "wasm" }], slice))).toBeGreaterThan(0);
    } finally {
      if (before === undefined) delete process.env.HPTLAB_GENERATOR;
      else process.env.HPTLAB_GENERATOR = before;
    }
  });

  it("the state block's offsets are the kernel's (assembly/workload/trace.ts T_*, NB_*), field by field", () => {
    const src = readFileSync(new URL("../assembly/workload/trace.ts", import.meta.url), "utf8");
    const inKernel: Record<string, number> = {};
    for (const m of src.matchAll(/@inline (?:export )?const ((?:T|NB)_[A-Z_]+): usize = (\d+);/g)) inKernel[m[1]!] = Number(m[2]);
    const inHost: Record<string, number> = { NB_BYTES };
    for (const [k, v] of Object.entries(T)) inHost[`T_${k}`] = v;
    for (const [k, v] of Object.entries(NB)) inHost[`NB_${k}`] = v;
    expect(Object.keys(inKernel).length).toBe(Object.keys(T).length + Object.keys(NB).length + 1);
    expect(inKernel).toEqual(inHost);
  });

  it("the kernel's state block is counted in the point's memory (at least what the engine takes, within a page)", () => {
    const run = base({ cores: 16, vcpus: 8, guests: 3 });
    const { machines } = runTraceWorkloads([{ ...run, ops: 10, trace: { file: TRACE, maxCalls: null }, generator: "wasm" }], slice);
    const planned = pointMemoryBytes({ ...run, program: slice });
    expect(Math.abs(machines[0]!.memoryBytes - planned)).toBeLessThanOrEqual(65536);
  });
});
