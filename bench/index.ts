/**
 * hptlab benchmarks (issue 5): the hot paths of the WASM engine, and the same work done by the
 * plain-TypeScript reference model in the same run, as medians (tinybench) and ratios.
 *
 *   npm run bench                      table, then one JSON object as the last line
 *   npm run bench -- --json            the JSON object only
 *   npm run bench -- --quick           short runs (CI smoke)
 *   npm run bench -- --only translate95,tlbie1024
 *
 * Fields, each {"wasm": M, "reference": M | null, "ratio": X | null} in millions per second:
 * translate95, translate95Power10 (the same stream on 32 POWER10 SMT8 cores: the same 64 TLBs, of 4
 * threads each), hptOpsMix, tlbie1024, tlbie2048Smt8 and tlbie2048Smt4 (tlbie1024's stream on 2048
 * TLBs: 1024 SMT8 cores of two, 2048 SMT4 cores of one; no reference), endToEnd256 (guest ops),
 * realGuestTask and scalingTask (guest ops of a study task's machines, summed; no reference),
 * lackeyLinesPerSec (lines; the fast path is the TypeScript byte parser, against the string/regex/BigInt
 * reference replay).
 * Kernel definitions: bench/kernels.ts. Timed: the work only (one runBatch of a full op buffer for
 * the engine kernels); the inputs of the next iteration are written before it, untimed.
 */
import { Bench } from "tinybench";
import { cpus } from "node:os";
import { KERNELS, setUpKernel, warmUp, type Kernel, type KernelName } from "./kernels.js";
import { hugePagesUnavailable } from "../dist/engine/hugepages.js";

const argv = process.argv.slice(2);
const json = argv.includes("--json");
const quick = argv.includes("--quick");
const onlyArg = argv.find((a) => a.startsWith("--only"));
const only = onlyArg ? (onlyArg.includes("=") ? onlyArg.split("=")[1]! : argv[argv.indexOf(onlyArg) + 1]!).split(",") : null;
const log = (s: string) => { if (!json) console.log(s); else process.stderr.write(`${s}\n`); };

/** Targets in M ops/s (bench/RESULTS.md); endToEnd256's is issue 20's 12 (the earlier 20 was dropped with it); realGuestTask and scalingTask have none. */
/** Kernels of whole study points or tasks: fewer, longer iterations. */
const WHOLE_POINTS: ReadonlySet<KernelName> = new Set(["endToEnd256", "realGuestTask", "scalingTask"]);
const TARGETS: Record<KernelName, number | null> = { translate95: 90, translate95Power10: 90, hptOpsMix: 36, tlbie1024: 4, tlbie2048Smt8: 4, tlbie2048Smt4: 4, endToEnd256: 12, realGuestTask: null, scalingTask: null, lackeyLinesPerSec: 12 };

interface Measured { median: number; samples: number; info: string }

/** tinybench on one kernel: run() timed, prepare() before each iteration untimed. Median M ops/s. */
async function measure(name: string, k: Kernel, slow: boolean): Promise<Measured> {
  const bench = new Bench({
    time: quick ? (slow ? 300 : 250) : (slow ? 3000 : 1500),
    warmupTime: quick ? 50 : 300,
    iterations: slow ? 3 : 10,
    warmupIterations: slow ? 1 : 5,
  });
  // tinybench may call the task once outside the hooks: an unprepared call prepares first
  let ready = false;
  bench.add(name, () => { if (!ready) k.prepare(); ready = false; k.run(); }, { beforeEach: () => { k.prepare(); ready = true; } });
  await bench.run();
  const r = bench.tasks[0]!.result as unknown as { state?: string; error?: Error; latency?: { p50?: number; samplesCount?: number } };
  if (r.error) throw r.error;
  const ms = r.latency?.p50 ?? NaN;
  return { median: k.ops / ms / 1e3, samples: r.latency?.samplesCount ?? 0, info: k.info?.() ?? "" };
}

const round = (x: number, d: number) => (Number.isFinite(x) ? +x.toFixed(d) : null);

log(`hptlab bench${quick ? " --quick" : ""}: node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`);
const noHugePages = hugePagesUnavailable();
log(`engine memory: ${noHugePages ? `4 KiB pages (${noHugePages})` : "advised for 2 MiB pages (HPTLAB_HUGEPAGES=off to compare)"}`);
const t0 = performance.now();
warmUp();
log(`warm-up (short runBatch calls of every op kind): ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const result: Record<string, { wasm: number | null; reference: number | null; ratio: number | null }> = {};
const rows: Record<string, string | number | null>[] = [];
for (const [name, make] of Object.entries(KERNELS) as [KernelName, (typeof KERNELS)[KernelName]][]) {
  if (only && !only.includes(name)) continue;
  const t1 = performance.now();
  await setUpKernel(name);
  const pair = make(quick);
  const wk = pair.wasm();
  log(`${name}: ${pair.description} (set up in ${((performance.now() - t1) / 1000).toFixed(1)} s)`);
  const w = await measure(`${name} wasm`, wk, WHOLE_POINTS.has(name));
  let ref: Measured | null = null;
  if (pair.reference) {
    const t2 = performance.now();
    const rk = pair.reference();
    log(`${name}: reference set up in ${((performance.now() - t2) / 1000).toFixed(1)} s`);
    ref = await measure(`${name} reference`, rk, true);
  }
  const ratio = ref ? w.median / ref.median : NaN;
  result[name] = { wasm: round(w.median, 3), reference: ref ? round(ref.median, 4) : null, ratio: ref ? round(ratio, 1) : null };
  rows.push({
    kernel: name, "wasm M/s": round(w.median, 2), "reference M/s": ref ? round(ref.median, 3) : null, ratio: ref ? round(ratio, 1) : null,
    target: TARGETS[name], met: TARGETS[name] === null ? "-" : w.median >= TARGETS[name]! ? "yes" : "no", samples: `${w.samples}${ref ? ` / ${ref.samples}` : ""}`, state: w.info,
  });
}
if (!json) {
  console.table(rows);
  console.log("medians of tinybench samples; M = millions of ops (translations, HPT ops, tlbies, guest ops, lines) per second");
}
console.log(JSON.stringify(result));
