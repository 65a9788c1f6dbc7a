/**
 * The trace-driven workload of a study point (docs/study.md, "Real guests"): one guest of the
 * machine replays a real kernel's hypercall stream (an HcallProgram) while the study's scheduler
 * places and migrates its vcores, and the memory accesses it makes are derived from the trace:
 *
 * - every entry H_ENTER installs is touched at once by the vcpu that entered it (the access that
 *   faulted it in, retried), and with `sharedShare` also by one other vcpu, at that vcpu's next call;
 * - after each call the issuing vcpu revisits `revisitsPerCall` translations it touched recently
 *   (Zipf over recency, exponent `locality`, window `revisitWindow`); one that lands on a translation
 *   removed since is still made with probability `afterUnmap` (it faults, or hits what a TLB kept).
 *
 * Each hypercall runs on its vcpu's current physical cpu under the policy being measured. Trace
 * `cpu` k is vcpu k, in vcore k / threadsPerVcore; a vcpu whose vcore is not running when it makes
 * a call gets a core (a free one, else a neighbour's, else the guest's other vcore's): the trace's
 * order is the guest's real order, so the schedule follows it.
 *
 * H_LOCAL (Linux never passes it): "never" replays the trace as recorded; "honest" marks an
 * H_REMOVE / H_PROTECT — and each request of an H_BULK_REMOVE — local exactly when no vcpu other
 * than the issuing one touched the translation since it was entered; "lying" also marks `lieShare`
 * of the others. H_BULK_REMOVE has no flags word (docs/model/hcalls.md §1.3), so a request marked local leaves the
 * bulk call and is issued as H_REMOVE with H_LOCAL (its AVPN / ANDCOND condition kept); the rest stay
 * one H_BULK_REMOVE.
 *
 * Every choice comes from the point's seed and the trace, never from the engine's results: each
 * policy and each H_LOCAL mode at one configuration sees the same accesses and the same schedule.
 * The clock of scheduling and paging is the guest's own operations (trace calls + accesses), which
 * the H_LOCAL rewrite does not change.
 */
import type { Machine } from "../engine/machine.js";
import type { Guest } from "../engine/guest.js";
import { OP } from "../engine/layout.js";
import { Scheduler, mulberry32, Draws } from "./scheduler.js";
import { HC, CALL_WORDS, TOUCH_WORDS, type HcallProgram } from "../trace/hcall-program.js";
import { OpWriter } from "./op-writer.js";
import { GuestPages, ZipfSampler, NEIGHBOUR_PAGES, traceHostMemoryBytes, translateOp, hostPressure, pointMachines, generatorFromEnv, type PointRun, type WorkloadTally } from "./synthetic.js";
import { runTraceWorkloadsWasm, traceKernelTakes } from "./trace-wasm.js";

export interface TraceWorkloadParams {
  /** Accesses by the issuing vcpu to translations it touched recently, after each call. */
  revisitsPerCall: number;
  /** Translations each vcpu remembers for revisits (most recent first). */
  revisitWindow: number;
  /** Zipf exponent over recency rank of the revisits (0 = uniform over the window). */
  locality: number;
  /** Share of installed translations that one other vcpu also touches. */
  sharedShare: number;
  /** Lying H_LOCAL: share of the invalidations of shared translations marked H_LOCAL anyway. */
  lieShare: number;
  /**
   * Of revisits that land on a translation removed since the vcpu touched it, the share that still
   * make the access (other threads of an SMP guest still using a translation being torn down, or a
   * lying guest reading through what its TLB kept): through a stale TLB entry if one survived, else
   * a fault.
   */
  afterUnmap: number;
}

export const DEFAULT_TRACE_WORKLOAD: TraceWorkloadParams = {
  revisitsPerCall: 4, revisitWindow: 256, locality: 1, sharedShare: 0.1, lieShare: 0.5, afterUnmap: 0.1,
};

/** The generator's own counts for a trace point (beside the engine's counters). */
export interface TraceTally extends WorkloadTally {
  /** Trace calls replayed, and the accesses derived from them. */
  traceCalls: number;
  touches: number;
  /** Invalidating requests: H_REMOVE and H_PROTECT that found their entry, H_BULK_REMOVE requests that removed one. */
  invalidations: number;
  /** Of those, the ones no vcpu but the issuing one touched since the entry was made (what an honest guest marks). */
  localEligible: number;
  /** Requests that carried H_LOCAL (0 for "never", localEligible for "honest", more for "lying"). */
  markedLocal: number;
  /** H_BULK_REMOVE requests issued as H_REMOVE + H_LOCAL instead (H_BULK_REMOVE has no flags word). */
  splitRemoves: number;
  /** Revisits made to a translation removed since (afterUnmap). */
  afterUnmapTouches: number;
  /** Times a vcpu's call found its vcore not running and the workload gave it a core. */
  forcedPlacements: number;
}

const H_LOCAL_LO = 0x10000000;
const H_AVPN_LO = 0x80000000;
const H_ANDCOND_LO = 0x40000000;

/**
 * The HPT slots a program names, numbered densely: a real guest touches a few thousand of its
 * 2^(order−4) slots (19,856 of 524,288 in data/traces/), so the generator's per-slot arrays stay in
 * the caches. `call[i]`: the dense number of call i's slot (−1: none); `bulk[4i + j]`: request j of
 * an H_BULK_REMOVE (−1: not a request). A ptex beyond the HPT (a guest's bad argument) gets `invalid`,
 * one number shared by all such, which no entry ever occupies. Computed once per program and thread
 * (keyed by the program's digest: a worker receives a new copy of the program object with each point).
 */
export interface SlotIds { call: Int32Array; bulk: Int32Array; count: number; invalid: number }
const slotIdsOf = new Map<string, SlotIds>();

export function slotIds(p: Pick<HcallProgram, "file" | "digest" | "calls" | "hptOrder" | "slot" | "bulkSlot">): SlotIds {
  const key = `${p.file} ${p.digest} ${p.calls} ${p.hptOrder}`;
  const known = slotIdsOf.get(key);
  if (known) return known;
  const npte = 2 ** (p.hptOrder - 4);
  const id = new Map<number, number>();
  const number = (s: number) => {
    if (s < 0) return -1;
    if (s >= npte) return -2;
    let k = id.get(s);
    if (k === undefined) id.set(s, (k = id.size));
    return k;
  };
  const call = new Int32Array(p.calls);
  const bulk = new Int32Array(p.calls * 4);
  for (let i = 0; i < p.calls; i++) {
    call[i] = number(p.slot[i]!);
    for (let j = 0; j < 4; j++) bulk[i * 4 + j] = number(p.bulkSlot[i * 4 + j]!);
  }
  const invalid = id.size;
  for (const a of [call, bulk]) for (let k = 0; k < a.length; k++) if (a[k] === -2) a[k] = invalid;
  const ids: SlotIds = { call, bulk, count: invalid + 1, invalid };
  if (slotIdsOf.size >= 8) slotIdsOf.clear();
  slotIdsOf.set(key, ids);
  return ids;
}

export function runTraceWorkload(run: PointRun, p: HcallProgram): { machine: Machine; guest: Guest; tally: TraceTally } {
  const r = runTraceWorkloads([run], p);
  return { machine: r.machines[0]!, guest: r.guests[0]!, tally: r.tally };
}

/**
 * Trace points of one generator (generatorKey: they differ only in what the engine sees): one
 * machine per point, each given every op (OpWriter mirrors). The same machines, counters and tally
 * as running each point alone; the generator's work is done once.
 */
export function runTraceWorkloads(runs: readonly PointRun[], p: HcallProgram): { machines: Machine[]; guests: Guest[]; tally: TraceTally } {
  const twin = (runs[0]!.generator ?? generatorFromEnv()) === "ts";
  return twin || !traceKernelTakes(runs[0]!) ? runTraceWorkloadsTs(runs, p) : runTraceWorkloadsWasm(runs, p);
}

/**
 * runTraceWorkloads with the per-call loop in TypeScript: the kernel's twin (assembly/workload/trace.ts
 * makes the same draws in the same order and writes the same ops; test/generator.test.ts holds them
 * to it), and what runs parameters the kernel does not take (traceKernelTakes).
 */
/**
 * What both trace generators (this twin and runTraceWorkloadsWasm) set up the same way: the calls
 * replayed, the machines (one per run) with the studied guest and its neighbours, the neighbours'
 * pages and Zipf sampler, the revisit window's sampler.
 */
export function traceSetup(runs: readonly PointRun[], p: HcallProgram) {
  const run = runs[0]!;
  const w = run.workload;
  const tw = run.traceWorkload ?? DEFAULT_TRACE_WORKLOAD;
  const calls = Math.min(p.calls, run.trace?.maxCalls ?? Infinity);
  if (run.vcpus < p.vcpus) throw new RangeError(`${p.file}: the trace has ${p.vcpus} vcpus, the guest ${run.vcpus}`);
  const { machines, guests, neighbours } = pointMachines(runs, traceHostMemoryBytes(p.ramBytes, run.guests), p.ramBytes, p.hptOrder);
  return {
    run, w, tw, calls, tpv: run.threadsPerVcore, machines, guests, neighbours, m: machines[0]!, guest: guests[0]!,
    nPages: neighbours.map((g, i) => new GuestPages(g, 0x1000 + 0x10 * i, 1, NEIGHBOUR_PAGES)),
    nZipf: ZipfSampler.of(NEIGHBOUR_PAGES, w.zipf),
    recency: ZipfSampler.of(tw.revisitWindow, tw.locality),
  };
}

export function runTraceWorkloadsTs(runs: readonly PointRun[], p: HcallProgram): { machines: Machine[]; guests: Guest[]; tally: TraceTally } {
  const { run, w, tw, calls, tpv, machines, guests, neighbours, m, guest, nPages, nZipf, recency } = traceSetup(runs, p);
  const draws = new Draws(run.seed);
  const rb = draws.buf; // hot paths: draws.ensure(k), then k reads of rb[draws.pos++]
  const lies = mulberry32((run.seed ^ 0x2545f491) >>> 0);

  const sched = new Scheduler(m, [guest, ...neighbours], { seed: (run.seed ^ 0x5bd1e995) >>> 0, migrationRate: run.migrationRate, preemptRate: w.preemptRate, exitRate: w.exitRate });
  const ow = new OpWriter(m, run.batchOps, machines.slice(1));
  const u32 = ow.u32;
  const T = m.config.smt;
  const tally: TraceTally = {
    guestOps: 0, engineOps: 0, translations: 0, hcalls: 0, faultsMapped: 0, pageOutsTried: 0,
    traceCalls: 0, touches: 0, invalidations: 0, localEligible: 0, markedLocal: 0, splitRemoves: 0, afterUnmapTouches: 0, forcedPlacements: 0,
  };

  // the guest's HPT slots as the generator sees them (by dense number, slotIds): generation (bumped
  // when the entry goes), the vcpu that alone touched it since it was entered (−1 nobody, −2 several;
  // −3 for the number of out-of-range ptexes: never eligible for H_LOCAL)
  const ids = slotIds(p);
  const slotOf = ids.call;
  const gen = new Uint32Array(ids.count);
  const owner = new Int32Array(ids.count).fill(-1);
  owner[ids.invalid] = -3;
  // host frames the guest has used (mapped at least once), in order of first use: what host reclaim
  // samples — the guest's resident memory; frames whose entries went look cold to kvm_age_rmapp
  const hostShift = m.config.hostPageShift;
  const ramPages = p.ramBytes / 2 ** hostShift;
  const usedAt = new Uint8Array(ramPages);
  const used = new Int32Array(ramPages);
  let usedN = 0;
  // per vcpu: a ring of recently touched (slot, generation), and first touches owed by other vcpus
  const W = tw.revisitWindow;
  const ringCall = Array.from({ length: run.vcpus }, () => new Int32Array(W));
  const ringGen = Array.from({ length: run.vcpus }, () => new Uint32Array(W));
  const ringPos = new Int32Array(run.vcpus);
  const ringCount = new Int32Array(run.vcpus);
  const owed: number[][] = Array.from({ length: run.vcpus }, () => []);

  // the scheduler writes its entries and exits into the op buffer, in order with the guest's ops
  // (nothing here reads the engine's placement back: the scheduler keeps its own)
  const schedule = () => sched.tick(ow);
  schedule();
  let guestCpus = sched.cpusOf(guest).length;
  let cpusOf = nPages.map((l) => sched.cpusOf(l.g));
  const refresh = () => {
    guestCpus = sched.cpusOf(guest).length;
    cpusOf = nPages.map((l) => sched.cpusOf(l.g));
  };
  let rr = 0;

  /** The cpu vcpu v runs on, placing its vcore first if it is not running. */
  const cpuOf = (v: number): number => {
    const vc = (v / tpv) | 0;
    return (sched.coreOf(guest, vc) ?? place(vc)) * T + (v % tpv);
  };
  /** Give vcore vc a core (a free one, else a neighbour's or another vcore's): the core. */
  const place = (vc: number): number => {
    tally.forcedPlacements++;
    const to = sched.forcePlace(ow, guest, vc, () => draws.next());
    refresh();
    return to;
  };

  /** vcpu v (on cpu) accesses the page H_ENTER call e mapped; s is its slot while it is live, else −1. */
  const touch = (v: number, cpu: number, e: number, s: number) => {
    const t = e * TOUCH_WORDS;
    draws.ensure(1);
    translateOp(ow, cpu, guest.lpid, p.touch[t]!, p.touch[t + 1]!, p.touch[t + 2]!, p.touch[t + 3]!, rb[draws.pos++]! < w.storeShare, w.workCycles);
    if (s >= 0) {
      const x = owner[s]!;
      if (x === -1) owner[s] = v;
      else if (x !== v) owner[s] = -2;
    }
    tally.touches++;
    tally.translations++;
    tally.guestOps++;
  };
  const remember = (v: number, e: number, s: number) => {
    const k = ringPos[v]!;
    ringCall[v]![k] = e;
    ringGen[v]![k] = gen[s]!;
    ringPos[v] = k + 1 === W ? 0 : k + 1;
    if (ringCount[v]! < W) ringCount[v]!++;
  };
  /** Whether request on slot s by vcpu v carries H_LOCAL; counts it. `found`: it invalidates an entry. */
  const markLocal = (v: number, s: number, found: boolean): boolean => {
    const x = owner[s]!;
    const eligible = x === -1 || x === v;
    if (found) {
      tally.invalidations++;
      if (eligible) tally.localEligible++;
    }
    let mark = false;
    if (run.hLocal === "honest") mark = eligible;
    else if (run.hLocal === "lying") mark = eligible || (found && lies() < tw.lieShare);
    if (mark && found) tally.markedLocal++;
    return mark;
  };
  const hcallOp = (opcode: number, cpu: number, i: number, flagsLo: number, nargs: number) => {
    const o = ow.op(opcode, cpu, guest.slot);
    const c = i * CALL_WORDS;
    u32[o + 4] = flagsLo; u32[o + 5] = p.words[c + 1]!;
    for (let k = 2; k < 2 + 2 * nargs; k++) u32[o + 4 + k] = p.words[c + k]!;
    tally.hcalls++;
  };
  const gone = (s: number) => {
    gen[s] = gen[s]! + 1;
    owner[s] = -1;
  };

  const pageEvery = run.pageOutsPerMop > 0 ? 1e6 / run.pageOutsPerMop : Infinity;
  let nextPage = pageEvery;
  let nextTick = w.sliceOps * Math.max(1, guestCpus);
  let nbGfn = 0;
  const bulkLocal: number[] = [];
  const bulkRest: number[] = [];

  // the neighbours' pages start mapped
  nPages.forEach((l, li) => {
    const c = cpusOf[li]!;
    if (c.length === 0) return;
    for (let i = 0; i < l.n; i++) l.enterOp(ow, c[0]!, i);
  });

  for (let i = 0; i < calls; i++) {
    const clock = tally.traceCalls + tally.touches;
    if (clock >= nextTick) {
      schedule();
      refresh();
      nextTick = clock + w.sliceOps * Math.max(1, guestCpus);
    }
    if (clock >= nextPage) {
      // host memory pressure: reclaim samples frames the guest has mapped (a frame with no HPTE
      // changes nothing the model measures), and a neighbour's frame cycles out and back in
      nextPage += pageEvery;
      tally.pageOutsTried++;
      nbGfn = hostPressure(ow, guest.slot, w.reclaimSample, () => (usedN > 0 ? used[Math.floor(draws.next() * usedN)]! : Math.floor(draws.next() * ramPages)), neighbours, nbGfn);
    }
    // a neighbour's access now and then (they share the machine, the TLBs and the fabric)
    draws.ensure(4);
    if (neighbours.length && rb[draws.pos++]! < w.neighbourShare) {
      const li = Math.floor(rb[draws.pos++]! * neighbours.length);
      const c = cpusOf[li]!;
      if (c.length) {
        const l = nPages[li]!;
        const k = nZipf.draw(rb[draws.pos++]!, rb[draws.pos++]!);
        if (l.ptex[k]! >= 0) {
          translateOp(ow, c[rr++ % c.length]!, l.g.lpid, l.slbLo[0]!, l.slbHi[0]!, l.ea[k]!, 0, false, w.workCycles);
          tally.translations++;
          tally.guestOps++;
        }
      }
    }

    const v = p.vcpu[i]!;
    const cpu = cpuOf(v);
    // first touches owed by this vcpu (entries another vcpu made that it shares)
    const due = owed[v]!;
    if (due.length !== 0) {
      for (let k = 0; k < due.length; k += 2) {
        const e = due[k]!;
        const s = slotOf[e]!;
        if (gen[s] === due[k + 1]) { touch(v, cpu, e, s); remember(v, e, s); }
      }
      due.length = 0;
    }

    const kind = p.kind[i]!;
    const c = i * CALL_WORDS;
    const flagsLo = p.words[c]!;
    tally.traceCalls++;
    tally.guestOps++;
    switch (kind) {
      case HC.ENTER: {
        hcallOp(OP.H_ENTER, cpu, i, flagsLo, 3);
        const s = slotOf[i]!;
        if (s >= 0) {
          gone(s); // a new entry in the slot: a new generation
          const f = p.touch[i * TOUCH_WORDS + 4]! >>> (hostShift - 12);
          if (f < ramPages && usedAt[f] === 0) { usedAt[f] = 1; used[usedN++] = f; }
          touch(v, cpu, i, s);
          remember(v, i, s);
          draws.ensure(2);
          if (run.vcpus > 1 && rb[draws.pos++]! < tw.sharedShare) {
            let u = Math.floor(rb[draws.pos++]! * (run.vcpus - 1));
            if (u >= v) u++;
            owed[u]!.push(i, gen[s]!);
          }
        }
        break;
      }
      case HC.REMOVE:
      case HC.PROTECT: {
        const s = slotOf[i]!;
        const found = p.hit[i] === 1;
        const local = s !== ids.invalid && markLocal(v, s, found);
        hcallOp(kind === HC.REMOVE ? OP.H_REMOVE : OP.H_PROTECT, cpu, i, local ? (flagsLo | H_LOCAL_LO) >>> 0 : flagsLo, 2);
        if (kind === HC.REMOVE && found) gone(s);
        break;
      }
      case HC.READ:
        hcallOp(OP.H_READ, cpu, i, flagsLo, 1);
        break;
      default: {
        // H_BULK_REMOVE: requests marked local leave the call as H_REMOVE + H_LOCAL
        bulkLocal.length = 0;
        bulkRest.length = 0;
        const hits = p.hit[i]!;
        const ok = p.ret[i] === 0;
        for (let j = 0; j < 4; j++) {
          const s = ids.bulk[i * 4 + j]!;
          if (s < 0) continue;
          const found = (hits & (1 << j)) !== 0;
          if (ok && markLocal(v, s, found)) bulkLocal.push(j);
          else bulkRest.push(j);
        }
        if (bulkLocal.length === 0) {
          const o = ow.op(OP.H_BULK_REMOVE, cpu, guest.slot);
          for (let k = 0; k < 16; k++) u32[o + 4 + k] = p.words[c + 2 + k]!;
          tally.hcalls++;
        } else {
          for (const j of bulkLocal) {
            const tshHi = p.words[c + 3 + 4 * j]!;
            const cond = (tshHi >>> 24) & 3; // 01 ANDCOND, 10 AVPN
            const o = ow.op(OP.H_REMOVE, cpu, guest.slot);
            u32[o + 4] = (H_LOCAL_LO | (cond === 2 ? H_AVPN_LO : cond === 1 ? H_ANDCOND_LO : 0)) >>> 0; u32[o + 5] = 0;
            u32[o + 6] = p.words[c + 2 + 4 * j]!; u32[o + 7] = tshHi & 0x00ffffff;
            u32[o + 8] = p.words[c + 4 + 4 * j]!; u32[o + 9] = p.words[c + 5 + 4 * j]!;
            tally.hcalls++;
            tally.splitRemoves++;
          }
          if (bulkRest.length) {
            const o = ow.op(OP.H_BULK_REMOVE, cpu, guest.slot);
            for (let k = 0; k < 4; k++) {
              const b = o + 4 + 4 * k;
              if (k < bulkRest.length) {
                for (let x = 0; x < 4; x++) u32[b + x] = p.words[c + 2 + 4 * bulkRest[k]! + x]!;
              } else { u32[b] = 0; u32[b + 1] = 0xc0000000; u32[b + 2] = 0; u32[b + 3] = 0; } // END
            }
            tally.hcalls++;
          }
        }
        for (let j = 0; j < 4; j++) if ((hits & (1 << j)) !== 0) gone(ids.bulk[i * 4 + j]!);
      }
    }
    // the vcpu goes on with its work: revisits of what it touched lately
    const n = ringCount[v]!;
    if (n > 0) {
      const rc = ringCall[v]!, rg = ringGen[v]!;
      for (let k = 0; k < tw.revisitsPerCall; k++) {
        draws.ensure(3);
        const rank = recency.draw(rb[draws.pos++]!, rb[draws.pos++]!);
        if (rank >= n) continue;
        let at = ringPos[v]! - 1 - rank; // rank < n ≤ W: one wrap at most
        if (at < 0) at += W;
        const e = rc[at]!;
        const s = slotOf[e]!;
        if (gen[s] === rg[at]) touch(v, cpu, e, s);
        else if (rb[draws.pos++]! < tw.afterUnmap) { touch(v, cpu, e, -1); tally.afterUnmapTouches++; }
      }
    }
  }
  ow.flush();
  tally.engineOps = ow.engineOps;
  return { machines, guests, tally };
}
