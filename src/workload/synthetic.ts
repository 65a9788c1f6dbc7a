/**
 * The seeded workload of one sweep point (docs/study.md, "Workload"): a guest kernel's HPTE churn
 * (munmap, fork/exec and mprotect bursts through H_REMOVE, H_BULK_REMOVE, H_ENTER, H_PROTECT),
 * memory accesses with tunable locality (Zipf over the working set, sequential runs), faults that
 * map pages back in, host memory pressure (page-outs), a vcore scheduler with migration and
 * preemption, and H_LOCAL used never, honestly or always. Ops are written straight into the shared
 * op buffer as 32-bit halves (no BigInt on the hot path) and run in batches.
 */
import { Machine } from "../engine/machine.js";
import { type Guest } from "../engine/guest.js";
import { OP, planLayout, guestParts, tlbieLockSlots } from "../engine/layout.js";
import { OpWriter } from "./op-writer.js";
import { resolveMachineConfig, type MachineConfigInput } from "../config.js";
import type { Generation } from "../model/machines.js";
import { makeHpte } from "../hpte.js";
import { Scheduler, Draws } from "./scheduler.js";
import type { HcallProgram } from "../trace/hcall-program.js";
import type { TraceWorkloadParams } from "./trace-driven.js";
import { generatorStateBytes, kernelTakes, runWorkloadsWasm } from "./synthetic-wasm.js";
import { traceStateBytes } from "./trace-wasm.js";
import type { FabricSettings } from "../model/costs.js";

export interface WorkloadParams {
  /** Processes (segments) of the guest under study, and 4 KiB pages each maps. */
  processes: number;
  pagesPerProcess: number;
  /** Zipf exponent of page popularity (0 = uniform). */
  zipf: number;
  /** Probability that an access continues sequentially from the previous page. */
  sequential: number;
  /** Fraction of guest operations that start an HPTE burst. */
  burstRate: number;
  /** Pages per burst: 1 … burstMax. */
  burstMax: number;
  /** Of bursts: munmap (remove), mprotect, and the rest fork/exec (map). */
  munmapShare: number;
  mprotectShare: number;
  /** Of munmap removals: the share done with H_BULK_REMOVE (4 per call), the rest with H_REMOVE. */
  bulkShare: number;
  /** Fraction of accesses that are stores. */
  storeShare: number;
  /** Share of accesses made by the neighbour guests. */
  neighbourShare: number;
  /** Guest operations per running vcpu of the studied guest between scheduler ticks (host exits). */
  sliceOps: number;
  /** Per tick, the probability that a running vcore exits to the host and re-enters (timer, I/O). */
  exitRate: number;
  /** Per tick, probability that a running vcore is preempted (lets more vcores than cores share). */
  preemptRate: number;
  /** Guest work before each access, in cycles (moves the cpu's clock; no cost category). */
  workCycles: number;
  /** Share of the guest's invalidations that carry H_LOCAL (when honest: of those it may truthfully mark). */
  hLocalShare: number;
  /** Host reclaim: host pages sampled per page-out, 1–8; the first not referenced goes (1 = random). */
  reclaimSample: number;
}

export const DEFAULT_WORKLOAD: WorkloadParams = {
  processes: 8, pagesPerProcess: 256, zipf: 0.9, sequential: 0.3, burstRate: 0.002, burstMax: 16,
  munmapShare: 0.45, mprotectShare: 0.15, bulkShare: 0.5, storeShare: 0.3, neighbourShare: 0.1,
  sliceOps: 256, exitRate: 1, preemptRate: 0.05, workCycles: 400, hLocalShare: 1, reclaimSample: 8,
};

export interface PointRun {
  cores: number;
  smt: number;
  tlbSets: number;
  tlbWays: number;
  /** POWER8/9/10 machines only (src/model/machines.ts); absent: POWER7. */
  generation?: Generation;
  tlbThreadsPerGroup?: 1 | 2 | 4 | 8;
  tlbFlushSets?: number;
  policy: string;
  deferredCap: number | null;
  deferredOverflow: string | null;
  vcpus: number;
  threadsPerVcore: number;
  guests: number;
  hLocal: HLocalMode;
  pageOutsPerMop: number;
  migrationRate: number;
  ops: number;
  seed: number;
  costs?: Record<string, number>;
  /** The concurrent tlbie fabric (docs/model/costs.md §8); absent: the exclusive one. */
  fabric?: FabricSettings;
  workload: WorkloadParams;
  /** Trace-driven points (src/workload/trace-driven.ts): the trace, as the config names it, and how much of it to replay. */
  trace?: { file: string; maxCalls: number | null };
  traceWorkload?: TraceWorkloadParams;
  /** The compiled trace, attached before the point runs (attachTracePrograms); shared, not copied, with workers. */
  program?: HcallProgram;
  /** Which loop makes a synthetic point's ops: the engine's kernel (default) or its TypeScript twin (also HPTLAB_GENERATOR=ts); the same ops either way. */
  generator?: "wasm" | "ts";
  /** Ops per engine call (tests: results must not depend on it). Default: the op buffer's capacity. */
  batchOps?: number;
  /** Called every `epochOps` guest operations with the machine between batches (soak runs); return false to stop. */
  onEpoch?: (m: Machine, tally: WorkloadTally) => boolean | void;
  epochOps?: number;
}

/** How the guests use H_LOCAL (docs/study.md). */
export type HLocalMode = "never" | "honest" | "lying";

const H_LOCAL_LO = 0x10000000;
const H_EXACT_HI = 0x80; // H_EXACT = 1 << 39
export const GUEST_RAM = 64 * 2 ** 20;
export const NEIGHBOUR_RAM = 16 * 2 ** 20;
export const NEIGHBOUR_PAGES = 256;

/** Host memory of a trace point: the traced guest's RAM, the neighbours', and room for the host. */
export function traceHostMemoryBytes(ramBytes: number, guests: number): number {
  return ramBytes + guests * NEIGHBOUR_RAM + 2 ** 26;
}

/** A point's machine geometry, as createMachine takes it. */
export function pointMachine(run: Pick<PointRun, "cores" | "smt" | "tlbSets" | "tlbWays" | "generation" | "tlbThreadsPerGroup" | "tlbFlushSets" | "fabric">): MachineConfigInput {
  return {
    cores: run.cores, smt: run.smt as 1 | 2 | 4 | 8, tlbSets: run.tlbSets, tlbWays: run.tlbWays,
    ...(run.generation ? { generation: run.generation, tlbThreadsPerGroup: run.tlbThreadsPerGroup!, tlbFlushSets: run.tlbFlushSets! } : {}),
    ...(run.fabric ? { fabric: run.fabric } : {}),
  };
}

/**
 * Bytes of linear memory a point's machine needs (fixed regions and every guest), computed before
 * anything is allocated (src/engine/layout.ts planLayout, guestParts).
 */
export function pointMemoryBytes(run: Pick<PointRun, "cores" | "smt" | "tlbSets" | "tlbWays" | "generation" | "tlbThreadsPerGroup" | "tlbFlushSets" | "vcpus" | "threadsPerVcore" | "guests" | "deferredCap" | "program" | "fabric"> & Partial<Pick<PointRun, "workload" | "traceWorkload" | "trace">>): number {
  // a trace point's guest is the trace's (RAM and HPT from its header)
  const ram = run.program?.ramBytes ?? GUEST_RAM;
  const order = run.program?.hptOrder ?? 20;
  const host = run.program ? traceHostMemoryBytes(ram, run.guests) : 2 ** 28 + run.guests * NEIGHBOUR_RAM;
  const cfg = resolveMachineConfig({ ...pointMachine(run), hostMemoryBytes: host });
  const plan = planLayout(cfg, 65536);
  const cpus = run.cores * run.smt;
  const kvm = (vcpus: number, tpv: number, cap: number) => ({ vcpus, vcores: Math.ceil(vcpus / tpv), maskWords: plan.maskWords, lastVcpuSlots: Math.ceil(cpus / 4) * 4, deferredCap: cap, lockSlots: tlbieLockSlots(cfg) });
  let bytes = plan.arena + guestParts(order, ram / 65536, true, kvm(run.vcpus, run.threadsPerVcore, run.deferredCap ?? 0)).bytes;
  bytes += (run.guests - 1) * guestParts(18, NEIGHBOUR_RAM / 65536, true, kvm(1, run.smt, 0)).bytes;
  // a synthetic point's generator keeps its state in the arena too (src/workload/synthetic-wasm.ts)
  if (!run.program && run.workload) bytes += generatorStateBytes(run.workload, run.guests, cpus);
  // a trace point's kernel keeps the compiled trace and its state there (src/workload/trace-wasm.ts)
  if (run.program) bytes += traceStateBytes(run, run.program, cfg.hostPageShift);
  return bytes;
}

/** A TRANSLATE op: `cpu` of guest `lpid` accesses ea (hi:lo) of the segment whose VSID word is slbHi:slbLo, after `workCycles` of work. */
export function translateOp(ow: OpWriter, cpu: number, lpid: number, slbLo: number, slbHi: number, eaLo: number, eaHi: number, store: boolean, workCycles: number): void {
  const u32 = ow.u32;
  const o = ow.op(OP.TRANSLATE, cpu, 0);
  u32[o + 4] = slbLo; u32[o + 5] = slbHi;
  u32[o + 6] = eaLo; u32[o + 7] = eaHi;
  u32[o + 8] = store ? 1 : 0; u32[o + 9] = 0;
  u32[o + 14] = workCycles; u32[o + 15] = 0;
  u32[o + 20] = lpid; u32[o + 21] = 0;
}

/**
 * Host memory pressure: the host reclaims a page of the studied guest — of `samples` (≤ 8) host
 * pages drawn by `sample()`, the first whose HPTEs were not referenced since the last look (R bits,
 * the aging of kvm_age_rmapp) — and a neighbour gives up one of its pages and takes the lowest free
 * frame back (the one just reclaimed). Returns the next value of the neighbour counter `nbGfn`.
 */
export function hostPressure(ow: OpWriter, guestSlot: number, samples: number, sample: () => number, neighbours: readonly Guest[], nbGfn: number): number {
  const u32 = ow.u32;
  let o = ow.op(OP.RECLAIM, 0, guestSlot);
  for (let k = 0; k < 8; k++) {
    const b = o + 4 + 2 * k;
    if (k < samples) { u32[b] = sample(); u32[b + 1] = 0; }
    else { u32[b] = 0xffffffff; u32[b + 1] = 0xffffffff; }
  }
  if (neighbours.length === 0) return nbGfn;
  const nb = neighbours[nbGfn % neighbours.length]!;
  const k = (nbGfn >> 3) % (NEIGHBOUR_RAM / 2 ** ow.m.config.hostPageShift);
  o = ow.op(OP.PAGE_OUT, 0, nb.slot);
  u32[o + 4] = k; u32[o + 5] = 0;
  o = ow.op(OP.PAGE_IN, 0, nb.slot);
  u32[o + 4] = k; u32[o + 5] = 0;
  return nbGfn + 1;
}

/** Walker's alias method over a Zipf(s) distribution of n items: O(1) per draw. */
export class ZipfSampler {
  static readonly #made = new Map<string, ZipfSampler>();
  /** The sampler of (n, s), built once per process (it has no state: every point of a shape shares it). */
  static of(n: number, s: number): ZipfSampler {
    const key = `${n}/${s}`;
    let z = ZipfSampler.#made.get(key);
    if (!z) {
      if (ZipfSampler.#made.size >= 64) ZipfSampler.#made.clear();
      z = new ZipfSampler(n, s);
      ZipfSampler.#made.set(key, z);
    }
    return z;
  }
  readonly #prob: Float64Array;
  readonly #alias: Int32Array;
  constructor(n: number, s: number) {
    const w = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += w[i] = 1 / Math.pow(i + 1, s);
    const prob = new Float64Array(n);
    const alias = new Int32Array(n);
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < n; i++) {
      prob[i] = (w[i]! * n) / sum;
      (prob[i]! < 1 ? small : large).push(i);
    }
    while (small.length && large.length) {
      const s1 = small.pop()!;
      const l = large.pop()!;
      alias[s1] = l;
      prob[l] = prob[l]! + prob[s1]! - 1;
      (prob[l]! < 1 ? small : large).push(l);
    }
    for (const i of large) prob[i] = 1;
    for (const i of small) prob[i] = 1;
    this.#prob = prob;
    this.#alias = alias;
  }
  /** The alias table (the generator's kernel gets a copy). */
  get prob(): Float64Array { return this.#prob; }
  get alias(): Int32Array { return this.#alias; }
  /** Rank drawn from two uniforms in [0, 1). */
  draw(u: number, v: number): number {
    const i = Math.floor(u * this.#prob.length);
    return v < this.#prob[i]! ? i : this.#alias[i]!;
  }
}

/** The fixed part of a guest's pages (HPTE words, PTEGs, segments): the same for every point of a shape, so computed once per process. */
export interface PageLayout {
  proc: Int32Array; ea: Uint32Array; vLo: Uint32Array; vHi: Uint32Array; rLo: Uint32Array; rHi: Uint32Array;
  pteg: Uint32Array; slbLo: Uint32Array; slbHi: Uint32Array;
}
const pageLayouts = new Map<string, PageLayout>();

export function pageLayout(vsidBase: number, processes: number, perProcess: number, ramPages: number, hptOrder: number): PageLayout {
  const key = `${vsidBase}/${processes}/${perProcess}/${ramPages}/${hptOrder}`;
  const hit = pageLayouts.get(key);
  if (hit) return hit;
  const n = processes * perProcess;
  const l: PageLayout = {
    proc: new Int32Array(n), ea: new Uint32Array(n), vLo: new Uint32Array(n), vHi: new Uint32Array(n),
    rLo: new Uint32Array(n), rHi: new Uint32Array(n), pteg: new Uint32Array(n),
    slbLo: new Uint32Array(processes), slbHi: new Uint32Array(processes),
  };
  for (let p = 0; p < processes; p++) {
    const vsid = BigInt(vsidBase + p);
    for (let k = 0; k < perProcess; k++) {
      const i = p * perProcess + k;
      const ea = 0x10000000 + k * 4096; // the segment offset bits only matter
      // each process's pages spread over guest RAM, 4 KiB pages packed into 64 KiB host pages
      const gpa = BigInt(((p * perProcess + k) * 7 + p) % ramPages) << 12n;
      const h = makeHpte({ vsid, ea: BigInt(ea), gpa });
      l.proc[i] = p;
      l.ea[i] = ea;
      l.vLo[i] = Number(h.v & 0xffffffffn);
      l.vHi[i] = Number(h.v >> 32n);
      l.rLo[i] = Number(h.r & 0xffffffffn);
      l.rHi[i] = Number(h.r >> 32n);
      l.pteg[i] = Number(h.pteg(hptOrder));
      if (k === 0) {
        l.slbLo[p] = Number(h.slbV & 0xffffffffn);
        l.slbHi[p] = Number(h.slbV >> 32n);
      }
    }
  }
  if (pageLayouts.size >= 64) pageLayouts.clear();
  pageLayouts.set(key, l);
  return l;
}

/**
 * One guest's pages as the generator sees them: HPTE words, slots it chose, who touched them. The
 * HPTE words, PTEGs and segments are shared by every point of the same shape (read only); the
 * slots, owners and group occupancy are the point's own.
 */
export class GuestPages {
  readonly g: Guest;
  readonly n: number;
  readonly proc: Int32Array;
  readonly ea: Uint32Array;
  readonly vLo: Uint32Array;
  readonly vHi: Uint32Array;
  readonly rLo: Uint32Array;
  readonly rHi: Uint32Array;
  readonly pteg: Uint32Array;
  /** Slot used (ptex), −1 = not mapped. */
  readonly ptex: Float64Array;
  /** The vcpu that alone touched the page since it was mapped: −1 nobody, −2 several. */
  readonly owner: Int32Array;
  /** Occupied slots of each PTEG (bit per slot). */
  readonly used: Uint8Array;
  readonly slbLo: Uint32Array;
  readonly slbHi: Uint32Array;
  readonly perProcess: number;

  constructor(g: Guest, vsidBase: number, processes: number, perProcess: number) {
    this.g = g;
    this.perProcess = perProcess;
    const n = (this.n = processes * perProcess);
    const l = pageLayout(vsidBase, processes, perProcess, g.options.ramBytes / 4096, g.hptOrder);
    this.proc = l.proc;
    this.ea = l.ea;
    this.vLo = l.vLo;
    this.vHi = l.vHi;
    this.rLo = l.rLo;
    this.rHi = l.rHi;
    this.pteg = l.pteg;
    this.slbLo = l.slbLo;
    this.slbHi = l.slbHi;
    this.ptex = new Float64Array(n).fill(-1);
    this.owner = new Int32Array(n).fill(-1);
    this.used = new Uint8Array(2 ** (g.hptOrder - 7));
  }

  /** A free slot of page i's PTEG (chosen by the guest: H_EXACT), or −1 when the group is full. */
  takeSlot(i: number): number {
    const pg = this.pteg[i]!;
    const u = this.used[pg]!;
    if (u === 0xff) return -1;
    const s = 31 - Math.clz32(~u & (u + 1)); // lowest clear bit
    this.used[pg] = u | (1 << s);
    return pg * 8 + s;
  }

  /** Write H_ENTER (H_EXACT) of page i into a free slot of its PTEG, by `cpu`; false when the group is full. */
  enterOp(ow: OpWriter, cpu: number, i: number): boolean {
    const ptex = this.takeSlot(i);
    if (ptex < 0) return false;
    const u32 = ow.u32;
    const o = ow.op(OP.H_ENTER, cpu, this.g.slot);
    u32[o + 4] = 0; u32[o + 5] = H_EXACT_HI;
    u32[o + 6] = ptex; u32[o + 7] = 0;
    u32[o + 8] = this.vLo[i]!; u32[o + 9] = this.vHi[i]!;
    u32[o + 10] = this.rLo[i]!; u32[o + 11] = this.rHi[i]!;
    this.ptex[i] = ptex;
    return true;
  }

  freeSlot(i: number): void {
    const p = this.ptex[i]!;
    this.used[this.pteg[i]!] = this.used[this.pteg[i]!]! & ~(1 << (p & 7));
    this.ptex[i] = -1;
    this.owner[i] = -1;
  }
}

/** Counts the generator keeps (the engine keeps the rest). */
export interface WorkloadTally {
  guestOps: number;
  engineOps: number;
  translations: number;
  hcalls: number;
  faultsMapped: number;
  pageOutsTried: number;
}

/**
 * What of a point its generator reads (either workload): points with the same key make the same
 * ops — a generator never reads the engine's results — whatever their policies (policy, deferred-va
 * cap and overflow) and cost tables, which only the engine sees.
 */
export function generatorKey(run: PointRun): string {
  const { policy: _p, deferredCap: _c, deferredOverflow: _o, costs: _k, fabric: _f, program, onEpoch: _e, ...rest } = run;
  return JSON.stringify([rest, program ? [program.file, program.digest, program.calls] : null]);
}

/**
 * One machine per run, each with the studied guest (RAM and HPT order given) and the neighbours:
 * the runs of one generator (generatorKey), differing only in what the engine sees. Their guests
 * get the same slots and LPIDs on every machine (the ops name them); the neighbours returned are
 * the first machine's.
 */
export function pointMachines(runs: readonly PointRun[], hostMemoryBytes: number, ramBytes: number, hptOrder: number): { machines: Machine[]; guests: Guest[]; neighbours: Guest[] } {
  const key = generatorKey(runs[0]!);
  for (const r of runs) if (generatorKey(r) !== key) throw new RangeError("study: points that share a generator must differ only in their policies, costs and fabric");
  if (runs.length > 1 && runs[0]!.onEpoch) throw new RangeError("study: a run with onEpoch cannot share its generator");
  const machines: Machine[] = [];
  const guests: Guest[] = [];
  let first: Guest[] = [];
  for (const r of runs) {
    const m = new Machine({
      ...pointMachine(r),
      hostMemoryBytes, seed: (r.seed >>> 0) || 1, ...(r.costs ? { costs: r.costs } : {}),
    });
    const policy = r.policy as never;
    const all = [m.createGuest({
      ramBytes, hptOrder, vcpus: r.vcpus, threadsPerVcore: r.threadsPerVcore as 1 | 2 | 4 | 8, policy,
      ...(r.deferredCap !== null ? { deferredCap: r.deferredCap } : {}),
      ...(r.deferredOverflow ? { deferredOverflow: r.deferredOverflow as never } : {}),
    })];
    for (let i = 1; i < r.guests; i++) all.push(m.createGuest({ ramBytes: NEIGHBOUR_RAM, hptOrder: 18, vcpus: 1, policy }));
    if (machines.length && all.some((g, i) => g.slot !== first[i]!.slot || g.lpid !== first[i]!.lpid)) {
      throw new Error("study: the machines' guests got different slots or LPIDs");
    }
    if (!machines.length) first = all;
    machines.push(m);
    guests.push(all[0]!);
  }
  return { machines, guests, neighbours: first.slice(1) };
}

/**
 * Run one point: build the machine and guests, map every page, then interleave accesses and
 * bursts from the running vcpus until `ops` guest operations are done. Returns the machine (for its
 * counters) and the generator's tally.
 */
export function runWorkload(run: PointRun): { machine: Machine; tally: WorkloadTally } {
  const { machines, tally } = runWorkloads([run]);
  return { machine: machines[0]!, tally };
}

/**
 * Run points that share a generator (generatorKey: a configuration's policy variants, which share
 * its seed) with one generator: its ops are written once and run on every point's machine
 * (OpWriter mirrors), each machine with the results runWorkload gives that point alone. The
 * generator reads only the first machine, and only what no policy changes (which vcpu each cpu
 * runs, after the scheduler's ops).
 */
export function runWorkloads(runs: readonly PointRun[]): { machines: Machine[]; tally: WorkloadTally } {
  const twin = (runs[0]!.generator ?? generatorFromEnv()) === "ts";
  return twin || !kernelTakes(runs[0]!) ? runWorkloadsTs(runs) : runWorkloadsWasm(runs);
}

/** HPTLAB_GENERATOR: which loop makes synthetic points' ops (wasm, the default, or ts); the same ops either way. */
export function generatorFromEnv(): "wasm" | "ts" {
  const v = process.env.HPTLAB_GENERATOR;
  if (v === undefined || v === "" || v === "wasm") return "wasm";
  if (v === "ts") return "ts";
  throw new Error(`HPTLAB_GENERATOR=${JSON.stringify(v)}: expected wasm or ts`);
}

/**
 * runWorkloads with the per-op loop in TypeScript: the kernel's twin (assembly/workload/synthetic.ts
 * makes the same draws in the same order and writes the same ops; test/generator.test.ts holds them
 * to it), and what runs parameters the kernel does not take (kernelTakes).
 */
export function runWorkloadsTs(runs: readonly PointRun[]): { machines: Machine[]; tally: WorkloadTally } {
  const run = runs[0]!;
  const w = run.workload;
  // the generator's draws (mulberry32's stream): the hot path calls draws.ensure(k) for its next k
  // draws and reads rb[draws.pos++] inline; rare paths call rand()
  const draws = new Draws(run.seed);
  const rb = draws.buf;
  const rand = (): number => draws.next();
  const made = pointMachines(runs, 2 ** 28 + run.guests * NEIGHBOUR_RAM, GUEST_RAM, 20);
  const m = made.machines[0]!;
  const guest = made.guests[0]!;
  const neighbours = made.neighbours;
  const loads = [new GuestPages(guest, 0x100, w.processes, w.pagesPerProcess), ...neighbours.map((g, i) => new GuestPages(g, 0x1000 + 0x10 * i, 1, NEIGHBOUR_PAGES))];
  const zipf = ZipfSampler.of(loads[0]!.n, w.zipf);
  const nZipf = ZipfSampler.of(NEIGHBOUR_PAGES, w.zipf);
  // hot ranks spread over the processes
  const perm = new Int32Array(loads[0]!.n).map((_, i) => i);
  for (let i = perm.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }

  const sched = new Scheduler(m, [guest, ...neighbours], { seed: (run.seed ^ 0x5bd1e995) >>> 0, migrationRate: run.migrationRate, preemptRate: w.preemptRate, exitRate: w.exitRate });
  const w8 = new OpWriter(m, run.batchOps, made.machines.slice(1));
  const u32 = w8.u32;
  const flush = () => w8.flush();
  const op = (opcode: number, cpu: number, slot: number, flags = 0): number => w8.op(opcode, cpu, slot, flags);
  const tally: WorkloadTally = { guestOps: 0, engineOps: 0, translations: 0, hcalls: 0, faultsMapped: 0, pageOutsTried: 0 };
  const schedule = () => w8.scheduled((ops) => sched.tick(ops));
  schedule();
  let cpusOf = loads.map((l) => sched.cpusOf(l.g));
  const vcpuOf = new Int32Array(m.cpus);
  const refresh = () => {
    cpusOf = loads.map((l) => sched.cpusOf(l.g));
    for (let c = 0; c < m.cpus; c++) vcpuOf[c] = m.cpuState(c).vcpu ?? 0;
  };
  refresh();
  let rr = 0;
  const cpuFor = (li: number): number => {
    const c = cpusOf[li]!;
    return c.length === 0 ? -1 : c[rr++ % c.length]!;
  };
  const vcpuOn = (cpu: number): number => vcpuOf[cpu]!;

  const enter = (l: GuestPages, i: number, cpu: number) => {
    if (!l.enterOp(w8, cpu, i)) return;
    l.owner[i] = -1;
    tally.hcalls++;
    tally.guestOps++;
  };
  const hLocalFlag = (l: GuestPages, i: number, vcpu: number): number => {
    if (run.hLocal === "never" || (w.hLocalShare < 1 && rand() >= w.hLocalShare)) return 0;
    if (run.hLocal === "lying") return H_LOCAL_LO;
    const o = l.owner[i]!;
    return o === -1 || o === vcpu ? H_LOCAL_LO : 0;
  };
  const remove = (l: GuestPages, i: number, cpu: number, vcpu: number) => {
    const o = op(OP.H_REMOVE, cpu, l.g.slot);
    u32[o + 4] = hLocalFlag(l, i, vcpu); u32[o + 5] = 0;
    u32[o + 6] = l.ptex[i]!; u32[o + 7] = 0;
    u32[o + 8] = 0; u32[o + 9] = 0;
    l.freeSlot(i);
    tally.hcalls++;
    tally.guestOps++;
  };
  const bulkRemove = (l: GuestPages, idx: number[], cpu: number) => {
    const o = op(OP.H_BULK_REMOVE, cpu, l.g.slot);
    for (let j = 0; j < 4; j++) {
      const b = o + 4 + j * 4;
      if (j < idx.length) {
        const p = l.ptex[idx[j]!]!;
        u32[b] = p; u32[b + 1] = 0x40000000; // request, absolute
        l.freeSlot(idx[j]!);
      } else {
        u32[b] = 0; u32[b + 1] = 0xc0000000; // END
      }
      u32[b + 2] = 0; u32[b + 3] = 0;
    }
    tally.hcalls++;
    tally.guestOps++;
  };
  const protect = (l: GuestPages, i: number, cpu: number, vcpu: number) => {
    const o = op(OP.H_PROTECT, cpu, l.g.slot);
    u32[o + 4] = hLocalFlag(l, i, vcpu) | 1; u32[o + 5] = 0; // PP = 1: read-only (COW)
    u32[o + 6] = l.ptex[i]!; u32[o + 7] = 0;
    u32[o + 8] = 0; u32[o + 9] = 0;
    tally.hcalls++;
    tally.guestOps++;
  };
  const access = (l: GuestPages, i: number, cpu: number, store: boolean) => {
    if (l.ptex[i]! < 0) {
      // a guest page fault: the guest kernel maps the page (H_ENTER), then the access retries
      enter(l, i, cpu);
      tally.faultsMapped++;
    }
    const p = l.proc[i]!;
    translateOp(w8, cpu, l.g.lpid, l.slbLo[p]!, l.slbHi[p]!, l.ea[i]!, 0, store, w.workCycles);
    const v = vcpuOn(cpu);
    const ow = l.owner[i]!;
    if (ow === -1) l.owner[i] = v;
    else if (ow !== v) l.owner[i] = -2;
    tally.translations++;
    tally.guestOps++;
  };

  // every page starts mapped, by the first running vcpu of its guest
  loads.forEach((l, li) => {
    const cpu = cpuFor(li);
    if (cpu < 0) return;
    for (let i = 0; i < l.n; i++) enter(l, i, cpu);
  });

  const pageEvery = run.pageOutsPerMop > 0 ? 1e6 / run.pageOutsPerMop : Infinity;
  let nextPage = pageEvery;
  let nextTick = w.sliceOps * Math.max(1, cpusOf[0]!.length);
  let prev = 0;
  let nbGfn = 0;
  const ramPages = GUEST_RAM / 2 ** m.config.hostPageShift;
  let nextEpoch = run.onEpoch ? (run.epochOps ?? 1e6) : Infinity;
  while (tally.guestOps < run.ops) {
    if (tally.guestOps >= nextEpoch) {
      flush();
      tally.engineOps = w8.engineOps;
      if (run.onEpoch!(m, tally) === false) break;
      nextEpoch += run.epochOps ?? 1e6;
    }
    if (tally.guestOps >= nextTick) {
      schedule();
      refresh();
      nextTick = tally.guestOps + w.sliceOps * Math.max(1, cpusOf[0]!.length);
    }
    if (tally.guestOps >= nextPage) {
      // host memory pressure: a page of the studied guest goes to a neighbour
      nextPage += pageEvery;
      tally.pageOutsTried++;
      // the host's reclaim is LRU-like (kvm_age_rmapp): of a few sampled host pages, the first whose
      // HPTEs were not referenced since the last look — pages the guest reaches only through stale
      // TLB entries look cold too, as they would to the real host
      nbGfn = hostPressure(w8, guest.slot, w.reclaimSample, () => Math.floor(rand() * ramPages), neighbours, nbGfn);
    }
    // an access draws at most 7 times (guest, neighbour, burst, sequential, Zipf ×2, store), read at
    // a local position (written back before anything else draws)
    draws.ensure(7);
    let pos = draws.pos;
    const li = neighbours.length && rb[pos++]! < w.neighbourShare ? 1 + Math.floor(rb[pos++]! * neighbours.length) : 0;
    const l = loads[li]!;
    const cpu = cpuFor(li);
    if (cpu < 0) {
      draws.pos = pos;
      if (li === 0) {
        // nothing of the studied guest runs (neighbours hold every core): preempt one of them
        const victim = sched.placements().find((p) => p.guest !== guest);
        w8.scheduled((ops) => { if (victim) sched.stop(ops, victim.guest, victim.vcore); });
        schedule();
        refresh();
        nextTick = tally.guestOps + w.sliceOps * Math.max(1, cpusOf[0]!.length);
        if (cpusOf[0]!.length === 0) throw new Error("workload: the scheduler placed no vcore of the guest");
      }
      continue;
    }
    if (li === 0 && rb[pos++]! < w.burstRate) {
      // an HPTE burst over a run of pages of one process
      draws.pos = pos;
      const len = 1 + Math.floor(rand() * w.burstMax);
      const p = Math.floor(rand() * w.processes);
      const start = p * l.perProcess + Math.floor(rand() * Math.max(1, l.perProcess - len));
      const end = Math.min(start + len, (p + 1) * l.perProcess);
      const kind = rand();
      const vcpu = vcpuOn(cpu);
      if (kind < w.munmapShare) {
        if (rand() < w.bulkShare) {
          let group: number[] = [];
          for (let i = start; i < end; i++) {
            if (l.ptex[i]! < 0) continue;
            group.push(i);
            if (group.length === 4) { bulkRemove(l, group, cpu); group = []; }
          }
          if (group.length) bulkRemove(l, group, cpu);
        } else {
          for (let i = start; i < end; i++) if (l.ptex[i]! >= 0) remove(l, i, cpu, vcpu);
        }
      } else if (kind < w.munmapShare + w.mprotectShare) {
        for (let i = start; i < end; i++) if (l.ptex[i]! >= 0) protect(l, i, cpu, vcpu);
      } else {
        for (let i = start; i < end; i++) if (l.ptex[i]! < 0) enter(l, i, cpu);
      }
      continue;
    }
    let i: number;
    if (li === 0) {
      i = rb[pos++]! < w.sequential && prev + 1 < l.n ? prev + 1 : perm[zipf.draw(rb[pos++]!, rb[pos++]!)]!;
      prev = i;
    } else {
      i = nZipf.draw(rb[pos++]!, rb[pos++]!);
    }
    const store = rb[pos++]! < w.storeShare;
    draws.pos = pos;
    access(l, i, cpu, store);
  }
  w8.flush();
  tally.engineOps = w8.engineOps;
  return { machines: made.machines, tally };
}
