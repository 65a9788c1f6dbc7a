/**
 * The built-in demo (`hptlab demo`, what `npm start` runs until the studies land): a small
 * machine, a few guests mapping, touching and removing pages through op batches, and the
 * engine's counters at the end. Deterministic for a given seed.
 */
import { Machine } from "./engine/machine.js";
import { type Guest } from "./engine/guest.js";
import { OpBatch } from "./engine/batch.js";
import { makeHpte, H_AVPN, H_SUCCESS, type Hpte } from "./hpte.js";
import type { CounterBlock } from "./types.js";

export interface DemoOptions {
  cores?: number;
  smt?: 1 | 2 | 4 | 8;
  guests?: number;
  pagesPerGuest?: number;
  translations?: number;
  seed?: number;
}

export interface DemoResult {
  config: Required<DemoOptions>;
  counters: CounterBlock;
  perGuest: { lpid: number; semantics: string; counters: CounterBlock }[];
  ops: number;
  seconds: number;
}

/** xorshift32: the demo's only source of randomness. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

export function runDemo(options: DemoOptions = {}): DemoResult {
  const config: Required<DemoOptions> = {
    cores: options.cores ?? 16, smt: options.smt ?? 4, guests: options.guests ?? 4,
    pagesPerGuest: options.pagesPerGuest ?? 4096, translations: options.translations ?? 1_000_000, seed: options.seed ?? 1,
  };
  const t0 = performance.now();
  const m = new Machine({ cores: config.cores, smt: config.smt, seed: config.seed });
  const next = rng(config.seed);
  const batch = new OpBatch(m);
  let ops = 0;
  const flush = () => { if (batch.length) { batch.run(); ops += batch.length; batch.clear(); } };

  // 1. guests map their pages: one 256 MB segment each, 4 KiB pages over the first MiBs of RAM
  const guests: { g: Guest; hptes: Hpte[]; ptex: bigint[] }[] = [];
  if (config.pagesPerGuest > batch.capacity) throw new RangeError(`pagesPerGuest: at most ${batch.capacity}`);
  for (let i = 0; i < config.guests; i++) {
    const g = m.createGuest({ ramBytes: 256 * 2 ** 20, semantics: i % 4 === 3 ? "qemu" : "kvm-hv", hptOrder: 20 });
    const hptes = Array.from({ length: config.pagesPerGuest }, (_, k) =>
      makeHpte({ vsid: 0x1000n + BigInt(g.lpid), ea: BigInt(k) << 12n, gpa: BigInt(k) << 12n }));
    for (const h of hptes) batch.hEnter(g, 0n, h.ptex(g.hptOrder), h.v, h.r);
    batch.run();
    ops += batch.length;
    // r4 of each successful H_ENTER is the slot the entry went to
    const ptex = hptes.map((_, k) => (batch.ret(k) === H_SUCCESS ? batch.reg(k, 0) : -1n));
    batch.clear();
    guests.push({ g, hptes, ptex });
  }

  // 2. translations from every cpu, 90% of them on a hot 1/64 of each guest's pages
  const cpus = config.cores * config.smt;
  for (let t = 0; t < config.translations; t++) {
    const e = guests[next() % guests.length]!;
    const hot = next() % 10 !== 0;
    const k = hot ? next() % Math.max(1, config.pagesPerGuest >> 6) : next() % config.pagesPerGuest;
    const h = e.hptes[k]!;
    batch.translate(next() % cpus, e.g.lpid, h.slbV, (BigInt(k) << 12n) | BigInt(next() & 0xff8), next() % 4 === 0 ? "store" : "load");
    if (batch.full) flush();
  }
  flush();

  // 3. each guest removes a quarter of its pages with H_REMOVE (H_AVPN) and re-protects another quarter
  for (const e of guests) {
    const n = config.pagesPerGuest;
    for (let k = 0; k < n >> 2; k++) {
      const ptex = e.ptex[k]!;
      if (ptex < 0n) continue;
      batch.hRemove(e.g, H_AVPN, ptex, e.hptes[k]!.v & ~0x7fn, { cpu: next() % cpus });
      if (batch.full) flush();
    }
    for (let k = n >> 2; k < n >> 1; k++) {
      const ptex = e.ptex[k]!;
      if (ptex < 0n) continue;
      batch.hProtect(e.g, 0x3n, ptex, 0n, { cpu: next() % cpus });
      if (batch.full) flush();
    }
    flush();
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    config, counters: m.counters(), ops, seconds,
    perGuest: guests.map((e) => ({ lpid: e.g.lpid, semantics: e.g.semantics, counters: e.g.counters() })),
  };
}
