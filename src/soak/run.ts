/**
 * The soak (`npm run soak`, docs/soak.md): one long synthetic run on a large machine, sampled every
 * epoch — the counters checked, the simulated machine's state and the epoch's activity recorded
 * (src/soak/probe.ts), the simulator's own cost and memory measured — then judged by
 * src/soak/verdict.ts. The probe, the checks and a forced garbage collection run between epochs,
 * outside the measured window.
 *
 * HPTLAB_SOAK_INJECT (or `inject`) plants a fault to show the verdict catches it: `leak` keeps
 * `leakBytes` of JavaScript arrays per epoch alive; `slow` adds, in epoch k (from 0), k × `slowWork`
 * steps of extra host work per guest op of the epoch, inside the measured window.
 */
import v8 from "node:v8";
import vm from "node:vm";
import { runWorkload, DEFAULT_WORKLOAD, type PointRun, type WorkloadTally } from "../workload/synthetic.js";
import type { Machine } from "../engine/machine.js";
import type { VerdictEpoch } from "./verdict.js";
import { activity, machineState, readings, type EpochActivity, type MachineState, type Readings } from "./probe.js";

export type SoakInjection = "none" | "leak" | "slow";

export interface SoakOptions {
  ops: number;
  epochOps: number;
  cores: number;
  seed?: number;
  inject?: SoakInjection;
  /** leak: bytes of JavaScript arrays retained per epoch (default 8 MiB). */
  leakBytes?: number;
  /** slow: extra host steps per guest op, times the epoch's index (default 128, ~2 ns a step: meant for short runs). */
  slowWork?: number;
  /** Called after each epoch is recorded (the CLI prints a line). */
  onEpoch?: (e: SoakEpoch, index: number) => void;
}

/** What the soak records of one epoch. */
export interface SoakEpoch {
  guestOps: number;
  /** Guest ops of this epoch. */
  ops: number;
  /** Wall and process cpu time (user + system, every thread of the process) of the epoch's ops, in seconds. */
  wallSeconds: number;
  cpuSeconds: number;
  /** Guest ops per second of process cpu time, and of wall time, in millions. */
  mopsCpu: number;
  mopsWall: number;
  /** process.memoryUsage() before the forced collection, in bytes. */
  rss: number;
  heapUsed: number;
  /** After a forced full collection (what stays alive): rss, JavaScript heap, and external memory (ArrayBuffers, not the WASM memory). */
  rssAfterGc: number;
  heapAfterGc: number;
  externalAfterGc: number;
  arrayBuffersAfterGc: number;
  /** v8 heap statistics after the collection. */
  v8: { totalHeap: number; mallocedMemory: number; nativeContexts: number; detachedContexts: number };
  /** The WASM memory's size. */
  wasmBytes: number;
  state: MachineState;
  activity: EpochActivity;
  /**
   * Process cpu seconds of the calibration (a fixed, allocation-free walk over a 32 MiB table, run
   * after the collection): how fast this machine ran just then. The verdict scales each epoch's
   * throughput by the mean of the calibrations before and after it (calibrationBefore).
   */
  calibrationSeconds: number;
  calibrationBefore: number;
  /** What the injection did this epoch: bytes retained so far, host steps added this epoch. */
  injectedBytes: number;
  injectedSteps: number;
}

export interface SoakRun {
  epochs: SoakEpoch[];
  tally: WorkloadTally;
  machine: Machine;
  /** Problems the per-epoch checks found (counters that do not add up, violations). */
  problems: string[];
  seconds: number;
  gcForced: boolean;
}

/** HPTLAB_SOAK_INJECT (or what `source` names): none (or unset), leak or slow; anything else is an error. */
export function injectionFromEnv(v = process.env.HPTLAB_SOAK_INJECT, source = "HPTLAB_SOAK_INJECT="): SoakInjection {
  if (v === undefined || v === "" || v === "none") return "none";
  if (v === "leak" || v === "slow") return v;
  throw new Error(`${source}${JSON.stringify(v)}: expected none, leak or slow`);
}

/** A full collection: the process's gc when run with --expose-gc, else one exposed through v8 flags. */
function fullGc(): (() => void) | null {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  try {
    v8.setFlagsFromString("--expose-gc");
    return vm.runInNewContext("gc") as () => void;
  } catch {
    return null;
  }
}

/** The soak's machine and workload: a 1024-core SMT4 machine, a 64-vcore guest and seven neighbours, host paging, migrations. */
export function soakPoint(o: Pick<SoakOptions, "ops" | "epochOps" | "cores" | "seed">): PointRun {
  return {
    cores: o.cores, smt: 4, tlbSets: 128, tlbWays: 4, policy: "need-tlb-flush", deferredCap: null, deferredOverflow: null,
    vcpus: 256, threadsPerVcore: 4, guests: 8, hLocal: "honest", pageOutsPerMop: 2000, migrationRate: 0.05,
    ops: o.ops, seed: o.seed ?? 1234, workload: DEFAULT_WORKLOAD, epochOps: o.epochOps,
  };
}

/** Where the calibration and the slow injection leave their results (so neither is optimized away). */
let sink = 0;

/** The calibration's table (allocated once per process: its memory is constant). */
let table: Uint32Array | null = null;
const TABLE_WORDS = 8 * 2 ** 20;
const CALIBRATION_STEPS = 2 ** 20;

/**
 * A fixed amount of host work like the engine's (dependent reads scattered over 32 MiB, a little
 * arithmetic), allocating nothing; returns the process cpu seconds it took. The same work every
 * time, so its time tracks the machine's speed (contention, frequency), not the soak's state.
 */
export function calibrate(): number {
  if (!table) {
    table = new Uint32Array(TABLE_WORDS);
    let a = 0x9e3779b9;
    for (let i = 0; i < TABLE_WORDS; i++) {
      a = (a + 0x6d2b79f5) | 0;
      table[i] = Math.imul(a ^ (a >>> 15), a | 1) >>> 0;
    }
  }
  const t = table;
  const c0 = process.cpuUsage();
  let idx = 0;
  let acc = 0;
  for (let i = 0; i < CALIBRATION_STEPS; i++) {
    const w = t[idx]!;
    acc = (acc + Math.imul(w, 0x85ebca6b)) | 0;
    idx = (w ^ Math.imul(i, 0x9e3779b1)) & (TABLE_WORDS - 1);
  }
  sink ^= acc;
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

/** Kept alive by the leak injection (module scope: nothing frees it). */
const leaked: number[][] = [];

/** The slow injection's extra work: `steps` rounds of mulberry32-like mixing, its result kept so it is not optimized away. */
function extraWork(steps: number): void {
  let a = sink | 0;
  for (let i = 0; i < steps; i++) {
    a = (a + 0x6d2b79f5) | 0;
    a ^= Math.imul(a ^ (a >>> 15), a | 1);
  }
  sink = a;
}

/** Readings of a machine before its first op (the first epoch's activity counts from them). */
function zeroReadings(r: Readings): Readings {
  const zero = <T extends string>(x: Record<T, bigint>) => Object.fromEntries(Object.keys(x).map((k) => [k, 0n])) as Record<T, bigint>;
  return { guestOps: 0, c: zero(r.c), cycles: zero(r.cycles) };
}

export function runSoak(o: SoakOptions): SoakRun {
  const inject = o.inject ?? "none";
  const leakBytes = o.leakBytes ?? 8 * 2 ** 20;
  const slowWork = o.slowWork ?? 128;
  // the extra work runs optimized from its first epoch on (a first long call would run in a lower tier, slower)
  if (inject === "slow") for (let i = 0; i < 50; i++) extraWork(1e5);
  const gc = fullGc();
  const epochs: SoakEpoch[] = [];
  const problems: string[] = [];
  let injectedBytes = 0;
  leaked.length = 0;
  const t0 = performance.now();
  let last: Readings | null = null;
  let calibrationBefore = calibrate();
  // the epoch's measured window starts after the previous epoch's probe and collection
  let wall0 = performance.now();
  let cpu0 = process.cpuUsage();

  const check = (m: Machine, tally: WorkloadTally): void => {
    const c = m.counters();
    const k = m.kvmCounters();
    const at = `epoch ${epochs.length}`;
    if (c.tlbHits + c.tlbMisses !== c.translations) problems.push(`${at}: hits + misses ≠ translations`);
    if (c.translations !== BigInt(tally.translations)) problems.push(`${at}: engine translations ${c.translations} ≠ generator's ${tally.translations}`);
    const sum: Record<string, bigint> = {};
    for (let cpu = 0; cpu < m.cpus; cpu++) for (const [n, v] of Object.entries(m.cpuCycles(cpu).cycles)) sum[n] = (sum[n] ?? 0n) + v;
    for (const [n, v] of Object.entries(k.cycles)) if (sum[n] !== v) problems.push(`${at}: cycles.${n}: cpus sum ${sum[n]} ≠ machine ${v}`);
    if (k.violations !== 0n) problems.push(`${at}: ${k.violations} violations under need-tlb-flush`);
  };

  const point = soakPoint(o);
  const record = (m: Machine, t: WorkloadTally): void => {
    const ops = t.guestOps - (epochs.at(-1)?.guestOps ?? 0);
    let injectedSteps = 0;
    if (inject === "slow") {
      injectedSteps = epochs.length * slowWork * ops;
      extraWork(injectedSteps);
    }
    const cpu = process.cpuUsage(cpu0);
    const wallSeconds = (performance.now() - wall0) / 1000;
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    // outside the window: the leak, the checks, the probe, the collection
    if (inject === "leak") {
      const n = Math.floor(leakBytes / 8);
      leaked.push(Array.from({ length: n }, (_, i) => i + 0.5));
      injectedBytes += n * 8;
    }
    const raw = process.memoryUsage();
    check(m, t);
    const now = readings(m, t.guestOps);
    const guest = m.guests[0]!;
    const state = machineState(m, guest);
    const act = activity(last ?? zeroReadings(now), now);
    last = now;
    gc?.();
    const mem = process.memoryUsage();
    const h = v8.getHeapStatistics();
    const calibrationSeconds = calibrate();
    const e: SoakEpoch = {
      guestOps: t.guestOps, ops, wallSeconds, cpuSeconds,
      mopsCpu: ops / cpuSeconds / 1e6, mopsWall: ops / wallSeconds / 1e6,
      rss: raw.rss, heapUsed: raw.heapUsed,
      rssAfterGc: mem.rss, heapAfterGc: mem.heapUsed, externalAfterGc: mem.external, arrayBuffersAfterGc: mem.arrayBuffers,
      v8: { totalHeap: h.total_heap_size, mallocedMemory: h.malloced_memory, nativeContexts: h.number_of_native_contexts, detachedContexts: h.number_of_detached_contexts },
      wasmBytes: m.memoryBytes, state, activity: act, calibrationSeconds, calibrationBefore, injectedBytes, injectedSteps,
    };
    calibrationBefore = calibrationSeconds;
    epochs.push(e);
    o.onEpoch?.(e, epochs.length - 1);
    wall0 = performance.now();
    cpu0 = process.cpuUsage();
  };
  const { machine, tally } = runWorkload({ ...point, onEpoch: record });
  // the ops after the last epoch boundary make the last epoch
  if (tally.guestOps > (epochs.at(-1)?.guestOps ?? 0)) record(machine, tally);
  const c = machine.counters();
  let valid = 0n;
  for (let core = 0; core < machine.tlbCount; core++) valid += BigInt(machine.tlbEntries(core).length);
  if (c.tlbFills !== valid + c.tlbEvictions + c.globalTlbieEntries + c.localTlbielEntries + c.flushedEntries) problems.push("TLB entries do not add up");
  return { epochs, tally, machine, problems, seconds: (performance.now() - t0) / 1000, gcForced: gc !== null };
}

/**
 * The state measures the verdict compares (src/soak/probe.ts): the machine's state and what its
 * epoch did — what decides the host work of a guest op (walks, PTEGs probed, tlbies and the TLBs
 * they visit, the entries they remove). Simulated cycles per op are recorded but not compared: the
 * tlbie wait they include settles slowly (cpu clocks drifting apart on the fabric calendar) while
 * the host work per op does not follow it. Nor is the count of TLBs holding the guest's LPID: a
 * snapshot at the epoch's end that swings ±30% with the vcores just migrated (the tlbies' work it
 * decides is in tlbiesPerMop and entriesPerTlbie, measured over the whole epoch).
 */
export function stateOf(e: SoakEpoch): Record<string, number> {
  const s = e.state;
  const a = e.activity;
  return {
    hptFill: s.hptFill, rmapMean: s.rmapMean, tlbFill: s.tlbFill,
    tlbHitRate: a.tlbHitRate, ptegsPerWalk: a.ptegsPerWalk, tlbiesPerMop: a.tlbiesPerMop, entriesPerTlbie: a.entriesPerTlbie,
  };
}

/** The series the verdict reads: each epoch's throughput, live memory, calibration (mean of the ones before and after it) and state. */
export function verdictSeries(epochs: readonly SoakEpoch[]): VerdictEpoch[] {
  return epochs.map((e) => ({
    guestOps: e.guestOps, mopsCpu: e.mopsCpu, heapAfterGc: e.heapAfterGc, externalAfterGc: e.externalAfterGc, wasmBytes: e.wasmBytes,
    calibrationSeconds: (e.calibrationBefore + e.calibrationSeconds) / 2, state: stateOf(e),
  }));
}
