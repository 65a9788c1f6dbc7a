/**
 * `npm run soak`: one long run on a 1024-core SMT4 machine — a 64-vcore guest and seven
 * neighbours, host paging, migrations — for 10^9 guest operations, checking every epoch that the
 * counters add up, and recording the simulated machine's state and the simulator's cost and memory
 * (src/soak/run.ts). The verdict (src/soak/verdict.ts, docs/soak.md) compares throughput only
 * between stretches of the run in the same machine state, and judges the memory a full collection
 * leaves alive. Prints a line per epoch, the verdict with the state it compared, and last one JSON
 * object; exits 1 if a check fails, 2 on bad arguments.
 *
 *   --ops N      guest operations (default 1e9)     --epoch N   guest ops per epoch (default ops / 20)
 *   --cores N    cores (default 1024)                --seed N    workload seed (default 1234)
 *   --inject K   none | leak | slow (default HPTLAB_SOAK_INJECT, else none): plant a fault
 *   --series F   write every epoch's record to F (JSON)
 */
import { writeFileSync } from "node:fs";
import { runSoak, injectionFromEnv, verdictSeries, type SoakInjection } from "../dist/soak/run.js";
import { soakVerdict, DEFAULT_VERDICT } from "../dist/soak/verdict.js";

function fail(msg: string): never {
  console.error(`soak: ${msg}`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const known = new Set(["--ops", "--epoch", "--cores", "--seed", "--inject", "--series"]);
for (let i = 0; i < argv.length; i += 2) {
  if (!known.has(argv[i]!)) fail(`unknown argument ${JSON.stringify(argv[i])} (expected ${[...known].join(", ")} with a value)`);
  if (argv[i + 1] === undefined) fail(`${argv[i]} needs a value`);
}
const value = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const num = (name: string, dflt: number, min: number): number => {
  const v = value(name);
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) fail(`${name} ${JSON.stringify(v)}: expected an integer ≥ ${min}`);
  return x;
};
const OPS = num("--ops", 1e9, 1);
const EPOCH = num("--epoch", Math.max(1e5, Math.floor(OPS / 20)), 1);
const CORES = num("--cores", 1024, 8);
const SEED = num("--seed", 1234, 0);
let inject: SoakInjection;
try {
  inject = value("--inject") !== undefined ? injectionFromEnv(value("--inject"), "--inject ") : injectionFromEnv();
} catch (e) {
  fail((e as Error).message);
}
const seriesFile = value("--series");

const MiB = 2 ** 20;
const mib = (b: number) => (b / MiB).toFixed(0);

console.log(`soak: ${OPS.toLocaleString("en-US")} guest ops on ${CORES} cores × SMT4, epochs of ${EPOCH.toLocaleString("en-US")}${inject !== "none" ? `, injected: ${inject}` : ""}`);
console.log("epoch  M ops  M/s cpu  M/s wall  rss  rss·gc  live·gc  wasm MiB | hpt fill  rmap  tlb fill  holders  hit rate  cycles/op");
const run = runSoak({
  ops: OPS, epochOps: EPOCH, cores: CORES, seed: SEED, inject,
  onEpoch: (e, i) => {
    const s = e.state;
    const a = e.activity;
    console.log(
      `${String(i).padStart(5)} ${(e.guestOps / 1e6).toFixed(0).padStart(6)} ${e.mopsCpu.toFixed(2).padStart(8)} ${e.mopsWall.toFixed(2).padStart(9)} ` +
      `${mib(e.rss).padStart(4)} ${mib(e.rssAfterGc).padStart(7)} ${((e.heapAfterGc + e.externalAfterGc) / MiB).toFixed(1).padStart(8)} ${mib(e.wasmBytes).padStart(9)} | ` +
      `${s.hptFill.toFixed(4).padStart(8)} ${s.rmapMean.toFixed(2).padStart(5)} ${s.tlbFill.toFixed(3).padStart(9)} ${String(s.guestHolders).padStart(8)} ` +
      `${a.tlbHitRate.toFixed(4).padStart(9)} ${a.cyclesPerOpTotal.toFixed(0).padStart(10)}`,
    );
  },
});
const series = verdictSeries(run.epochs);
const v = soakVerdict(series);
const problems = [...run.problems, ...v.problems];
if (!run.gcForced) console.log("soak: no full collection available (run node with --expose-gc): live memory is heapUsed as found");
if (v.early && v.late) {
  console.log(`soak: steady from epoch ${v.steadyFrom}; compared epochs ${v.early.from}–${v.early.to - 1} with ${v.late.from}–${v.late.to - 1}, the machine in the same state (every measure within ${DEFAULT_VERDICT.stateTolerance * 100}%):`);
  for (const k of Object.keys(v.early.state)) console.log(`  ${k.padEnd(16)} ${v.early.state[k]!.toPrecision(4).padStart(10)} ${v.late.state[k]!.toPrecision(4).padStart(10)}`);
  console.log(`  M ops/cpu s      ${v.early.mopsCpu.toFixed(2).padStart(10)} ${v.late.mopsCpu.toFixed(2).padStart(10)} (median, as measured)`);
  console.log(`  calibrated       ${v.early.mopsCalibrated.toFixed(2).padStart(10)} ${v.late.mopsCalibrated.toFixed(2).padStart(10)} (judged: ×${v.throughputRatio!.toFixed(3)}, at least ×${(1 - DEFAULT_VERDICT.maxDecay).toFixed(2)} passes)`);
}
// recorded, not compared (docs/soak.md): simulated cycles per guest op by category, first and last epochs
const cyc = (i: number) => {
  const e = run.epochs[i];
  if (!e) return "";
  const parts = Object.entries(e.activity.cyclesPerOp).filter(([, x]) => x >= 0.05).map(([k, x]) => `${k} ${x.toFixed(1)}`);
  return `epoch ${i}: ${e.activity.cyclesPerOpTotal.toFixed(1)} (${parts.join(", ")})`;
};
console.log(`  simulated cycles per guest op (recorded, not compared): ${cyc(0)}; ${cyc(run.epochs.length - 1)}`);
console.log(`  live memory after a full collection: ${(v.liveFirst / MiB).toFixed(1)} → ${(v.liveLast / MiB).toFixed(1)} MiB (fit ${(v.liveSlopeBytesPerEpoch / 1024).toFixed(1)} KiB per epoch); wasm +${(v.wasmGrowthBytes / MiB).toFixed(1)} MiB`);
const seconds = run.seconds;
console.log(problems.length
  ? `soak: FAIL, ${problems.length} problem(s):\n  ${problems.join("\n  ")}`
  : `soak: PASS — ${run.tally.guestOps.toLocaleString("en-US")} guest operations in ${seconds.toFixed(0)} s, counters add up, no decay in the same machine state, live memory flat`);
if (seriesFile) writeFileSync(seriesFile, JSON.stringify({ ops: OPS, epochOps: EPOCH, cores: CORES, seed: SEED, inject, epochs: run.epochs, series }, null, 1) + "\n");
const last = run.epochs.at(-1);
console.log(JSON.stringify({
  cores: CORES, guestOps: run.tally.guestOps, engineOps: run.tally.engineOps, seconds, mopsPerSecond: run.tally.guestOps / seconds / 1e6, inject,
  steadyFrom: v.steadyFrom, early: v.early, late: v.late, throughputRatio: v.throughputRatio,
  liveFirstMiB: v.liveFirst / MiB, liveLastMiB: v.liveLast / MiB, liveGrowthMiB: v.liveGrowthBytes / MiB, rssLastMiB: last ? last.rss / MiB : 0, rssAfterGcLastMiB: last ? last.rssAfterGc / MiB : 0,
  wasmMiB: run.machine.memoryBytes / MiB, translations: Number(run.machine.counters().translations), violations: Number(run.machine.kvmCounters().violations), problems,
}));
process.exitCode = problems.length ? 1 : 0;
