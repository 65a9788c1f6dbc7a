/**
 * One benchmark kernel in a loop, for profilers:
 *   node --cpu-prof --cpu-prof-dir=prof --import tsx bench/profile.ts translate95 [seconds] [--reference] [--quick]
 * Prints the rate it saw. Kernels: bench/kernels.ts.
 */
import { KERNELS, warmUp, type KernelName } from "./kernels.js";

const args = process.argv.slice(2);
const name = args[0] as KernelName;
if (!(name in KERNELS)) throw new Error(`profile: kernel ${String(name)} is not one of ${Object.keys(KERNELS).join(", ")}`);
const seconds = Number(args.find((a) => /^\d+(\.\d+)?$/.test(a)) ?? 5);
const pair = KERNELS[name](args.includes("--quick"));
warmUp();
const k = args.includes("--reference") ? pair.reference!() : pair.wasm();
let ops = 0;
let busy = 0;
const end = performance.now() + seconds * 1000;
while (performance.now() < end) {
  k.prepare();
  const t = performance.now();
  k.run();
  busy += performance.now() - t;
  ops += k.ops;
}
console.log(`${name}: ${(ops / busy / 1e3).toFixed(2)} M/s over ${(busy / 1000).toFixed(1)} s of run() ${k.info?.() ?? ""}`);
