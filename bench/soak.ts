/**
 * `npm run soak`: one long run on a 1024-core SMT4 machine — a 64-vcore guest and seven
 * neighbours, host paging, migrations — for 10^9 guest operations (--ops N to change), checking
 * every epoch that the counters add up, memory stays flat and throughput does not decay.
 * Prints a line per epoch and, last, one JSON object; exits 1 if a check fails.
 */
import { runWorkload, DEFAULT_WORKLOAD, type WorkloadTally } from "../dist/workload/synthetic.js";
import type { Machine } from "../dist/engine/machine.js";

const argv = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const OPS = arg("--ops", 1e9);
const EPOCH = arg("--epoch", Math.max(1e6, Math.floor(OPS / 20)));
const CORES = arg("--cores", 1024);

interface Epoch {
  guestOps: number;
  seconds: number;
  mopsPerSecond: number;
  rssMiB: number;
  heapMiB: number;
  wasmMiB: number;
}

const epochs: Epoch[] = [];
const problems: string[] = [];
const t0 = performance.now();
let last = { t: t0, ops: 0 };

function check(m: Machine, tally: WorkloadTally): void {
  const c = m.counters();
  const k = m.kvmCounters();
  if (c.tlbHits + c.tlbMisses !== c.translations) problems.push(`epoch ${epochs.length}: hits + misses ≠ translations`);
  if (c.translations !== BigInt(tally.translations)) problems.push(`epoch ${epochs.length}: engine translations ${c.translations} ≠ generator's ${tally.translations}`);
  const sum: Record<string, bigint> = {};
  for (let cpu = 0; cpu < m.cpus; cpu++) for (const [n, v] of Object.entries(m.cpuCycles(cpu).cycles)) sum[n] = (sum[n] ?? 0n) + v;
  for (const [n, v] of Object.entries(k.cycles)) if (sum[n] !== v) problems.push(`epoch ${epochs.length}: cycles.${n}: cpus sum ${sum[n]} ≠ machine ${v}`);
  if (k.violations !== 0n) problems.push(`epoch ${epochs.length}: ${k.violations} violations under need-tlb-flush`);
}

const { machine, tally } = runWorkload({
  cores: CORES, smt: 4, tlbSets: 128, tlbWays: 4, policy: "need-tlb-flush", deferredCap: null, deferredOverflow: null,
  vcpus: 256, threadsPerVcore: 4, guests: 8, hLocal: "honest", pageOutsPerMop: 2000, migrationRate: 0.05,
  ops: OPS, seed: 1234, workload: DEFAULT_WORKLOAD, epochOps: EPOCH,
  onEpoch: (m, t) => {
    const now = performance.now();
    const mem = process.memoryUsage();
    const e: Epoch = {
      guestOps: t.guestOps, seconds: (now - t0) / 1000, mopsPerSecond: (t.guestOps - last.ops) / ((now - last.t) / 1000) / 1e6,
      rssMiB: mem.rss / 2 ** 20, heapMiB: mem.heapUsed / 2 ** 20, wasmMiB: m.memoryBytes / 2 ** 20,
    };
    last = { t: now, ops: t.guestOps };
    epochs.push(e);
    check(m, t);
    console.log(`epoch ${String(epochs.length).padStart(3)}: ${(e.guestOps / 1e6).toFixed(0).padStart(6)} M guest ops, ${e.mopsPerSecond.toFixed(2)} M/s, rss ${e.rssMiB.toFixed(0)} MiB, heap ${e.heapMiB.toFixed(0)} MiB, wasm ${e.wasmMiB.toFixed(0)} MiB`);
  },
});
check(machine, tally);

// entries: every fill is still valid, was evicted, or was removed by an invalidation or flush
const c = machine.counters();
let valid = 0n;
for (let core = 0; core < machine.config.cores; core++) valid += BigInt(machine.tlbEntries(core).length);
if (c.tlbFills !== valid + c.tlbEvictions + c.globalTlbieEntries + c.localTlbielEntries + c.flushedEntries) problems.push("TLB entries do not add up");

// flat memory and no decay: compare the second half of the epochs with the first (the first epoch warms up)
const steady = epochs.slice(1);
const half = Math.floor(steady.length / 2);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const early = median(steady.slice(0, half).map((e) => e.mopsPerSecond));
const late = median(steady.slice(half).map((e) => e.mopsPerSecond));
if (half > 0 && late < 0.8 * early) problems.push(`throughput decays: ${early.toFixed(2)} → ${late.toFixed(2)} M/s`);
const rssEarly = steady[0]?.rssMiB ?? 0;
const rssLate = steady[steady.length - 1]?.rssMiB ?? 0;
if (steady.length > 1 && rssLate > rssEarly * 1.1 + 16) problems.push(`memory grows: rss ${rssEarly.toFixed(0)} → ${rssLate.toFixed(0)} MiB`);

const seconds = (performance.now() - t0) / 1000;
const summary = {
  cores: CORES, guestOps: tally.guestOps, engineOps: tally.engineOps, seconds, mopsPerSecond: tally.guestOps / seconds / 1e6,
  throughputEarly: early, throughputLate: late, rssEarlyMiB: rssEarly, rssLateMiB: rssLate, wasmMiB: machine.memoryBytes / 2 ** 20,
  translations: Number(c.translations), tlbHits: Number(c.tlbHits), globalTlbies: Number(c.globalTlbies),
  pageOuts: Number(machine.kvmCounters().pageOuts), violations: Number(machine.kvmCounters().violations), problems,
};
console.log(problems.length ? `soak: ${problems.length} problem(s):\n  ${problems.join("\n  ")}` : `soak: ${tally.guestOps.toLocaleString("en-US")} guest operations in ${seconds.toFixed(0)} s, counters add up, memory flat, no decay`);
console.log(JSON.stringify(summary));
process.exitCode = problems.length ? 1 : 0;
