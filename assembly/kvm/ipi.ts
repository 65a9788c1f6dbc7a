// Invalidation by IPI and tlbiel (docs/model/policies.md §13–§14): the radix host's scheme of Linux
// 5.12+ (arch/powerpc/mm/book3s64/radix_tlb.c, flush_type_needed() and exit_flush_lazy_tlbs())
// transplanted to the HPT model. Instead of a broadcast tlbie, the flushing cpu IPIs every core in
// the VM's "may hold entries" mask (mm_cpumask-like: set when a vcore of the VM enters the core) and
// each target runs tlbiel there; a target that no longer runs the VM flushes the VM's whole LPID and
// leaves the mask (exit_lazy_flush_tlb: _tlbiel_pid(RIC_FLUSH_ALL), cpumask_clear_cpu). Offline
// cores get no IPI (smp_call_function_many sends to online cpus only).
//
// Costs (docs/model/costs.md §3.8): the sender pays K_IPI_SEND per target, then waits for the last
// target's ack; a target pays K_IPI (exit and handler entry, whatever it was running — the guest's
// work there is interrupted: its clock moves on by the handler's cycles) and its tlbiels. Each cpu
// keeps its own clock: the handler is taken to start when the IPI is sent (sent + handler is the
// ack), never to wait for the target's clock. The handler loads the VM's LPID into LPIDR for its
// tlbiels (assumed, as KVM's entry flush does with the guest's LPID loaded).
import {
  NO_CPU, NO_FRAME, G_LPID, G_IPI_MASK, G_NEED_FLUSH, G_BATCH, G_BATCH_COUNT, BATCH_MAX, K_IPI, K_IPI_SEND, K_TLBIEL, K_TLBIEL_EXTRA,
  K_FLUSH_BASE, K_FLUSH_PER_SET, CC_IPI, CC_TLBIEL, CC_FLUSH, CPU_OFFLINE, STALE_LOCAL, STAT_IPIS, STAT_IPI_INTERRUPTS,
  STAT_IPI_OTHER_GUEST, STAT_IPI_EMPTY, STAT_IPI_EMPTY_CYCLES, STAT_LOCAL_TLBIELS, STAT_LOCAL_TLBIEL_ENTRIES,
  STAT_TLBIEL_SEQUENCES, STAT_LPID_FLUSHES, STAT_FLUSHED_ENTRIES, STAT_GLOBAL_TLBIES, STAT_GLOBAL_TLBIE_ENTRIES,
  STAT_BATCH_FLUSHES, G_POLICY,
} from "../layout";
import { cores, smtShift, tlbGroupShift, tlbFlushSets, maskWords, bump, frameFree, guestDesc } from "../machine";
import { tlbielVa, tlbieVa, flushLpidOnCore, markStale, markStaleLpid, tlbHeld } from "../tlb";
import { policyCall, EV_IPI_RULES } from "../policies/table";
import { IPI_RULE_DEFER_TO_ENTRY } from "../policies/events";
import { cpuRec, coreRec, clockOf } from "./records";
import { cost, charge } from "./costs";
import { globalSequence } from "./fabric";
import { provenance } from "./detector";

/**
 * Above this many pages one request uses tlbie instead: "a TLBIE tends to be faster than an
 * IPI+TLBIEL" (radix_tlb.c flush_type_needed(), commit "powerpc/64s/radix: refactor TLB flush type
 * selection", commit 26418b36a11f, Linux 5.12); the ceiling is tlb_single_page_flush_ceiling (33, radix_tlb.c).
 */
// @ts-ignore: decorator
@inline export const IPI_PAGE_CEILING: u32 = 33;

// ── the VM's "may hold entries" core mask ──

// @ts-ignore: decorator
@inline function maskWord(g: usize, core: u32): usize {
  return <usize>load<u32>(g, G_IPI_MASK) + (<usize>(core >> 6) << 3);
}
/** A vcore of g entered `core` (switch_mm's cpumask_set_cpu). */
export function ipiMaskSet(g: usize, core: u32): void {
  const w = maskWord(g, core);
  store<u64>(w, load<u64>(w) | (<u64>1 << (core & 63)));
}
export function ipiMaskClear(g: usize, core: u32): void {
  const w = maskWord(g, core);
  store<u64>(w, load<u64>(w) & ~(<u64>1 << (core & 63)));
}
export function ipiMaskTest(g: usize, core: u32): bool {
  return (load<u64>(maskWord(g, core)) & (<u64>1 << (core & 63))) != 0;
}
export function ipiMaskZero(g: usize): void {
  memory.fill(<usize>load<u32>(g, G_IPI_MASK), 0, <usize>maskWords << 3);
}

// @ts-ignore: decorator
@inline export function coreOffline(core: u32): bool {
  return load<u32>(cpuRec(core << smtShift), CPU_OFFLINE) != 0;
}

/** Entries of `lpid` held by the TLBs of `core` (its thread groups'). */
function coreHeld(core: u32, lpid: u32): u32 {
  const first = (core << smtShift) >> tlbGroupShift;
  const last = (((core + 1) << smtShift) - 1) >> tlbGroupShift;
  let n: u32 = 0;
  for (let t = first; t <= last; ++t) n += tlbHeld(lpid, t);
  return n;
}

/** The LPID flush on every TLB of `core`, charged to `cpu` (one per thread group). */
export function flushLpidCore(cpu: u32, gs: usize, core: u32, lpid: u32): void {
  const first = (core << smtShift) >> tlbGroupShift;
  const last = (((core + 1) << smtShift) - 1) >> tlbGroupShift;
  for (let t = first; t <= last; ++t) {
    const n = flushLpidOnCore(t, lpid);
    charge(cpu, gs, CC_FLUSH, cost(K_FLUSH_BASE) + cost(K_FLUSH_PER_SET) * <u64>tlbFlushSets);
    bump(STAT_LPID_FLUSHES, gs);
    bump(STAT_FLUSHED_ENTRIES, gs, <u64>n);
  }
}

// ── the VAs of the current request ──

// static data (no allocation): 8 × (key u64, set u32) — H_BULK_REMOVE has 4 entries at most
const pendBuf: usize = memory.data(8 * 16, 16);
let pendCount: u32 = 0;
// @ts-ignore: decorator
@inline function pendSet(k: u32): u32 {
  return load<u32>(pendBuf + (<usize>k << 4), 8);
}
// @ts-ignore: decorator
@inline function pendKey(k: u32): u64 {
  return load<u64>(pendBuf + (<usize>k << 4));
}

/** Queue one VA of the current hcall for its shootdown (finishIpi issues them). */
export function ipiPend(cpu: u32, g: usize, gs: usize, set: u32, key: u64): void {
  if (pendCount == 8) finishIpi(cpu, g, gs); // H_BULK_REMOVE has 4 entries at most: never, but be safe
  store<u64>(pendBuf + (<usize>pendCount << 4), key);
  store<u32>(pendBuf + (<usize>pendCount << 4), set, 8);
  ++pendCount;
}

/** Issue the queued VAs: a shootdown, or tlbies above the ceiling. Returns the tlbies for the hcall's global sequence. */
export function finishIpi(cpu: u32, g: usize, gs: usize): u32 {
  const n = pendCount;
  if (n == 0) return 0;
  pendCount = 0;
  if (n > IPI_PAGE_CEILING) {
    const lpid = load<u32>(g, G_LPID);
    for (let i: u32 = 0; i < n; ++i) {
      const k = tlbieVa(pendSet(i), pendKey(i), lpid);
      bump(STAT_GLOBAL_TLBIES, gs);
      bump(STAT_GLOBAL_TLBIE_ENTRIES, gs, <u64>k);
    }
    return n;
  }
  shootdown(cpu, g, gs, n);
  return 0;
}

/** A whole-LPID shootdown now (batched-reclaim's batch flush). */
export function ipiFlushAll(cpu: u32, g: usize, gs: usize): void {
  pendCount = 0;
  shootdown(cpu, g, gs, 0);
}

/**
 * IPI every online core in g's mask (the sender's own core without an IPI). A target running g
 * tlbiels the n queued VAs (n = 0: flushes the LPID); one not running g flushes the LPID and leaves
 * the mask — or, under IPI_RULE_DEFER_TO_ENTRY, gets no IPI: the sender sets need_tlb_flush for its
 * core and it leaves the mask.
 * The sender waits for every target. Copies the shootdown missed are marked stale (detector).
 */
function shootdown(cpu: u32, g: usize, gs: usize, n: u32): void {
  const lpid = load<u32>(g, G_LPID);
  const rules = policyCall(load<u32>(g, G_POLICY), EV_IPI_RULES, g, cpu, 0, 0);
  const myCore = cpu >> smtShift;
  const m = <usize>load<u32>(g, G_IPI_MASK);
  let done = clockOf(cpu);
  for (let i: u32 = 0; i < maskWords; ++i) {
    let bits = load<u64>(m + (<usize>i << 3));
    while (bits != 0) {
      const core = (i << 6) + <u32>ctz(bits);
      bits &= bits - 1;
      if (core >= cores || coreOffline(core)) continue;
      const slot = load<u32>(coreRec(core));
      const running = slot != 0 && guestDesc(slot - 1) == g;
      if (!running && (rules & IPI_RULE_DEFER_TO_ENTRY) != 0) {
        // no IPI: the sender leaves a flush request for the VM's next entry there (the way x86's
        // paravirt flush sets KVM_VCPU_FLUSH_TLB for a preempted vcpu) and the core leaves the mask
        const w = <usize>load<u32>(g, G_NEED_FLUSH) + (<usize>(core >> 6) << 3);
        store<u64>(w, load<u64>(w) | (<u64>1 << (core & 63)));
        ipiMaskClear(g, core);
        continue;
      }
      const empty = coreHeld(core, lpid) == 0;
      let tc = cpu;
      let before = clockOf(cpu);
      let sent = before;
      if (core != myCore) {
        charge(cpu, gs, CC_IPI, cost(K_IPI_SEND));
        bump(STAT_IPIS, gs);
        sent = clockOf(cpu);
        tc = core << smtShift;
        before = clockOf(tc);
        charge(tc, gs, CC_IPI, cost(K_IPI));
        if (slot != 0) {
          bump(STAT_IPI_INTERRUPTS, gs);
          if (!running) bump(STAT_IPI_OTHER_GUEST, gs);
        }
      }
      if (running && n != 0) {
        for (let k: u32 = 0; k < n; ++k) tlbielGroups(core, gs, pendSet(k), pendKey(k), lpid);
        charge(tc, gs, CC_TLBIEL, cost(K_TLBIEL) + cost(K_TLBIEL_EXTRA) * <u64>(n - 1));
        bump(STAT_TLBIEL_SEQUENCES, gs);
      } else {
        flushLpidCore(tc, gs, core, lpid);
        if (!running) ipiMaskClear(g, core);
      }
      // the handler's cycles delay whatever the target was running; the sender waits for its ack
      const handler = clockOf(tc) - before;
      if (empty) {
        bump(STAT_IPI_EMPTY, gs);
        bump(STAT_IPI_EMPTY_CYCLES, gs, handler + (core != myCore ? cost(K_IPI_SEND) : 0));
      }
      const ack = core != myCore ? sent + handler : clockOf(cpu);
      if (ack > done) done = ack;
    }
  }
  const now = clockOf(cpu);
  if (done > now) charge(cpu, gs, CC_IPI, done - now); // waiting for the last ack
  // the detector: copies no target removed (offline cores, deferred flushes, cores outside the mask)
  const why = provenance(STALE_LOCAL, cpu);
  if (n == 0) markStaleLpid(lpid, why);
  else for (let k: u32 = 0; k < n; ++k) markStale(pendSet(k), pendKey(k), lpid, NO_CPU, why);
}

/** tlbiel of one VA on every TLB of `core` (each thread group's). */
function tlbielGroups(core: u32, gs: usize, set: u32, key: u64, lpid: u32): void {
  const first = (core << smtShift) >> tlbGroupShift;
  const last = (((core + 1) << smtShift) - 1) >> tlbGroupShift;
  for (let t = first; t <= last; ++t) {
    const e = tlbielVa(t, set, key, lpid);
    bump(STAT_LOCAL_TLBIELS, gs);
    bump(STAT_LOCAL_TLBIEL_ENTRIES, gs, <u64>e);
  }
}

/** A core goes offline: g's mask loses it after the LPID is flushed there (commit 01b0f0eae081, Linux 5.10). */
export function ipiOfflineTrim(g: usize, core: u32, gs: usize): void {
  if (!ipiMaskTest(g, core)) return;
  flushLpidCore(core << smtShift, gs, core, load<u32>(g, G_LPID));
  ipiMaskClear(g, core);
}

// ── batched-reclaim: frames held until their batch's flush ──

/** Hold a paged-out frame (or, `early`, free it at once) and flush the batch when it is full. */
export function batchHold(cpu: u32, g: usize, gs: usize, frame: u32, early: bool): void {
  const count = load<u32>(g, G_BATCH_COUNT);
  if (early) frameFree(frame); // the bug: the frame can be reused before the batch's flush
  store<u32>(<usize>load<u32>(g, G_BATCH) + (<usize>count << 2), early ? NO_FRAME : frame);
  store<u32>(g, count + 1, G_BATCH_COUNT);
  if (count + 1 >= BATCH_MAX) batchFlush(cpu, g, gs, early);
}

/** The batch's flush: IPIs and a whole-LPID tlbiel on every core in the mask, then its frames go free. */
export function batchFlush(cpu: u32, g: usize, gs: usize, early: bool): void {
  const count = load<u32>(g, G_BATCH_COUNT);
  if (count == 0) return;
  ipiFlushAll(cpu, g, gs);
  bump(STAT_BATCH_FLUSHES, gs);
  freeHeld(g, count);
}

/** Guest teardown: held frames are freed with the guest's (its LPID's entries are marked stale there). */
export function batchDrop(g: usize): void {
  freeHeld(g, load<u32>(g, G_BATCH_COUNT));
}

function freeHeld(g: usize, count: u32): void {
  const b = <usize>load<u32>(g, G_BATCH);
  for (let i: u32 = 0; i < count; ++i) {
    const f = load<u32>(b + (<usize>i << 2));
    if (f != NO_FRAME) frameFree(f);
  }
  store<u32>(g, 0, G_BATCH_COUNT);
}
