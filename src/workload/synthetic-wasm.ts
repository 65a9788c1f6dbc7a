/**
 * The synthetic workload (src/workload/synthetic.ts) with its per-op loop in the engine: the
 * kernel assembly/workload/synthetic.ts writes the ops straight into the op buffer, with the same
 * mulberry32 stream and the same draws as the TypeScript loop (runWorkloadsTs, kept as its twin:
 * test/generator.test.ts runs both over random configurations and expects the same engine calls).
 * This side sets up the kernel's state block (docs/memory.md, "The synthetic generator's state"):
 * the pages' HPTE words, the Zipf alias tables, the parameters; it runs the scheduler (ticks and
 * the preemption of a neighbour when the studied guest has no running vcpu), the epochs of soak
 * runs, and every engine call (the kernel calls back when the buffer is full, so the calls are
 * the twin's, mirrors included).
 */
import type { Guest } from "../engine/guest.js";
import { setGenFlush } from "../engine/wasm.js";
import { OpWriter } from "./op-writer.js";
import { Scheduler } from "./scheduler.js";
import {
  GUEST_RAM, NEIGHBOUR_PAGES, NEIGHBOUR_RAM, ZipfSampler, pageLayout, pointMachines,
  type PointRun, type WorkloadParams, type WorkloadTally,
} from "./synthetic.js";
import type { Machine } from "../engine/machine.js";

// the state block's fields (byte offsets; assembly/workload/synthetic.ts S_* and L_*, which test/generator.test.ts compares)
export const S = {
  N: 0, CAP: 4, OPS: 8, RR: 12, PREV: 16, NBGFN: 20, LOADS: 24, LOAD_TAB: 28, VCPU_OF: 32, PERM: 36,
  ZPROB: 40, ZALIAS: 44, ZN: 48, NPROB: 52, NALIAS: 56, NN: 60, RNG: 64, GSLOT: 68, SAMPLES: 72,
  RAM_PAGES: 76, NB_PAGES: 80, HLOCAL: 84, BURST_MAX: 88, PROCESSES: 92, WORK: 96,
  GUEST_OPS: 128, TRANSLATIONS: 136, HCALLS: 144, FAULTS: 152, PAGE_OUTS: 160, NEXT_PAGE: 168,
  PAGE_EVERY: 176, NEXT_TICK: 184, NEXT_EPOCH: 192, TARGET: 200, NEIGHBOUR_SHARE: 208, BURST_RATE: 216,
  MUNMAP: 224, MPROTECT: 232, BULK: 240, STORE: 248, SEQUENTIAL: 256, HLOCAL_SHARE: 264,
} as const;
const HEADER_BYTES = 512;
export const L = {
  N: 0, PER_PROCESS: 4, SLOT: 8, LPID: 12, PROC: 16, EA: 20, VLO: 24, VHI: 28, RLO: 32, RHI: 36, PTEG: 40,
  PTEX: 44, OWNER: 48, USED: 52, SLB_LO: 56, SLB_HI: 60, CPUS: 64, NCPUS: 68,
} as const;
export const LOAD_BYTES = 80;
/** synRun's answers. */
const DONE = 0, EPOCH = 1, TICK = 2, NO_CPU = 3;

interface LoadPlan {
  n: number; processes: number; hptOrder: number;
  at: Record<"proc" | "ea" | "vLo" | "vHi" | "rLo" | "rHi" | "pteg" | "ptex" | "owner" | "used" | "slbLo" | "slbHi" | "cpus", number>;
}

/** Where everything lies in the state block (offsets from its start), and its size. */
function statePlan(w: WorkloadParams, guests: number, cpus: number, hptOrder = 20) {
  let at = HEADER_BYTES;
  const take = (bytes: number): number => { const a = at; at += Math.ceil(bytes / 8) * 8; return a; };
  const loadTab = take(guests * LOAD_BYTES);
  const vcpuOf = take(4 * cpus);
  const n0 = w.processes * w.pagesPerProcess;
  const perm = take(4 * n0);
  const zProb = take(8 * n0), zAlias = take(4 * n0);
  const nProb = take(8 * NEIGHBOUR_PAGES), nAlias = take(4 * NEIGHBOUR_PAGES);
  const loads: LoadPlan[] = [];
  for (let li = 0; li < guests; li++) {
    const n = li === 0 ? n0 : NEIGHBOUR_PAGES;
    const processes = li === 0 ? w.processes : 1;
    const order = li === 0 ? hptOrder : 18;
    loads.push({
      n, processes, hptOrder: order,
      at: {
        proc: take(4 * n), ea: take(4 * n), vLo: take(4 * n), vHi: take(4 * n), rLo: take(4 * n), rHi: take(4 * n),
        pteg: take(4 * n), ptex: take(4 * n), owner: take(4 * n), used: take(2 ** (order - 7)),
        slbLo: take(4 * processes), slbHi: take(4 * processes), cpus: take(4 * cpus),
      },
    });
  }
  return { bytes: at, loadTab, vcpuOf, perm, zProb, zAlias, nProb, nAlias, loads };
}

/** Bytes of the generator's state block for a synthetic point (pointMemoryBytes adds them). */
export function generatorStateBytes(w: WorkloadParams, guests: number, cpus: number): number {
  return statePlan(w, guests, cpus).bytes;
}

/** Whether the kernel makes exactly the twin's ops for these parameters (it keeps counts as integers). */
export function kernelTakes(run: PointRun): boolean {
  const w = run.workload;
  return [w.burstMax, w.processes, w.pagesPerProcess, w.reclaimSample, w.workCycles].every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32);
}

/** runWorkloads with the per-op loop in the engine (the same engine calls as runWorkloadsTs). */
export function runWorkloadsWasm(runs: readonly PointRun[]): { machines: Machine[]; tally: WorkloadTally } {
  const run = runs[0]!;
  const w = run.workload;
  const made = pointMachines(runs, 2 ** 28 + run.guests * NEIGHBOUR_RAM, GUEST_RAM, 20);
  const m = made.machines[0]!;
  const guest = made.guests[0]!;
  const neighbours = made.neighbours;
  const all: Guest[] = [guest, ...neighbours];
  const plan = statePlan(w, all.length, m.cpus, guest.hptOrder);
  const base = m.allocGeneratorState(plan.bytes);
  if (base % 8 !== 0) throw new Error("generator: state block not 8-byte aligned");

  let buf = m.memory.buffer;
  let u32 = new Uint32Array(buf), i32 = new Int32Array(buf), f64 = new Float64Array(buf);
  const views = () => {
    if (m.memory.buffer.byteLength === buf.byteLength) return;
    buf = m.memory.buffer;
    u32 = new Uint32Array(buf); i32 = new Int32Array(buf); f64 = new Float64Array(buf);
  };
  const setU = (off: number, v: number) => { u32[(base + off) / 4] = v; };
  const setF = (off: number, v: number) => { f64[(base + off) / 8] = v; };
  const getF = (off: number) => f64[(base + off) / 8]!;

  // the pages of every guest (HPTE words, PTEGs, segments: shared by every point of a shape), as GuestPages has them
  all.forEach((g, li) => {
    const lp = plan.loads[li]!;
    const per = li === 0 ? w.pagesPerProcess : NEIGHBOUR_PAGES;
    const lay = pageLayout(li === 0 ? 0x100 : 0x1000 + 0x10 * (li - 1), lp.processes, per, g.options.ramBytes / 4096, g.hptOrder);
    const d = base + plan.loadTab + li * LOAD_BYTES;
    const a = (k: keyof LoadPlan["at"]) => base + lp.at[k];
    u32[(d + L.N) / 4] = lp.n; u32[(d + L.PER_PROCESS) / 4] = per; u32[(d + L.SLOT) / 4] = g.slot; u32[(d + L.LPID) / 4] = g.lpid;
    const fields: [number, keyof LoadPlan["at"]][] = [
      [L.PROC, "proc"], [L.EA, "ea"], [L.VLO, "vLo"], [L.VHI, "vHi"], [L.RLO, "rLo"], [L.RHI, "rHi"], [L.PTEG, "pteg"],
      [L.PTEX, "ptex"], [L.OWNER, "owner"], [L.USED, "used"], [L.SLB_LO, "slbLo"], [L.SLB_HI, "slbHi"], [L.CPUS, "cpus"],
    ];
    for (const [off, k] of fields) u32[(d + off) / 4] = a(k);
    i32.set(lay.proc, a("proc") / 4); u32.set(lay.ea, a("ea") / 4);
    u32.set(lay.vLo, a("vLo") / 4); u32.set(lay.vHi, a("vHi") / 4); u32.set(lay.rLo, a("rLo") / 4); u32.set(lay.rHi, a("rHi") / 4);
    u32.set(lay.pteg, a("pteg") / 4); u32.set(lay.slbLo, a("slbLo") / 4); u32.set(lay.slbHi, a("slbHi") / 4);
    i32.fill(-1, a("ptex") / 4, a("ptex") / 4 + lp.n);
    i32.fill(-1, a("owner") / 4, a("owner") / 4 + lp.n);
  });
  const zipf = ZipfSampler.of(plan.loads[0]!.n, w.zipf);
  const nZipf = ZipfSampler.of(NEIGHBOUR_PAGES, w.zipf);
  f64.set(zipf.prob, (base + plan.zProb) / 8); i32.set(zipf.alias, (base + plan.zAlias) / 4);
  f64.set(nZipf.prob, (base + plan.nProb) / 8); i32.set(nZipf.alias, (base + plan.nAlias) / 4);

  const sched = new Scheduler(m, all, { seed: (run.seed ^ 0x5bd1e995) >>> 0, migrationRate: run.migrationRate, preemptRate: w.preemptRate, exitRate: w.exitRate });
  const w8 = new OpWriter(m, run.batchOps, made.machines.slice(1));
  const hostPages = (bytes: number) => bytes / 2 ** m.config.hostPageShift;
  setU(S.CAP, w8.capacity); setU(S.OPS, m.plan.ops); setU(S.LOADS, all.length); setU(S.LOAD_TAB, base + plan.loadTab);
  setU(S.VCPU_OF, base + plan.vcpuOf); setU(S.PERM, base + plan.perm);
  setU(S.ZPROB, base + plan.zProb); setU(S.ZALIAS, base + plan.zAlias); setU(S.ZN, plan.loads[0]!.n);
  setU(S.NPROB, base + plan.nProb); setU(S.NALIAS, base + plan.nAlias); setU(S.NN, NEIGHBOUR_PAGES);
  i32[(base + S.RNG) / 4] = run.seed; // mulberry32's state, as Draws keeps it (an Int32Array)
  setU(S.GSLOT, guest.slot); setU(S.SAMPLES, w.reclaimSample);
  setU(S.RAM_PAGES, hostPages(GUEST_RAM)); setU(S.NB_PAGES, hostPages(NEIGHBOUR_RAM));
  setU(S.HLOCAL, run.hLocal === "never" ? 0 : run.hLocal === "honest" ? 1 : 2);
  setU(S.BURST_MAX, w.burstMax); setU(S.PROCESSES, w.processes); setU(S.WORK, w.workCycles);
  setF(S.TARGET, run.ops); setF(S.NEIGHBOUR_SHARE, w.neighbourShare); setF(S.BURST_RATE, w.burstRate);
  setF(S.MUNMAP, w.munmapShare); setF(S.MPROTECT, w.mprotectShare); setF(S.BULK, w.bulkShare);
  setF(S.STORE, w.storeShare); setF(S.SEQUENTIAL, w.sequential); setF(S.HLOCAL_SHARE, w.hLocalShare);

  let cpus0 = 0;
  const refresh = () => {
    views();
    all.forEach((g, li) => {
      const cpus = sched.cpusOf(g);
      const d = base + plan.loadTab + li * LOAD_BYTES;
      i32.set(cpus, (base + plan.loads[li]!.at.cpus) / 4);
      u32[(d + L.NCPUS) / 4] = cpus.length;
      if (li === 0) cpus0 = cpus.length;
    });
    const v = (base + plan.vcpuOf) / 4;
    for (let c = 0; c < m.cpus; c++) i32[v + c] = m.cpuState(c).vcpu ?? 0;
  };
  const schedule = () => w8.scheduled((ops) => sched.tick(ops));
  const tally: WorkloadTally = { guestOps: 0, engineOps: 0, translations: 0, hcalls: 0, faultsMapped: 0, pageOutsTried: 0 };
  const readTally = () => {
    views();
    tally.guestOps = getF(S.GUEST_OPS); tally.translations = getF(S.TRANSLATIONS); tally.hcalls = getF(S.HCALLS);
    tally.faultsMapped = getF(S.FAULTS); tally.pageOutsTried = getF(S.PAGE_OUTS); tally.engineOps = w8.engineOps;
  };
  // the kernel and the writer share the count of ops written (S.N)
  const kernel = (call: () => number): number => {
    views();
    setU(S.N, w8.pending);
    const why = call();
    views();
    w8.pending = u32[(base + S.N) / 4]!;
    return why;
  };

  const previous = setGenFlush((n) => { w8.pending = n; w8.flush(); });
  try {
    schedule();
    refresh();
    kernel(() => { m.generatorInit(base); return 0; });
    const pageEvery = run.pageOutsPerMop > 0 ? 1e6 / run.pageOutsPerMop : Infinity;
    setF(S.PAGE_EVERY, pageEvery); setF(S.NEXT_PAGE, pageEvery);
    setF(S.NEXT_TICK, w.sliceOps * Math.max(1, cpus0));
    setF(S.NEXT_EPOCH, run.onEpoch ? (run.epochOps ?? 1e6) : Infinity);
    let phase = 0;
    for (;;) {
      const why = kernel(() => m.generatorRun(base, phase));
      if (why === DONE) break;
      if (why === EPOCH) {
        w8.flush();
        readTally();
        if (run.onEpoch!(m, tally) === false) break;
        views();
        setF(S.NEXT_EPOCH, getF(S.NEXT_EPOCH) + (run.epochOps ?? 1e6));
        phase = 1;
      } else if (why === TICK) {
        schedule();
        refresh();
        setF(S.NEXT_TICK, getF(S.GUEST_OPS) + w.sliceOps * Math.max(1, cpus0));
        phase = 2;
      } else if (why === NO_CPU) {
        // nothing of the studied guest runs (neighbours hold every core): preempt one of them
        const victim = sched.placements().find((p) => p.guest !== guest);
        w8.scheduled((ops) => { if (victim) sched.stop(ops, victim.guest, victim.vcore); });
        schedule();
        refresh();
        setF(S.NEXT_TICK, getF(S.GUEST_OPS) + w.sliceOps * Math.max(1, cpus0));
        if (cpus0 === 0) throw new Error("workload: the scheduler placed no vcore of the guest");
        phase = 0;
      } else {
        throw new Error(`generator: the kernel answered ${why}`);
      }
    }
    w8.flush();
    readTally();
  } finally {
    setGenFlush(previous);
  }
  return { machines: made.machines, tally };
}
