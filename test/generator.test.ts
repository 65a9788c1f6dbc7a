// The synthetic generator's kernel (assembly/workload/synthetic.ts) against its TypeScript twin
// (runWorkloadsTs): over random configurations — core counts, SMT, vcore shapes that preempt,
// neighbours, every H_LOCAL mode and share, paging rates, bursts of every kind, small op buffers
// (a burst split over engine calls), epochs, mirrors — both must make the same engine calls: every
// call's ops, and the engine's statistics and cpu table after it, hashed per machine; the same
// tallies; the same epochs.
import { describe, expect, it } from "vitest";
import { test as propTest, fc } from "@fast-check/vitest";
import { Machine } from "../src/engine/machine.js";
import { engineCalls } from "./engine-calls.js";
import { Scheduler } from "../src/workload/scheduler.js";
import { readFileSync } from "node:fs";
import { S, L, LOAD_BYTES } from "../src/workload/synthetic-wasm.js";
import { runWorkloads, pointMemoryBytes, DEFAULT_WORKLOAD, type PointRun, type WorkloadTally } from "../src/workload/synthetic.js";

/** How many times `f` entered the generator's kernel. */
function kernelRuns(f: () => unknown): number {
  const orig = Machine.prototype.generatorRun;
  let n = 0;
  Machine.prototype.generatorRun = function (this: Machine, state: number, phase: number) { n++; return orig.call(this, state, phase); };
  try { f(); } finally { Machine.prototype.generatorRun = orig; }
  return n;
}

function both(runs: PointRun[]) {
  const one = (generator: "ts" | "wasm") => {
    const epochs: WorkloadTally[] = [];
    const rs = runs.map((r) => ({ ...r, generator, ...(r.onEpoch ? { onEpoch: (_m: Machine, t: WorkloadTally) => { epochs.push({ ...t }); return epochs.length < 3; } } : {}) }));
    const { value, digests, calls } = engineCalls(() => runWorkloads(rs));
    const counters = value.machines.map((m) => m.counters());
    return { tally: value.tally, digests, calls, counters, epochs };
  };
  return { ts: one("ts"), wasm: one("wasm") };
}

const base = (over: Partial<PointRun>): PointRun => ({
  cores: 4, smt: 4, tlbSets: 128, tlbWays: 4, policy: "need-tlb-flush", deferredCap: null, deferredOverflow: null,
  vcpus: 4, threadsPerVcore: 4, guests: 2, hLocal: "honest", pageOutsPerMop: 20000, migrationRate: 0.05,
  ops: 6000, seed: 1234, workload: DEFAULT_WORKLOAD, ...over,
});

describe("the synthetic generator's kernel makes its TypeScript twin's engine calls", () => {
  propTest.prop([fc.record({
    cores: fc.constantFrom(1, 2, 3, 4, 8, 16),
    smt: fc.constantFrom(1, 2, 4, 8),
    tpvLog: fc.integer({ min: 0, max: 3 }),
    vcpus: fc.integer({ min: 1, max: 48 }),
    guests: fc.integer({ min: 1, max: 5 }),
    hLocal: fc.constantFrom("never", "honest", "lying"),
    hLocalShare: fc.constantFrom(1, 0.5, 0),
    paging: fc.constantFrom(0, 3000, 50000, 300000),
    migrationRate: fc.constantFrom(0, 0.05, 0.3),
    preemptRate: fc.constantFrom(0, 0.05, 0.3),
    exitRate: fc.constantFrom(0, 0.5, 1),
    burstRate: fc.constantFrom(0, 0.002, 0.05),
    burstMax: fc.integer({ min: 1, max: 40 }),
    munmapShare: fc.constantFrom(0, 0.45, 1),
    mprotectShare: fc.constantFrom(0, 0.15, 0.5),
    bulkShare: fc.constantFrom(0, 0.5, 1),
    processes: fc.integer({ min: 1, max: 8 }),
    pagesPerProcess: fc.constantFrom(8, 30, 256),
    zipf: fc.constantFrom(0, 0.9, 1.4),
    sequential: fc.constantFrom(0, 0.3, 0.9),
    neighbourShare: fc.constantFrom(0, 0.1, 0.6),
    reclaimSample: fc.integer({ min: 1, max: 8 }),
    sliceOps: fc.constantFrom(16, 256),
    batchOps: fc.constantFrom(undefined, 1, 5, 64),
    mirrors: fc.boolean(),
    epochs: fc.boolean(),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  })], { numRuns: 40 })("random configurations: every engine call of every machine, tallies, epochs", (c) => {
    const tpv = Math.min(2 ** c.tpvLog, c.smt);
    const mirrors = c.mirrors && !c.epochs;
    const run = base({
      cores: c.cores, smt: c.smt, threadsPerVcore: tpv, vcpus: c.vcpus, guests: c.guests, hLocal: c.hLocal as PointRun["hLocal"],
      pageOutsPerMop: c.paging, migrationRate: c.migrationRate, seed: c.seed, ops: 3000,
      ...(c.batchOps ? { batchOps: c.batchOps } : {}),
      ...(c.epochs ? { onEpoch: () => true, epochOps: 700 } : {}),
      workload: {
        ...DEFAULT_WORKLOAD, hLocalShare: c.hLocalShare, preemptRate: Math.min(c.preemptRate, 1 - c.migrationRate), exitRate: c.exitRate,
        burstRate: c.burstRate, burstMax: c.burstMax, munmapShare: c.munmapShare, mprotectShare: c.mprotectShare, bulkShare: c.bulkShare,
        processes: c.processes, pagesPerProcess: c.pagesPerProcess, zipf: c.zipf, sequential: c.sequential, neighbourShare: c.neighbourShare,
        reclaimSample: c.reclaimSample, sliceOps: c.sliceOps,
      },
    });
    const runs = mirrors ? [run, { ...run, policy: "last-vcpu" }, { ...run, policy: "flush-always" }] : [run];
    const { ts, wasm } = both(runs);
    expect(wasm.calls).toEqual(ts.calls);
    expect(wasm.digests).toEqual(ts.digests);
    expect(wasm.tally).toEqual(ts.tally);
    expect(wasm.counters).toEqual(ts.counters);
    expect(wasm.epochs).toEqual(ts.epochs);
    expect(ts.calls.length).toBe(runs.length);
  });

  it("a studied guest whose vcores the neighbours crowd out: the host preempts one (both loops alike)", () => {
    // one core, neighbours that take it at every tick: the studied guest often has no running vcpu
    const r = base({ cores: 1, smt: 1, threadsPerVcore: 1, vcpus: 1, guests: 4, workload: { ...DEFAULT_WORKLOAD, preemptRate: 0.5, sliceOps: 8, neighbourShare: 0.5 } });
    const orig = Scheduler.prototype.stop;
    let stops = 0;
    Scheduler.prototype.stop = function (this: Scheduler, ...a: Parameters<Scheduler["stop"]>) { stops++; return orig.apply(this, a); };
    let out;
    try {
      out = both([r]);
    } finally {
      Scheduler.prototype.stop = orig;
    }
    const { ts, wasm } = out;
    expect(stops % 2).toBe(0);
    expect(stops / 2).toBeGreaterThan(10); // each loop preempted a neighbour as often
    expect(wasm.digests).toEqual(ts.digests);
    expect(wasm.tally).toEqual(ts.tally);
    expect(ts.tally.guestOps).toBeGreaterThanOrEqual(6000);
  });

  it("parameters the kernel does not take (a fractional burstMax) run on the twin, with the twin's results", () => {
    const run = base({ workload: { ...DEFAULT_WORKLOAD, burstMax: 7.5, burstRate: 0.05 } });
    expect(kernelRuns(() => runWorkloads([{ ...run, generator: "wasm" }]))).toBe(0);
    const { ts, wasm } = both([run]);
    expect(wasm.digests).toEqual(ts.digests);
  });

  it("HPTLAB_GENERATOR picks the loop (ts: the twin); another value is refused in one line", () => {
    const run = base({ ops: 2000 });
    const before = process.env.HPTLAB_GENERATOR;
    try {
      delete process.env.HPTLAB_GENERATOR;
      expect(kernelRuns(() => runWorkloads([run]))).toBeGreaterThan(0);
      expect(kernelRuns(() => runWorkloads([{ ...run, generator: "ts" }]))).toBe(0);
      process.env.HPTLAB_GENERATOR = "ts";
      expect(kernelRuns(() => runWorkloads([run]))).toBe(0);
      expect(kernelRuns(() => runWorkloads([{ ...run, generator: "wasm" }]))).toBeGreaterThan(0);
      process.env.HPTLAB_GENERATOR = "fast";
      expect(() => runWorkloads([run])).toThrow(/^HPTLAB_GENERATOR="fast": expected wasm or ts$/);
    } finally {
      if (before === undefined) delete process.env.HPTLAB_GENERATOR;
      else process.env.HPTLAB_GENERATOR = before;
    }
  });

  it("the state block's offsets are the kernel's (assembly/workload/synthetic.ts S_*, L_*, LOAD_BYTES), field by field", () => {
    const src = readFileSync(new URL("../assembly/workload/synthetic.ts", import.meta.url), "utf8");
    const inKernel: Record<string, number> = {};
    for (const m of src.matchAll(/@inline (?:export )?const ((?:S|L)_[A-Z_]+|LOAD_BYTES): usize = (\d+);/g)) inKernel[m[1]!] = Number(m[2]);
    const inHost: Record<string, number> = { LOAD_BYTES };
    for (const [k, v] of Object.entries(S)) inHost[`S_${k}`] = v;
    for (const [k, v] of Object.entries(L)) inHost[`L_${k}`] = v;
    expect(Object.keys(inKernel).length).toBe(Object.keys(S).length + Object.keys(L).length + 1);
    expect(inKernel).toEqual(inHost);
  });

  it("the kernel's state block is counted in the point's memory (within a page of what the engine takes)", () => {
    const run = base({ cores: 16, vcpus: 16, guests: 3, workload: { ...DEFAULT_WORKLOAD, processes: 16 } });
    const { machines } = runWorkloads([{ ...run, ops: 10, generator: "wasm" }]);
    expect(Math.abs(machines[0]!.memoryBytes - pointMemoryBytes(run))).toBeLessThanOrEqual(65536);
  });
});
