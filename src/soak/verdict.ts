/**
 * The soak's verdict (docs/soak.md): does the simulator slow down or hold on to memory over a long
 * run? Pure: it judges recorded per-epoch series, so tests can give it synthetic ones.
 *
 * Like with like. A long run's machine changes (its HPT fills, TLBs warm, rmap rings grow, the
 * LPID spreads over more TLBs), and a machine in a different state costs a different amount of
 * host work per guest op. So the throughput of two stretches of the run is compared only when the
 * simulated machine is in the same state in both: the verdict looks for the first epoch from which
 * the early and late halves of the rest of the run agree on every state measure (within
 * `stateTolerance`), and compares those halves. When no such split exists, the state never
 * settled and the verdict fails saying so (run longer) rather than compare unlike stretches.
 *
 * Throughput is guest ops per second of process cpu time (the work done, not the time a shared
 * machine let the process run), each epoch's scaled by how fast a fixed calibration workload ran
 * around it against the run's median (a shared host's contention slows both; a slower simulator
 * only the soak), as the median of each half. Memory is what a full collection
 * leaves alive — JavaScript heap plus external (ArrayBuffer) memory — fitted by least squares over
 * the steady epochs: the growth the fit projects over them is judged, not raw rss, whose sawtooth
 * follows the garbage collector rather than what is retained. The WASM memory must not grow after
 * warm-up (the engine never grows it; only new guests do).
 */

/** One epoch as the verdict reads it. */
export interface VerdictEpoch {
  guestOps: number;
  /** Guest ops per second of process cpu time, in millions. */
  mopsCpu: number;
  /** Bytes alive after a forced full collection: JavaScript heap, and external memory. */
  heapAfterGc: number;
  externalAfterGc: number;
  wasmBytes: number;
  /**
   * Cpu seconds of a fixed calibration workload run around the epoch (src/soak/run.ts calibrate):
   * how fast the host ran then. Absent: throughput is judged unscaled.
   */
  calibrationSeconds?: number;
  /** The simulated machine's state measures (same keys every epoch). */
  state: Record<string, number>;
}

export interface VerdictOptions {
  /** Epochs skipped before anything is compared (machine set-up, first mapping, JIT). */
  warmup: number;
  /** Most relative difference between the halves' mean state measures that still counts as the same state. */
  stateTolerance: number;
  /** Absolute differences below which a state measure counts as equal whatever its relative difference (near-zero measures). */
  stateFloor: number;
  /** Fewest epochs in each compared half. */
  minHalf: number;
  /** Most relative loss of throughput from the early half to the late half. */
  maxDecay: number;
  /** Most growth of live memory (bytes) the fit may project over the steady epochs. */
  maxGrowthBytes: number;
}

export const DEFAULT_VERDICT: VerdictOptions = {
  warmup: 1, stateTolerance: 0.1, stateFloor: 1e-3, minHalf: 3, maxDecay: 0.2, maxGrowthBytes: 8 * 2 ** 20,
};

export interface Stretch {
  /** Epoch indices from … to − 1. */
  from: number;
  to: number;
  /** Median throughput (M guest ops per cpu second), and the median of the calibrated throughputs (each epoch's scaled to the run's median host speed). */
  mopsCpu: number;
  mopsCalibrated: number;
  /** Mean of each state measure. */
  state: Record<string, number>;
}

export interface Verdict {
  ok: boolean;
  /** What failed, one line each. */
  problems: string[];
  /** The first epoch of the steady state (both halves start from it), or null when the state never settled. */
  steadyFrom: number | null;
  early: Stretch | null;
  late: Stretch | null;
  /** late.mopsCalibrated / early.mopsCalibrated (the judged ratio). */
  throughputRatio: number | null;
  /** The reference calibration (median cpu seconds after warm-up; 0 when none were recorded). */
  calibrationRef: number;
  /** Live memory (heap + external after a full collection): the fit's slope per epoch and its growth over the steady epochs, bytes. */
  liveSlopeBytesPerEpoch: number;
  liveGrowthBytes: number;
  liveFirst: number;
  liveLast: number;
  wasmGrowthBytes: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? 0 : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

/** An epoch's throughput as if the host had run at the reference speed `ref` (calibration seconds). */
export function calibratedMops(e: VerdictEpoch, ref: number): number {
  return e.calibrationSeconds && ref > 0 ? (e.mopsCpu * e.calibrationSeconds) / ref : e.mopsCpu;
}

function stretch(es: readonly VerdictEpoch[], from: number, to: number, ref: number): Stretch {
  const part = es.slice(from, to);
  const state: Record<string, number> = {};
  for (const k of Object.keys(part[0]!.state)) state[k] = part.reduce((s, e) => s + e.state[k]!, 0) / part.length;
  return { from, to, mopsCpu: median(part.map((e) => e.mopsCpu)), mopsCalibrated: median(part.map((e) => calibratedMops(e, ref))), state };
}

/** State measures on which two stretches differ by more than the tolerance: "name a → b". */
export function stateDifferences(a: Record<string, number>, b: Record<string, number>, o: Pick<VerdictOptions, "stateTolerance" | "stateFloor"> = DEFAULT_VERDICT): string[] {
  const out: string[] = [];
  for (const k of Object.keys(a)) {
    const x = a[k]!;
    const y = b[k]!;
    const d = Math.abs(x - y);
    if (d <= o.stateFloor) continue;
    if (d > o.stateTolerance * Math.max(Math.abs(x), Math.abs(y))) out.push(`${k} ${fmt(x)} → ${fmt(y)}`);
  }
  return out;
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3));

/** Least-squares slope of ys over 0 … n − 1. */
function slope(ys: number[]): number {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, i) => { num += (i - mx) * (y - my); den += (i - mx) ** 2; });
  return num / den;
}

export function soakVerdict(es: readonly VerdictEpoch[], opts: Partial<VerdictOptions> = {}): Verdict {
  const o = { ...DEFAULT_VERDICT, ...opts };
  const problems: string[] = [];
  const n = es.length;
  // the first epoch from which the two halves of the rest are in the same state
  let steadyFrom: number | null = null;
  let early: Stretch | null = null;
  let late: Stretch | null = null;
  let lastDiff: string[] = [];
  // the host's reference speed: the median calibration after warm-up
  const ref = median(es.slice(Math.min(o.warmup, n)).map((e) => e.calibrationSeconds ?? 0).filter((x) => x > 0));
  for (let s = o.warmup; n - s >= 2 * o.minHalf; s++) {
    const mid = s + Math.floor((n - s) / 2);
    const a = stretch(es, s, mid, ref);
    const b = stretch(es, mid, n, ref);
    const diff = stateDifferences(a.state, b.state, o);
    if (diff.length === 0) {
      steadyFrom = s;
      early = a;
      late = b;
      break;
    }
    if (s === o.warmup) lastDiff = diff;
  }
  let throughputRatio: number | null = null;
  if (early && late) {
    throughputRatio = late.mopsCalibrated / early.mopsCalibrated;
    if (throughputRatio < 1 - o.maxDecay) {
      problems.push(`throughput decays in the same machine state: ${early.mopsCalibrated.toFixed(2)} → ${late.mopsCalibrated.toFixed(2)} M guest ops per cpu second, calibrated (epochs ${early.from}–${early.to - 1} vs ${late.from}–${late.to - 1}, ×${throughputRatio.toFixed(2)}, allowed ×${(1 - o.maxDecay).toFixed(2)}; unscaled ${early.mopsCpu.toFixed(2)} → ${late.mopsCpu.toFixed(2)})`);
    }
  } else if (n - o.warmup < 2 * o.minHalf) {
    problems.push(`too few epochs to compare: ${n} (warm-up ${o.warmup}, at least ${o.minHalf} per half)`);
  } else {
    problems.push(`the machine's state never settles, throughput not compared (run longer): after warm-up, ${lastDiff.join(", ")}`);
  }
  // live memory over the steady epochs (after warm-up when the state never settled)
  const from = steadyFrom ?? Math.min(o.warmup, n);
  const live = es.slice(from).map((e) => e.heapAfterGc + e.externalAfterGc);
  const k = slope(live);
  const growth = k * Math.max(0, live.length - 1);
  if (growth > o.maxGrowthBytes) {
    problems.push(`live memory grows: ${mib(live[0]!)} → ${mib(live.at(-1)!)} MiB after a full collection (fit: +${mib(k)} MiB per epoch, +${mib(growth)} MiB over epochs ${from}–${n - 1}, allowed ${mib(o.maxGrowthBytes)})`);
  }
  const wasm = es.slice(Math.min(o.warmup, n));
  const wasmGrowth = wasm.length ? wasm.at(-1)!.wasmBytes - wasm[0]!.wasmBytes : 0;
  if (wasmGrowth > 0) problems.push(`the WASM memory grows after warm-up: +${mib(wasmGrowth)} MiB`);
  return {
    ok: problems.length === 0, problems, steadyFrom, early, late, throughputRatio, calibrationRef: ref,
    liveSlopeBytesPerEpoch: k, liveGrowthBytes: growth, liveFirst: live[0] ?? 0, liveLast: live.at(-1) ?? 0, wasmGrowthBytes: wasmGrowth,
  };
}

const mib = (b: number) => (b / 2 ** 20).toFixed(b !== 0 && Math.abs(b) < 2 ** 20 ? 3 : 1);
