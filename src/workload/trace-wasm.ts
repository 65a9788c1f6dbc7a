/**
 * The trace-driven workload (src/workload/trace-driven.ts) with its per-call loop in the engine: the
 * kernel assembly/workload/trace.ts writes the ops straight into the op buffer, with the same
 * mulberry32 streams and the same draws as the TypeScript loop (runTraceWorkloadsTs, kept as its
 * twin: test/generator.test.ts runs both over random configurations and expects the same engine
 * calls). This side copies the compiled trace into the kernel's state block (docs/memory.md, "The
 * trace generator's state") with the Zipf alias tables and the parameters; it runs the scheduler
 * (ticks, and the placement of a vcore whose vcpu makes a call while it is not running), the
 * neighbours' first mapping, and every engine call (the kernel calls back when the buffer is full, so
 * the calls are the twin's, mirrors included).
 */
import type { Guest } from "../engine/guest.js";
import type { Machine } from "../engine/machine.js";
import { setGenFlush } from "../engine/wasm.js";
import { OpWriter } from "./op-writer.js";
import { Scheduler } from "./scheduler.js";
import { CALL_WORDS, TOUCH_WORDS, type HcallProgram } from "../trace/hcall-program.js";
import { NEIGHBOUR_PAGES, NEIGHBOUR_RAM, type PointRun } from "./synthetic.js";
import { DEFAULT_TRACE_WORKLOAD, slotIds, traceSetup, type TraceTally } from "./trace-driven.js";

// the state block's fields (byte offsets; assembly/workload/trace.ts T_*, which test/generator.test.ts compares)
export const T = {
  N: 0, CAP: 4, OPS: 8, RNG: 12, LIES: 16, GSLOT: 20, GLPID: 24, CALL: 28, CALLS: 32, VCPUS: 36, TPV: 40, SMT: 44,
  HLOCAL: 48, WORK: 52, REVISITS: 56, WINDOW: 60, INVALID: 64, RAM_PAGES: 68, FRAME_SHIFT: 72, USED_N: 76, SAMPLES: 80,
  NBS: 84, NBGFN: 88, NB_PAGES: 92, RR: 96, PLACE: 100,
  KIND: 104, VCPU: 108, WORDS: 112, RET: 116, HIT: 120, SLOT: 124, BULK: 128, TOUCH: 132, GEN: 136, OWNER: 140,
  USED_AT: 144, USED: 148, RING_CALL: 152, RING_GEN: 156, RING_POS: 160, RING_COUNT: 164, OWED_HEAD: 168, OWED_TAIL: 172,
  OWED_POOL: 176, OWED_TOP: 180, CORE_OF: 184, RPROB: 188, RALIAS: 192, NPROB: 196, NALIAS: 200, NN: 204, NB_TAB: 208,
  GUEST_OPS: 256, TRANSLATIONS: 264, HCALLS: 272, TRACE_CALLS: 280, TOUCHES: 288, INVALIDATIONS: 296, LOCAL_ELIGIBLE: 304,
  MARKED_LOCAL: 312, SPLIT: 320, AFTER_UNMAP_TOUCHES: 328, PAGE_OUTS: 336, NEXT_PAGE: 344, PAGE_EVERY: 352, NEXT_TICK: 360,
  NEIGHBOUR_SHARE: 368, STORE: 376, SHARED: 384, LIE: 392, AFTER_UNMAP: 400,
} as const;
const HEADER_BYTES = 512;
export const NB = { SLOT: 0, LPID: 4, SLB_LO: 8, SLB_HI: 12, EA: 16, MAPPED: 20, CPUS: 24, NCPUS: 28 } as const;
export const NB_BYTES = 32;
/** traceRun's answers. */
const DONE = 0, TICK = 1, NO_CPU = 2;

type ArrayName = "kind" | "vcpu" | "words" | "ret" | "hit" | "slot" | "bulk" | "touch" | "gen" | "owner" | "usedAt" | "used"
  | "ringCall" | "ringGen" | "ringPos" | "ringCount" | "owedHead" | "owedTail" | "owedPool" | "coreOf" | "rProb" | "rAlias"
  | "nProb" | "nAlias" | "nbTab";

/** Where everything lies in the state block (offsets from its start), and its size. */
function statePlan(calls: number, enters: number, slots: number, ramPages: number, vcpus: number, vcores: number, window: number, neighbours: number, cpus: number) {
  let at = HEADER_BYTES;
  const take = (bytes: number): number => { const a = at; at += Math.ceil(bytes / 8) * 8; return a; };
  const arrays: Record<ArrayName, number> = {
    kind: take(calls), vcpu: take(2 * calls), words: take(4 * CALL_WORDS * calls), ret: take(4 * calls), hit: take(calls),
    slot: take(4 * calls), bulk: take(16 * calls), touch: take(4 * TOUCH_WORDS * calls),
    gen: take(4 * slots), owner: take(4 * slots), usedAt: take(ramPages), used: take(4 * ramPages),
    ringCall: take(4 * vcpus * window), ringGen: take(4 * vcpus * window), ringPos: take(4 * vcpus), ringCount: take(4 * vcpus),
    owedHead: take(4 * vcpus), owedTail: take(4 * vcpus), owedPool: take(12 * enters), coreOf: take(4 * vcores),
    rProb: take(8 * window), rAlias: take(4 * window), nProb: take(8 * NEIGHBOUR_PAGES), nAlias: take(4 * NEIGHBOUR_PAGES),
    nbTab: take(NB_BYTES * neighbours),
  };
  const nb = Array.from({ length: neighbours }, () => ({ ea: take(4 * NEIGHBOUR_PAGES), mapped: take(NEIGHBOUR_PAGES), cpus: take(4 * cpus) }));
  return { bytes: at, arrays, nb };
}

/** Host pages of the trace guest's RAM (the frames reclaim may sample). */
function ramPagesOf(p: Pick<HcallProgram, "ramBytes">, hostPageShift: number): number {
  return p.ramBytes / 2 ** hostPageShift;
}

/** Bytes of the generator's state block for a trace point (pointMemoryBytes adds them). */
export function traceStateBytes(run: Pick<PointRun, "vcpus" | "threadsPerVcore" | "guests" | "cores" | "smt" | "traceWorkload" | "trace">, p: HcallProgram, hostPageShift: number): number {
  const window = (run.traceWorkload ?? DEFAULT_TRACE_WORKLOAD).revisitWindow;
  const calls = Math.min(p.calls, run.trace?.maxCalls ?? Infinity);
  return statePlan(calls, p.counts.H_ENTER, slotIds(p).count, ramPagesOf(p, hostPageShift), run.vcpus,
    Math.ceil(run.vcpus / run.threadsPerVcore), window, run.guests - 1, run.cores * run.smt).bytes;
}

/** Whether the kernel makes exactly the twin's ops for these parameters (it keeps counts as integers). */
export function traceKernelTakes(run: PointRun): boolean {
  const w = run.workload;
  const tw = run.traceWorkload ?? DEFAULT_TRACE_WORKLOAD;
  return [w.reclaimSample, w.workCycles, tw.revisitsPerCall, tw.revisitWindow].every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)
    && tw.revisitWindow >= 1;
}

/** runTraceWorkloads with the per-call loop in the engine (the same engine calls as runTraceWorkloadsTs). */
export function runTraceWorkloadsWasm(runs: readonly PointRun[], p: HcallProgram): { machines: Machine[]; guests: Guest[]; tally: TraceTally } {
  const { run, w, tw, calls, tpv, machines, guests, neighbours, m, guest, nPages, nZipf, recency } = traceSetup(runs, p);
  const ids = slotIds(p);
  const hostShift = m.config.hostPageShift;
  const ramPages = ramPagesOf(p, hostShift);
  const vcores = Math.ceil(run.vcpus / tpv);
  const W = tw.revisitWindow;
  const plan = statePlan(calls, p.counts.H_ENTER, ids.count, ramPages, run.vcpus, vcores, W, neighbours.length, m.cpus);
  const base = m.allocGeneratorState(plan.bytes);
  if (base % 8 !== 0) throw new Error("generator: state block not 8-byte aligned");
  const at = (k: ArrayName) => base + plan.arrays[k];

  let buf = m.memory.buffer;
  let u8 = new Uint8Array(buf), u16 = new Uint16Array(buf), u32 = new Uint32Array(buf), i32 = new Int32Array(buf), f64 = new Float64Array(buf);
  const views = () => {
    if (m.memory.buffer.byteLength === buf.byteLength) return;
    buf = m.memory.buffer;
    u8 = new Uint8Array(buf); u16 = new Uint16Array(buf); u32 = new Uint32Array(buf); i32 = new Int32Array(buf); f64 = new Float64Array(buf);
  };
  const setU = (off: number, v: number) => { u32[(base + off) / 4] = v; };
  const getU = (off: number) => u32[(base + off) / 4]!;
  const setF = (off: number, v: number) => { f64[(base + off) / 8] = v; };
  const getF = (off: number) => f64[(base + off) / 8]!;

  // the program (its first `calls` calls) and the per-slot and per-vcpu state
  u8.set(p.kind.subarray(0, calls), at("kind"));
  u16.set(p.vcpu.subarray(0, calls), at("vcpu") / 2);
  u32.set(p.words.subarray(0, calls * CALL_WORDS), at("words") / 4);
  i32.set(p.ret.subarray(0, calls), at("ret") / 4);
  u8.set(p.hit.subarray(0, calls), at("hit"));
  i32.set(ids.call.subarray(0, calls), at("slot") / 4);
  i32.set(ids.bulk.subarray(0, calls * 4), at("bulk") / 4);
  u32.set(p.touch.subarray(0, calls * TOUCH_WORDS), at("touch") / 4);
  i32.fill(-1, at("owner") / 4, at("owner") / 4 + ids.count);
  i32[at("owner") / 4 + ids.invalid] = -3;
  i32.fill(-1, at("owedHead") / 4, at("owedHead") / 4 + run.vcpus);
  i32.fill(-1, at("owedTail") / 4, at("owedTail") / 4 + run.vcpus);
  f64.set(recency.prob, at("rProb") / 8); i32.set(recency.alias, at("rAlias") / 4);
  f64.set(nZipf.prob, at("nProb") / 8); i32.set(nZipf.alias, at("nAlias") / 4);
  const fields: [number, ArrayName][] = [
    [T.KIND, "kind"], [T.VCPU, "vcpu"], [T.WORDS, "words"], [T.RET, "ret"], [T.HIT, "hit"], [T.SLOT, "slot"], [T.BULK, "bulk"],
    [T.TOUCH, "touch"], [T.GEN, "gen"], [T.OWNER, "owner"], [T.USED_AT, "usedAt"], [T.USED, "used"], [T.RING_CALL, "ringCall"],
    [T.RING_GEN, "ringGen"], [T.RING_POS, "ringPos"], [T.RING_COUNT, "ringCount"], [T.OWED_HEAD, "owedHead"],
    [T.OWED_TAIL, "owedTail"], [T.OWED_POOL, "owedPool"], [T.CORE_OF, "coreOf"], [T.RPROB, "rProb"], [T.RALIAS, "rAlias"],
    [T.NPROB, "nProb"], [T.NALIAS, "nAlias"], [T.NB_TAB, "nbTab"],
  ];
  for (const [off, k] of fields) setU(off, at(k));

  const sched = new Scheduler(m, [guest, ...neighbours], { seed: (run.seed ^ 0x5bd1e995) >>> 0, migrationRate: run.migrationRate, preemptRate: w.preemptRate, exitRate: w.exitRate });
  const ow = new OpWriter(m, run.batchOps, machines.slice(1));
  setU(T.CAP, ow.capacity); setU(T.OPS, m.plan.ops);
  i32[(base + T.RNG) / 4] = run.seed; // the twin's Draws(run.seed)
  i32[(base + T.LIES) / 4] = (run.seed ^ 0x2545f491) >>> 0; // the twin's mulberry32 of lying H_LOCAL
  setU(T.GSLOT, guest.slot); setU(T.GLPID, guest.lpid); setU(T.CALL, 0); setU(T.CALLS, calls);
  setU(T.VCPUS, run.vcpus); setU(T.TPV, tpv); setU(T.SMT, m.config.smt);
  setU(T.HLOCAL, run.hLocal === "honest" ? 1 : run.hLocal === "lying" ? 2 : 0);
  setU(T.WORK, w.workCycles); setU(T.REVISITS, tw.revisitsPerCall); setU(T.WINDOW, W); setU(T.INVALID, ids.invalid);
  setU(T.RAM_PAGES, ramPages); setU(T.FRAME_SHIFT, hostShift - 12); setU(T.SAMPLES, w.reclaimSample);
  setU(T.NBS, neighbours.length); setU(T.NB_PAGES, NEIGHBOUR_RAM / 2 ** hostShift); setU(T.NN, NEIGHBOUR_PAGES);
  setF(T.NEIGHBOUR_SHARE, w.neighbourShare); setF(T.STORE, w.storeShare); setF(T.SHARED, tw.sharedShare);
  setF(T.LIE, tw.lieShare); setF(T.AFTER_UNMAP, tw.afterUnmap);
  nPages.forEach((l, li) => {
    const d = at("nbTab") + li * NB_BYTES;
    const x = plan.nb[li]!;
    u32[(d + NB.SLOT) / 4] = l.g.slot; u32[(d + NB.LPID) / 4] = l.g.lpid;
    u32[(d + NB.SLB_LO) / 4] = l.slbLo[0]!; u32[(d + NB.SLB_HI) / 4] = l.slbHi[0]!;
    u32[(d + NB.EA) / 4] = base + x.ea; u32[(d + NB.MAPPED) / 4] = base + x.mapped; u32[(d + NB.CPUS) / 4] = base + x.cpus;
    u32.set(l.ea, (base + x.ea) / 4);
  });

  const tally: TraceTally = {
    guestOps: 0, engineOps: 0, translations: 0, hcalls: 0, faultsMapped: 0, pageOutsTried: 0,
    traceCalls: 0, touches: 0, invalidations: 0, localEligible: 0, markedLocal: 0, splitRemoves: 0, afterUnmapTouches: 0, forcedPlacements: 0,
  };
  let guestCpus = 0;
  /** The scheduler's picture, for the kernel: each vcore's core, each neighbour's cpus. */
  const refresh = () => {
    views();
    guestCpus = sched.cpusOf(guest).length;
    const co = at("coreOf") / 4;
    for (let vc = 0; vc < vcores; vc++) i32[co + vc] = sched.coreOf(guest, vc) ?? -1;
    nPages.forEach((l, li) => {
      const cpus = sched.cpusOf(l.g);
      i32.set(cpus, (base + plan.nb[li]!.cpus) / 4);
      u32[(at("nbTab") + li * NB_BYTES + NB.NCPUS) / 4] = cpus.length;
    });
  };
  /** The next draw of the kernel's stream (the twin's draws.next()). */
  const draw = (): number => {
    views();
    const k = (base + T.RNG) / 4;
    const a = (i32[k]! + 0x6d2b79f5) | 0;
    i32[k] = a;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  /** Give vcore vc a core (a free one, else a neighbour's or another vcore's), as the twin's place(). */
  const place = (vc: number) => {
    tally.forcedPlacements++;
    sched.forcePlace(ow, guest, vc, draw);
    refresh();
  };
  // the kernel and the writer share the count of ops written (T.N)
  const kernel = (phase: number): number => {
    views();
    setU(T.N, ow.pending);
    const why = m.traceRun(base, phase);
    views();
    ow.pending = getU(T.N);
    return why;
  };

  const previous = setGenFlush((n) => { ow.pending = n; ow.flush(); });
  try {
    sched.tick(ow);
    refresh();
    // the neighbours' pages start mapped (by their first cpu)
    nPages.forEach((l, li) => {
      const c = sched.cpusOf(l.g);
      if (c.length === 0) return;
      for (let i = 0; i < l.n; i++) l.enterOp(ow, c[0]!, i);
      views();
      const mapped = base + plan.nb[li]!.mapped;
      for (let i = 0; i < l.n; i++) u8[mapped + i] = l.ptex[i]! >= 0 ? 1 : 0;
    });
    const pageEvery = run.pageOutsPerMop > 0 ? 1e6 / run.pageOutsPerMop : Infinity;
    setF(T.PAGE_EVERY, pageEvery); setF(T.NEXT_PAGE, pageEvery);
    setF(T.NEXT_TICK, w.sliceOps * Math.max(1, guestCpus));
    let phase = 0;
    for (;;) {
      const why = kernel(phase);
      if (why === DONE) break;
      if (why === TICK) {
        const clock = getF(T.TRACE_CALLS) + getF(T.TOUCHES);
        sched.tick(ow);
        refresh();
        setF(T.NEXT_TICK, clock + w.sliceOps * Math.max(1, guestCpus));
        phase = 1;
      } else if (why === NO_CPU) {
        place(getU(T.PLACE));
        phase = 2;
      } else {
        throw new Error(`generator: the trace kernel answered ${why}`);
      }
    }
    ow.flush();
    views();
    tally.guestOps = getF(T.GUEST_OPS); tally.translations = getF(T.TRANSLATIONS); tally.hcalls = getF(T.HCALLS);
    tally.pageOutsTried = getF(T.PAGE_OUTS); tally.traceCalls = getF(T.TRACE_CALLS); tally.touches = getF(T.TOUCHES);
    tally.invalidations = getF(T.INVALIDATIONS); tally.localEligible = getF(T.LOCAL_ELIGIBLE); tally.markedLocal = getF(T.MARKED_LOCAL);
    tally.splitRemoves = getF(T.SPLIT); tally.afterUnmapTouches = getF(T.AFTER_UNMAP_TOUCHES);
    tally.engineOps = ow.engineOps;
  } finally {
    setGenFlush(previous);
  }
  return { machines, guests, tally };
}
