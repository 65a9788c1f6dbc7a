// The tlbie fabric (docs/kvm-model.md, "Cost model"): one machine-wide resource that every global
// invalidation sequence holds for K_TLBIE_BASE + K_TLBIE_PER_CHIP·S cycles (S chips; + K_TLBIE_EXTRA
// per further tlbie), kept as a calendar of reserved slots so that a request made later in op order
// but earlier in simulated time is not queued behind the future.
import {
  K_TLBIE_BASE, K_TLBIE_PER_CHIP, K_TLBIE_EXTRA, K_CORES_PER_CHIP, CC_TLBIE, CC_TLBIE_WAIT, HDR_FABRIC_FREE, FABRIC_SLOTS,
  FABRIC_SLOT_SHIFT, STAT_TLBIE_SEQUENCES, STAT_TLBIE_WAITS,
} from "../layout";
import { header, cores, fabricCal, bump } from "../machine";
import { clockOf } from "./records";
import { cost, charge } from "./costs";

/** Chips in the broadcast domain: S of the 800 + 60·S of docs/model/costs.md §3.5. */
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
