// The KVM (Book3S HV) model around the engine core: per-cpu clocks and the cost model, vcores
// entering and leaving physical cores, need_tlb_flush / last_vcpu bookkeeping, local and global
// invalidation of an HPTE's translation, Graf's deferred-VA list, host paging through the rmap
// (kvm_unmap_rmapp), the HV page-fault path that re-validates ABSENT entries, HPT reset, and the
// stale-translation detector. Every decision that differs between policies is asked of the
// guest's policy (assembly/policies/); docs/kvm-model.md is the prose version of this file.
import {
  CPU_BYTES, CPU_CLOCK, CPU_CYCLES, CPU_RUN_SLOT, CPU_RUN_VCPU, CPU_VC_SLOT, CPU_VC_IDX, CORE_BYTES,
  VCPU_BYTES, VCORE_BYTES, DEFER_BYTES, VIOL_BYTES, NO_CPU, NO_FRAME,
  K_TLB_HIT, K_PTEG_WALK, K_HCALL, K_TLBIEL, K_TLBIEL_EXTRA, K_TLBIE_BASE, K_TLBIE_PER_CHIP, K_TLBIE_EXTRA,
  K_FLUSH_BASE, K_FLUSH_PER_SET, K_ENTRY_EXIT, K_IPI, K_PAGE_OUT_HPTE, K_HV_FAULT, K_CORES_PER_CHIP,
  CC_TRANSLATE, CC_WALK, CC_HCALL, CC_TLBIEL, CC_TLBIE, CC_TLBIE_WAIT, CC_FLUSH, CC_ENTRY_EXIT, CC_IPI,
  CC_PAGE_OUT, CC_HV_FAULT,
  G_LPID, G_FLAGS, G_INSTANCE, G_VCPUS, G_VCORES, G_TPV, G_VCPU_TAB, G_VCORE_TAB, G_NEED_FLUSH, G_LAST_VCPU,
  G_LAST_VCPU_SLOTS, G_DEFER, G_DEFER_CAP, G_DEFER_COUNT, G_DEFER_OVERFLOW, G_RUNNING_VCORES, G_POLICY,
  G_HPT, G_HPT_ORDER, G_REVMAP, G_RMAP, G_FRAMES, G_RAM_HOST_PAGES, G_RAM_BYTES, G_HTAB_MASK, GF_QEMU, GF_LIVE,
  HDR_FABRIC_FREE, FABRIC_SLOTS, FABRIC_SLOT_SHIFT, STAT_CYCLES, STAT_VIOLATIONS, STAT_STALE_HARMLESS, STAT_STALE_HITS,
  STAT_GUEST_ENTRIES, STAT_ENTRY_FLUSHES, STAT_FULL_FLUSHES, STAT_LPID_FLUSHES, STAT_FLUSHED_ENTRIES,
  STAT_TLBIE_SEQUENCES, STAT_TLBIEL_SEQUENCES, STAT_TLBIE_WAITS, STAT_IPIS, STAT_PAGE_OUTS, STAT_PAGE_OUT_HPTES,
  STAT_PAGE_INS, STAT_HV_FAULTS, STAT_DEFERRED_RECORDS, STAT_DEFERRED_OVERFLOWS, STAT_DEFERRED_TLBIES,
  STAT_HPT_RESETS, STAT_LOCAL_INVALIDATIONS, STAT_GLOBAL_INVALIDATIONS, STAT_NEED_FLUSH_SETS,
  STAT_GLOBAL_TLBIES, STAT_GLOBAL_TLBIE_ENTRIES, STAT_LOCAL_TLBIELS, STAT_LOCAL_TLBIEL_ENTRIES,
  STAT_PTEGS_PROBED, STALE_LOCAL, STALE_LPID_FREE, STALE_HPT_RESET, DEFER_OVF_FLUSH, DEFER_OVF_TLBIE,
  KVM_BAD_VCORE, KVM_VCORE_BUSY, KVM_CORE_BUSY, KVM_NOT_RUNNING, KVM_PINNED, KVM_BAD_GFN, KVM_NO_FRAME,
  KVM_GUEST_RUNNING,
} from "./layout";
import {
  header, cores, smt, smtShift, tlbSets, maskWords, cpuTab, coreTab, costs, viol, violSlots, stats, hostPageShift, fabricCal,
  hostFrames, frameOwner, guestDesc, guestStatsOf, bump, frameFree, takeFrame,
} from "./machine";
import { W1_RPN, W1_STALE, provOf, tlbieVa, tlbielVa, markStale, markStaleLpid, flushLpidOnCore, flushCore } from "./tlb";
import {
  HPTE_V_VALID, HPTE_V_ABSENT, HPTE_V_SECONDARY, HPTE_V_COMPARE, HPTE_R_RPN, HPTE_R_PP0, HPTE_R_R, HPTE_R_C,
  pageShiftKvm, pageShiftOf, vaFromHpte, xKey, xSet, xShift, xHash, xCmp,
} from "./hpt";
import { rmapAdd } from "./hcall";
import { MODE_GLOBAL, MODE_LOCAL, MODE_LOCAL_RECORD, KIND_REMOVE, KIND_PROTECT, KIND_BULK } from "./policies/events";
export { MODE_GLOBAL, MODE_LOCAL, MODE_LOCAL_RECORD, KIND_REMOVE, KIND_PROTECT, KIND_BULK };
import { policyCall, EV_VM_INIT, EV_HPT_RESET, EV_VCORE_ENTRY, EV_THREAD_ENTRY, EV_VCORE_EXIT, EV_DECIDE, EV_CAN_PAGE_OUT } from "./policies/table";

// ───────────────────────────── records ─────────────────────────────

// @ts-ignore: decorator
@inline export function cpuRec(cpu: u32): usize {
  return cpuTab + <usize>cpu * CPU_BYTES;
}
// @ts-ignore: decorator
@inline export function coreRec(core: u32): usize {
  return coreTab + <usize>core * CORE_BYTES;
}
// @ts-ignore: decorator
@inline export function vcpuRec(g: usize, vcpu: u32): usize {
  return <usize>load<u32>(g, G_VCPU_TAB) + <usize>vcpu * VCPU_BYTES;
}
// @ts-ignore: decorator
@inline export function vcoreRec(g: usize, vcore: u32): usize {
  return <usize>load<u32>(g, G_VCORE_TAB) + <usize>vcore * VCORE_BYTES;
}
// @ts-ignore: decorator
@inline export function cost(k: u32): u64 {
  return <u64>load<u32>(costs + (<usize>k << 2));
}
// @ts-ignore: decorator
@inline export function clockOf(cpu: u32): u64 {
  return load<u64>(cpuRec(cpu), CPU_CLOCK);
}
// @ts-ignore: decorator
@inline function isQemu(g: usize): bool {
  return (load<u32>(g, G_FLAGS) & GF_QEMU) != 0;
}
/** Guest descriptor of the vcpu running on `cpu` (paca kvm_vcpu, cleared at exit), or 0. */
// @ts-ignore: decorator
@inline export function runningGuest(cpu: u32): usize {
  const s = load<u32>(cpuRec(cpu), CPU_RUN_SLOT);
  return s == 0 ? 0 : guestDesc(s - 1);
}
/** LPIDR of a core: the LPID of the guest running there, else the host's (0). */
export function coreLpid(core: u32): u32 {
  const s = load<u32>(coreRec(core));
  return s == 0 ? 0 : load<u32>(guestDesc(s - 1), G_LPID);
}

// ───────────────────────────── cost model ─────────────────────────────

/** Add `cycles` of category `cc` to cpu's clock, its breakdown, the guest's and the machine's. */
export function charge(cpu: u32, gs: usize, cc: u32, cycles: u64): void {
  const c = cpuRec(cpu);
  store<u64>(c, load<u64>(c, CPU_CLOCK) + cycles, CPU_CLOCK);
  const p = c + CPU_CYCLES + (<usize>cc << 3);
  store<u64>(p, load<u64>(p) + cycles);
  bump(STAT_CYCLES + cc, gs, cycles);
}

/** Chips in the broadcast domain: S of SPEC §9's 800 + 60·S. */
// @ts-ignore: decorator
@inline function chips(): u64 {
  const per = <u32>cost(K_CORES_PER_CHIP);
  return <u64>((cores + per - 1) / (per == 0 ? 1 : per));
}

/** Bit b set iff absolute slot base + b is reserved; base is a multiple of 64 (one epoch, one stretch of the calendar). */
// @ts-ignore: decorator
@inline function reservedWord(base: u64): u64 {
  const c = fabricCal + (<usize>(base & <u64>(FABRIC_SLOTS - 1)) << 2);
  const pat = i32x4.splat(<u32>(base >> <u64>ctz(FABRIC_SLOTS)) + 1);
  let w: u64 = 0;
  for (let q: u32 = 0; q < 16; q += 4) {
    const b0 = <u64>i32x4.bitmask(i32x4.eq(v128.load(c + (<usize>q << 4)), pat));
    const b1 = <u64>i32x4.bitmask(i32x4.eq(v128.load(c + (<usize>q << 4), 16), pat));
    const b2 = <u64>i32x4.bitmask(i32x4.eq(v128.load(c + (<usize>q << 4), 32), pat));
    const b3 = <u64>i32x4.bitmask(i32x4.eq(v128.load(c + (<usize>q << 4), 48), pat));
    w |= (b0 | (b1 << 4) | (b2 << 8) | (b3 << 12)) << (<u64>q << 2);
  }
  return w;
}

/**
 * The first slot p ≥ s such that slots p … p + need − 1 are all free. The calendar is read 64 slots
 * at a time as a bit mask of reserved slots: a free run that reaches into the next word is carried
 * over, and the runs inside a word are found by AND-ing the free mask with itself shifted (bit i
 * survives iff slots i … i + need − 1 are free). Reserved stretches cost a few instructions per 64
 * slots, with no pointer chasing.
 */
function firstFree(s: u64, need: u64): u64 {
  if (need == 0) return s;
  let base = s & ~(<u64>63);
  let w = reservedWord(base) | ((<u64>1 << (s - base)) - 1); // slots before s do not count
  let run: u64 = 0; // free slots just before base (a run starting at base − run)
  for (;;) {
    if (w == 0) {
      run += 64;
      if (run >= need) return base + 64 - run;
    } else {
      if (run + <u64>ctz(w) >= need) return base - run;
      if (need < 64) {
        let g = ~w;
        let len: u64 = 1;
        while (len < need) {
          const sh = min(len, need - len);
          g &= g >> sh;
          len += sh;
        }
        if (g != 0) return base + <u64>ctz(g);
      }
      run = <u64>clz(w);
    }
    base += 64;
    w = reservedWord(base);
  }
  return unreachable();
}

/**
 * Reserve the fabric for `hold` cycles at or after time `t`: the earliest run of free calendar slots
 * (slots of 2^FABRIC_SLOT_SHIFT cycles). A calendar rather than a single "free at" time, so that a
 * request made later in op order but earlier in simulated time is not queued behind the future.
 * Slot x is reserved iff its calendar entry (x mod FABRIC_SLOTS) holds x's epoch + 1: a reservation
 * forgets whatever an earlier epoch left in its slots. Returns the start time.
 */
function fabricReserve(t: u64, hold: u64): u64 {
  const need = <u64>((hold + (<u64>1 << FABRIC_SLOT_SHIFT) - 1) >> FABRIC_SLOT_SHIFT);
  const mask = <u64>(FABRIC_SLOTS - 1);
  const epochShift = <u64>ctz(FABRIC_SLOTS);
  const s = firstFree(t >> FABRIC_SLOT_SHIFT, need);
  let k: u64 = 0;
  const i0 = s & mask;
  if (i0 + need <= <u64>FABRIC_SLOTS) {
    // one epoch: four slots at a time
    const e1 = i32x4.splat(<u32>(s >> epochShift) + 1);
    const c = fabricCal + (<usize>i0 << 2);
    for (; k + 4 <= need; k += 4) v128.store(c + (<usize>k << 2), e1);
  }
  for (; k < need; ++k) {
    const slot = s + k;
    store<u32>(fabricCal + (<usize>(slot & mask) << 2), <u32>(slot >> epochShift) + 1);
  }
  const start = max(t, s << FABRIC_SLOT_SHIFT);
  const end = start + hold;
  if (end > load<u64>(header, HDR_FABRIC_FREE)) store<u64>(header, end, HDR_FABRIC_FREE);
  return start;
}

/**
 * One global sequence of `n` tlbies issued by `cpu` (ptesync; n × tlbie; eieio; tlbsync; ptesync).
 * The fabric is one machine-wide resource: the sequence starts at the first time at or after the
 * cpu's clock when the fabric is free for its whole length; the wait is its own category.
 */
export function globalSequence(cpu: u32, gs: usize, n: u32): void {
  if (n == 0) return;
  const hold = cost(K_TLBIE_BASE) + cost(K_TLBIE_PER_CHIP) * chips() + cost(K_TLBIE_EXTRA) * <u64>(n - 1);
  const now = clockOf(cpu);
  const start = fabricReserve(now, hold);
  if (start > now) {
    charge(cpu, gs, CC_TLBIE_WAIT, start - now);
    bump(STAT_TLBIE_WAITS, gs);
  }
  charge(cpu, gs, CC_TLBIE, hold);
  bump(STAT_TLBIE_SEQUENCES, gs);
}

/** One local sequence of `n` tlbiels on cpu's core (ptesync; n × tlbiel; ptesync). */
export function localSequence(cpu: u32, gs: usize, n: u32): void {
  if (n == 0) return;
  charge(cpu, gs, CC_TLBIEL, cost(K_TLBIEL) + cost(K_TLBIEL_EXTRA) * <u64>(n - 1));
  bump(STAT_TLBIEL_SEQUENCES, gs);
}

/** One tlbiel of a whole congruence class (IS = 0b10 / 0b11): a tlbiel sequence, counted as a flush. */
export function chargeSetFlush(cpu: u32): void {
  charge(cpu, 0, CC_FLUSH, cost(K_TLBIEL));
}

/** An LPID flush of one core outside guest entry (the machine op). */
export function chargeLpidFlush(cpu: u32): void {
  charge(cpu, 0, CC_FLUSH, cost(K_FLUSH_BASE) + cost(K_FLUSH_PER_SET) * <u64>tlbSets);
}

/** KVM's flush on entry: 128 (sets) × tlbiel IS=0b10 of the guest's LPID on cpu's core. */
export function entryFlush(cpu: u32, g: usize): void {
  const gs = guestStatsOf(g);
  const n = flushLpidOnCore(cpu >> smtShift, load<u32>(g, G_LPID));
  charge(cpu, gs, CC_FLUSH, cost(K_FLUSH_BASE) + cost(K_FLUSH_PER_SET) * <u64>tlbSets);
  bump(STAT_ENTRY_FLUSHES, gs);
  bump(STAT_LPID_FLUSHES, gs);
  bump(STAT_FLUSHED_ENTRIES, gs, <u64>n);
}

/** PPC970: the whole TLB of cpu's core, every LPID (its entries carry none). */
export function fullFlush(cpu: u32, g: usize): void {
  const gs = guestStatsOf(g);
  const n = flushCore(cpu >> smtShift);
  charge(cpu, gs, CC_FLUSH, cost(K_FLUSH_BASE) + cost(K_FLUSH_PER_SET) * <u64>tlbSets);
  bump(STAT_FULL_FLUSHES, gs);
  bump(STAT_FLUSHED_ENTRIES, gs, <u64>n);
}

// ───────────────────────────── need_tlb_flush, last_vcpu ─────────────────────────────

/** cpumask_setall(need_tlb_flush). */
export function needFlushSetAll(g: usize): void {
  const m = <usize>load<u32>(g, G_NEED_FLUSH);
  for (let i: u32 = 0; i < maskWords; ++i) {
    const rest = cores - (i << 6);
    store<u64>(m + (<usize>i << 3), rest >= 64 ? 0xffffffffffffffff : (<u64>1 << rest) - 1);
  }
  bump(STAT_NEED_FLUSH_SETS, guestStatsOf(g));
}

/** need_tlb_flush = ALL, then clear the bit of `core` (global_invalidates' local path). */
export function needFlushSetAllExcept(g: usize, core: u32): void {
  needFlushSetAll(g);
  if (core < cores) {
    const w = <usize>load<u32>(g, G_NEED_FLUSH) + (<usize>(core >> 6) << 3);
    store<u64>(w, load<u64>(w) & ~(<u64>1 << (core & 63)));
  }
}

/** The entry check: test_bit(core) and clear it (cleared before the flush, as L3.8 does). */
export function needFlushTestAndClear(g: usize, core: u32): bool {
  const w = <usize>load<u32>(g, G_NEED_FLUSH) + (<usize>(core >> 6) << 3);
  const bit = <u64>1 << (core & 63);
  const x = load<u64>(w);
  if ((x & bit) == 0) return false;
  store<u64>(w, x & ~bit);
  return true;
}

// @ts-ignore: decorator
@inline export function lastVcpuAddr(g: usize, slot: u32): usize {
  return <usize>load<u32>(g, G_LAST_VCPU) + (<usize>slot << 1);
}

/** Pre-patch HPT reset: last_vcpu[] filled with 0xff bytes. */
export function lastVcpuFill(g: usize, x: u16): void {
  const n = load<u32>(g, G_LAST_VCPU_SLOTS);
  for (let i: u32 = 0; i < n; ++i) store<u16>(lastVcpuAddr(g, i), x);
}

// ───────────────────────────── invalidation of one HPTE's translation ─────────────────────────────

/** Pending instructions of the current hcall, issued as one sequence by finishInvalidations(). */
let pendGlobal: u32 = 0;
let pendLocal: u32 = 0;

/** Stale provenance word: cause<<56 | cpu<<40 | the cpu's clock (low 40 bits). */
// @ts-ignore: decorator
@inline function why(cause: u32, cpu: u32): u64 {
  return (<u64>cause << 56) | (<u64>(cpu & 0xffff) << 40) | (clockOf(cpu) & 0xffffffffff);
}

/**
 * Invalidate the translation of the HPTE (v, r, ptex) of guest g from cpu, as `mode` says.
 * The TLB work happens now; the instruction sequences are charged by finishInvalidations().
 */
export function invalidateTranslation(cpu: u32, g: usize, gs: usize, mode: u32, v: u64, r: u64, ptex: u64): void {
  const lpid = load<u32>(g, G_LPID);
  if (!vaFromHpte(g, v, r, ptex, tlbSets)) {
    // no TLB can hold it (undecodable size or VA): the instruction is still issued
    if (mode == MODE_GLOBAL) { bump(STAT_GLOBAL_TLBIES, gs); bump(STAT_GLOBAL_INVALIDATIONS, gs); ++pendGlobal; }
    else { bump(STAT_LOCAL_TLBIELS, gs); bump(STAT_LOCAL_INVALIDATIONS, gs); ++pendLocal; }
    return;
  }
  if (mode == MODE_GLOBAL) {
    const n = tlbieVa(xSet, xKey, lpid);
    bump(STAT_GLOBAL_TLBIES, gs);
    bump(STAT_GLOBAL_TLBIE_ENTRIES, gs, <u64>n);
    bump(STAT_GLOBAL_INVALIDATIONS, gs);
    ++pendGlobal;
    return;
  }
  // tlbiel acts on this core with the LPID loaded in LPIDR (the host's, 0, if no guest runs here)
  const core = cpu >> smtShift;
  const lpidr = coreLpid(core);
  const n = tlbielVa(core, xSet, xKey, lpidr);
  bump(STAT_LOCAL_TLBIELS, gs);
  bump(STAT_LOCAL_TLBIEL_ENTRIES, gs, <u64>n);
  bump(STAT_LOCAL_INVALIDATIONS, gs);
  ++pendLocal;
  markStale(xSet, xKey, lpid, lpidr == lpid ? core : NO_CPU, why(STALE_LOCAL, cpu));
  if (mode == MODE_LOCAL_RECORD) deferRecord(cpu, g, gs, xSet, xKey, gfnOfHpte(g, v, ptex));
}

/** Charge the sequences of the invalidations made since the last call (one hcall's worth). */
export function finishInvalidations(cpu: u32, gs: usize): void {
  if (pendLocal != 0) localSequence(cpu, gs, pendLocal);
  if (pendGlobal != 0) globalSequence(cpu, gs, pendGlobal);
  pendLocal = 0;
  pendGlobal = 0;
}

/** The policy's choice for an invalidation by guest g's hcall on cpu. qemu guests: always global. */
export function decide(cpu: u32, g: usize, kind: u32, flags: u64): u32 {
  if (isQemu(g)) return MODE_GLOBAL;
  return policyCall(load<u32>(g, G_POLICY), EV_DECIDE, g, cpu, kind, flags);
}

/** The gfn (host page of guest RAM) an HPTE's guest view points at, or 0xffffffff (MMIO). */
function gfnOfHpte(g: usize, v: u64, ptex: u64): u32 {
  const rpte = load<u64>(<usize>load<u32>(g, G_REVMAP) + (<usize>ptex << 4));
  const shift = pageShiftKvm(v, rpte);
  if (shift == 0) return NO_FRAME;
  const gfn = ((rpte & HPTE_R_RPN) & ~((<u64>1 << shift) - 1)) >> hostPageShift;
  return gfn < <u64>load<u32>(g, G_RAM_HOST_PAGES) ? <u32>gfn : NO_FRAME;
}

// ───────────────────────────── Graf's deferred-VA list (SPEC §8) ─────────────────────────────

/** Record a locally invalidated VA; on a full list apply the guest's overflow rule. */
function deferRecord(cpu: u32, g: usize, gs: usize, set: u32, key: u64, gfn: u32): void {
  const cap = load<u32>(g, G_DEFER_CAP);
  let count = load<u32>(g, G_DEFER_COUNT);
  if (count >= cap) {
    bump(STAT_DEFERRED_OVERFLOWS, gs);
    const rule = load<u32>(g, G_DEFER_OVERFLOW);
    if (rule == DEFER_OVF_TLBIE) {
      // (a): this invalidation becomes a tlbie (the tlbiel already ran: the tlbie covers every core)
      const n = tlbieVa(set, key, load<u32>(g, G_LPID));
      bump(STAT_GLOBAL_TLBIES, gs);
      bump(STAT_GLOBAL_TLBIE_ENTRIES, gs, <u64>n);
      ++pendGlobal;
      return;
    }
    if (rule == DEFER_OVF_FLUSH) {
      // (c): need_tlb_flush = ALL and every running vcore of the VM is kicked out and re-enters
      // (flushing at entry), then the list is empty; this VA was tlbiel'd here and is covered
      needFlushSetAll(g);
      kickRunningVcores(g);
      store<u32>(g, 0, G_DEFER_COUNT);
      return;
    }
    // (b) drain: tlbie every recorded VA, empty the list, then record this one
    drainDeferred(cpu, g, gs, NO_FRAME);
    count = 0;
  }
  const rec = <usize>load<u32>(g, G_DEFER) + <usize>count * DEFER_BYTES;
  store<u64>(rec, key);
  store<u32>(rec, set, 8);
  store<u32>(rec, gfn, 12);
  store<u32>(g, count + 1, G_DEFER_COUNT);
  bump(STAT_DEFERRED_RECORDS, gs);
}

/** tlbie the recorded VAs of `gfn` (NO_FRAME: all of them) as one sequence and drop them. */
function drainDeferred(cpu: u32, g: usize, gs: usize, gfn: u32): u32 {
  const base = <usize>load<u32>(g, G_DEFER);
  const count = load<u32>(g, G_DEFER_COUNT);
  const lpid = load<u32>(g, G_LPID);
  let kept: u32 = 0;
  let done: u32 = 0;
  for (let i: u32 = 0; i < count; ++i) {
    const rec = base + <usize>i * DEFER_BYTES;
    const key = load<u64>(rec);
    const set = load<u32>(rec, 8);
    const rgfn = load<u32>(rec, 12);
    if (gfn == NO_FRAME || rgfn == gfn) {
      const n = tlbieVa(set, key, lpid);
      bump(STAT_GLOBAL_TLBIES, gs);
      bump(STAT_GLOBAL_TLBIE_ENTRIES, gs, <u64>n);
      ++done;
    } else {
      const to = base + <usize>kept * DEFER_BYTES;
      store<u64>(to, key);
      store<u32>(to, set, 8);
      store<u32>(to, rgfn, 12);
      ++kept;
    }
  }
  store<u32>(g, kept, G_DEFER_COUNT);
  bump(STAT_DEFERRED_TLBIES, gs, <u64>done);
  globalSequence(cpu, gs, done);
  return done;
}

/** IPI every running vcore of g: each exits and re-enters its core at once (running the entry checks). */
function kickRunningVcores(g: usize): void {
  const gs = guestStatsOf(g);
  const n = load<u32>(g, G_VCORES);
  for (let vc: u32 = 0; vc < n; ++vc) {
    const rec = vcoreRec(g, vc);
    if (load<u32>(rec, 4) == 0) continue;
    const pcpu = load<u32>(rec);
    const mask = load<u32>(rec, 8);
    charge(pcpu, gs, CC_IPI, cost(K_IPI)); // the MFRR write → exit; the sender's part is in its hcall
    bump(STAT_IPIS, gs);
    vcoreExit(g, vc);
    vcoreRun(g, vc, pcpu >> smtShift, mask);
  }
}

// ───────────────────────────── vcores on cores ─────────────────────────────

/**
 * A vcore enters a physical core (kvmppc_run_core): its vcpus of `mask` (0 = all) take ptids 0, 1, …
 * on cpus core·T + ptid; the threads rendezvous (their clocks meet at the latest one); then the
 * policy's entry work runs: once for the vcore on thread 0, then once per thread carrying a vcpu.
 */
export function vcoreRun(g: usize, vc: u32, core: u32, maskIn: u32): u64 {
  if (vc >= load<u32>(g, G_VCORES) || core >= cores) return KVM_BAD_VCORE;
  const rec = vcoreRec(g, vc);
  if (load<u32>(rec, 4) != 0) return KVM_VCORE_BUSY;
  if (load<u32>(coreRec(core)) != 0) return KVM_CORE_BUSY;
  const tpv = load<u32>(g, G_TPV);
  const vcpus = load<u32>(g, G_VCPUS);
  const first = vc * tpv;
  let mask = maskIn;
  if (mask == 0) mask = 0xffffffff;
  let count: u32 = 0;
  for (let k: u32 = 0; k < tpv && first + k < vcpus; ++k) if ((mask & (1 << k)) != 0) ++count;
  if (count == 0 || count > smt) return KVM_BAD_VCORE;
  const slot = <u32>((g - guestDesc(0)) / 128);
  const cpu0 = core << smtShift;
  // rendezvous: the threads that carry vcpus start together
  let t0: u64 = 0;
  for (let p: u32 = 0; p < count; ++p) t0 = max(t0, clockOf(cpu0 + p));
  for (let p: u32 = 0; p < count; ++p) store<u64>(cpuRec(cpu0 + p), t0, CPU_CLOCK);
  store<u32>(coreRec(core), slot + 1);
  store<u32>(coreRec(core), vc, 4);
  store<u32>(rec, cpu0); // vc->pcpu
  store<u32>(rec, 1, 4);
  store<u32>(rec, mask, 8);
  store<u32>(rec, load<u32>(rec, 12) + 1, 12);
  store<u32>(g, load<u32>(g, G_RUNNING_VCORES) + 1, G_RUNNING_VCORES);
  let ptid: u32 = 0;
  for (let k: u32 = 0; k < tpv && first + k < vcpus; ++k) {
    if ((mask & (1 << k)) == 0) continue;
    const cpu = cpu0 + ptid;
    const c = cpuRec(cpu);
    store<u32>(c, slot + 1, CPU_RUN_SLOT);
    store<u32>(c, first + k, CPU_RUN_VCPU);
    store<u32>(c, slot + 1, CPU_VC_SLOT); // paca kvm_vcore: set here, never cleared (3.8–3.15)
    store<u32>(c, vc, CPU_VC_IDX);
    store<u32>(vcpuRec(g, first + k), cpu + 1, 4);
    ++ptid;
  }
  const gs = guestStatsOf(g);
  bump(STAT_GUEST_ENTRIES, gs);
  const policy = load<u32>(g, G_POLICY);
  policyCall(policy, EV_VCORE_ENTRY, g, cpu0, vc, 0);
  ptid = 0;
  for (let k: u32 = 0; k < tpv && first + k < vcpus; ++k) {
    if ((mask & (1 << k)) == 0) continue;
    policyCall(policy, EV_THREAD_ENTRY, g, cpu0 + ptid, first + k, 0);
    ++ptid;
  }
  return 0;
}

/** The vcore leaves its core: every thread exits to the host and back (K_ENTRY_EXIT each). */
export function vcoreExit(g: usize, vc: u32): u64 {
  if (vc >= load<u32>(g, G_VCORES)) return KVM_BAD_VCORE;
  const rec = vcoreRec(g, vc);
  if (load<u32>(rec, 4) == 0) return KVM_NOT_RUNNING;
  const cpu0 = load<u32>(rec);
  const core = cpu0 >> smtShift;
  const gs = guestStatsOf(g);
  policyCall(load<u32>(g, G_POLICY), EV_VCORE_EXIT, g, cpu0, vc, 0);
  for (let t: u32 = 0; t < smt; ++t) {
    const c = cpuRec(cpu0 + t);
    const s = load<u32>(c, CPU_RUN_SLOT);
    if (s == 0 || guestDesc(s - 1) != g) continue;
    store<u32>(vcpuRec(g, load<u32>(c, CPU_RUN_VCPU)), 0, 4);
    store<u32>(c, 0, CPU_RUN_SLOT); // paca kvm_vcpu is cleared at exit
    charge(cpu0 + t, gs, CC_ENTRY_EXIT, cost(K_ENTRY_EXIT));
  }
  store<u32>(coreRec(core), 0);
  store<u32>(rec, 0, 4);
  store<u32>(g, load<u32>(g, G_RUNNING_VCORES) - 1, G_RUNNING_VCORES);
  return 0;
}

// ───────────────────────────── guests ─────────────────────────────

/** KVM state of a new guest: vcpus never ran, vcores nowhere, empty lists; then the policy's VM init. */
export function kvmGuestInit(g: usize): void {
  const vcpus = load<u32>(g, G_VCPUS);
  for (let v: u32 = 0; v < vcpus; ++v) {
    store<u32>(vcpuRec(g, v), 0xffff); // vcpu->arch.last_cpu = -1 (u16)
    store<u32>(vcpuRec(g, v), 0, 4);
  }
  const vcores = load<u32>(g, G_VCORES);
  for (let v: u32 = 0; v < vcores; ++v) {
    const rec = vcoreRec(g, v);
    store<u32>(rec, NO_CPU);
    store<u32>(rec, 0, 4);
    store<u32>(rec, 0, 8);
    store<u32>(rec, 0, 12);
  }
  memory.fill(<usize>load<u32>(g, G_NEED_FLUSH), 0, <usize>maskWords << 3);
  lastVcpuFill(g, 0);
  store<u32>(g, 0, G_DEFER_COUNT);
  store<u32>(g, 0, G_RUNNING_VCORES);
  policyCall(load<u32>(g, G_POLICY), EV_VM_INIT, g, 0, 0, 0);
}

/** Before a guest's frames and LPID are freed: its vcores leave, its entries become stale (no flush). */
export function kvmGuestDestroy(g: usize, cpu: u32): void {
  const vcores = load<u32>(g, G_VCORES);
  for (let v: u32 = 0; v < vcores; ++v) if (load<u32>(vcoreRec(g, v), 4) != 0) vcoreExit(g, v);
  markStaleLpid(load<u32>(g, G_LPID), why(STALE_LPID_FREE, cpu));
  store<u32>(g, 0, G_DEFER_COUNT);
}

/**
 * kvmppc_alloc_reset_hpt on an existing HPT: zeroed, every rmap chain emptied, no tlbie; refused
 * while a vcore runs (KVM returns -EBUSY). The policy then marks what must flush.
 */
export function hptReset(g: usize, cpu: u32): u64 {
  if (load<u32>(g, G_RUNNING_VCORES) != 0) return KVM_GUEST_RUNNING;
  const hptBytes = <usize>1 << load<u32>(g, G_HPT_ORDER);
  const hpt = <usize>load<u32>(g, G_HPT);
  memory.fill(hpt, 0, hptBytes);
  memory.fill(<usize>load<u32>(g, G_REVMAP), 0, hptBytes);
  if (isQemu(g)) {
    for (let p = hpt; p < hpt + hptBytes; p += 16) store<u64>(p, 0x40); // SPEC §12: v = 0x40
  } else {
    memory.fill(<usize>load<u32>(g, G_RMAP), 0, <usize>load<u32>(g, G_RAM_HOST_PAGES) << 3);
  }
  markStaleLpid(load<u32>(g, G_LPID), why(STALE_HPT_RESET, cpu));
  bump(STAT_HPT_RESETS, guestStatsOf(g));
  policyCall(load<u32>(g, G_POLICY), EV_HPT_RESET, g, cpu, 0, 0);
  return 0;
}

// ───────────────────────────── host paging ─────────────────────────────

/**
 * The MMU-notifier path (kvm_unmap_rmapp, SPEC §7) for host page `gfn` of guest g, run by the host on
 * `cpu`: every HPTE of the ring becomes ABSENT with a global tlbie and its R/C harvested; the deferred
 * VAs of the page are tlbie'd (deferred-va); then the frame is freed. r3 = HPTEs invalidated.
 */
export function pageOut(g: usize, cpu: u32, gfn: u64): u64 {
  if (isQemu(g)) return KVM_BAD_GFN;
  if (policyCall(load<u32>(g, G_POLICY), EV_CAN_PAGE_OUT, g, cpu, 0, 0) == 0) return KVM_PINNED;
  if (gfn >= <u64>load<u32>(g, G_RAM_HOST_PAGES)) return KVM_BAD_GFN;
  const fp = <usize>load<u32>(g, G_FRAMES) + (<usize>gfn << 2);
  const frame = load<u32>(fp);
  if (frame == NO_FRAME) return KVM_NO_FRAME;
  const gs = guestStatsOf(g);
  const rp = <usize>load<u32>(g, G_RMAP) + (<usize>gfn << 3);
  const hptBase = <usize>load<u32>(g, G_HPT);
  const revBase = <usize>load<u32>(g, G_REVMAP);
  const lpid = load<u32>(g, G_LPID);
  let n: u64 = 0;
  let rmap = load<u64>(rp);
  while ((rmap & 0x100000000) != 0) {
    const i = rmap & 0xffffffff;
    const rev = revBase + (<usize>i << 4);
    const forw = <u64>load<u32>(rev, 8);
    const back = <u64>load<u32>(rev, 12);
    store<u32>(revBase + (<usize>forw << 4), <u32>back, 12);
    store<u32>(revBase + (<usize>back << 4), <u32>forw, 8);
    rmap = forw == i ? rmap & ~(<u64>0x1ffffffff) : (rmap & ~(<u64>0xffffffff)) | forw;
    const hp = hptBase + (<usize>i << 4);
    const v = load<u64>(hp);
    if ((v & HPTE_V_VALID) != 0) {
      const r = load<u64>(hp, 8);
      store<u64>(hp, (v | HPTE_V_ABSENT) & ~HPTE_V_VALID);
      if (vaFromHpte(g, v, r, i, tlbSets)) {
        const k = tlbieVa(xSet, xKey, lpid);
        bump(STAT_GLOBAL_TLBIES, gs);
        bump(STAT_GLOBAL_TLBIE_ENTRIES, gs, <u64>k);
      }
      const rc = r & (HPTE_R_R | HPTE_R_C);
      rmap |= rc << 32;
      store<u64>(rev, load<u64>(rev) | rc);
      charge(cpu, gs, CC_PAGE_OUT, cost(K_PAGE_OUT_HPTE));
      globalSequence(cpu, gs, 1); // kvmppc_invalidate_hpte: one sequence per HPTE
      bump(STAT_PAGE_OUT_HPTES, gs);
      ++n;
    }
  }
  store<u64>(rp, rmap);
  if (load<u32>(g, G_DEFER_COUNT) != 0) drainDeferred(cpu, g, gs, <u32>gfn);
  frameFree(frame);
  store<u32>(fp, NO_FRAME);
  bump(STAT_PAGE_OUTS, gs);
  return n;
}

/**
 * Host reclaim with an LRU flavour (kvm_age_rmapp): of the candidate gfns, the first whose page was
 * not referenced since the last look (no R bit on any HPTE of its ring, REFERENCED clear in the
 * rmap) is paged out, else the first candidate; every candidate is then aged (R bits cleared; the
 * aging tlbie of kvmppc_clear_ref_hpte is not modelled). A page reached only through stale TLB
 * entries never sets R, so it looks cold — as it would to the real host. r3 = the gfn paged out.
 */
export function reclaim(g: usize, cpu: u32, o: usize): u64 {
  if (isQemu(g)) return KVM_BAD_GFN;
  const pages = <u64>load<u32>(g, G_RAM_HOST_PAGES);
  const hptBase = <usize>load<u32>(g, G_HPT);
  const revBase = <usize>load<u32>(g, G_REVMAP);
  let chosen: u64 = 0xffffffffffffffff;
  let first: u64 = 0xffffffffffffffff;
  for (let j: u32 = 0; j < 8; ++j) {
    const gfn = load<u64>(o + 16 + (<usize>j << 3));
    if (gfn >= pages) continue;
    if (load<u32>(<usize>load<u32>(g, G_FRAMES) + (<usize>gfn << 2)) == NO_FRAME) continue;
    if (first == 0xffffffffffffffff) first = gfn;
    const rp = <usize>load<u32>(g, G_RMAP) + (<usize>gfn << 3);
    let rmap = load<u64>(rp);
    let referenced = (rmap & (<u64>1 << 40)) != 0;
    if ((rmap & 0x100000000) != 0) {
      const head = rmap & 0xffffffff;
      let i = head;
      do {
        const hp = hptBase + (<usize>i << 4);
        const r = load<u64>(hp, 8);
        if ((r & HPTE_R_R) != 0) {
          referenced = true;
          store<u64>(hp, r & ~HPTE_R_R, 8);
        }
        i = <u64>load<u32>(revBase + (<usize>i << 4), 8);
      } while (i != head);
    }
    store<u64>(rp, rmap & ~(<u64>1 << 40));
    if (!referenced && chosen == 0xffffffffffffffff) chosen = gfn;
  }
  if (chosen == 0xffffffffffffffff) chosen = first;
  if (chosen == 0xffffffffffffffff) return KVM_NO_FRAME;
  const r = pageOut(g, cpu, chosen);
  return r >= KVM_BAD_VCORE ? r : chosen;
}

/** The host gives page `gfn` a frame again (lowest free). r3 = the frame. */
export function pageIn(g: usize, gfn: u64): u64 {
  if (isQemu(g) || gfn >= <u64>load<u32>(g, G_RAM_HOST_PAGES)) return KVM_BAD_GFN;
  const fp = <usize>load<u32>(g, G_FRAMES) + (<usize>gfn << 2);
  let frame = load<u32>(fp);
  if (frame != NO_FRAME) return <u64>frame;
  frame = takeFrame(load<u32>(g, G_INSTANCE));
  if (frame == NO_FRAME) return KVM_NO_FRAME;
  store<u32>(fp, frame);
  bump(STAT_PAGE_INS, guestStatsOf(g));
  return <u64>frame;
}

/** Search one PTEG for an ABSENT HPTE matching the translation being walked (xCmp without V). */
function absentSearch(g: usize, pteg: u32, cmp: u64, shift: u32): usize {
  let p = <usize>load<u32>(g, G_HPT) + (<usize>pteg << 7);
  const want = (cmp & ~HPTE_V_VALID) | HPTE_V_ABSENT;
  for (let i = 0; i < 8; ++i, p += 16) {
    const v = load<u64>(p);
    if ((v & (HPTE_V_COMPARE | HPTE_V_ABSENT)) == want && pageShiftOf(g, v, load<u64>(p, 8)) == shift) return p;
  }
  return 0;
}

/**
 * The HV page-fault path (kvmppc_book3s_hv_page_fault) after a walk found no VALID HPTE: an ABSENT
 * entry for guest RAM gets a frame (lowest free, if its page was taken away), its host address, V,
 * and a place on the rmap ring again. Returns the HPTE address, or 0 (a real guest fault / MMIO).
 */
export function hvFault(cpu: u32, g: usize, gs: usize): usize {
  if (isQemu(g)) return 0;
  const mask = <u64>load<u32>(g, G_HTAB_MASK);
  let hp = absentSearch(g, <u32>(xHash & mask), xCmp, xShift);
  if (hp == 0) hp = absentSearch(g, <u32>(~xHash & mask), xCmp | HPTE_V_SECONDARY, xShift);
  if (hp == 0) return 0;
  const ptex = <u64>((hp - <usize>load<u32>(g, G_HPT)) >> 4);
  const rev = <usize>load<u32>(g, G_REVMAP) + (<usize>ptex << 4);
  const psize = <u64>1 << xShift;
  const gpa = (load<u64>(rev) & HPTE_R_RPN) & ~(psize - 1);
  if (gpa >= load<u64>(g, G_RAM_BYTES)) return 0; // emulated MMIO: the guest's access is emulated, no translation
  const gfn = gpa >> hostPageShift;
  const fp = <usize>load<u32>(g, G_FRAMES) + (<usize>gfn << 2);
  let frame = load<u32>(fp);
  if (frame == NO_FRAME) {
    frame = takeFrame(load<u32>(g, G_INSTANCE));
    if (frame == NO_FRAME) return 0;
    store<u32>(fp, frame);
  }
  const hostPage = <u64>1 << hostPageShift;
  let pa = <u64>frame << hostPageShift;
  if (hostPage > psize) pa |= gpa & (hostPage - 1);
  store<u64>(hp, (load<u64>(hp, 8) & ~(HPTE_R_PP0 - psize)) | pa, 8);
  rmapAdd(g, gs, gfn, ptex); // the same ring discipline as H_ENTER
  store<u64>(hp, (load<u64>(hp) & ~HPTE_V_ABSENT) | HPTE_V_VALID);
  charge(cpu, gs, CC_HV_FAULT, cost(K_HV_FAULT));
  bump(STAT_HV_FAULTS, gs);
  return hp;
}

// ───────────────────────────── translation costs and the detector ─────────────────────────────

/** Cost of one translation: the ERAT-miss/TLB-hit path, plus the PTEGs a miss probed. */
export function chargeTranslate(cpu: u32, gs: usize, ptegs: u32): void {
  charge(cpu, gs, CC_TRANSLATE, cost(K_TLB_HIT));
  if (ptegs != 0) charge(cpu, gs, CC_WALK, cost(K_PTEG_WALK) * <u64>ptegs);
}

/** Cost of one hypercall's round trip (real mode), its invalidations excluded. */
export function chargeHcall(cpu: u32, gs: usize): void {
  charge(cpu, gs, CC_HCALL, cost(K_HCALL));
}

/** Guest work between events: the cpu's clock moves on (no cost category). */
export function work(cpu: u32, cycles: u64): void {
  const c = cpuRec(cpu);
  store<u64>(c, load<u64>(c, CPU_CLOCK) + cycles, CPU_CLOCK);
}

/** Verdicts of the detector, written to op word 6 of a translation. */
// @ts-ignore: decorator
@inline export const VERDICT_OK: u64 = 0;
// @ts-ignore: decorator
@inline export const VERDICT_STALE_HARMLESS: u64 = 1;
// @ts-ignore: decorator
@inline export const VERDICT_VIOLATION: u64 = 2;

/**
 * Every TLB hit of a kvm-hv guest: the real page must still belong to the accessing guest. A hit on
 * a frame it no longer owns is a violation (counted; the first violationSlots recorded); a hit on a
 * stale entry whose frame it still owns is harmless.
 */
export function detect(cpu: u32, g: usize, gs: usize, e: usize, ea: u64): u64 {
  const w1 = load<u64>(e, 8);
  const stale = (w1 & W1_STALE) != 0;
  if (stale) bump(STAT_STALE_HITS, gs);
  const frame = (w1 & W1_RPN) >> (<u64>hostPageShift - 12);
  const owner = frame < <u64>hostFrames ? load<u32>(frameOwner + (<usize>frame << 2)) : 0;
  const inst = load<u32>(g, G_INSTANCE);
  if (owner == inst) {
    if (!stale) return VERDICT_OK;
    bump(STAT_STALE_HARMLESS, gs);
    return VERDICT_STALE_HARMLESS;
  }
  const k = load<u64>(stats + (<usize>STAT_VIOLATIONS << 3));
  bump(STAT_VIOLATIONS, gs);
  if (k < <u64>violSlots) {
    const r = viol + <usize>k * VIOL_BYTES;
    store<u32>(r, cpu);
    store<u32>(r, load<u32>(g, G_LPID), 4);
    store<u32>(r, inst, 8);
    store<u32>(r, owner, 12);
    store<u64>(r, load<u64>(e), 16);
    store<u64>(r, w1 & W1_RPN, 24);
    store<u64>(r, clockOf(cpu), 32);
    store<u64>(r, stale ? load<u64>(provOf(e)) : 0, 40);
    store<u64>(r, ea, 48);
    store<u32>(r, stale ? 1 : 0, 56);
    store<u32>(r, <u32>frame, 60);
  }
  return VERDICT_VIOLATION;
}
