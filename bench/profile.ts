/**
 * One benchmark kernel in a loop, for profilers:
 *   node --cpu-prof --cpu-prof-dir=prof --import tsx bench/profile.ts translate95 [seconds] [--reference] [--quick]
 * Prints the rate it saw. Kernels: bench/kernels.ts. `--engine` also prints the rate of the engine's
 * calls alone (the kernel's ops over the time spent in Machine.runOps: for endToEnd256, what is left
 * once everything outside the engine is taken away).
 */
import { KERNELS, setUpKernel, warmUp, type KernelName } from "./kernels.js";
import { Machine } from "../dist/engine/machine.js";

const args = process.argv.slice(2);
const name = args[0] as KernelName;
if (!(name in KERNELS)) throw new Error(`profile: kernel ${String(name)} is not one of ${Object.keys(KERNELS).join(", ")}`);
const seconds = Number(args.find((a) => /^\d+(\.\d+)?$/.test(a)) ?? 5);
await setUpKernel(name);
const pair = KERNELS[name](args.includes("--quick"));
warmUp();
let engineMs = 0;
if (args.includes("--engine")) {
  const runOps = Machine.prototype.runOps;
  Machine.prototype.runOps = function (this: Machine, count: number): void {
    const t = performance.now();
    try { runOps.call(this, count); } finally { engineMs += performance.now() - t; }
  };
}
const k = args.includes("--reference") ? pair.reference!() : pair.wasm();
let ops = 0;
let busy = 0;
let engineInRun = 0;
const end = performance.now() + seconds * 1000;
while (performance.now() < end) {
  k.prepare();
  const t = performance.now();
  const e0 = engineMs;
  k.run();
  busy += performance.now() - t;
  engineInRun += engineMs - e0; // not what prepare() ran
  ops += k.ops;
}
console.log(`${name}: ${(ops / busy / 1e3).toFixed(2)} M/s over ${(busy / 1000).toFixed(1)} s of run() ${k.info?.() ?? ""}${args.includes("--engine") ? `; engine calls alone ${(ops / engineInRun / 1e3).toFixed(2)} M/s (${(100 * engineInRun / busy).toFixed(0)}% of run())` : ""}`);
