/**
 * One bench kernel from several checkouts, side by side in one process (bench/RESULTS.md, issue 19):
 *
 *   npx tsx bench/ab.ts KERNEL ROUNDS SECONDS DIR[:KERNEL]...
 *   npx tsx bench/ab.ts hptOpsMix 30 1 /tmp/old /tmp/new        # each DIR built (npm ci) there
 *   npx tsx bench/ab.ts x 30 1 .:tlbie2048Smt8 .:tlbie2048Smt4   # two kernels of one checkout
 *   npx tsx bench/ab.ts --cpu endToEnd256 12 1 /tmp/old /tmp/new  # process CPU time instead of wall time
 *
 * Each round runs every checkout's kernel for SECONDS (prepare() untimed, run() timed; the order
 * rotates each round) and takes the median iteration. Printed per checkout: each round's rate (M ops/s),
 * their median, and the median over rounds of the ratio to the first checkout's rate in the same
 * round — the figure a loaded machine cannot move much, since a load change hits both sides of a ratio.
 * `--cpu` times each run() by the process's CPU time (user + system, process.cpuUsage) instead of the
 * wall clock: on a machine shared with other work a run that is descheduled is not charged for it,
 * which narrows the rounds' spread (a few percent remain: caches and memory bandwidth are shared too).
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Kernel, KernelPair } from "./kernels.js";

const argv = process.argv.slice(2);
const cpu = argv[0] === "--cpu";
const [kernel, roundsArg, secondsArg, ...specs] = cpu ? argv.slice(1) : argv;
const rounds = Number(roundsArg), seconds = Number(secondsArg);
if (!kernel || !(rounds > 0) || !(seconds > 0) || specs.length === 0) {
  console.error("usage: npx tsx bench/ab.ts [--cpu] KERNEL ROUNDS SECONDS DIR[:KERNEL]...");
  process.exit(2);
}

const runs: { spec: string; k: Kernel }[] = [];
for (const spec of specs) {
  const at = spec.lastIndexOf(":");
  const [dir, name] = at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [spec, kernel];
  const m = (await import(pathToFileURL(resolve(dir, "bench/kernels.ts")).href)) as {
    warmUp(): void;
    setUpKernel?(name: string): Promise<void>;
    KERNELS: Record<string, (quick: boolean) => KernelPair>;
  };
  if (!(name in m.KERNELS)) throw new Error(`ab: ${dir} has no kernel ${name}`);
  m.warmUp();
  await m.setUpKernel?.(name);
  runs.push({ spec, k: m.KERNELS[name]!(false).wasm() });
}

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};
const rates: number[][] = runs.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (let j = 0; j < runs.length; j++) {
    const i = (j + r) % runs.length;
    const { k } = runs[i]!;
    const times: number[] = [];
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      k.prepare();
      if (cpu) {
        const c0 = process.cpuUsage();
        k.run();
        const c = process.cpuUsage(c0);
        times.push((c.user + c.system) / 1000);
      } else {
        const t0 = performance.now();
        k.run();
        times.push(performance.now() - t0);
      }
    }
    rates[i]!.push(k.ops / median(times) / 1e3);
  }
}
runs.forEach(({ spec }, i) => {
  const ratios = rates[i]!.map((x, r) => x / rates[0]![r]!);
  console.log(`${spec}: rounds ${rates[i]!.map((x) => x.toFixed(2)).join(" ")} | median ${median(rates[i]!).toFixed(3)} M/s | ` +
    `ratio to the first (median of rounds) ${median(ratios).toFixed(3)} [${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)}]`);
});
