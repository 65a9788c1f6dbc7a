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
import { RNG_STEP, hash, unit, below, scaled, zipfPick } from "./draws";

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
  return unit(hash(a));
}

/** The workload's next draw. */
// @ts-ignore: decorator
@inline function rand(): f64 {
  rng += RNG_STEP;
  return step(rng);
}

/** Lying H_LOCAL's next draw (its own stream, in the state block: rare). */
function lie(): f64 {
  const a = load<i32>(S + T_LIES) + RNG_STEP;
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

/** Vcpu v touched the entry call e made, in dense slot s: it goes to the head of v's recency ring (window W). */
// @ts-ignore: decorator
@inline function remember(ringPos: usize, ringCall: usize, ringGen: usize, ringCount: usize, gen: usize, W: u32, v: i32, e: u32, s: i32): void {
  const pp = ringPos + (<usize>v << 2);
  const k = load<u32>(pp);
  const at = (<usize>v * <usize>W + <usize>k) << 2;
  store<u32>(ringCall + at, e);
  store<u32>(ringGen + at, load<u32>(gen + (<usize>s << 2)));
  store<u32>(pp, k + 1 == W ? 0 : k + 1);
  const cp = ringCount + (<usize>v << 2);
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

/** The entry in dense slot s went: a new generation, nobody touched it. */
// @ts-ignore: decorator
@inline function gone(gen: usize, owner: usize, s: i32): void {
  const g = gen + (<usize>s << 2);
  store<u32>(g, load<u32>(g) + 1);
  store<i32>(owner + (<usize>s << 2), -1);
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
  for (let j: u32 = 0; j < 4; j++) if ((hits & (1 << j)) != 0) gone(a(T_GEN), a(T_OWNER), load<i32>(bulk + (<usize>j << 2)));
}

/** A translation op at o (the twin's translateOp): `slb` the SLB word's halves, `ea` the EA's, as u64. */
// @ts-ignore: decorator
@inline function translateOp(o: usize, cpu: u32, slb: u64, ea: u64, isStore: bool, work: u64, lpid: u64): void {
  store<u64>(o, <u64>OP_TRANSLATE | (<u64>cpu << 32)); // guest slot 0
  store<u64>(o, slb, 16);
  store<u64>(o, ea, 24);
  store<u64>(o, <u64>isStore, 32);
  store<u64>(o, work, 56);
  store<u64>(o, lpid, 80);
}

/** The owner word of a slot after vcpu v touched it (−1 nobody, −2 several, else the vcpu), without a branch. */
// @ts-ignore: decorator
@inline function touchedBy(ow: i32, v: i32): i32 {
  return select<i32>(v, select<i32>(ow, -2, ow == v), ow == -1);
}

/** Write the loop's registers back to the state block (before every call out of the loop's hot path and every return). */
// @ts-ignore: decorator
@inline function spill(r: i32, n: u32, i: u32, guestOps: f64, translations: f64, hcalls: f64, traceCalls: f64, touches: f64): void {
  rng = r;
  store<u32>(S + T_N, n);
  store<u32>(S + T_CALL, i);
  store<f64>(S + T_GUEST_OPS, guestOps);
  store<f64>(S + T_TRANSLATIONS, translations);
  store<f64>(S + T_HCALLS, hcalls);
  store<f64>(S + T_TRACE_CALLS, traceCalls);
  store<f64>(S + T_TOUCHES, touches);
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

/**
 * The loop. The stream's state, the op count, the call, the guest-op, translation, hcall, trace-call
 * and touch counts and the arrays' addresses live in locals; they go back to the state block (spill)
 * before anything else runs: the rare branches (host pressure, an H_BULK_REMOVE: functions that work
 * on the state block), genFlush and every return. Touches and the calls' own ops are written here.
 */
function traceLoop(phase: u32): u32 {
  const calls = u(T_CALLS);
  const nbs = u(T_NBS);
  const tpv = u(T_TPV);
  const tpvShift = <u32>ctz(tpv), tpvPow2 = popcnt(tpv) == 1;
  const T = u(T_SMT);
  const W = u(T_WINDOW);
  const nProb = a(T_NPROB), nAlias = a(T_NALIAS), nN = u(T_NN);
  const rProb = a(T_RPROB), rAlias = a(T_RALIAS);
  const nExact = nN <= 1 << 21, wExact = W <= 1 << 21, nbsExact = nbs <= 1 << 21;
  const neighbourBelow = below(f(T_NEIGHBOUR_SHARE)), storeBelow = below(f(T_STORE));
  const sharedBelow = below(f(T_SHARED)), afterUnmapBelow = below(f(T_AFTER_UNMAP));
  const nextTick = f(T_NEXT_TICK), pageEvery = f(T_PAGE_EVERY);
  const cap = u(T_CAP);
  const ops = a(T_OPS);
  const work = <u64>u(T_WORK);
  const glpid = <u64>u(T_GLPID), gslot = u(T_GSLOT);
  const revisits = u(T_REVISITS);
  const vcpus = u(T_VCPUS);
  const invalid = <i32>u(T_INVALID);
  const kindAt = a(T_KIND), vcpuAt = a(T_VCPU), words = a(T_WORDS), hitAt = a(T_HIT), slotAt = a(T_SLOT), touchAt = a(T_TOUCH);
  const gen = a(T_GEN), owner = a(T_OWNER), coreOf = a(T_CORE_OF);
  const ringCall = a(T_RING_CALL), ringGen = a(T_RING_GEN), ringPos = a(T_RING_POS), ringCount = a(T_RING_COUNT);
  const owedHead = a(T_OWED_HEAD), owedTail = a(T_OWED_TAIL), owedPool = a(T_OWED_POOL);
  const nbTab = a(T_NB_TAB);
  let r = rng;
  let n = u(T_N);
  let guestOps = f(T_GUEST_OPS), translations = f(T_TRANSLATIONS), hcalls = f(T_HCALLS);
  let traceCalls = f(T_TRACE_CALLS), touches = f(T_TOUCHES);
  let nextPage = f(T_NEXT_PAGE);
  // a clock below `stop`: no tick and no page-out is due (NaN anywhere: every call checks)
  let stop = min(nextTick, nextPage);
  let i = u(T_CALL);
  for (; i < calls; i++, phase = 0) {
    if (phase < 2) {
      const clock = traceCalls + touches;
      if (!(clock < stop) || phase != 0) {
        if (phase == 0 && clock >= nextTick) { spill(r, n, i, guestOps, translations, hcalls, traceCalls, touches); return TICK; }
        if (clock >= nextPage) {
          // host memory pressure: reclaim samples frames the guest has mapped, and a neighbour's frame cycles out and back in
          nextPage += pageEvery;
          store<f64>(S + T_NEXT_PAGE, nextPage);
          bump(T_PAGE_OUTS);
          spill(r, n, i, guestOps, translations, hcalls, traceCalls, touches);
          hostPressure();
          r = rng; n = u(T_N);
          stop = min(nextTick, nextPage);
        }
      }
      // a neighbour's access now and then
      if (nbs != 0) {
        r += RNG_STEP;
        if (<u64>hash(r) < neighbourBelow) {
          r += RNG_STEP;
          const d = nbTab + <usize>scaled(hash(r), nbs, nbsExact) * NB_BYTES;
          const nc = load<u32>(d + NB_NCPUS);
          if (nc != 0) {
            const ta = hash(r + RNG_STEP);
            r += 2 * RNG_STEP;
            const k = zipfPick(nProb, nAlias, nN, nExact, ta, hash(r));
            if (load<u8>(<usize>load<u32>(d + NB_MAPPED) + <usize>k) != 0) {
              const rr = u(T_RR);
              store<u32>(S + T_RR, rr + 1);
              const cpu = load<u32>(<usize>load<u32>(d + NB_CPUS) + (<usize>(rr % nc) << 2));
              if (n == cap) { spill(r, n, i, guestOps, translations, hcalls, traceCalls, touches); genFlush(n); n = 0; }
              const o = ops + <usize>n * OP_BYTES;
              n++;
              translateOp(o, cpu, load<u64>(d + NB_SLB_LO), <u64>load<u32>(<usize>load<u32>(d + NB_EA) + (<usize>k << 2)), false, work, <u64>load<u32>(d + NB_LPID));
              translations += 1;
              guestOps += 1;
            }
          }
        }
      }
    }
    const v = <i32>load<u16>(vcpuAt + (<usize>i << 1));
    const vc = tpvPow2 ? <u32>v >> tpvShift : <u32>v / tpv;
    const core = load<i32>(coreOf + (<usize>vc << 2));
    if (core < 0) {
      spill(r, n, i, guestOps, translations, hcalls, traceCalls, touches);
      store<u32>(S + T_PLACE, vc);
      return NO_CPU;
    }
    const cpu = <u32>core * T + (tpvPow2 ? <u32>v & (tpv - 1) : <u32>v % tpv);
    const vv = <usize>v << 2;
    // first touches owed by this vcpu (entries another vcpu made that it shares)
    const headAt = owedHead + vv;
    let rec = load<i32>(headAt);
    if (rec >= 0) {
      while (rec >= 0) {
        const p = owedPool + <usize>rec * 12;
        const e = load<u32>(p);
        const s = load<i32>(slotAt + (<usize>e << 2));
        if (load<u32>(gen + (<usize>s << 2)) == load<u32>(p, 4)) {
          // touch(v, cpu, e, s), then remember(v, e, s)
          const t = touchAt + <usize>e * TOUCH_WORDS * 4;
          r += RNG_STEP;
          const isStore = <u64>hash(r) < storeBelow;
          if (n == cap) { spill(r, n, i, guestOps, translations, hcalls, traceCalls, touches); genFlush(n); n = 0; }
          const o = ops + <usize>n * OP_BYTES;
          n++;
          translateOp(o, cpu, load<u64>(t), load<u64>(t, 8), isStore, work, glpid);
          const oa = owner + (<usize>s << 2);
          store<i32>(oa, touchedBy(load<i32>(oa), v));
          touches += 1; translations += 1; guestOps += 1;
          remember(ringPos, ringCall, ringGen, ringCount, gen, W, v, e, s);
        }
        rec = load<i32>(p, 8);
      }
      store<i32>(headAt, -1);
      store<i32>(owedTail + vv, -1);
    }

    const kind = <u32>load<u8>(kindAt + <usize>i);
    const c = words + <usize>i * CALL_WORDS * 4;
    const flagsLo = load<u32>(c);
    traceCalls += 1;
    guestOps += 1;
    if (kind > HC_READ) { // H_BULK_REMOVE
      spill(r, n, i, guestOps, translations, hcalls, traceCalls, touches);
      bulkRemove(i, c, v, cpu);
      n = u(T_N); hcalls = f(T_HCALLS);
    } else {
      // the call's own op: flags (the low word as the kind decides), then its words from the trace
      let opcode = OP_H_READ, nargs: usize = 1, lo = flagsLo;
      let s: i32 = 0;
      let found = false;
      if (kind == HC_ENTER) {
        opcode = OP_H_ENTER; nargs = 3;
      } else if (kind != HC_READ) {
        s = load<i32>(slotAt + (<usize>i << 2));
        found = load<u8>(hitAt + <usize>i) == 1;
        const isLocal = s != invalid && markLocal(v, s, found);
        opcode = kind == HC_REMOVE ? OP_H_REMOVE : OP_H_PROTECT; nargs = 2;
        if (isLocal) lo |= H_LOCAL_LO;
      }
      if (n == cap) { spill(r, n, i, guestOps, translations, hcalls, traceCalls, touches); genFlush(n); n = 0; }
      const o = ops + <usize>n * OP_BYTES;
      n++;
      store<u64>(o, <u64>opcode | (<u64>(cpu | (gslot << 16)) << 32));
      store<u32>(o, lo, 16); store<u32>(o, load<u32>(c, 4), 20);
      for (let k: usize = 0; k < nargs; k++) store<u64>(o + 24 + (k << 3), load<u64>(c + 8 + (k << 3)));
      hcalls += 1;
      if (kind == HC_ENTER) {
        s = load<i32>(slotAt + (<usize>i << 2));
        if (s >= 0) {
          gone(gen, owner, s); // a new entry in the slot: a new generation
          const t = touchAt + <usize>i * TOUCH_WORDS * 4;
          const fr = load<u32>(t, 16) >>> u(T_FRAME_SHIFT);
          if (fr < u(T_RAM_PAGES)) {
            const ua = a(T_USED_AT) + <usize>fr;
            if (load<u8>(ua) == 0) {
              store<u8>(ua, 1);
              const un = u(T_USED_N);
              store<u32>(a(T_USED) + (<usize>un << 2), fr);
              store<u32>(S + T_USED_N, un + 1);
            }
          }
          // touch(v, cpu, i, s), then remember(v, i, s)
          r += RNG_STEP;
          const isStore = <u64>hash(r) < storeBelow;
          if (n == cap) { spill(r, n, i, guestOps, translations, hcalls, traceCalls, touches); genFlush(n); n = 0; }
          const ot = ops + <usize>n * OP_BYTES;
          n++;
          translateOp(ot, cpu, load<u64>(t), load<u64>(t, 8), isStore, work, glpid);
          const oa = owner + (<usize>s << 2);
          store<i32>(oa, touchedBy(load<i32>(oa), v));
          touches += 1; translations += 1; guestOps += 1;
          remember(ringPos, ringCall, ringGen, ringCount, gen, W, v, i, s);
          if (vcpus > 1) {
            r += RNG_STEP;
            if (<u64>hash(r) < sharedBelow) {
              r += RNG_STEP;
              let w = <i32>Math.floor(unit(hash(r)) * <f64>(vcpus - 1));
              if (w >= v) w++;
              // owed[w].push(i, gen[s])
              const top = u(T_OWED_TOP);
              store<u32>(S + T_OWED_TOP, top + 1);
              const p = owedPool + <usize>top * 12;
              store<u32>(p, i);
              store<u32>(p, load<u32>(gen + (<usize>s << 2)), 4);
              store<i32>(p, -1, 8);
              const tailAt = owedTail + (<usize>w << 2);
              const tail = load<i32>(tailAt);
              if (tail < 0) store<i32>(owedHead + (<usize>w << 2), <i32>top);
              else store<i32>(owedPool + <usize>tail * 12, <i32>top, 8);
              store<i32>(tailAt, <i32>top);
            }
          }
        }
      } else if (kind == HC_REMOVE && found) {
        gone(gen, owner, s);
      }
    }
    // the vcpu goes on with its work: revisits of what it touched lately
    const rn = load<u32>(ringCount + vv);
    if (rn > 0) {
      const ringBase = <usize>v * <usize>W;
      const pos = load<i32>(ringPos + vv);
      for (let k: u32 = 0; k < revisits; k++) {
        const ta = hash(r + RNG_STEP);
        r += 2 * RNG_STEP;
        const rank = zipfPick(rProb, rAlias, W, wExact, ta, hash(r));
        if (rank >= rn) continue;
        let at = pos - 1 - <i32>rank; // rank < n ≤ W: one wrap at most
        if (at < 0) at += <i32>W;
        const ri = (ringBase + <usize>at) << 2;
        const e = load<u32>(ringCall + ri);
        const s = load<i32>(slotAt + (<usize>e << 2));
        let live = load<u32>(gen + (<usize>s << 2)) == load<u32>(ringGen + ri);
        if (!live) {
          r += RNG_STEP;
          if (<u64>hash(r) >= afterUnmapBelow) continue;
          bump(T_AFTER_UNMAP_TOUCHES); // a touch after the unmap: no owner
        }
        // touch(v, cpu, e, live ? s : −1)
        const t = touchAt + <usize>e * TOUCH_WORDS * 4;
        r += RNG_STEP;
        const isStore = <u64>hash(r) < storeBelow;
        if (n == cap) { spill(r, n, i, guestOps, translations, hcalls, traceCalls, touches); genFlush(n); n = 0; }
        const o = ops + <usize>n * OP_BYTES;
        n++;
        translateOp(o, cpu, load<u64>(t), load<u64>(t, 8), isStore, work, glpid);
        if (live) {
          const oa = owner + (<usize>s << 2);
          store<i32>(oa, touchedBy(load<i32>(oa), v));
        }
        touches += 1; translations += 1; guestOps += 1;
      }
    }
  }
  spill(r, n, calls, guestOps, translations, hcalls, traceCalls, touches);
  return DONE;
}
