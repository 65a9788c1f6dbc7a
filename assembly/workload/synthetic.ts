// The synthetic workload's per-op loop (src/workload/synthetic.ts describes the workload and its
// parameters, and sets up the state this kernel reads: docs/memory.md, "The synthetic generator's
// state"). It writes the ops straight into the op buffer, with the same mulberry32 stream and the
// same draws, in the same order, as the TypeScript twin (runWorkloadsTs), so the engine sees the
// same ops in the same engine calls. When the buffer is full it calls the host (genFlush), which
// runs the ops on every machine of the generator; scheduler ticks, epochs and a studied guest with
// no running vcpu return to the host (the scheduler stays in TypeScript).

import { OP_TRANSLATE, OP_H_ENTER, OP_H_REMOVE, OP_H_PROTECT, OP_H_BULK_REMOVE, OP_PAGE_OUT, OP_PAGE_IN, OP_RECLAIM, OP_BYTES } from "../layout";
import { RNG_STEP, hash, unit, below, scaled, zipfPick } from "./draws";

// @ts-ignore: decorator
@external("env", "genFlush")
declare function genFlush(n: u32): void;

// ───────── the state block (offsets in bytes; src/workload/synthetic-wasm.ts writes the same) ─────────
// u32 words
// @ts-ignore: decorator
@inline export const S_N: usize = 0; // ops written in the buffer
// @ts-ignore: decorator
@inline export const S_CAP: usize = 4; // ops per engine call
// @ts-ignore: decorator
@inline export const S_OPS: usize = 8; // op buffer address
// @ts-ignore: decorator
@inline export const S_RR: usize = 12; // round-robin counter of cpuFor
// @ts-ignore: decorator
@inline export const S_PREV: usize = 16; // the studied guest's last page (sequential runs)
// @ts-ignore: decorator
@inline export const S_NBGFN: usize = 20; // neighbour counter of host pressure
// @ts-ignore: decorator
@inline export const S_LOADS: usize = 24; // loads (studied guest, then neighbours)
// @ts-ignore: decorator
@inline export const S_LOAD_TAB: usize = 28; // address of the load descriptors
// @ts-ignore: decorator
@inline export const S_VCPU_OF: usize = 32; // i32 per cpu: the vcpu it runs
// @ts-ignore: decorator
@inline export const S_PERM: usize = 36; // i32 per page of the studied guest: rank → page
// @ts-ignore: decorator
@inline export const S_ZPROB: usize = 40; // Zipf alias table of the studied guest (f64 prob, i32 alias)
// @ts-ignore: decorator
@inline export const S_ZALIAS: usize = 44;
// @ts-ignore: decorator
@inline export const S_ZN: usize = 48;
// @ts-ignore: decorator
@inline export const S_NPROB: usize = 52; // Zipf alias table of the neighbours
// @ts-ignore: decorator
@inline export const S_NALIAS: usize = 56;
// @ts-ignore: decorator
@inline export const S_NN: usize = 60;
// @ts-ignore: decorator
@inline export const S_RNG: usize = 64; // mulberry32's state
// @ts-ignore: decorator
@inline export const S_GSLOT: usize = 68; // the studied guest's slot
// @ts-ignore: decorator
@inline export const S_SAMPLES: usize = 72; // reclaimSample
// @ts-ignore: decorator
@inline export const S_RAM_PAGES: usize = 76; // host pages of the studied guest's RAM
// @ts-ignore: decorator
@inline export const S_NB_PAGES: usize = 80; // host pages of a neighbour's RAM
// @ts-ignore: decorator
@inline export const S_HLOCAL: usize = 84; // 0 never, 1 honest, 2 lying
// @ts-ignore: decorator
@inline export const S_BURST_MAX: usize = 88;
// @ts-ignore: decorator
@inline export const S_PROCESSES: usize = 92;
// @ts-ignore: decorator
@inline export const S_WORK: usize = 96; // workCycles
// f64 words
// @ts-ignore: decorator
@inline export const S_GUEST_OPS: usize = 128;
// @ts-ignore: decorator
@inline export const S_TRANSLATIONS: usize = 136;
// @ts-ignore: decorator
@inline export const S_HCALLS: usize = 144;
// @ts-ignore: decorator
@inline export const S_FAULTS: usize = 152;
// @ts-ignore: decorator
@inline export const S_PAGE_OUTS: usize = 160;
// @ts-ignore: decorator
@inline export const S_NEXT_PAGE: usize = 168;
// @ts-ignore: decorator
@inline export const S_PAGE_EVERY: usize = 176;
// @ts-ignore: decorator
@inline export const S_NEXT_TICK: usize = 184;
// @ts-ignore: decorator
@inline export const S_NEXT_EPOCH: usize = 192;
// @ts-ignore: decorator
@inline export const S_TARGET: usize = 200; // guest ops to make
// @ts-ignore: decorator
@inline export const S_NEIGHBOUR_SHARE: usize = 208;
// @ts-ignore: decorator
@inline export const S_BURST_RATE: usize = 216;
// @ts-ignore: decorator
@inline export const S_MUNMAP: usize = 224;
// @ts-ignore: decorator
@inline export const S_MPROTECT: usize = 232;
// @ts-ignore: decorator
@inline export const S_BULK: usize = 240;
// @ts-ignore: decorator
@inline export const S_STORE: usize = 248;
// @ts-ignore: decorator
@inline export const S_SEQUENTIAL: usize = 256;
// @ts-ignore: decorator
@inline export const S_HLOCAL_SHARE: usize = 264;

// a load descriptor: 20 u32 words
// @ts-ignore: decorator
@inline const L_N: usize = 0;
// @ts-ignore: decorator
@inline const L_PER_PROCESS: usize = 4;
// @ts-ignore: decorator
@inline const L_SLOT: usize = 8;
// @ts-ignore: decorator
@inline const L_LPID: usize = 12;
// @ts-ignore: decorator
@inline const L_PROC: usize = 16; // i32 per page: its process
// @ts-ignore: decorator
@inline const L_EA: usize = 20; // u32 per page
// @ts-ignore: decorator
@inline const L_VLO: usize = 24; // HPTE words, u32 halves per page
// @ts-ignore: decorator
@inline const L_VHI: usize = 28;
// @ts-ignore: decorator
@inline const L_RLO: usize = 32;
// @ts-ignore: decorator
@inline const L_RHI: usize = 36;
// @ts-ignore: decorator
@inline const L_PTEG: usize = 40; // u32 per page
// @ts-ignore: decorator
@inline const L_PTEX: usize = 44; // i32 per page: slot used, −1 = not mapped
// @ts-ignore: decorator
@inline const L_OWNER: usize = 48; // i32 per page: −1 nobody, −2 several, else the vcpu
// @ts-ignore: decorator
@inline const L_USED: usize = 52; // u8 per PTEG: occupied slots
// @ts-ignore: decorator
@inline const L_SLB_LO: usize = 56; // u32 per process
// @ts-ignore: decorator
@inline const L_SLB_HI: usize = 60;
// @ts-ignore: decorator
@inline const L_CPUS: usize = 64; // i32 per cpu: the cpus that run a vcpu of the guest now
// @ts-ignore: decorator
@inline const L_NCPUS: usize = 68;
// @ts-ignore: decorator
@inline export const LOAD_BYTES: usize = 80;

// return codes of synRun
// @ts-ignore: decorator
@inline const DONE: u32 = 0;
// @ts-ignore: decorator
@inline const EPOCH: u32 = 1;
// @ts-ignore: decorator
@inline const TICK: u32 = 2;
// @ts-ignore: decorator
@inline const NO_CPU: u32 = 3;

// @ts-ignore: decorator
@inline const H_LOCAL_LO: u32 = 0x10000000;
// @ts-ignore: decorator
@inline const H_EXACT_HI: u32 = 0x80;

let S: usize = 0;

// @ts-ignore: decorator
@inline function u(off: usize): u32 { return load<u32>(S + off); }
// @ts-ignore: decorator
@inline function f(off: usize): f64 { return load<f64>(S + off); }
// @ts-ignore: decorator
@inline function bump(off: usize): void { store<f64>(S + off, load<f64>(S + off) + 1); }
// @ts-ignore: decorator
@inline function loadAt(li: u32): usize { return <usize>u(S_LOAD_TAB) + <usize>li * LOAD_BYTES; }
// @ts-ignore: decorator
@inline function arr(l: usize, field: usize): usize { return <usize>load<u32>(l + field); }

/** mulberry32's state while the kernel runs (loaded from S_RNG on entry, stored back on every return: a register, not a memory round trip per draw). */
let rng: i32 = 0;

/** mulberry32's next draw in [0, 1) (src/workload/scheduler.ts mulberry32Fill, the same arithmetic; × 2^−32 is the division by 2^32, exactly). */
// @ts-ignore: decorator
@inline function rand(): f64 {
  rng += RNG_STEP;
  return unit(hash(rng));
}

/** Start an op (the OpWriter's op()): the buffer runs first when full. Returns the op's address. */
function op(opcode: u32, cpu: u32, slot: u32): usize {
  let n = u(S_N);
  if (n == u(S_CAP)) {
    genFlush(n);
    n = 0;
  }
  store<u32>(S + S_N, n + 1);
  const o = <usize>u(S_OPS) + <usize>n * OP_BYTES;
  store<u32>(o, opcode);
  store<u32>(o, cpu | (slot << 16), 4);
  return o;
}

/** A cpu that runs a vcpu of load li now, round robin; −1 when none does. */
function cpuFor(l: usize): i32 {
  const n = load<u32>(l + L_NCPUS);
  if (n == 0) return -1;
  const rr = u(S_RR);
  store<u32>(S + S_RR, rr + 1);
  return load<i32>(arr(l, L_CPUS) + (<usize>(rr % n) << 2));
}

// @ts-ignore: decorator
@inline function vcpuOn(cpu: i32): i32 {
  return load<i32>(<usize>u(S_VCPU_OF) + (<usize>cpu << 2));
}

/** H_ENTER (H_EXACT) of page i into a free slot of its PTEG; nothing when the group is full. */
function enter(l: usize, i: u32, cpu: i32): void {
  const ii = <usize>i << 2;
  const pg = load<u32>(arr(l, L_PTEG) + ii);
  const ua = arr(l, L_USED) + <usize>pg;
  const used = <u32>load<u8>(ua);
  if (used == 0xff) return;
  const s = ctz(~used);
  store<u8>(ua, <u8>(used | (1 << s)));
  const ptex = pg * 8 + s;
  const o = op(OP_H_ENTER, <u32>cpu, load<u32>(l + L_SLOT));
  store<u32>(o, 0, 16); store<u32>(o, H_EXACT_HI, 20);
  store<u32>(o, ptex, 24); store<u32>(o, 0, 28);
  store<u32>(o, load<u32>(arr(l, L_VLO) + ii), 32); store<u32>(o, load<u32>(arr(l, L_VHI) + ii), 36);
  store<u32>(o, load<u32>(arr(l, L_RLO) + ii), 40); store<u32>(o, load<u32>(arr(l, L_RHI) + ii), 44);
  store<i32>(arr(l, L_PTEX) + ii, <i32>ptex);
  store<i32>(arr(l, L_OWNER) + ii, -1);
  bump(S_HCALLS);
  bump(S_GUEST_OPS);
}

function freeSlot(l: usize, i: u32): void {
  const ii = <usize>i << 2;
  const p = load<i32>(arr(l, L_PTEX) + ii);
  const ua = arr(l, L_USED) + <usize>load<u32>(arr(l, L_PTEG) + ii);
  store<u8>(ua, <u8>(<u32>load<u8>(ua) & ~(1 << (p & 7))));
  store<i32>(arr(l, L_PTEX) + ii, -1);
  store<i32>(arr(l, L_OWNER) + ii, -1);
}

function hLocalFlag(l: usize, i: u32, vcpu: i32): u32 {
  const mode = u(S_HLOCAL);
  if (mode == 0) return 0;
  const share = f(S_HLOCAL_SHARE);
  if (share < 1 && rand() >= share) return 0;
  if (mode == 2) return H_LOCAL_LO;
  const o = load<i32>(arr(l, L_OWNER) + (<usize>i << 2));
  return o == -1 || o == vcpu ? H_LOCAL_LO : 0;
}

function remove(l: usize, i: u32, cpu: i32, vcpu: i32): void {
  const o = op(OP_H_REMOVE, <u32>cpu, load<u32>(l + L_SLOT));
  store<u32>(o, hLocalFlag(l, i, vcpu), 16); store<u32>(o, 0, 20);
  store<u32>(o, <u32>load<i32>(arr(l, L_PTEX) + (<usize>i << 2)), 24); store<u32>(o, 0, 28);
  store<u32>(o, 0, 32); store<u32>(o, 0, 36);
  freeSlot(l, i);
  bump(S_HCALLS);
  bump(S_GUEST_OPS);
}

/** H_BULK_REMOVE of pages g0…g(k−1) (k ≤ 4). */
function bulkRemove(l: usize, g0: u32, g1: u32, g2: u32, g3: u32, k: u32, cpu: i32): void {
  const o = op(OP_H_BULK_REMOVE, <u32>cpu, load<u32>(l + L_SLOT));
  for (let j: u32 = 0; j < 4; j++) {
    const b = o + 16 + (<usize>j << 4);
    if (j < k) {
      const i = j == 0 ? g0 : j == 1 ? g1 : j == 2 ? g2 : g3;
      store<u32>(b, <u32>load<i32>(arr(l, L_PTEX) + (<usize>i << 2))); store<u32>(b, 0x40000000, 4); // request, absolute
      freeSlot(l, i);
    } else {
      store<u32>(b, 0); store<u32>(b, 0xc0000000, 4); // END
    }
    store<u32>(b, 0, 8); store<u32>(b, 0, 12);
  }
  bump(S_HCALLS);
  bump(S_GUEST_OPS);
}

function protect(l: usize, i: u32, cpu: i32, vcpu: i32): void {
  const o = op(OP_H_PROTECT, <u32>cpu, load<u32>(l + L_SLOT));
  store<u32>(o, hLocalFlag(l, i, vcpu) | 1, 16); store<u32>(o, 0, 20); // PP = 1: read-only (COW)
  store<u32>(o, <u32>load<i32>(arr(l, L_PTEX) + (<usize>i << 2)), 24); store<u32>(o, 0, 28);
  store<u32>(o, 0, 32); store<u32>(o, 0, 36);
  bump(S_HCALLS);
  bump(S_GUEST_OPS);
}

function access(l: usize, i: u32, cpu: i32, isStore: bool): void {
  const ii = <usize>i << 2;
  if (load<i32>(arr(l, L_PTEX) + ii) < 0) {
    // a guest page fault: the guest kernel maps the page (H_ENTER), then the access retries
    enter(l, i, cpu);
    bump(S_FAULTS);
  }
  const p = <usize>load<i32>(arr(l, L_PROC) + ii) << 2;
  const o = op(OP_TRANSLATE, <u32>cpu, 0);
  store<u32>(o, load<u32>(arr(l, L_SLB_LO) + p), 16); store<u32>(o, load<u32>(arr(l, L_SLB_HI) + p), 20);
  store<u32>(o, load<u32>(arr(l, L_EA) + ii), 24); store<u32>(o, 0, 28);
  store<u32>(o, isStore ? 1 : 0, 32); store<u32>(o, 0, 36);
  store<u32>(o, u(S_WORK), 56); store<u32>(o, 0, 60);
  store<u32>(o, load<u32>(l + L_LPID), 80); store<u32>(o, 0, 84);
  const v = vcpuOn(cpu);
  const oa = arr(l, L_OWNER) + ii;
  const ow = load<i32>(oa);
  if (ow == -1) store<i32>(oa, v);
  else if (ow != v) store<i32>(oa, -2);
  bump(S_TRANSLATIONS);
  bump(S_GUEST_OPS);
}

/** Host memory pressure (hostPressure in src/workload/synthetic.ts). */
function hostPressure(): void {
  const samples = u(S_SAMPLES);
  const ramPages = <f64>u(S_RAM_PAGES);
  let o = op(OP_RECLAIM, 0, u(S_GSLOT));
  for (let k: u32 = 0; k < 8; k++) {
    const b = o + 16 + (<usize>k << 3);
    if (k < samples) { store<u32>(b, <u32>Math.floor(rand() * ramPages)); store<u32>(b, 0, 4); }
    else { store<u32>(b, 0xffffffff); store<u32>(b, 0xffffffff, 4); }
  }
  const nbs = u(S_LOADS) - 1;
  if (nbs == 0) return;
  const nbGfn = u(S_NBGFN);
  const slot = load<u32>(loadAt(1 + nbGfn % nbs) + L_SLOT);
  const k = (nbGfn >> 3) % u(S_NB_PAGES);
  o = op(OP_PAGE_OUT, 0, slot);
  store<u32>(o, k, 16); store<u32>(o, 0, 20);
  o = op(OP_PAGE_IN, 0, slot);
  store<u32>(o, k, 16); store<u32>(o, 0, 20);
  store<u32>(S + S_NBGFN, nbGfn + 1);
}

/** Set up at `state`: shuffle the studied guest's ranks over its pages (the stream's first draws), then map every page by the first running vcpu of its guest. */
export function synInit(state: usize): void {
  S = state;
  rng = load<i32>(S + S_RNG);
  synInitLoop();
  store<i32>(S + S_RNG, rng);
}

function synInitLoop(): void {
  const perm = <usize>u(S_PERM);
  const n = load<u32>(loadAt(0) + L_N);
  for (let i: u32 = 0; i < n; i++) store<i32>(perm + (<usize>i << 2), <i32>i);
  for (let i = <i32>n - 1; i > 0; i--) {
    const j = <i32>Math.floor(rand() * <f64>(i + 1));
    const pi = perm + (<usize>i << 2);
    const pj = perm + (<usize>j << 2);
    const t = load<i32>(pi);
    store<i32>(pi, load<i32>(pj));
    store<i32>(pj, t);
  }
  const loads = u(S_LOADS);
  for (let li: u32 = 0; li < loads; li++) {
    const l = loadAt(li);
    const cpu = cpuFor(l);
    if (cpu < 0) continue;
    const ln = load<u32>(l + L_N);
    for (let i: u32 = 0; i < ln; i++) enter(l, i, cpu);
  }
}

/**
 * Run the generator's loop from `phase` of an iteration (0: its start; 1: after the epoch check;
 * 2: after the scheduler tick) until the guest ops are made (0), an epoch is due (1), a scheduler
 * tick is due (2), or the studied guest has no running vcpu (3: the host preempts a neighbour).
 */
export function synRun(state: usize, phase: u32): u32 {
  S = state;
  rng = load<i32>(S + S_RNG);
  const why = synLoop(phase);
  store<i32>(S + S_RNG, rng);
  return why;
}

/** An HPTE burst over a run of pages of one process of load l (the studied guest), by cpu (the loop's rare branch). */
function burst(l: usize, cpu: i32): void {
  const len: u32 = 1 + <u32>Math.floor(rand() * <f64>u(S_BURST_MAX));
  const p = <u32>Math.floor(rand() * <f64>u(S_PROCESSES));
  const per = load<u32>(l + L_PER_PROCESS);
  const span = per > len ? per - len : 1;
  const start = p * per + <u32>Math.floor(rand() * <f64>span);
  const end = min(start + len, (p + 1) * per);
  const kind = rand();
  const vcpu = vcpuOn(cpu);
  const ptex = arr(l, L_PTEX);
  if (kind < f(S_MUNMAP)) {
    if (rand() < f(S_BULK)) {
      let g0: u32 = 0, g1: u32 = 0, g2: u32 = 0, k: u32 = 0;
      for (let i = start; i < end; i++) {
        if (load<i32>(ptex + (<usize>i << 2)) < 0) continue;
        if (k == 0) g0 = i; else if (k == 1) g1 = i; else if (k == 2) g2 = i;
        k++;
        if (k == 4) { bulkRemove(l, g0, g1, g2, i, 4, cpu); k = 0; }
      }
      if (k != 0) bulkRemove(l, g0, g1, g2, 0, k, cpu);
    } else {
      for (let i = start; i < end; i++) if (load<i32>(ptex + (<usize>i << 2)) >= 0) remove(l, i, cpu, vcpu);
    }
  } else if (kind < f(S_MUNMAP) + f(S_MPROTECT)) {
    for (let i = start; i < end; i++) if (load<i32>(ptex + (<usize>i << 2)) >= 0) protect(l, i, cpu, vcpu);
  } else {
    for (let i = start; i < end; i++) if (load<i32>(ptex + (<usize>i << 2)) < 0) enter(l, i, cpu);
  }
}

/** Write the loop's registers back to the state block (before every call out of the loop's hot path and every return). */
// @ts-ignore: decorator
@inline function spill(r: i32, n: u32, rr: u32, prev: u32, guestOps: f64, translations: f64): void {
  rng = r;
  store<u32>(S + S_N, n);
  store<u32>(S + S_RR, rr);
  store<u32>(S + S_PREV, prev);
  store<f64>(S + S_GUEST_OPS, guestOps);
  store<f64>(S + S_TRANSLATIONS, translations);
}

/**
 * The loop. Its hot path — an access by the studied guest or a neighbour, with no burst, fault or
 * page-out — keeps the stream's state, the op count, the round-robin counter, the last page, the
 * guest-op and translation counts and load 0's arrays in locals; they go back to the state block
 * (spill) before anything else runs: the rare branches (a burst, a guest page fault, host pressure:
 * functions that work on the state block), genFlush and every return.
 */
function synLoop(phase: u32): u32 {
  const nbs = u(S_LOADS) - 1;
  const target = f(S_TARGET);
  const nextTick = f(S_NEXT_TICK);
  const nextEpoch = f(S_NEXT_EPOCH);
  const pageEvery = f(S_PAGE_EVERY);
  const perm = <usize>u(S_PERM);
  const zProb = <usize>u(S_ZPROB), zAlias = <usize>u(S_ZALIAS), zN = u(S_ZN);
  const nProb = <usize>u(S_NPROB), nAlias = <usize>u(S_NALIAS), nN = u(S_NN);
  const zExact = zN <= 1 << 21, nExact = nN <= 1 << 21, nbsExact = nbs <= 1 << 21;
  const neighbourBelow = below(f(S_NEIGHBOUR_SHARE)), burstBelow = below(f(S_BURST_RATE));
  const sequentialBelow = below(f(S_SEQUENTIAL)), storeBelow = below(f(S_STORE));
  const cap = u(S_CAP);
  const ops = <usize>u(S_OPS);
  const vcpuOf = <usize>u(S_VCPU_OF);
  const work = <u64>u(S_WORK);
  const loadTab = <usize>u(S_LOAD_TAB);
  // load 0 (the studied guest): its cpus change only when the host refreshes them, between calls of synRun
  const l0 = loadTab;
  const n0 = load<u32>(l0 + L_N);
  const ncpus0 = load<u32>(l0 + L_NCPUS);
  const cpus0 = arr(l0, L_CPUS);
  let r = rng;
  let n = u(S_N), rr = u(S_RR), prev = u(S_PREV);
  // rr % ncpus0, kept as rr steps (rr wraps at 2^32: then it is 0 again)
  let rr0 = ncpus0 != 0 ? rr % ncpus0 : 0;
  let guestOps = f(S_GUEST_OPS), translations = f(S_TRANSLATIONS);
  let nextPage = f(S_NEXT_PAGE);
  // guest ops below `stop`: no return and no page-out is due (NaN anywhere: every iteration checks)
  let stop = min(min(target, nextEpoch), min(nextTick, nextPage));
  for (;;) {
    if (!(guestOps < stop) || phase != 0) {
      if (phase == 0 && !(guestOps < target)) break;
      if (phase == 0 && guestOps >= nextEpoch) { spill(r, n, rr, prev, guestOps, translations); return EPOCH; }
      if (phase <= 1 && guestOps >= nextTick) { spill(r, n, rr, prev, guestOps, translations); return TICK; }
      phase = 0;
      if (guestOps >= nextPage) {
        // host memory pressure: a page of the studied guest goes to a neighbour
        nextPage += pageEvery;
        store<f64>(S + S_NEXT_PAGE, nextPage);
        bump(S_PAGE_OUTS);
        spill(r, n, rr, prev, guestOps, translations);
        hostPressure();
        r = rng; n = u(S_N);
      }
      stop = min(min(target, nextEpoch), min(nextTick, nextPage));
    }
    let li: u32 = 0;
    if (nbs != 0) {
      r += RNG_STEP;
      if (<u64>hash(r) < neighbourBelow) {
        r += RNG_STEP;
        li = 1 + scaled(hash(r), nbs, nbsExact);
      }
    }
    let l = l0;
    let cpu: i32;
    if (li == 0) {
      if (ncpus0 == 0) { spill(r, n, rr, prev, guestOps, translations); return NO_CPU; }
      cpu = load<i32>(cpus0 + (<usize>rr0 << 2));
      rr++;
      rr0++;
      if (rr0 == ncpus0 || rr == 0) rr0 = 0;
      r += RNG_STEP;
      if (<u64>hash(r) < burstBelow) {
        spill(r, n, rr, prev, guestOps, translations);
        burst(l0, cpu);
        r = rng; n = u(S_N); guestOps = f(S_GUEST_OPS);
        continue;
      }
    } else {
      l = loadTab + <usize>li * LOAD_BYTES;
      const nc = load<u32>(l + L_NCPUS);
      if (nc == 0) continue;
      cpu = load<i32>(arr(l, L_CPUS) + (<usize>(rr % nc) << 2));
      rr++;
      rr0++;
      if (rr0 == ncpus0 || rr == 0) rr0 = 0;
    }
    let i: u32;
    if (li == 0) {
      // the next page (a draw), else a Zipf draw (two more): both made, one taken, without a branch
      const next = <u64>hash(r + RNG_STEP) < sequentialBelow && prev + 1 < n0;
      const zi = load<u32>(perm + (<usize>zipfPick(zProb, zAlias, zN, zExact, hash(r + 2 * RNG_STEP), hash(r + 3 * RNG_STEP)) << 2));
      i = select<u32>(prev + 1, zi, next);
      r += select<i32>(RNG_STEP, 3 * RNG_STEP, next);
      prev = i;
    } else {
      const ta = hash(r + RNG_STEP);
      r += 2 * RNG_STEP;
      i = zipfPick(nProb, nAlias, nN, nExact, ta, hash(r));
    }
    r += RNG_STEP;
    const isStore = <u64>hash(r) < storeBelow;
    // the access
    const ii = <usize>i << 2;
    if (load<i32>(arr(l, L_PTEX) + ii) < 0) {
      // a guest page fault: the guest kernel maps the page (H_ENTER), then the access retries
      spill(r, n, rr, prev, guestOps, translations);
      enter(l, i, cpu);
      bump(S_FAULTS);
      r = rng; n = u(S_N); guestOps = f(S_GUEST_OPS);
    }
    if (n == cap) {
      spill(r, n, rr, prev, guestOps, translations);
      genFlush(n);
      n = 0;
    }
    const o = ops + <usize>n * OP_BYTES;
    n++;
    const p = <usize>load<i32>(arr(l, L_PROC) + ii) << 2;
    store<u64>(o, <u64>OP_TRANSLATE | (<u64><u32>cpu << 32)); // cpu, guest slot 0
    store<u32>(o, load<u32>(arr(l, L_SLB_LO) + p), 16); store<u32>(o, load<u32>(arr(l, L_SLB_HI) + p), 20);
    store<u64>(o, <u64>load<u32>(arr(l, L_EA) + ii), 24);
    store<u64>(o, isStore ? 1 : 0, 32);
    store<u64>(o, work, 56);
    store<u64>(o, <u64>load<u32>(l + L_LPID), 80);
    const v = load<i32>(vcpuOf + (<usize>cpu << 2));
    const oa = arr(l, L_OWNER) + ii;
    const ow = load<i32>(oa);
    store<i32>(oa, select<i32>(v, select<i32>(ow, -2, ow == v), ow == -1)); // −1 nobody, −2 several
    translations += 1;
    guestOps += 1;
  }
  spill(r, n, rr, prev, guestOps, translations);
  return DONE;
}
