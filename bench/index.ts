/**
 * hptlab benchmarks (tinybench): the WASM engine against the plain-TypeScript reference model on
 * the same work, in one run, reported as medians and ratios. `npm run bench -- --json` ends with
 * one JSON object.
 *
 * XXX: issue 5 defines the full suite (translate95 at 64 cores with order-24 HPTs, hptOpsMix,
 * tlbie1024, endToEnd256, lackeyLinesPerSec); these are the engine-core kernels it grows from.
 */
import { Bench } from "tinybench";
import { Machine, OpBatch } from "../src/engine/index.js";
import { createReferenceMachine } from "../src/reference/index.js";
import { makeHpte, H_AVPN, type Hpte } from "../src/hpte.js";
import type { SimMachine, SimGuest } from "../src/types.js";

const json = process.argv.includes("--json");
const quick = process.argv.includes("--quick");

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
}

interface Stream { cpu: number[]; lpid: number[]; slbV: bigint[]; ea: bigint[] }

/** Guests with `pages` mapped 4 KiB pages each, and a translation stream with a per-core hot set. */
function setup(m: SimMachine, guests: number, pages: number, n: number, cores: number, smt: number): { gs: SimGuest[]; hptes: Hpte[][]; stream: Stream } {
  const next = rng(7);
  const gs: SimGuest[] = [];
  const hptes: Hpte[][] = [];
  for (let i = 0; i < guests; i++) {
    const g = m.createGuest({ ramBytes: 64 * 2 ** 20, hptOrder: 20 });
    const hs = Array.from({ length: pages }, (_, k) => makeHpte({ vsid: 0x100n + BigInt(g.lpid), ea: BigInt(k) << 12n, gpa: BigInt(k) << 12n }));
    for (const h of hs) g.hEnter(0n, h.ptex(20), h.v, h.r);
    gs.push(g);
    hptes.push(hs);
  }
  const stream: Stream = { cpu: [], lpid: [], slbV: [], ea: [] };
  for (let i = 0; i < n; i++) {
    const core = next() % cores;
    const gi = core % guests;
    // 95%: one of 64 pages that this core keeps using; 5%: anywhere
    const k = next() % 20 !== 0 ? (core * 64 + (next() % 64)) % pages : next() % pages;
    stream.cpu.push(core * smt + (next() % smt));
    stream.lpid.push(gs[gi]!.lpid);
    stream.slbV.push(hptes[gi]![k]!.slbV);
    stream.ea.push((BigInt(k) << 12n) | BigInt(next() & 0xff8));
  }
  return { gs, hptes, stream };
}

const CORES = 16, SMT = 4, GUESTS = 8, PAGES = 2048, N = 4096;

// translate: the engine executes a pre-written batch (no JS per op); the reference translates call by call
const wm = new Machine({ cores: CORES, smt: SMT });
const w = setup(wm, GUESTS, PAGES, N, CORES, SMT);
const batch = new OpBatch(wm);
for (let i = 0; i < N; i++) batch.translate(w.stream.cpu[i]!, w.stream.lpid[i]!, w.stream.slbV[i]!, w.stream.ea[i]!);
const rm = createReferenceMachine({ cores: CORES, smt: SMT });
const r = setup(rm, GUESTS, PAGES, N, CORES, SMT);

// hcalls: H_REMOVE + H_ENTER of the same pages, so the HPT stays at the same load
function hcallPairs(g: SimGuest, hs: Hpte[], count: number): void {
  for (let k = 0; k < count; k++) {
    const h = hs[k]!;
    const ptex = g.hEnter(0n, h.ptex(20), h.v, h.r).out[0]!;
    g.hRemove(H_AVPN, ptex, h.v & ~0x7fn);
  }
}
const wg = w.gs[0]!, rg = r.gs[0]!;

const bench = new Bench({ time: quick ? 300 : 1500, warmupTime: quick ? 100 : 500 });
bench
  .add("wasm: translate ×4096 (batch)", () => batch.run())
  .add("reference: translate ×4096", () => {
    const s = r.stream;
    for (let i = 0; i < N; i++) rm.translate(s.cpu[i]!, s.lpid[i]!, s.slbV[i]!, s.ea[i]!);
  })
  .add("wasm: H_ENTER+H_REMOVE ×256 (API calls)", () => hcallPairs(wg, w.hptes[1]!, 256))
  .add("reference: H_ENTER+H_REMOVE ×256", () => hcallPairs(rg, r.hptes[1]!, 256));
await bench.run();

const median = (name: string) => {
  const t = bench.getTask(name)!.result as unknown as { latency?: { p50?: number }; period?: number };
  return t.latency?.p50 ?? t.period ?? NaN;
};
const rows = [
  { kernel: "translate", ops: N, wasm: median("wasm: translate ×4096 (batch)"), ref: median("reference: translate ×4096") },
  { kernel: "hcallPair", ops: 512, wasm: median("wasm: H_ENTER+H_REMOVE ×256 (API calls)"), ref: median("reference: H_ENTER+H_REMOVE ×256") },
];
const result: Record<string, { wasm: number; reference: number | null; ratio: number | null }> = {};
for (const row of rows) {
  const wasm = row.ops / row.wasm / 1e3; // ms → M ops/s
  const reference = row.ops / row.ref / 1e3;
  result[row.kernel] = { wasm: +wasm.toFixed(3), reference: +reference.toFixed(3), ratio: +(wasm / reference).toFixed(2) };
}
if (!json) {
  console.table(bench.table());
  console.log(`machine: ${CORES} cores × SMT${SMT}, ${GUESTS} guests × ${PAGES} pages, POWER7 TLB; medians in M ops/s`);
  for (const [k, v] of Object.entries(result)) console.log(`${k.padEnd(10)} wasm ${v.wasm} M/s  reference ${v.reference} M/s  ratio ${v.ratio}×`);
}
console.log(JSON.stringify(result));
