// The trace-driven workload's per-call loop (src/workload/trace-driven.ts describes the workload and
// its parameters; src/workload/trace-wasm.ts sets up the state this kernel reads: docs/memory.md,
// "The trace generator's state"). For each call of the compiled trace (an HcallProgram, copied into
// the state block) it writes the call's op — with H_LOCAL as the point's mode decides, an
// H_BULK_REMOVE's local requests split off as H_REMOVEs — and the accesses derived from it (the
// first touch of an entry, the touches another vcpu owes, the revisits), with the same mulberry32
// streams and the same draws, in the same order, as the TypeScript twin (runTraceWorkloadsTs), so the
// engine sees the same ops in the same engine calls. When the buffer is full it calls the host
// (genFlush); scheduler ticks and a vcpu whose vcore is not running return to the host (the
// scheduler stays in TypeScript).

import { OP_TRANSLATE, OP_H_ENTER, OP_H_REMOVE, OP_H_PROTECT, OP_H_READ, OP_H_BULK_REMOVE, OP_PAGE_OUT, OP_PAGE_IN, OP_RECLAIM, OP_BYTES } from "../layout";

// @ts-ignore: decorator
@external("env", "genFlush")
declare function genFlush(n: u32): void;

// ───────── the state block (offsets in bytes; src/workload/trace-wasm.ts T and NB write the same) ─────────
// u32 words
// @ts-ignore: decorator
@inline export const T_N: usize = 0; // ops written in the buffer
// @ts-ignore: decorator
@inline export const T_CAP: usize = 4; // ops per engine call
// @ts-ignore: decorator
@inline export const T_OPS: usize = 8; // op buffer address
// @ts-ignore: decorator
@inline export const T_RNG: usize = 12; // mulberry32's state: the workload's draws
// @ts-ignore: decorator
@inline export const T_LIES: usize = 16; // mulberry32's state: lying H_LOCAL's draws
// @ts-ignore: decorator
@inline export const T_GSLOT: usize = 20; // the studied guest's slot
// @ts-ignore: decorator
@inline export const T_GLPID: usize = 24; // and its LPID
// @ts-ignore: decorator
@inline export const T_CALL: usize = 28; // the next call to replay
// @ts-ignore: decorator
@inline export const T_CALLS: usize = 32; // calls to replay
// @ts-ignore: decorator
@inline export const T_VCPUS: usize = 36; // the guest's vcpus
// @ts-ignore: decorator
@inline export const T_TPV: usize = 40; // threads per vcore
// @ts-ignore: decorator
@inline export const T_SMT: usize = 44; // threads per core
// @ts-ignore: decorator
@inline export const T_HLOCAL: usize = 48; // 0 never, 1 honest, 2 lying
// @ts-ignore: decorator
@inline export const T_WORK: usize = 52; // workCycles
// @ts-ignore: decorator
@inline export const T_REVISITS: usize = 56; // revisitsPerCall
// @ts-ignore: decorator
@inline export const T_WINDOW: usize = 60; // revisitWindow
// @ts-ignore: decorator
@inline export const T_INVALID: usize = 64; // the dense number of every out-of-range ptex
// @ts-ignore: decorator
@inline export const T_RAM_PAGES: usize = 68; // host pages of the guest's RAM
// @ts-ignore: decorator
@inline export const T_FRAME_SHIFT: usize = 72; // host page shift − 12
// @ts-ignore: decorator
@inline export const T_USED_N: usize = 76; // host frames the guest has used
// @ts-ignore: decorator
@inline export const T_SAMPLES: usize = 80; // reclaimSample
// @ts-ignore: decorator
@inline export const T_NBS: usize = 84; // neighbours
// @ts-ignore: decorator
@inline export const T_NBGFN: usize = 88; // neighbour counter of host pressure
// @ts-ignore: decorator
@inline export const T_NB_PAGES: usize = 92; // host pages of a neighbour's RAM
// @ts-ignore: decorator
@inline export const T_RR: usize = 96; // round-robin counter over a neighbour's cpus
// @ts-ignore: decorator
@inline export const T_PLACE: usize = 100; // NO_CPU: the vcore to place
// arrays (addresses)
// @ts-ignore: decorator
@inline export const T_KIND: usize = 104; // u8 per call (HC)
// @ts-ignore: decorator
@inline export const T_VCPU: usize = 108; // u16 per call
// @ts-ignore: decorator
@inline export const T_WORDS: usize = 112; // 18 u32 per call (CALL_WORDS)
// @ts-ignore: decorator
@inline export const T_RET: usize = 116; // i32 per call
// @ts-ignore: decorator
@inline export const T_HIT: usize = 120; // u8 per call
// @ts-ignore: decorator
@inline export const T_SLOT: usize = 124; // i32 per call: its slot's dense number (SlotIds.call)
// @ts-ignore: decorator
@inline export const T_BULK: usize = 128; // 4 i32 per call (SlotIds.bulk)
// @ts-ignore: decorator
@inline export const T_TOUCH: usize = 132; // 5 u32 per call (TOUCH_WORDS)
// @ts-ignore: decorator
@inline export const T_GEN: usize = 136; // u32 per dense slot: generation
// @ts-ignore: decorator
@inline export const T_OWNER: usize = 140; // i32 per dense slot: −1 nobody, −2 several, −3 out of range, else the vcpu
// @ts-ignore: decorator
@inline export const T_USED_AT: usize = 144; // u8 per host frame: used
// @ts-ignore: decorator
@inline export const T_USED: usize = 148; // i32 per host frame: used frames in order of first use
// @ts-ignore: decorator
@inline export const T_RING_CALL: usize = 152; // i32 per vcpu × window
// @ts-ignore: decorator
@inline export const T_RING_GEN: usize = 156; // u32 per vcpu × window
// @ts-ignore: decorator
@inline export const T_RING_POS: usize = 160; // i32 per vcpu
// @ts-ignore: decorator
@inline export const T_RING_COUNT: usize = 164; // i32 per vcpu
// @ts-ignore: decorator
@inline export const T_OWED_HEAD: usize = 168; // i32 per vcpu: first owed touch (record), −1 none
// @ts-ignore: decorator
@inline export const T_OWED_TAIL: usize = 172; // i32 per vcpu: last
// @ts-ignore: decorator
@inline export const T_OWED_POOL: usize = 176; // records of 3 i32: call, generation, next (one per H_ENTER at most)
// @ts-ignore: decorator
@inline export const T_OWED_TOP: usize = 180; // records taken
// @ts-ignore: decorator
@inline export const T_CORE_OF: usize = 184; // i32 per vcore of the guest: its core, −1 not running
// @ts-ignore: decorator
@inline export const T_RPROB: usize = 188; // recency Zipf alias table (f64 prob, i32 alias), n = window
// @ts-ignore: decorator
@inline export const T_RALIAS: usize = 192;
// @ts-ignore: decorator
@inline export const T_NPROB: usize = 196; // neighbours' Zipf alias table
// @ts-ignore: decorator
@inline export const T_NALIAS: usize = 200;
// @ts-ignore: decorator
@inline export const T_NN: usize = 204;
// @ts-ignore: decorator
@inline export const T_NB_TAB: usize = 208; // neighbour descriptors (NB_BYTES each)
// f64 words
// @ts-ignore: decorator
@inline export const T_GUEST_OPS: usize = 256;
// @ts-ignore: decorator
@inline export const T_TRANSLATIONS: usize = 264;
// @ts-ignore: decorator
@inline export const T_HCALLS: usize = 272;
// @ts-ignore: decorator
@inline export const T_TRACE_CALLS: usize = 280;
// @ts-ignore: decorator
@inline export const T_TOUCHES: usize = 288;
// @ts-ignore: decorator
@inline export const T_INVALIDATIONS: usize = 296;
// @ts-ignore: decorator
@inline export const T_LOCAL_ELIGIBLE: usize = 304;
// @ts-ignore: decorator
@inline export const T_MARKED_LOCAL: usize = 312;
// @ts-ignore: decorator
@inline export const T_SPLIT: usize = 320;
// @ts-ignore: decorator
@inline export const T_AFTER_UNMAP_TOUCHES: usize = 328;
// @ts-ignore: decorator
@inline export const T_PAGE_OUTS: usize = 336;
// @ts-ignore: decorator
@inline export const T_NEXT_PAGE: usize = 344;
// @ts-ignore: decorator
@inline export const T_PAGE_EVERY: usize = 352;
// @ts-ignore: decorator
@inline export const T_NEXT_TICK: usize = 360;
// @ts-ignore: decorator
@inline export const T_NEIGHBOUR_SHARE: usize = 368;
// @ts-ignore: decorator
@inline export const T_STORE: usize = 376;
// @ts-ignore: decorator
@inline export const T_SHARED: usize = 384; // sharedShare
// @ts-ignore: decorator
@inline export const T_LIE: usize = 392; // lieShare
// @ts-ignore: decorator
@inline export const T_AFTER_UNMAP: usize = 400;

// a neighbour descriptor: 8 u32 words
// @ts-ignore: decorator
@inline const NB_SLOT: usize = 0;
// @ts-ignore: decorator
@inline const NB_LPID: usize = 4;
// @ts-ignore: decorator
@inline const NB_SLB_LO: usize = 8; // its segment (one process)
// @ts-ignore: decorator
@inline const NB_SLB_HI: usize = 12;
// @ts-ignore: decorator
@inline const NB_EA: usize = 16; // u32 per page
// @ts-ignore: decorator
@inline const NB_MAPPED: usize = 20; // u8 per page: mapped at the start
// @ts-ignore: decorator
@inline const NB_CPUS: usize = 24; // i32 per cpu: the cpus that run its vcpu now
// @ts-ignore: decorator
@inline const NB_NCPUS: usize = 28;
// @ts-ignore: decorator
@inline export const NB_BYTES: usize = 32;

// return codes of traceRun
// @ts-ignore: decorator
@inline const DONE: u32 = 0;
// @ts-ignore: decorator
@inline const TICK: u32 = 1;
// @ts-ignore: decorator
@inline const NO_CPU: u32 = 2;

// kinds (src/trace/hcall-program.ts HC)
// @ts-ignore: decorator
@inline const HC_ENTER: u32 = 0;
// @ts-ignore: decorator
@inline const HC_REMOVE: u32 = 1;
// @ts-ignore: decorator
@inline const HC_PROTECT: u32 = 2;
// @ts-ignore: decorator
@inline const HC_READ: u32 = 3;
// @ts-ignore: decorator
@inline const CALL_WORDS: usize = 18;
// @ts-ignore: decorator
@inline const TOUCH_WORDS: usize = 5;

// @ts-ignore: decorator
@inline const H_LOCAL_LO: u32 = 0x10000000;
// @ts-ignore: decorator
@inline const H_AVPN_LO: u32 = 0x80000000;
// @ts-ignore: decorator
@inline const H_ANDCOND_LO: u32 = 0x40000000;

let S: usize = 0;

// @ts-ignore: decorator
@inline function u(off: usize): u32 { return load<u32>(S + off); }
// @ts-ignore: decorator
@inline function a(off: usize): usize { return <usize>load<u32>(S + off); }
// @ts-ignore: decorator
@inline function f(off: usize): f64 { return load<f64>(S + off); }
// @ts-ignore: decorator
@inline function bump(off: usize): void { store<f64>(S + off, load<f64>(S + off) + 1); }

/** The workload stream's mulberry32 state while the kernel runs (loaded from T_RNG on entry, stored back on every return). */
let rng: i32 = 0;

/** mulberry32's next draw in [0, 1) (src/workload/scheduler.ts mulberry32Fill, the same arithmetic; × 2^−32 is the division by 2^32, exactly). */
// @ts-ignore: decorator
@inline function step(a: i32): f64 {
  let t = (a ^ (a >>> 15)) * (a | 1);
  t ^= t + (t ^ (t >>> 7)) * (t | 61);
  return <f64>(<u32>(t ^ (t >>> 14))) * 2.3283064365386963e-10;
}

/** The workload's next draw. */
// @ts-ignore: decorator
@inline function rand(): f64 {
  rng += 0x6d2b79f5;
  return step(rng);
}

/** Lying H_LOCAL's next draw (its own stream, in the state block: rare). */
function lie(): f64 {
  const a = load<i32>(S + T_LIES) + 0x6d2b79f5;
  store<i32>(S + T_LIES, a);
  return step(a);
}

/** Start an op (the OpWriter's op()): the buffer runs first when full. Returns the op's address. */
function op(opcode: u32, cpu: u32, slot: u32): usize {
  let n = u(T_N);
  if (n == u(T_CAP)) {
    genFlush(n);
    n = 0;
  }
  store<u32>(S + T_N, n + 1);
  const o = a(T_OPS) + <usize>n * OP_BYTES;
  store<u32>(o, opcode);
  store<u32>(o, cpu | (slot << 16), 4);
  return o;
}

// @ts-ignore: decorator
@inline function zipfDraw(prob: usize, alias: usize, n: u32, x: f64, y: f64): u32 {
  const i = <u32>Math.floor(x * <f64>n);
  return y < load<f64>(prob + (<usize>i << 3)) ? i : load<u32>(alias + (<usize>i << 2));
}

/** A translation (the twin's translateOp). */
function translate(cpu: u32, lpid: u32, slbLo: u32, slbHi: u32, eaLo: u32, eaHi: u32, isStore: bool): void {
  const o = op(OP_TRANSLATE, cpu, 0);
  store<u32>(o, slbLo, 16); store<u32>(o, slbHi, 20);
  store<u32>(o, eaLo, 24); store<u32>(o, eaHi, 28);
  store<u32>(o, isStore ? 1 : 0, 32); store<u32>(o, 0, 36);
  store<u32>(o, u(T_WORK), 56); store<u32>(o, 0, 60);
  store<u32>(o, lpid, 80); store<u32>(o, 0, 84);
}

/** vcpu v (on cpu) accesses the page H_ENTER call e mapped; s is its slot while it is live, else −1. */
function touch(v: i32, cpu: u32, e: u32, s: i32): void {
  const t = a(T_TOUCH) + <usize>e * TOUCH_WORDS * 4;
  const isStore = rand() < f(T_STORE);
  translate(cpu, u(T_GLPID), load<u32>(t), load<u32>(t, 4), load<u32>(t, 8), load<u32>(t, 12), isStore);
  if (s >= 0) {
    const oa = a(T_OWNER) + (<usize>s << 2);
    const x = load<i32>(oa);
    if (x == -1) store<i32>(oa, v);
    else if (x != v) store<i32>(oa, -2);
  }
  bump(T_TOUCHES);
  bump(T_TRANSLATIONS);
  bump(T_GUEST_OPS);
}

function remember(v: i32, e: u32, s: i32): void {
  const W = u(T_WINDOW);
  const pp = a(T_RING_POS) + (<usize>v << 2);
  const k = load<u32>(pp);
  const at = <usize>v * <usize>W + <usize>k;
  store<u32>(a(T_RING_CALL) + (at << 2), e);
  store<u32>(a(T_RING_GEN) + (at << 2), load<u32>(a(T_GEN) + (<usize>s << 2)));
  store<u32>(pp, k + 1 == W ? 0 : k + 1);
  const cp = a(T_RING_COUNT) + (<usize>v << 2);
  const c = load<u32>(cp);
  if (c < W) store<u32>(cp, c + 1);
}

/** Whether a request on slot s by vcpu v carries H_LOCAL; counts it. `found`: it invalidates an entry. */
function markLocal(v: i32, s: i32, found: bool): bool {
  const x = load<i32>(a(T_OWNER) + (<usize>s << 2));
  const eligible = x == -1 || x == v;
  if (found) {
    bump(T_INVALIDATIONS);
    if (eligible) bump(T_LOCAL_ELIGIBLE);
  }
  const mode = u(T_HLOCAL);
  let mark = false;
  if (mode == 1) mark = eligible;
  else if (mode == 2) mark = eligible || (found && lie() < f(T_LIE));
  if (mark && found) bump(T_MARKED_LOCAL);
  return mark;
}

/** The call's own op: flags (low word given), then its words from the trace. */
function hcallOp(opcode: u32, cpu: u32, c: usize, flagsLo: u32, nargs: usize): void {
  const o = op(opcode, cpu, u(T_GSLOT));
  store<u32>(o, flagsLo, 16); store<u32>(o, load<u32>(c, 4), 20);
  for (let k: usize = 2; k < 2 + 2 * nargs; k++) store<u32>(o + 16 + (k << 2), load<u32>(c + (k << 2)));
  bump(T_HCALLS);
}

/** The entry in dense slot s went: a new generation, nobody touched it. */
function gone(s: i32): void {
  const g = a(T_GEN) + (<usize>s << 2);
  store<u32>(g, load<u32>(g) + 1);
  store<i32>(a(T_OWNER) + (<usize>s << 2), -1);
}

/** Host memory pressure (hostPressure in src/workload/synthetic.ts, sampling the frames the guest used). */
function hostPressure(): void {
  const samples = u(T_SAMPLES);
  let o = op(OP_RECLAIM, 0, u(T_GSLOT));
  for (let k: u32 = 0; k < 8; k++) {
    const b = o + 16 + (<usize>k << 3);
    if (k < samples) {
      const n = u(T_USED_N);
      const x = n > 0
        ? load<u32>(a(T_USED) + (<usize><u32>Math.floor(rand() * <f64>n) << 2))
        : <u32>Math.floor(rand() * <f64>u(T_RAM_PAGES));
      store<u32>(b, x); store<u32>(b, 0, 4);
    } else {
      store<u32>(b, 0xffffffff); store<u32>(b, 0xffffffff, 4);
    }
  }
  const nbs = u(T_NBS);
  if (nbs == 0) return;
  const nbGfn = u(T_NBGFN);
  const slot = load<u32>(a(T_NB_TAB) + <usize>(nbGfn % nbs) * NB_BYTES + NB_SLOT);
  const k = (nbGfn >> 3) % u(T_NB_PAGES);
  o = op(OP_PAGE_OUT, 0, slot);
  store<u32>(o, k, 16); store<u32>(o, 0, 20);
  o = op(OP_PAGE_IN, 0, slot);
  store<u32>(o, k, 16); store<u32>(o, 0, 20);
  store<u32>(S + T_NBGFN, nbGfn + 1);
}

/** H_BULK_REMOVE of call i (words at c) by vcpu v: requests marked local leave it as H_REMOVE + H_LOCAL. */
function bulkRemove(i: u32, c: usize, v: i32, cpu: u32): void {
  const hits = <u32>load<u8>(a(T_HIT) + <usize>i);
  const ok = load<i32>(a(T_RET) + (<usize>i << 2)) == 0;
  const bulk = a(T_BULK) + (<usize>i << 4);
  let local: u32 = 0, rest: u32 = 0; // request j in bit j
  for (let j: u32 = 0; j < 4; j++) {
    const s = load<i32>(bulk + (<usize>j << 2));
    if (s < 0) continue;
    const found = (hits & (1 << j)) != 0;
    if (ok && markLocal(v, s, found)) local |= 1 << j;
    else rest |= 1 << j;
  }
  const slot = u(T_GSLOT);
  if (local == 0) {
    const o = op(OP_H_BULK_REMOVE, cpu, slot);
    for (let k: usize = 0; k < 16; k++) store<u32>(o + 16 + (k << 2), load<u32>(c + ((2 + k) << 2)));
    bump(T_HCALLS);
  } else {
    for (let j: u32 = 0; j < 4; j++) {
      if ((local & (1 << j)) == 0) continue;
      const w = c + ((2 + 4 * <usize>j) << 2);
      const tshHi = load<u32>(w, 4);
      const cond = (tshHi >>> 24) & 3; // 01 ANDCOND, 10 AVPN
      const o = op(OP_H_REMOVE, cpu, slot);
      store<u32>(o, H_LOCAL_LO | (cond == 2 ? H_AVPN_LO : cond == 1 ? H_ANDCOND_LO : 0), 16); store<u32>(o, 0, 20);
      store<u32>(o, load<u32>(w), 24); store<u32>(o, tshHi & 0x00ffffff, 28);
      store<u32>(o, load<u32>(w, 8), 32); store<u32>(o, load<u32>(w, 12), 36);
      bump(T_HCALLS);
      bump(T_SPLIT);
    }
    if (rest != 0) {
      const o = op(OP_H_BULK_REMOVE, cpu, slot);
      let k: usize = 0;
      for (let j: u32 = 0; j < 4; j++) {
        if ((rest & (1 << j)) == 0) continue;
        const w = c + ((2 + 4 * <usize>j) << 2);
        const b = o + 16 + (k << 4);
        store<u32>(b, load<u32>(w)); store<u32>(b, load<u32>(w, 4), 4); store<u32>(b, load<u32>(w, 8), 8); store<u32>(b, load<u32>(w, 12), 12);
        k++;
      }
      for (; k < 4; k++) {
        const b = o + 16 + (k << 4);
        store<u32>(b, 0); store<u32>(b, 0xc0000000, 4); store<u32>(b, 0, 8); store<u32>(b, 0, 12); // END
      }
      bump(T_HCALLS);
    }
  }
  for (let j: u32 = 0; j < 4; j++) if ((hits & (1 << j)) != 0) gone(load<i32>(bulk + (<usize>j << 2)));
}

/**
 * Run the loop from `phase` of a call (0: its start; 1: after the scheduler tick; 2: after the host
 * placed the vcore of the call's vcpu) until the calls are replayed (0), a scheduler tick is due (1),
 * or the call's vcpu has no running vcore (2: the host places vcore T_PLACE).
 */
export function traceRun(state: usize, phase: u32): u32 {
  S = state;
  rng = load<i32>(S + T_RNG);
  const why = traceLoop(phase);
  store<i32>(S + T_RNG, rng);
  return why;
}

function traceLoop(phase: u32): u32 {
  const calls = u(T_CALLS);
  const nbs = u(T_NBS);
  const tpv = u(T_TPV);
  const T = u(T_SMT);
  const W = u(T_WINDOW);
  const nProb = a(T_NPROB), nAlias = a(T_NALIAS), nN = u(T_NN);
  const rProb = a(T_RPROB), rAlias = a(T_RALIAS);
  for (let i = u(T_CALL); i < calls; i++, phase = 0) {
    store<u32>(S + T_CALL, i);
    if (phase < 2) {
      const clock = f(T_TRACE_CALLS) + f(T_TOUCHES);
      if (phase == 0 && clock >= f(T_NEXT_TICK)) return TICK;
      if (clock >= f(T_NEXT_PAGE)) {
        // host memory pressure: reclaim samples frames the guest has mapped, and a neighbour's frame cycles out and back in
        store<f64>(S + T_NEXT_PAGE, f(T_NEXT_PAGE) + f(T_PAGE_EVERY));
        bump(T_PAGE_OUTS);
        hostPressure();
      }
      // a neighbour's access now and then
      if (nbs != 0 && rand() < f(T_NEIGHBOUR_SHARE)) {
        const d = a(T_NB_TAB) + <usize><u32>Math.floor(rand() * <f64>nbs) * NB_BYTES;
        const nc = load<u32>(d + NB_NCPUS);
        if (nc != 0) {
          const x = rand();
          const y = rand();
          const k = zipfDraw(nProb, nAlias, nN, x, y);
          if (load<u8>(<usize>load<u32>(d + NB_MAPPED) + <usize>k) != 0) {
            const rr = u(T_RR);
            store<u32>(S + T_RR, rr + 1);
            const cpu = load<u32>(<usize>load<u32>(d + NB_CPUS) + (<usize>(rr % nc) << 2));
            translate(cpu, load<u32>(d + NB_LPID), load<u32>(d + NB_SLB_LO), load<u32>(d + NB_SLB_HI), load<u32>(<usize>load<u32>(d + NB_EA) + (<usize>k << 2)), 0, false);
            bump(T_TRANSLATIONS);
            bump(T_GUEST_OPS);
          }
        }
      }
    }
    const v = <i32>load<u16>(a(T_VCPU) + (<usize>i << 1));
    const vc = <u32>v / tpv;
    const core = load<i32>(a(T_CORE_OF) + (<usize>vc << 2));
    if (core < 0) {
      store<u32>(S + T_PLACE, vc);
      return NO_CPU;
    }
    const cpu = <u32>core * T + <u32>v % tpv;
    // first touches owed by this vcpu (entries another vcpu made that it shares)
    const headAt = a(T_OWED_HEAD) + (<usize>v << 2);
    let r = load<i32>(headAt);
    if (r >= 0) {
      const pool = a(T_OWED_POOL);
      while (r >= 0) {
        const rec = pool + <usize>r * 12;
        const e = load<u32>(rec);
        const s = load<i32>(a(T_SLOT) + (<usize>e << 2));
        if (load<u32>(a(T_GEN) + (<usize>s << 2)) == load<u32>(rec, 4)) { touch(v, cpu, e, s); remember(v, e, s); }
        r = load<i32>(rec, 8);
      }
      store<i32>(headAt, -1);
      store<i32>(a(T_OWED_TAIL) + (<usize>v << 2), -1);
    }

    const kind = <u32>load<u8>(a(T_KIND) + <usize>i);
    const c = a(T_WORDS) + <usize>i * CALL_WORDS * 4;
    const flagsLo = load<u32>(c);
    bump(T_TRACE_CALLS);
    bump(T_GUEST_OPS);
    if (kind == HC_ENTER) {
      hcallOp(OP_H_ENTER, cpu, c, flagsLo, 3);
      const s = load<i32>(a(T_SLOT) + (<usize>i << 2));
      if (s >= 0) {
        gone(s); // a new entry in the slot: a new generation
        const fr = load<u32>(a(T_TOUCH) + <usize>i * TOUCH_WORDS * 4, 16) >>> u(T_FRAME_SHIFT);
        if (fr < u(T_RAM_PAGES)) {
          const ua = a(T_USED_AT) + <usize>fr;
          if (load<u8>(ua) == 0) {
            store<u8>(ua, 1);
            const n = u(T_USED_N);
            store<u32>(a(T_USED) + (<usize>n << 2), fr);
            store<u32>(S + T_USED_N, n + 1);
          }
        }
        touch(v, cpu, i, s);
        remember(v, i, s);
        const vcpus = u(T_VCPUS);
        if (vcpus > 1 && rand() < f(T_SHARED)) {
          let w = <i32>Math.floor(rand() * <f64>(vcpus - 1));
          if (w >= v) w++;
          // owed[w].push(i, gen[s])
          const top = u(T_OWED_TOP);
          store<u32>(S + T_OWED_TOP, top + 1);
          const rec = a(T_OWED_POOL) + <usize>top * 12;
          store<u32>(rec, i);
          store<u32>(rec, load<u32>(a(T_GEN) + (<usize>s << 2)), 4);
          store<i32>(rec, -1, 8);
          const tailAt = a(T_OWED_TAIL) + (<usize>w << 2);
          const tail = load<i32>(tailAt);
          if (tail < 0) store<i32>(a(T_OWED_HEAD) + (<usize>w << 2), <i32>top);
          else store<i32>(a(T_OWED_POOL) + <usize>tail * 12, <i32>top, 8);
          store<i32>(tailAt, <i32>top);
        }
      }
    } else if (kind == HC_REMOVE || kind == HC_PROTECT) {
      const s = load<i32>(a(T_SLOT) + (<usize>i << 2));
      const found = load<u8>(a(T_HIT) + <usize>i) == 1;
      const isLocal = s != <i32>u(T_INVALID) && markLocal(v, s, found);
      hcallOp(kind == HC_REMOVE ? OP_H_REMOVE : OP_H_PROTECT, cpu, c, isLocal ? flagsLo | H_LOCAL_LO : flagsLo, 2);
      if (kind == HC_REMOVE && found) gone(s);
    } else if (kind == HC_READ) {
      hcallOp(OP_H_READ, cpu, c, flagsLo, 1);
    } else {
      bulkRemove(i, c, v, cpu);
    }
    // the vcpu goes on with its work: revisits of what it touched lately
    const n = load<u32>(a(T_RING_COUNT) + (<usize>v << 2));
    if (n > 0) {
      const revisits = u(T_REVISITS);
      const ringBase = <usize>v * <usize>W;
      for (let k: u32 = 0; k < revisits; k++) {
        const x = rand();
        const y = rand();
        const rank = zipfDraw(rProb, rAlias, W, x, y);
        if (rank >= n) continue;
        let at = load<i32>(a(T_RING_POS) + (<usize>v << 2)) - 1 - <i32>rank; // rank < n ≤ W: one wrap at most
        if (at < 0) at += <i32>W;
        const ri = ringBase + <usize>at;
        const e = load<u32>(a(T_RING_CALL) + (ri << 2));
        const s = load<i32>(a(T_SLOT) + (<usize>e << 2));
        if (load<u32>(a(T_GEN) + (<usize>s << 2)) == load<u32>(a(T_RING_GEN) + (ri << 2))) touch(v, cpu, e, s);
        else if (rand() < f(T_AFTER_UNMAP)) { touch(v, cpu, e, -1); bump(T_AFTER_UNMAP_TOUCHES); }
      }
    }
  }
  store<u32>(S + T_CALL, calls);
  return DONE;
}
