/**
 * The benchmark kernels of issue 5, each built twice where it can be: on the WASM engine (ops
 * written straight into the shared op buffer as 32-bit halves, one `runBatch` per iteration, as the
 * study workload does) and on the plain-TypeScript reference model (the same work, call by call).
 * A kernel is `prepare()` (untimed: fresh inputs for the next iteration) and `run()` (timed: the
 * work), with `ops` operations per iteration. bench/index.ts measures them with tinybench;
 * bench/profile.ts runs one in a loop under `node --cpu-prof`; bench/ab.ts runs one from several checkouts
 * side by side in one process.
 */
import { Machine } from "../dist/engine/machine.js";
import { OP, OP_BYTES } from "../dist/engine/layout.js";
import { encodeOpHeader32 } from "../dist/engine/ops.js";
import { createReferenceMachine, type RefMachine, type RefGuest } from "../dist/reference/index.js";
import { resolveStudy, expandStudy, type StudyPoint } from "../dist/study/config.js";
import { runPoint, runPoints } from "../dist/study/point.js";
import { loadHcallProgram, type HcallProgram } from "../dist/trace/hcall-program.js";
import { fileURLToPath } from "node:url";
import { runWorkload, DEFAULT_WORKLOAD } from "../dist/workload/synthetic.js";
import { LackeyReplayer } from "../dist/trace/lackey.js";
import { referenceReplayLackey } from "../dist/trace/lackey-reference.js";
import type { Guest } from "../dist/engine/guest.js";
import type { MachineConfigInput } from "../dist/config.js";

export interface Kernel {
  /** Operations one run() does (translations, HPT ops, tlbies, guest ops, lines). */
  ops: number;
  prepare(): void;
  run(): void;
  /** A fact about the kernel's state worth printing (hit rate, holders). */
  info?(): string;
}

export interface KernelPair {
  wasm: () => Kernel;
  /** null: the reference model has no counterpart. */
  reference: (() => Kernel) | null;
  /** Iterations per tinybench sample are one run(); time budgets are the bench's. */
  description: string;
}

/** xorshift32 over uint32, as fast as it gets in JS. */
export function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

const WORDS = OP_BYTES / 4; // u32 halves per op
const H_AVPN_LO = 0x80000000;
const H_SUCCESS = 0;
const H_PTEG_FULL = -6;

/** The u32 view of a machine's op buffer. */
function opView(m: Machine): Uint32Array {
  const w = m.opWords;
  return new Uint32Array(w.buffer, w.byteOffset, w.length * 2);
}

/** A 4 KiB page of a 256 MB segment as a Linux guest encodes it (makeHpte), in 32-bit halves. */
class Pages {
  readonly vsid: Uint32Array;
  readonly k: Uint32Array;
  readonly gpa: Float64Array;
  /** Slot (ptex) of each page, −1 when not mapped; and whether it sits in its secondary group. */
  readonly ptex: Float64Array;
  readonly secondary: Uint8Array;
  readonly #groupMask: number;
  constructor(readonly n: number, readonly order: number) {
    this.#groupMask = 2 ** (order - 7) - 1;
    this.vsid = new Uint32Array(n);
    this.k = new Uint32Array(n);
    this.gpa = new Float64Array(n);
    this.ptex = new Float64Array(n).fill(-1);
    this.secondary = new Uint8Array(n);
  }
  set(i: number, vsid: number, k: number, gpa: number): void {
    this.vsid[i] = vsid;
    this.k[i] = k;
    this.gpa[i] = gpa;
  }
  /** SLB VSID word (vsid < 2^20: fits the low half). */
  slbLo(i: number): number { return (this.vsid[i]! << 12) >>> 0; }
  ea(i: number): number { return this.k[i]! * 4096; }
  vLo(i: number): number { return ((this.vsid[i]! << 12) | ((this.k[i]! >>> 4) & 0xf80) | 1 | (this.secondary[i]! << 1)) >>> 0; }
  rLo(i: number): number { return (this.gpa[i]! % 4294967296) + 0x12; } // M | PP=2
  rHi(i: number): number { return Math.floor(this.gpa[i]! / 4294967296); }
  hash(i: number): number { return (this.vsid[i]! ^ this.k[i]!) >>> 0; }
  /** First slot of the group the page goes to (primary, or secondary if marked). */
  groupPtex(i: number): number {
    const h = this.hash(i);
    return ((this.secondary[i] ? ~h : h) & this.#groupMask) * 8;
  }
  // bigint forms for the reference model
  slbBig(i: number): bigint { return BigInt(this.slbLo(i)); }
  eaBig(i: number): bigint { return BigInt(this.ea(i)); }
  vBig(i: number): bigint { return BigInt(this.vLo(i)); }
  rBig(i: number): bigint { return BigInt(this.gpa[i]!) + 0x12n; }
}

/** Write an H_ENTER (flags 0: the engine picks the slot in the group) of page i at op slot `at`. */
function writeEnter(u32: Uint32Array, at: number, slot: number, cpu: number, p: Pages, i: number): void {
  const o = at * WORDS;
  encodeOpHeader32(u32, o, OP.H_ENTER, cpu, slot);
  u32[o + 4] = 0; u32[o + 5] = 0;
  u32[o + 6] = p.groupPtex(i); u32[o + 7] = 0;
  u32[o + 8] = p.vLo(i); u32[o + 9] = 0;
  u32[o + 10] = p.rLo(i); u32[o + 11] = p.rHi(i);
}

function writeTranslate(u32: Uint32Array, at: number, cpu: number, lpid: number, p: Pages, i: number, store: number): void {
  const o = at * WORDS;
  encodeOpHeader32(u32, o, OP.TRANSLATE, cpu, 0);
  u32[o + 4] = p.slbLo(i); u32[o + 5] = 0;
  u32[o + 6] = p.ea(i); u32[o + 7] = 0;
  u32[o + 8] = store; u32[o + 9] = 0;
  u32[o + 14] = 0; u32[o + 15] = 0;
  u32[o + 20] = lpid; u32[o + 21] = 0;
}

/**
 * Map pages [0, n) of `p` into guest g (slot order), primary group first, then the secondary one when
 * the primary is full; pages whose both groups are full stay unmapped. Returns how many were mapped.
 */
function mapAll(m: Machine, g: Guest, p: Pages, from = 0, to = p.n): number {
  const u32 = opView(m);
  const i32 = new Int32Array(u32.buffer, u32.byteOffset, u32.length);
  const cap = m.plan.opSlots;
  let mapped = 0;
  let pending: number[] = [];
  for (let i = from; i < to; i++) pending.push(i);
  for (let pass = 0; pass < 2 && pending.length; pass++) {
    const retry: number[] = [];
    for (let s = 0; s < pending.length; s += cap) {
      const part = pending.slice(s, s + cap);
      part.forEach((i, j) => writeEnter(u32, j, g.slot, 0, p, i));
      m.runOps(part.length);
      part.forEach((i, j) => {
        const ret = i32[j * WORDS + 2]!;
        if (ret === H_SUCCESS) { p.ptex[i] = u32[j * WORDS + 4]!; mapped++; }
        else if (ret === H_PTEG_FULL && pass === 0) { p.secondary[i] = 1; retry.push(i); }
        else if (ret !== H_PTEG_FULL) throw new Error(`bench: H_ENTER of page ${i} returned ${ret}`);
      });
    }
    pending = retry;
  }
  return mapped;
}

/** The same mapping on the reference model, in the engine's order (same slots: both take the first free one). */
function mapAllRef(g: RefGuest, p: Pages, from = 0, to = p.n): void {
  for (let pass = 0; pass < 2; pass++) for (let i = from; i < to; i++) {
    if (p.ptex[i]! < 0 || p.secondary[i] !== pass) continue;
    const r = g.hEnter(0n, BigInt(p.groupPtex(i)), p.vBig(i), p.rBig(i));
    if (r.ret !== 0 || Number(r.out[0]) !== p.ptex[i]) throw new Error(`bench: reference H_ENTER of page ${i} gave ${r.ret} slot ${r.out[0]}, engine slot ${p.ptex[i]}`);
  }
}

// ───────────────────────────── translate95 ─────────────────────────────

/**
 * 64 cores × SMT4, POWER7 TLBs (128 × 4, LRU), 8 guests with order-24 HPTs, each with `pages` 4 KiB
 * pages of one segment mapped. Each core keeps using 64 pages of its guest (core c serves guest
 * c mod 8); 1 access in 20 goes to a random page of the guest instead (a new one every iteration),
 * so about 95% of translations hit and the misses walk a 16 MiB HPT. 1 access in 4 is a store.
 */
interface Translate95Stream {
  n: number;
  cpu: Uint32Array;
  guest: Uint8Array;
  page: Uint32Array;
  store: Uint8Array;
  cold: Uint32Array;
  /** Random pages for the cold slots, consumed round-robin. */
  pool: Uint32Array;
}

const T95 = { cores: 64, smt: 4, guests: 8, order: 24, hot: 64, n: 4096 } as const;

function translate95Stream(pages: number): Translate95Stream {
  const next = xorshift(95);
  const { n, cores, smt, guests, hot } = T95;
  const s: Translate95Stream = {
    n, cpu: new Uint32Array(n), guest: new Uint8Array(n), page: new Uint32Array(n), store: new Uint8Array(n),
    cold: new Uint32Array(0), pool: new Uint32Array(1 << 18),
  };
  const cold: number[] = [];
  for (let i = 0; i < n; i++) {
    const cpu = next() % (cores * smt);
    const core = cpu >>> 2;
    s.cpu[i] = cpu;
    s.guest[i] = core % guests;
    s.page[i] = ((core >>> 3) * hot + (next() % hot)) % pages;
    s.store[i] = next() % 4 === 0 ? 1 : 0;
    if (next() % 20 === 0) cold.push(i);
  }
  s.cold = Uint32Array.from(cold);
  for (let i = 0; i < s.pool.length; i++) s.pool[i] = next() % pages;
  return s;
}

function translate95Pages(pages: number): Pages[] {
  return Array.from({ length: T95.guests }, (_, g) => {
    const p = new Pages(pages, T95.order);
    for (let k = 0; k < pages; k++) p.set(k, 0x1000 + 0x10 * g, k, k * 4096);
    return p;
  });
}

/**
 * The same stream on POWER10 (docs/model/tlb.md §7): 32 SMT8 cores of two 4-thread TLBs — the same 256
 * cpus and 64 TLBs (cpu c uses TLB c >> 2 on both machines), 256 × 4 TLBs, one-tlbiel flushes.
 */
const P10 = { generation: "power10", cores: 32 } as const;

export function translate95(quick: boolean, power10 = false): KernelPair {
  const pages = quick ? 16384 : 65536;
  const machine = power10 ? P10 : { cores: T95.cores, smt: T95.smt };
  return {
    description: power10
      ? `POWER10: 32 cores × SMT8 = 64 TLBs of 4 threads, 256×4 LRU TLBs, 8 guests × ${pages} pages, order-24 HPTs, 95% hot`
      : `64 cores × SMT4, 128×4 LRU TLBs, 8 guests × ${pages} pages, order-24 HPTs, 95% hot`,
    wasm: () => {
      const m = new Machine(machine);
      const ps = translate95Pages(pages);
      const gs = ps.map((p) => { const g = m.createGuest({ ramBytes: pages * 4096, hptOrder: T95.order }); mapAll(m, g, p); return g; });
      const s = translate95Stream(pages);
      const u32 = opView(m);
      for (let i = 0; i < s.n; i++) writeTranslate(u32, i, s.cpu[i]!, gs[s.guest[i]!]!.lpid, ps[s.guest[i]!]!, s.page[i]!, s.store[i]!);
      let at = 0;
      const c0 = { t: 0n, h: 0n };
      const k: Kernel = {
        ops: s.n,
        prepare() {
          // the cold accesses of this iteration: new random pages
          const pool = s.pool;
          for (let j = 0; j < s.cold.length; j++) {
            const i = s.cold[j]!;
            u32[i * WORDS + 6] = pool[at]! * 4096;
            at = (at + 1) & (pool.length - 1);
          }
        },
        run() { m.runOps(s.n); },
        info() {
          const c = m.counters();
          const t = c.translations - c0.t, h = c.tlbHits - c0.h;
          c0.t = c.translations; c0.h = c.tlbHits;
          return `hit rate ${(Number(h) / Number(t) * 100).toFixed(1)}%`;
        },
      };
      for (let i = 0; i < 8; i++) { k.prepare(); k.run(); } // warm the TLBs
      k.info!();
      return k;
    },
    reference: () => {
      const m = createReferenceMachine(machine);
      const ps = translate95Pages(pages);
      // the engine's slots: map on a scratch engine machine first (same algorithm, same slots)
      const scratch = new Machine({ cores: 1, smt: 1 });
      const gs = ps.map((p) => {
        const g = m.createGuest({ ramBytes: pages * 4096, hptOrder: T95.order });
        const sg = scratch.createGuest({ ramBytes: pages * 4096, hptOrder: T95.order });
        mapAll(scratch, sg, p);
        scratch.destroyGuest(sg.lpid);
        mapAllRef(g, p);
        return g;
      });
      const s = translate95Stream(pages);
      const slb = s.guest.reduce((a, g, i) => { a[i] = ps[g]!.slbBig(s.page[i]!); return a; }, new Array<bigint>(s.n));
      const ea = Array.from(s.page, (k) => BigInt(k * 4096));
      const lpid = Array.from(s.guest, (g) => gs[g]!.lpid);
      const access = Array.from(s.store, (x) => (x ? "store" as const : "load" as const));
      const poolBig = Array.from(s.pool.subarray(0, 1 << 14), (k) => BigInt(k * 4096));
      let at = 0;
      const k: Kernel = {
        ops: s.n,
        prepare() {
          for (let j = 0; j < s.cold.length; j++) {
            ea[s.cold[j]!] = poolBig[at]!;
            at = (at + 1) & (poolBig.length - 1);
          }
        },
        run() {
          for (let i = 0; i < s.n; i++) m.translate(s.cpu[i]!, lpid[i]!, slb[i]!, ea[i]!, access[i]!);
        },
      };
      for (let i = 0; i < 4; i++) { k.prepare(); k.run(); }
      return k;
    },
  };
}

// ───────────────────────────── hptOpsMix ─────────────────────────────

/**
 * One kvm-hv guest with an order-24 HPT (2^20 slots) held at 50% load (2^19 entries: 64 segments of
 * 8192 random pages each, so PTEGs fill as a real guest's do; a full primary group sends the entry
 * to its secondary). Each iteration: 1365 × (translate of a random mapped page — with 2^19 pages and
 * a 512-entry TLB, a walk; H_REMOVE of another random mapped page; H_ENTER of that page back into its
 * group). Issued from cpu 0 of a 4-core machine; the guest's vcore is not running, so each H_REMOVE
 * is a global tlbie under the default policy.
 */
const MIX = { order: 24, entries: 1 << 19, segments: 64, triples: 1365 };

function mixPages(): Pages {
  const next = xorshift(24);
  const per = MIX.entries / MIX.segments;
  const p = new Pages(MIX.entries, MIX.order);
  const used = new Uint8Array(65536);
  const vsids = new Set<number>();
  for (let s = 0; s < MIX.segments; s++) {
    let vsid: number;
    do vsid = 0x100 + (next() & 0xfffff) % 0xffe00; while (vsids.has(vsid));
    vsids.add(vsid);
    used.fill(0);
    for (let j = 0; j < per; j++) {
      let k: number;
      do k = next() & 0xffff; while (used[k]);
      used[k] = 1;
      const i = s * per + j;
      p.set(i, vsid, k, (i % (1 << 18)) * 4096); // 1 GiB of guest RAM, ~2 mappings per 4 KiB page
    }
  }
  return p;
}

interface MixPlan { a: Uint32Array; b: Uint32Array }

function mixPlan(p: Pages, next: () => number, stamp: Uint32Array, epoch: number): MixPlan {
  const plan: MixPlan = { a: new Uint32Array(MIX.triples), b: new Uint32Array(MIX.triples) };
  for (let t = 0; t < MIX.triples; t++) {
    let a: number, b: number;
    do a = next() % p.n; while (p.ptex[a]! < 0);
    do b = next() % p.n; while (p.ptex[b]! < 0 || stamp[b] === epoch);
    stamp[b] = epoch;
    plan.a[t] = a;
    plan.b[t] = b;
  }
  return plan;
}

export function hptOpsMix(): KernelPair {
  return {
    description: "order-24 HPT at 50% load: lookup (walk) + H_REMOVE + H_ENTER, 1 guest, cpu 0",
    wasm: () => {
      const m = new Machine({ cores: 4, smt: 4 });
      const g = m.createGuest({ ramBytes: 2 ** 30, hptOrder: MIX.order });
      const p = mixPages();
      mapAll(m, g, p);
      const u32 = opView(m);
      const i32 = new Int32Array(u32.buffer, u32.byteOffset, u32.length);
      const next = xorshift(3);
      const stamp = new Uint32Array(p.n);
      let epoch = 0;
      let plan: MixPlan;
      const n = MIX.triples * 3;
      const k: Kernel = {
        ops: n,
        prepare() {
          plan = mixPlan(p, next, stamp, ++epoch);
          for (let t = 0; t < MIX.triples; t++) {
            const a = plan.a[t]!, b = plan.b[t]!;
            writeTranslate(u32, 3 * t, 0, g.lpid, p, a, 0);
            const o = (3 * t + 1) * WORDS;
            encodeOpHeader32(u32, o, OP.H_REMOVE, 0, g.slot);
            u32[o + 4] = H_AVPN_LO; u32[o + 5] = 0;
            u32[o + 6] = p.ptex[b]!; u32[o + 7] = 0;
            u32[o + 8] = p.vLo(b) & ~0x7f; u32[o + 9] = 0;
            writeEnter(u32, 3 * t + 2, g.slot, 0, p, b);
          }
        },
        run() { m.runOps(n); },
      };
      const check = () => {
        for (let t = 0; t < MIX.triples; t++) {
          const b = plan.b[t]!;
          const ro = (3 * t + 1) * WORDS, eo = (3 * t + 2) * WORDS;
          if (i32[ro + 2] !== 0 || i32[eo + 2] !== 0) throw new Error(`bench: mix op failed: remove ${i32[ro + 2]}, enter ${i32[eo + 2]}`);
          p.ptex[b] = u32[eo + 4]!;
        }
      };
      // the new slots are read back after each run (untimed, with the next prepare)
      const prepare = k.prepare;
      let ran = false;
      k.prepare = () => { if (ran) { check(); ran = false; } prepare(); };
      const run = k.run;
      k.run = () => { run(); ran = true; };
      for (let i = 0; i < 4; i++) { k.prepare(); k.run(); }
      return k;
    },
    reference: () => {
      const m = createReferenceMachine({ cores: 4, smt: 4 });
      const g = m.createGuest({ ramBytes: 2 ** 30, hptOrder: MIX.order });
      const p = mixPages();
      const scratch = new Machine({ cores: 1, smt: 1 });
      mapAll(scratch, scratch.createGuest({ ramBytes: 2 ** 30, hptOrder: MIX.order }), p);
      mapAllRef(g, p);
      const next = xorshift(3);
      const stamp = new Uint32Array(p.n);
      let epoch = 0;
      const A = { slb: [] as bigint[], ea: [] as bigint[], ptex: [] as bigint[], avpn: [] as bigint[], grp: [] as bigint[], v: [] as bigint[], r: [] as bigint[], b: [] as number[] };
      const k: Kernel = {
        ops: MIX.triples * 3,
        prepare() {
          const plan = mixPlan(p, next, stamp, ++epoch);
          for (let t = 0; t < MIX.triples; t++) {
            const a = plan.a[t]!, b = plan.b[t]!;
            A.slb[t] = p.slbBig(a); A.ea[t] = p.eaBig(a);
            A.ptex[t] = BigInt(p.ptex[b]!); A.avpn[t] = p.vBig(b) & ~0x7fn;
            A.grp[t] = BigInt(p.groupPtex(b)); A.v[t] = p.vBig(b); A.r[t] = p.rBig(b); A.b[t] = b;
          }
        },
        run() {
          for (let t = 0; t < MIX.triples; t++) {
            m.translate(0, g.lpid, A.slb[t]!, A.ea[t]!);
            g.hRemove(0x80000000n, A.ptex[t]!, A.avpn[t]!);
            p.ptex[A.b[t]!] = Number(g.hEnter(0n, A.grp[t]!, A.v[t]!, A.r[t]!).out[0]);
          }
        },
      };
      for (let i = 0; i < 2; i++) { k.prepare(); k.run(); }
      return k;
    },
  };
}

// ───────────────────────────── tlbie1024 ─────────────────────────────

/**
 * 1024 cores × SMT4, 32 guests of 4096 mapped pages each. The holders are what a multi-guest run
 * leaves: in each of 2 scheduling epochs every guest runs on 32 cores drawn at random (a fresh
 * permutation per epoch) and each core translates 1024 random pages of the guest running there, so
 * a guest's entries sit on its current cores and, partly evicted, on the cores it left. Each
 * iteration: 4096 tlbies (machine op, issued by cpu 0) of random pages of random guests. Before it
 * (untimed) the run goes on: 8 pairs of cores swap guests (vcore migrations) and 16384 translations
 * on the placement refill the TLBs, so the holders stay at a steady state.
 *
 * The same stream runs on machines of 2048 TLBs (tlbie2048Smt8, tlbie2048Smt4): the unit a guest is
 * placed on is a TLB of 4 threads (cpu = unit × 4 + thread, on every machine here), so the op stream
 * is the same whatever splits the TLBs into cores.
 */
const TL = { units: 1024, guests: 32, pages: 4096, epochs: 2, n: 4096, refill: 16384 } as const;
const TLBIE1024_MACHINE: MachineConfigInput = { cores: 1024, smt: 4 };

interface TlbiePlan { pages: Pages[]; placement: Uint8Array[] }

function tlbiePlan(units: number): TlbiePlan {
  const next = xorshift(1024);
  const pages = Array.from({ length: TL.guests }, (_, g) => {
    const p = new Pages(TL.pages, 20);
    const vsid = 0x4000 + g * 0x111;
    for (let k = 0; k < TL.pages; k++) p.set(k, vsid, k, k * 4096);
    return p;
  });
  const placement = Array.from({ length: TL.epochs }, () => {
    const perm = Uint16Array.from({ length: units }, (_, i) => i);
    for (let i = perm.length - 1; i > 0; i--) { const j = next() % (i + 1); [perm[i], perm[j]] = [perm[j]!, perm[i]!]; }
    const guestOf = new Uint8Array(units);
    perm.forEach((unit, i) => { guestOf[unit] = i % TL.guests; });
    return guestOf;
  });
  return { pages, placement };
}

/** The tlbie kernel on a machine whose TLB u is shared by cpus 4u … 4u + 3 (`units` TLBs). */
function tlbieWasm(machine: MachineConfigInput, units: number, perUnit: number): Kernel {
  const m = new Machine(machine);
  if (m.config.cores * m.config.smt !== units * 4 || m.config.tlbThreadsPerGroup !== 4) throw new Error("bench: a tlbie kernel's TLBs are 4 threads each");
  const plan = tlbiePlan(units);
  const gs = plan.pages.map((p) => { const g = m.createGuest({ ramBytes: 64 * 2 ** 20, hptOrder: 20 }); mapAll(m, g, p); return g; });
  const u32 = opView(m);
  const cap = m.plan.opSlots;
  const next = xorshift(7);
  const translateBatch = (guestOf: Uint8Array, count: number, unit0: number) => {
    for (let i = 0; i < count; i++) {
      const unit = unit0 >= 0 ? unit0 : next() % units;
      const g = guestOf[unit]!;
      writeTranslate(u32, i, unit * 4 + (next() & 3), gs[g]!.lpid, plan.pages[g]!, next() % TL.pages, 0);
    }
    m.runOps(count);
  };
  for (const guestOf of plan.placement) {
    for (let unit = 0; unit < units; unit++) {
      for (let done = 0; done < perUnit; done += cap) translateBatch(guestOf, Math.min(cap, perUnit - done), unit);
    }
  }
  const current = plan.placement[TL.epochs - 1]!;
  const holders = () => gs.reduce((a, g) => a + m.lpidHolders(g.lpid).length, 0) / gs.length;
  const start = holders();
  const k: Kernel = {
    ops: TL.n,
    prepare() {
      migrate(current, next, units);
      for (let done = 0; done < TL.refill; done += cap) translateBatch(current, cap, -1);
      for (let i = 0; i < TL.n; i++) {
        const g = next() % TL.guests;
        const p = plan.pages[g]!;
        const page = next() % TL.pages;
        const o = i * WORDS;
        encodeOpHeader32(u32, o, OP.TLBIE, 0, 0);
        u32[o + 4] = p.slbLo(page); u32[o + 5] = 0;
        u32[o + 6] = p.ea(page); u32[o + 7] = 0;
        u32[o + 20] = gs[g]!.lpid; u32[o + 21] = 0;
      }
    },
    run() { m.runOps(TL.n); },
    info() {
      return `holders per LPID ${start.toFixed(0)} → ${holders().toFixed(0)} of ${units} TLBs; memory ${(m.memoryBytes / 2 ** 20).toFixed(1)} MiB`;
    },
  };
  for (let i = 0; i < 2; i++) { k.prepare(); k.run(); }
  return k;
}

export function tlbie1024(quick: boolean): KernelPair {
  const perCore = quick ? 512 : 1024;
  return {
    description: `1024 cores × SMT4, 32 guests × 4096 pages, holders from ${TL.epochs} scheduling epochs, tlbie from cpu 0`,
    wasm: () => tlbieWasm(TLBIE1024_MACHINE, TL.units, perCore),
    reference: () => {
      const m = createReferenceMachine(TLBIE1024_MACHINE);
      const plan = tlbiePlan(TL.units);
      const gs = plan.pages.map((p) => {
        const g = m.createGuest({ ramBytes: 64 * 2 ** 20, hptOrder: 20 });
        mapAllRef2(g, p);
        return g;
      });
      const next = xorshift(7);
      const slb = plan.pages.map((p) => p.slbBig(0));
      const eaOf = Array.from({ length: TL.pages }, (_, k) => BigInt(k * 4096));
      const translate = (guestOf: Uint8Array, core: number) => {
        const g = guestOf[core]!;
        m.translate(core * 4 + (next() & 3), gs[g]!.lpid, slb[g]!, eaOf[next() % TL.pages]!);
      };
      for (const guestOf of plan.placement) {
        for (let core = 0; core < TL.units; core++) for (let i = 0; i < perCore; i++) translate(guestOf, core);
      }
      const current = plan.placement[TL.epochs - 1]!;
      const lp = new Array<number>(TL.n), sl = new Array<bigint>(TL.n), ea = new Array<bigint>(TL.n);
      const k: Kernel = {
        ops: TL.n,
        prepare() {
          migrate(current, next, TL.units);
          for (let i = 0; i < TL.refill; i++) translate(current, next() % TL.units);
          for (let i = 0; i < TL.n; i++) {
            const g = next() % TL.guests;
            lp[i] = gs[g]!.lpid; sl[i] = slb[g]!; ea[i] = eaOf[next() % TL.pages]!;
          }
        },
        run() {
          for (let i = 0; i < TL.n; i++) m.tlbie(lp[i]!, sl[i]!, ea[i]!);
        },
      };
      k.prepare(); k.run();
      return k;
    },
  };
}

// ───────────────────────────── tlbie2048Smt8, tlbie2048Smt4 ─────────────────────────────

/**
 * Issue 19: "a 1024-core SMT8 machine stays within memory and within the benchmarks' noise of
 * today's speed for the same number of TLBs". tlbie1024's stream on 2048 TLBs of POWER10 geometry
 * (256 × 4, 12-bit LPIDs, docs/model/tlb.md §7.1), two ways: 1024 SMT8 cores of two 4-thread TLBs
 * (the thread-group machine) and 2048 SMT4 cores of one TLB each (today's one TLB per core). Both
 * have 8192 cpus and cpu c uses TLB c >> 2, so the ops, the TLB contents and every counter are the
 * same; only the TLB-per-core split differs. No reference counterpart (2048 TLBs).
 */
export const TLBIE2048_MACHINES = {
  smt8: { generation: "power10", cores: 1024 },
  smt4: { generation: "power10", cores: 2048, smt: 4 },
} as const satisfies Record<string, MachineConfigInput>;

export function tlbie2048(quick: boolean, split: "smt8" | "smt4"): KernelPair {
  const perUnit = quick ? 512 : 1024;
  return {
    description: split === "smt8"
      ? "POWER10: 1024 cores × SMT8 = 2048 TLBs of 4 threads (256×4), 32 guests × 4096 pages, tlbie1024's stream"
      : "POWER10 geometry: 2048 cores × SMT4 = 2048 TLBs of one core (256×4), 32 guests × 4096 pages, tlbie1024's stream",
    wasm: () => tlbieWasm(TLBIE2048_MACHINES[split], 2048, perUnit),
    reference: null,
  };
}

/** Vcore migrations between iterations: 8 random pairs of cores (TLBs) swap the guests they run. */
function migrate(guestOf: Uint8Array, next: () => number, units: number): void {
  for (let i = 0; i < 8; i++) {
    const a = next() % units, b = next() % units;
    const t = guestOf[a]!;
    guestOf[a] = guestOf[b]!;
    guestOf[b] = t;
  }
}

/** Map every page into the reference guest (slot choice is the model's own; nothing reads it back). */
function mapAllRef2(g: RefGuest, p: Pages): void {
  for (let i = 0; i < p.n; i++) {
    const r = g.hEnter(0n, BigInt(p.groupPtex(i)), p.vBig(i), p.rBig(i));
    if (r.ret !== 0) throw new Error(`bench: reference H_ENTER of page ${i} returned ${r.ret}`);
  }
}

// ───────────────────────────── endToEnd256 ─────────────────────────────

/**
 * A full study point (runPoint: machine, guests, every page mapped, the workload with its scheduler,
 * then the counters read): 256 cores × SMT4, need-tlb-flush, a 64-vcore guest (256 vcpus) and a
 * neighbour, honest H_LOCAL, host paging at 20,000 page-outs per million guest ops, the detector and
 * the cost model on, the default study's 130,000 guest operations. Guest operations per second.
 */
export function endToEndPoint(ops: number): StudyPoint {
  const study = resolveStudy({
    name: "bench", seed: 2012, opsPerPoint: ops,
    sweeps: [{ name: "endToEnd256", cores: [256], shapes: [{ label: "64 vcores", vcpus: 256, threadsPerVcore: 4 }], policies: [{ policy: "need-tlb-flush" }], hLocal: ["honest"], pageOutsPerMop: [20000], migrationRate: [0.05] }],
  });
  return expandStudy(study)[0]!;
}

export function endToEnd256(quick: boolean): KernelPair {
  const ops = quick ? 40000 : 130000;
  return {
    description: `runPoint: 256 cores × SMT4, need-tlb-flush, 64 vcores + 1 neighbour, paging 20000/Mop, ${ops} guest ops`,
    wasm: () => {
      const point = endToEndPoint(ops);
      let guestOps = 0;
      return {
        ops,
        prepare() {},
        run() { guestOps = runPoint(point).guestOps; if (guestOps !== ops) throw new Error("bench: guest op count"); },
      };
    },
    reference: null,
  };
}

// ───────────────────────────── realGuestTask ─────────────────────────────

/** The real guest's trace (data/traces), compiled once by setUpKernel before realGuestTask is made. */
let realGuestProgram: HcallProgram | undefined;

/** What a kernel needs before its factory runs (asynchronous work: loading a trace). Callers await it; untimed. */
export async function setUpKernel(name: string): Promise<void> {
  if (name === "realGuestTask" && !realGuestProgram) {
    realGuestProgram = await loadHcallProgram(fileURLToPath(new URL("../data/traces/linux-6.1-guest-boot-wl20.jsonl.gz", import.meta.url)));
  }
}

/**
 * A kernel of one study task (runPoints over `points`, which share a generator): its ops are the
 * guest ops of all its machines, counted once untimed and checked on every run.
 */
function taskKernel(name: string, points: StudyPoint[]): Kernel {
  const task = () => {
    let n = 0;
    for (const o of runPoints(points)) {
      if (!("result" in o)) throw new Error(`bench: ${name}: ${o.error}`);
      n += o.result.guestOps;
    }
    return n;
  };
  const guestOps = task();
  return {
    ops: guestOps,
    prepare() {},
    run() { if (task() !== guestOps) throw new Error(`bench: ${name} guest op count`); },
  };
}

/**
 * One task of the default study's real-guest sweep (runPoints: one trace-driven generator driving a
 * machine per policy, four of them mirrors fed copies of its ops): the Linux 6.1 guest's 206,185
 * hypercalls on 64 cores × SMT4, 2 vcpus on 2 vcores, honest H_LOCAL, 20,000 page-outs per million
 * guest ops, the sweep's five policies. Guest ops per second, summed over the five machines.
 */
export function realGuestTask(): KernelPair {
  return {
    description: "runPoints: the real guest's 206,185 hcalls, 64 cores × SMT4, 2 vcpus on 2 vcores, honest H_LOCAL, 5 policies (1 generator + 4 mirrors)",
    wasm: () => {
      const program = realGuestProgram;
      if (!program) throw new Error("bench: realGuestTask needs `await setUpKernel(\"realGuestTask\")` first");
      const study = resolveStudy({
        name: "bench", seed: 2012, opsPerPoint: 130000, machine: { smt: 4, tlbSets: 128, tlbWays: 4, fabric: { model: "concurrent" } },
        sweeps: [{
          name: "real-guest", trace: "linux-6.1-guest-boot-wl20.jsonl.gz", cores: [64], shapes: [{ label: "2 vcpus, 2 vcores", vcpus: 2, threadsPerVcore: 1 }],
          policies: [{ policy: "need-tlb-flush" }, { policy: "need-tlb-flush-3.8" }, { policy: "last-vcpu" }, { policy: "flush-always" }, { policy: "deferred-va", deferredCaps: [64] }],
          hLocal: ["honest"], pageOutsPerMop: [20000], migrationRate: [0.05],
        }],
      });
      const points = expandStudy(study);
      for (const p of points) { p.run.program = program; p.params.ops = p.run.ops = program.calls; }
      return taskKernel("realGuestTask", points);
    },
    reference: null,
  };
}

// ───────────────────────────── scalingTask ─────────────────────────────

/**
 * One task of the default study's scaling sweep (runPoints: one synthetic generator driving a machine
 * per policy, seven of them mirrors fed copies of its ops): 256 cores × SMT4, a 64-vcore guest (256
 * vcpus) and a neighbour, honest H_LOCAL, 2,000 page-outs per million guest ops, the sweep's eight
 * policies, 130,000 guest ops each. Guest ops per second, summed over the eight machines: the point
 * of endToEnd256 as the study runs it, with eight machines' state (8 × 2 MiB of TLBs) in the caches
 * at once.
 */
export function scalingTask(): KernelPair {
  const policies = ["need-tlb-flush", "need-tlb-flush-3.8", "last-vcpu", "flush-always", "deferred-va", "lazy-reuse", "ipi-tlbiel", "batched-reclaim"];
  return {
    description: "runPoints: 256 cores × SMT4, 64 vcores + 1 neighbour, honest H_LOCAL, paging 2000/Mop, 8 policies (1 generator + 7 mirrors), 130000 guest ops each",
    wasm: () => {
      const study = resolveStudy({
        name: "bench", seed: 2012, opsPerPoint: 130000, costProfile: "power7",
        machine: { smt: 4, tlbSets: 128, tlbWays: 4, fabric: { model: "concurrent" } },
        sweeps: [{
          name: "scaling", cores: [256], shapes: [{ label: "64 vcores", vcpus: 256, threadsPerVcore: 4 }],
          policies: policies.map((policy) => (policy === "deferred-va" ? { policy, deferredCaps: [64] } : { policy })),
          hLocal: ["honest"], pageOutsPerMop: [2000], migrationRate: [0.05],
        }],
      });
      return taskKernel("scalingTask", expandStudy(study));
    },
    reference: null,
  };
}

// ───────────────────────────── lackeyLinesPerSec ─────────────────────────────

/**
 * A generated lackey trace shaped like a real one: valgrind's `==` banner, instruction fetches
 * running through ~96 code pages with branches, loads and stores to a stack of a few pages and to a
 * Zipf-popular heap of 4096 pages, modifies, sizes 1–16 (some accesses straddle a page), then the
 * closing `==` lines. Replayed from 64 KiB chunks through the default I-TLB (64×2) and D-TLB (64×4).
 */
export function lackeyTrace(lines: number): Buffer {
  const next = xorshift(0x1acce55);
  const out: string[] = ["==4242== Lackey, an example Valgrind tool", "==4242== Copyright (C) 2002-2022, and GNU GPL'd, by Nicholas Nethercote.", "==4242== Command: ./bench", "==4242== "];
  let pc = 0x400000;
  const hex = (x: number) => x.toString(16).padStart(8, "0");
  const heapPage = () => { const u = (next() >>> 8) / 16777216; return Math.floor(4096 * u * u * u); };
  for (let i = out.length; i < lines - 2; i++) {
    const r = next() % 100;
    if (r < 55) {
      pc += 1 + (next() % 7);
      if (next() % 16 === 0) pc = 0x400000 + (next() % (96 * 4096));
      out.push(`I  ${hex(pc)},${1 + (next() % 6)}`);
    } else {
      const kind = r < 80 ? " L " : r < 95 ? " S " : " M ";
      const stack = next() % 2 === 0;
      const addr = stack ? 0x1ffefff000 - (next() % (4 * 4096)) : 0x4a00000 + heapPage() * 4096 + (next() % 4096);
      const size = [1, 2, 4, 8, 8, 8, 16][next() % 7]!;
      out.push(`${kind}${addr.toString(16)},${size}`);
    }
  }
  out.push("==4242== ", "==4242== Counted 1 call to main()");
  return Buffer.from(`${out.join("\n")}\n`, "latin1");
}

export function lackeyLines(quick: boolean): KernelPair {
  const lines = quick ? 200_000 : 1_000_000;
  const CHUNK = 65536;
  let trace: Buffer | undefined;
  const get = () => (trace ??= lackeyTrace(lines));
  return {
    description: `generated ${lines}-line trace from 64 KiB chunks, I-TLB 64×2, D-TLB 64×4, 4 KiB pages`,
    wasm: () => {
      const t = get();
      const chunks: Uint8Array[] = [];
      for (let p = 0; p < t.length; p += CHUNK) chunks.push(t.subarray(p, p + CHUNK));
      return {
        ops: lines,
        prepare() {},
        run() {
          const r = new LackeyReplayer();
          for (const c of chunks) r.feed(c);
          if (r.end().lines !== lines) throw new Error("bench: lackey line count");
        },
      };
    },
    reference: () => {
      const text = get().toString("latin1");
      return {
        ops: lines,
        prepare() {},
        run() { if (referenceReplayLackey(text).lines !== lines) throw new Error("bench: reference lackey line count"); },
      };
    },
  };
}

/** Short calls of every op kind on a small machine: V8 tiers runBatch up before any long call. */
export function warmUp(): void {
  for (let i = 0; i < 3; i++) {
    runWorkload({
      cores: 8, smt: 4, tlbSets: 128, tlbWays: 4, policy: "need-tlb-flush", deferredCap: null, deferredOverflow: null,
      vcpus: 16, threadsPerVcore: 4, guests: 2, hLocal: "honest", pageOutsPerMop: 20000, migrationRate: 0.05, ops: 20000, seed: 1 + i,
      workload: DEFAULT_WORKLOAD,
    });
  }
  const m = new Machine({ cores: 4, smt: 4 });
  const p = new Pages(4096, 20);
  for (let k = 0; k < p.n; k++) p.set(k, 0x77, k, k * 4096);
  const g = m.createGuest({ ramBytes: 2 ** 24, hptOrder: 20 });
  mapAll(m, g, p);
  const u32 = opView(m);
  for (let rep = 0; rep < 2000; rep++) {
    for (let i = 0; i < 16; i++) {
      if (i % 4 === 3) {
        const o = i * WORDS;
        encodeOpHeader32(u32, o, OP.TLBIE, 0, 0); u32[o + 4] = p.slbLo(i); u32[o + 6] = p.ea((rep * 16 + i) % p.n); u32[o + 20] = g.lpid;
      } else {
        writeTranslate(u32, i, i, g.lpid, p, (rep * 7 + i * 13) % p.n, i & 1);
      }
    }
    m.runOps(16);
  }
}

export const KERNELS = {
  translate95: (quick: boolean) => translate95(quick),
  translate95Power10: (quick: boolean) => translate95(quick, true),
  hptOpsMix: (_quick: boolean) => hptOpsMix(),
  tlbie1024: (quick: boolean) => tlbie1024(quick),
  tlbie2048Smt8: (quick: boolean) => tlbie2048(quick, "smt8"),
  tlbie2048Smt4: (quick: boolean) => tlbie2048(quick, "smt4"),
  endToEnd256: (quick: boolean) => endToEnd256(quick),
  realGuestTask: (_quick: boolean) => realGuestTask(),
  scalingTask: (_quick: boolean) => scalingTask(),
  lackeyLinesPerSec: (quick: boolean) => lackeyLines(quick),
} as const;
export type KernelName = keyof typeof KERNELS;
