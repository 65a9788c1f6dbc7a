// The tlbie fabric (docs/model/costs.md §4, §8). A global invalidation sequence takes
// K_TLBIE_BASE + K_TLBIE_PER_CHIP·S cycles (S chips; + K_TLBIE_EXTRA per further tlbie) on the
// fabric, kept as a calendar of reserved slots so that a request made later in op order but earlier
// in simulated time is not queued behind the future (the tlbie locks too). Two models (HDR_FABRIC_MODE):
//  - exclusive: one machine-wide resource every sequence holds alone (the calendar's slot holds its
//    epoch + 1);
//  - concurrent: the sequence first takes the tlbie lock of its scope (none, per VM = KVM's
//    kvm->arch.tlbie_lock, machine-wide), then a share of the fabric: up to `inFlight` sequences at
//    once (the slot holds (epoch + 1) << 8 | sequences in it), each taking `sender` cycles longer
//    per other sequence in flight with it.
import {
  K_TLBIE_BASE, K_TLBIE_PER_CHIP, K_TLBIE_EXTRA, K_CORES_PER_CHIP, CC_TLBIE, CC_TLBIE_WAIT, HDR_FABRIC_FREE, FABRIC_SLOTS,
  FABRIC_SLOT_SHIFT, STAT_TLBIE_SEQUENCES, STAT_TLBIE_WAITS, STAT_TLBIE_LOCK_WAIT_CYCLES, HDR_FABRIC_MODE, HDR_FABRIC_SENDER,
  HDR_TLBIE_LOCK, FABRIC_EXCLUSIVE, LOCK_VM, LOCK_MACHINE, G_TLBIE_LOCK, GUEST_BYTES, STATS_BYTES,
  HDR_TLBIE_ERRATA, K_TLBIE_ERRATA, STAT_ERRATA_TLBIES, G_POLICY,
} from "../layout";
import { policyCall, EV_TLBIE_FIXUPS } from "../policies/table";
import { header, cores, fabricCal, bump, guests, guestStats } from "../machine";
import { clockOf, isQemu } from "./records";
import { cost, charge } from "./costs";

/** Chips in the broadcast domain: S of the 800 + 60·S of docs/model/costs.md §3.5. */
// @ts-ignore: decorator
@inline function chips(): u64 {
  const per = <u32>cost(K_CORES_PER_CHIP);
  return <u64>((cores + per - 1) / (per == 0 ? 1 : per));
}

/**
 * The calendar slots a sequence of `hold` cycles issued at `t` holds when it starts in slot `s` (t's
 * slot or a later one): every slot it runs in — from t itself in t's own slot, from the slot's start
 * in a later one (docs/model/costs.md §4). 0 for an empty sequence. (src/reference/kvm/fabric.ts, slotsFrom)
 */
// @ts-ignore: decorator
@inline function slotsFrom(t: u64, hold: u64, s: u64): u64 {
  const from = select<u64>(t & ((<u64>1 << FABRIC_SLOT_SHIFT) - 1), 0, s == t >> FABRIC_SLOT_SHIFT);
  return select<u64>((from + hold + (<u64>1 << FABRIC_SLOT_SHIFT) - 1) >> FABRIC_SLOT_SHIFT, 0, hold != 0);
}

/**
 * The first slot, at or after t's, from which calendar `cal` (the exclusive fabric's, or a tlbie
 * lock's: their entries are encoded alike) is free for every slot a sequence of `hold` cycles issued
 * at `t` runs in (slotsFrom): at once past every reservation (HDR_FABRIC_FREE); else slot by slot
 * over the run from t's slot, and past the first held slot as firstFree searches, 64 slots a step.
 */
function firstFreeFor(cal: usize, t: u64, hold: u64): u64 {
  const s = t >> FABRIC_SLOT_SHIFT;
  if (s << FABRIC_SLOT_SHIFT >= load<u64>(header, HDR_FABRIC_FREE)) return s; // every slot a reservation took starts before the latest end
  const need = slotsFrom(t, hold, s);
  let k: u64 = 0;
  while (k < need && !reservedAt(cal, s + k)) ++k;
  // held at s + k: no start up to there fits (a later start needs ⌈hold / slot⌉ ≥ need − 1 slots)
  return k == need ? s : firstFree(cal, s + k + 1, slotsFrom(t, hold, s + k + 1));
}

/** Whether slot `slot` of calendar `cal` (the exclusive fabric's, or a tlbie lock's) is taken: its entry holds the slot's epoch + 1. */
// @ts-ignore: decorator
@inline function reservedAt(cal: usize, slot: u64): bool {
  return load<u32>(cal + (<usize>(slot & <u64>(FABRIC_SLOTS - 1)) << 2)) == <u32>(slot >> <u64>ctz(FABRIC_SLOTS)) + 1;
}

/**
 * Bit b set iff absolute slot base + b is reserved in calendar `cal` (the exclusive fabric's, or a
 * tlbie lock's: slot x is taken iff its entry holds x's epoch + 1); base is a multiple of 64 (one
 * epoch, one stretch of the calendar).
 */
// @ts-ignore: decorator
@inline function reservedWord(cal: usize, base: u64): u64 {
  const c = cal + (<usize>(base & <u64>(FABRIC_SLOTS - 1)) << 2);
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
 * The first slot p ≥ s such that slots p … p + need − 1 are all free in calendar `cal` (the exclusive
 * fabric's, or a tlbie lock's). The calendar is read 64 slots
 * at a time as a bit mask of reserved slots: a free run that reaches into the next word is carried
 * over, and the runs inside a word are found by AND-ing the free mask with itself shifted (bit i
 * survives iff slots i … i + need − 1 are free). Reserved stretches cost a few instructions per 64
 * slots, with no pointer chasing.
 */
function firstFree(cal: usize, s: u64, need: u64): u64 {
  if (need == 0) return s;
  // every slot a reservation took starts before the latest end of a sequence (HDR_FABRIC_FREE; a
  // lock is held no later than its sequence's end): from there on, every slot is free
  if (s << FABRIC_SLOT_SHIFT >= load<u64>(header, HDR_FABRIC_FREE)) return s;
  let base = s & ~(<u64>63);
  let w = reservedWord(cal, base) | ((<u64>1 << (s - base)) - 1); // slots before s do not count
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
    w = reservedWord(cal, base);
  }
  return unreachable();
}

/**
 * Reserve the fabric for `hold` cycles at or after time `t`: the earliest run of free calendar slots
 * (slots of 2^FABRIC_SLOT_SHIFT cycles) holding every slot the sequence runs in (slotsFrom). A calendar rather than a single "free at" time, so that a
 * request made later in op order but earlier in simulated time is not queued behind the future.
 * Slot x is reserved iff its calendar entry (x mod FABRIC_SLOTS) holds x's epoch + 1: a reservation
 * forgets whatever an earlier epoch left in its slots. Returns the start time.
 */
function fabricReserve(t: u64, hold: u64): u64 {
  const mask = <u64>(FABRIC_SLOTS - 1);
  const epochShift = <u64>ctz(FABRIC_SLOTS);
  const s = firstFreeFor(fabricCal, t, hold);
  const need = slotsFrom(t, hold, s);
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

/** Sequences in flight in calendar slot `slot` (concurrent model): its count if the entry is of slot's epoch. */
// @ts-ignore: decorator
@inline function inFlightAt(slot: u64): u32 {
  const e = load<u32>(fabricCal + (<usize>(slot & <u64>(FABRIC_SLOTS - 1)) << 2));
  return (e >> 8) == ((<u32>(slot >> <u64>ctz(FABRIC_SLOTS)) + 1) & 0xffffff) ? e & 0xff : 0;
}

/** Hold the lock over slots from … to − 1 (from when it was taken to the sequence's completion): a lock calendar's entry holds its slot's epoch + 1. */
function lockTake(cal: usize, from: u64, to: u64): void {
  const mask = <u64>(FABRIC_SLOTS - 1);
  let x = from;
  while (x < to) {
    // the slots of one epoch are consecutive entries: four at a time
    const end = min(to, (x | mask) + 1);
    const e = <u32>(x >> <u64>ctz(FABRIC_SLOTS)) + 1;
    const c = cal + (<usize>(x & mask) << 2);
    const n = <usize>(end - x);
    const e4 = i32x4.splat(e);
    let k: usize = 0;
    for (; k + 4 <= n; k += 4) v128.store(c + (k << 2), e4);
    for (; k < n; ++k) store<u32>(c + (k << 2), e);
    x = end;
  }
}

/** Whether none of the n concurrent-calendar entries from c holds the epoch tag `tag` (no sequence in flight there): four entries a compare. */
function fabricIdle(c: usize, n: usize, tag: u32): bool {
  const t4 = i32x4.splat(tag);
  let k: usize = 0;
  for (; k + 4 <= n; k += 4) {
    if (v128.any_true(i32x4.eq(i32x4.shr_u(v128.load(c + (k << 2)), 8), t4))) return false;
  }
  for (; k < n; ++k) if ((load<u32>(c + (k << 2)) >> 8) == tag) return false;
  return true;
}

/** The most sequences already in flight over the slots the last sharedReserve took. */
let sharedWith: u32 = 0;

/**
 * Concurrent model: a share of the fabric for `hold` cycles at or after `t` — the earliest run of
 * slots each with fewer than `cap` sequences in flight. Sets sharedWith; returns the start time.
 */
function sharedReserve(t: u64, hold: u64, cap: u32): u64 {
  let s = t >> FABRIC_SLOT_SHIFT;
  let need = slotsFrom(t, hold, s);
  const i0 = s & <u64>(FABRIC_SLOTS - 1);
  if (cap != 0 && i0 + need <= <u64>FABRIC_SLOTS && fabricIdle(fabricCal + (<usize>i0 << 2), <usize>need, ((<u32>(s >> <u64>ctz(FABRIC_SLOTS)) + 1) & 0xffffff))) {
    // the common case: no sequence in flight over the run from s (one epoch): the run is s's, and
    // each slot gets its first sequence, four entries a store
    const e1 = (((<u32>(s >> <u64>ctz(FABRIC_SLOTS)) + 1) & 0xffffff) << 8) | 1;
    const c = fabricCal + (<usize>i0 << 2);
    const e4 = i32x4.splat(e1);
    let k: usize = 0;
    for (; k + 4 <= <usize>need; k += 4) v128.store(c + (k << 2), e4);
    for (; k < <usize>need; ++k) store<u32>(c + (k << 2), e1);
    sharedWith = 0;
    return max(t, s << FABRIC_SLOT_SHIFT);
  }
  for (;;) {
    let k: u64 = 0;
    while (k < need && inFlightAt(s + k) < cap) ++k;
    if (k == need) break;
    s += k + 1; // the run was broken at slot s + k: look after it
    need = slotsFrom(t, hold, s);
  }
  let most: u32 = 0;
  for (let k: u64 = 0; k < need; ++k) {
    const slot = s + k;
    const o = inFlightAt(slot);
    if (o > most) most = o;
    store<u32>(fabricCal + (<usize>(slot & <u64>(FABRIC_SLOTS - 1)) << 2), (((<u32>(slot >> <u64>ctz(FABRIC_SLOTS)) + 1) & 0xffffff) << 8) | (o + 1));
  }
  sharedWith = most;
  return max(t, s << FABRIC_SLOT_SHIFT);
}

/**
 * The POWER9 errata workarounds' extra `ptesync; tlbie` pairs in one global sequence of the guest
 * whose stats block is `gs`: one per erratum the machine has (HDR_TLBIE_ERRATA) when the guest's
 * policy applies the workarounds (fixup_tlbie_lpid, docs/model/policies.md §10.3); 0 for the host.
 */
function erratumTlbies(gs: usize): u32 {
  const errata = load<u32>(header, HDR_TLBIE_ERRATA);
  if (errata == 0 || gs == 0) return 0;
  const g = guests + ((gs - guestStats) / STATS_BYTES) * GUEST_BYTES;
  if (isQemu(g) || policyCall(load<u32>(g, G_POLICY), EV_TLBIE_FIXUPS, g, 0, 0, 0) == 0) return 0;
  return <u32>popcnt(errata);
}

/**
 * One global sequence of `n` tlbies issued by `cpu` (ptesync; n × tlbie; eieio; tlbsync; ptesync),
 * for the guest whose stats block is `gs` (0: the host), with the errata's extra tlbies where they apply (erratumTlbies). Exclusive model: the sequence starts at the
 * first time at or after the cpu's clock when the fabric is free for its whole length. Concurrent
 * model: it waits for its tlbie lock, then for a share of the fabric, and completes (tlbsync;
 * ptesync) `sender` % of its length later per sequence it shared the fabric with; the lock is held until then.
 * Both waits are tlbieWait; the lock's part is also counted apart (STAT_TLBIE_LOCK_WAIT_CYCLES).
 */
export function globalSequence(cpu: u32, gs: usize, n: u32): void {
  if (n == 0) return;
  const e = erratumTlbies(gs);
  const hold = cost(K_TLBIE_BASE) + cost(K_TLBIE_PER_CHIP) * chips() + cost(K_TLBIE_EXTRA) * <u64>(n - 1) + cost(K_TLBIE_ERRATA) * <u64>e;
  if (e != 0) bump(STAT_ERRATA_TLBIES, gs, <u64>e);
  const now = clockOf(cpu);
  const mode = load<u32>(header, HDR_FABRIC_MODE);
  if ((mode & 15) == FABRIC_EXCLUSIVE) {
    const start = fabricReserve(now, hold);
    if (start > now) {
      charge(cpu, gs, CC_TLBIE_WAIT, start - now);
      bump(STAT_TLBIE_WAITS, gs);
    }
    charge(cpu, gs, CC_TLBIE, hold);
    bump(STAT_TLBIE_SEQUENCES, gs);
    return;
  }
  const scope = (mode >> 4) & 15;
  let lock: usize = 0;
  if (scope == LOCK_VM && gs != 0) lock = <usize>load<u32>(guests + ((gs - guestStats) / STATS_BYTES) * GUEST_BYTES, G_TLBIE_LOCK);
  else if (scope == LOCK_MACHINE) lock = <usize>load<u32>(header, HDR_TLBIE_LOCK);
  let s1: u64 = 0;
  let t = now;
  if (lock != 0) {
    s1 = firstFreeFor(lock, now, hold);
    t = max(now, s1 << FABRIC_SLOT_SHIFT);
  }
  const start = sharedReserve(t, hold, (mode >> 8) & 0xff);
  const took = hold + (hold * <u64>load<u32>(header, HDR_FABRIC_SENDER) * <u64>sharedWith) / 100;
  const end = start + took;
  if (lock != 0) lockTake(lock, s1, (end + (<u64>1 << FABRIC_SLOT_SHIFT) - 1) >> FABRIC_SLOT_SHIFT);
  if (start > now) {
    charge(cpu, gs, CC_TLBIE_WAIT, start - now);
    bump(STAT_TLBIE_WAITS, gs);
    if (t > now) bump(STAT_TLBIE_LOCK_WAIT_CYCLES, gs, t - now);
  }
  charge(cpu, gs, CC_TLBIE, took);
  bump(STAT_TLBIE_SEQUENCES, gs);
  if (end > load<u64>(header, HDR_FABRIC_FREE)) store<u64>(header, end, HDR_FABRIC_FREE);
}
