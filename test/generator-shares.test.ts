// The generator kernels compare a draw t · 2^−32 with a share s as the integer test t < ⌈s · 2^32⌉
// (assembly/workload/synthetic.ts and trace.ts, `below`), and take ⌊draw · n⌋ as (t · n) >> 32: the
// edges of that arithmetic against the TypeScript twins, which compare doubles. A share of 1 is
// "always" (its threshold 2^32 does not fit in 32 bits: a threshold kept in a u32 would wrap to 0,
// "never"), a share of 0 "never", dyadic shares give integer thresholds; both loops must make the
// same engine calls (ops, statistics and cpu table hashed after every call) and the same tallies.
import { describe, expect, it, beforeAll } from "vitest";
import { join } from "node:path";
import { engineCalls } from "./engine-calls.js";
import { loadHcallProgram, type HcallProgram } from "../src/trace/hcall-program.js";
import { runTraceWorkloads, DEFAULT_TRACE_WORKLOAD, type TraceTally } from "../src/workload/trace-driven.js";
import { runWorkloads, DEFAULT_WORKLOAD, type PointRun, type WorkloadParams } from "../src/workload/synthetic.js";

const TRACE = join(import.meta.dirname, "..", "data", "traces", "linux-6.1-guest-boot-wl20.jsonl.gz");
const CALLS = 20_000; // H_REMOVE starts at call 16,402

const run = (over: Partial<PointRun>, workload: Partial<WorkloadParams>): PointRun => ({
  cores: 4, smt: 4, tlbSets: 128, tlbWays: 4, policy: "need-tlb-flush", deferredCap: null, deferredOverflow: null,
  vcpus: 4, threadsPerVcore: 4, guests: 3, hLocal: "honest", pageOutsPerMop: 20000, migrationRate: 0.05,
  ops: 6000, seed: 77, workload: { ...DEFAULT_WORKLOAD, ...workload }, ...over,
});

function synthetic(r: PointRun) {
  const one = (generator: "ts" | "wasm") => {
    const { value, digests, calls } = engineCalls(() => runWorkloads([{ ...r, generator }]));
    return { tally: value.tally, digests, calls };
  };
  return { ts: one("ts"), wasm: one("wasm") };
}

describe("the synthetic kernel's integer draws at the shares' edges", () => {
  it.each([
    ["every access a store, every page the next one", { storeShare: 1, sequential: 1 }],
    ["every op a neighbour's", { neighbourShare: 1 }],
    ["every studied-guest op a burst", { burstRate: 1, burstMax: 4 }],
    ["no stores, no runs, no neighbours, no bursts", { storeShare: 0, sequential: 0, neighbourShare: 0, burstRate: 0 }],
    ["dyadic shares (integer thresholds)", { storeShare: 0.5, sequential: 0.25, neighbourShare: 0.5, burstRate: 2 ** -7 }],
  ] as [string, Partial<WorkloadParams>][])("%s: the twin's engine calls", (_name, w) => {
    const { ts, wasm } = synthetic(run({}, w));
    expect(wasm.calls).toEqual(ts.calls);
    expect(wasm.digests).toEqual(ts.digests);
    expect(wasm.tally).toEqual(ts.tally);
    expect(ts.tally.guestOps).toBeGreaterThanOrEqual(6000);
  });
});

describe("the trace kernel's integer draws at the shares' edges", () => {
  let p: HcallProgram;
  beforeAll(async () => {
    p = await loadHcallProgram(TRACE, { maxCalls: CALLS });
  });

  const trace = (w: Partial<WorkloadParams>, tw: Partial<typeof DEFAULT_TRACE_WORKLOAD>) => {
    const r = run({ vcpus: 2, threadsPerVcore: 1, guests: 2, ops: CALLS, trace: { file: TRACE, maxCalls: CALLS }, traceWorkload: { ...DEFAULT_TRACE_WORKLOAD, ...tw } }, w);
    const one = (generator: "ts" | "wasm") => {
      const { value, digests, calls } = engineCalls(() => runTraceWorkloads([{ ...r, generator }], p));
      return { tally: value.tally as TraceTally, digests, calls };
    };
    return { ts: one("ts"), wasm: one("wasm") };
  };

  it.each([
    ["every share 1", { storeShare: 1, neighbourShare: 1 }, { sharedShare: 1, afterUnmap: 1 }],
    ["every share 0", { storeShare: 0, neighbourShare: 0 }, { sharedShare: 0, afterUnmap: 0 }],
    ["dyadic shares", { storeShare: 0.5, neighbourShare: 0.25 }, { sharedShare: 0.5, afterUnmap: 0.125 }],
  ] as [string, Partial<WorkloadParams>, Partial<typeof DEFAULT_TRACE_WORKLOAD>][])("%s: the twin's engine calls", (_name, w, tw) => {
    const { ts, wasm } = trace(w, tw);
    expect(wasm.calls).toEqual(ts.calls);
    expect(wasm.digests).toEqual(ts.digests);
    expect(wasm.tally).toEqual(ts.tally);
    expect(ts.tally.traceCalls).toBe(CALLS);
  }, 60_000);

  it("afterUnmap 1 touches every revisited entry that went; 0 none", () => {
    expect(trace({}, { afterUnmap: 1 }).wasm.tally.afterUnmapTouches).toBeGreaterThan(0);
    expect(trace({}, { afterUnmap: 0 }).wasm.tally.afterUnmapTouches).toBe(0);
  }, 60_000);
});
