/**
 * The memory latency this machine gives a working set of each size (bench/RESULTS.md, "Ninth session"):
 *
 *   npx tsx bench/cache-ladder.ts [MiB ...]      # default: 0.0625 0.25 0.5 1 2 3 4 5 6 8 12 16 32
 *
 * For each size, one random cycle through every 64-byte line of a WASM memory advised for 2 MiB pages
 * (as the engine's are, src/engine/memory-pool.ts) is followed load after load — each address is the
 * value the previous load read, so no two loads overlap: the latency a dependent chain (a TLB line,
 * then the PTEG its miss names) pays. Beside it, the same lines read in the same order with the
 * addresses known in advance, so many loads are in flight at once (what the engine's lookahead can
 * get). Nanoseconds per load, the median of 5 passes. A simulated machine's state that outgrows the
 * size where the dependent figure jumps (the last-level cache this VM gets) pays that figure on every
 * cold access.
 */
import { freshMemory } from "../dist/engine/memory-pool.js";

const LINE = 64;
const sizes = process.argv.slice(2).map(Number);
if (sizes.some((s) => !(s > 0 && s <= 1024))) {
  console.error("usage: npx tsx bench/cache-ladder.ts [MiB ...]   (each 0 < MiB <= 1024)");
  process.exit(2);
}
const list = sizes.length ? sizes : [0.0625, 0.25, 0.5, 1, 2, 3, 4, 5, 6, 8, 12, 16, 32];

/** xorshift32: a fixed permutation per size, so two runs chase the same cycle. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

const median = (a: number[]) => a.slice().sort((x, y) => x - y)[a.length >> 1]!;

console.log("working set   dependent ns/load   independent ns/load");
for (const mib of list) {
  const bytes = Math.round(mib * 2 ** 20 / LINE) * LINE;
  const lines = bytes / LINE;
  const memory = freshMemory();
  memory.grow(Math.ceil(bytes / 65536));
  const i32 = new Int32Array(memory.buffer);
  // a random order of the lines, then each line points at the next one's word
  const order = new Int32Array(lines);
  for (let i = 0; i < lines; i++) order[i] = i;
  const next = rng(lines);
  for (let i = lines - 1; i > 0; i--) {
    const j = next() % (i + 1);
    const t = order[i]!; order[i] = order[j]!; order[j] = t;
  }
  for (let i = 0; i < lines; i++) i32[(order[i]! * LINE) >> 2] = (order[(i + 1) % lines]! * LINE) >> 2;
  const addr = new Int32Array(lines);
  for (let i = 0; i < lines; i++) addr[i] = (order[i]! * LINE) >> 2;
  const steps = Math.max(4_000_000, lines * 2);
  const dep: number[] = [];
  const ind: number[] = [];
  let sink = 0;
  for (let pass = 0; pass < 5; pass++) {
    let p = 0;
    let t = performance.now();
    for (let k = 0; k < steps; k++) p = i32[p]!;
    dep.push((performance.now() - t) * 1e6 / steps);
    sink += p;
    let s = 0;
    t = performance.now();
    for (let k = 0, i = 0; k < steps; k++) {
      s += i32[addr[i]!]!;
      if (++i === lines) i = 0;
    }
    ind.push((performance.now() - t) * 1e6 / steps);
    sink += s;
  }
  console.log(`${(mib >= 1 ? `${mib} MiB` : `${mib * 1024} KiB`).padStart(11)}   ${median(dep).toFixed(1).padStart(17)}   ${median(ind).toFixed(1).padStart(19)}`);
  if (sink === 0.5) console.log(""); // keeps the loads
}
