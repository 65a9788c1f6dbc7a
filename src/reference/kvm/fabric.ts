/**
 * The tlbie fabric (docs/kvm-model.md, "Cost model"): one machine-wide resource that every global
 * invalidation sequence holds for its whole length. Time is kept as a calendar of 128-cycle slots
 * (65,536 of them, reused epoch after epoch): a sequence issued at time t takes the earliest run of
 * free slots at or after t's slot that holds every slot it runs in (slotsFrom: a sequence starting
 * inside a slot may need one slot more than its length), so a request that comes later in op order
 * but earlier in simulated time is not queued behind the future, and no two sequences overlap.
 *
 * Written slot by slot, for reading: slot s of the calendar remembers the epoch of the last
 * reservation that used it (epoch + 1; 0 = never used).
 */
export const FABRIC_SLOTS = 65536;
export const FABRIC_SLOT_CYCLES = 128n;

/**
 * The slots a sequence of `hold` cycles issued at `t` holds when it starts in slot `s` (t's slot or a
 * later one): every slot it runs in — from t itself in t's own slot, from the slot's start in a later
 * one (docs/model/costs.md §4). 0 for an empty sequence.
 */
export function slotsFrom(t: bigint, hold: bigint, s: bigint): bigint {
  if (hold === 0n) return 0n;
  const from = s === t / FABRIC_SLOT_CYCLES ? t % FABRIC_SLOT_CYCLES : 0n;
  return (from + hold + FABRIC_SLOT_CYCLES - 1n) / FABRIC_SLOT_CYCLES;
}

/**
 * The first slot, at or after t's, from which a sequence of `hold` cycles issued at `t` finds every
 * slot it runs in (slotsFrom) free by `busy`: slot by slot, and past the first busy slot when a run breaks.
 */
function firstRun(t: bigint, hold: bigint, busy: (slot: bigint) => boolean): bigint {
  let s = t / FABRIC_SLOT_CYCLES;
  for (;;) {
    const need = slotsFrom(t, hold, s);
    let k = 0n;
    while (k < need && !busy(s + k)) k++;
    if (k === need) return s;
    s += k + 1n; // the run was broken at slot s + k: look after it
  }
}

export class TlbieFabric {
  private readonly calendar = new Uint32Array(FABRIC_SLOTS);
  /** The end of the latest reservation (what the engine calls the fabric's next free time). */
  freeAt = 0n;

  private reserved(slot: bigint): boolean {
    const epoch = Number((slot / BigInt(FABRIC_SLOTS)) & 0xffffffffn);
    return this.calendar[Number(slot % BigInt(FABRIC_SLOTS))] === ((epoch + 1) >>> 0);
  }

  private take(slot: bigint): void {
    const epoch = Number((slot / BigInt(FABRIC_SLOTS)) & 0xffffffffn);
    this.calendar[Number(slot % BigInt(FABRIC_SLOTS))] = (epoch + 1) >>> 0;
  }

  /**
   * Reserve the fabric for `hold` cycles for a sequence issued at `t`; returns when it starts
   * (≥ t; the difference is the issuing cpu's tlbieWait).
   */
  reserve(t: bigint, hold: bigint): bigint {
    const s = firstRun(t, hold, (x) => this.reserved(x));
    const need = slotsFrom(t, hold, s);
    for (let k = 0n; k < need; k++) this.take(s + k);
    const slotStart = s * FABRIC_SLOT_CYCLES;
    const start = slotStart > t ? slotStart : t;
    if (start + hold > this.freeAt) this.freeAt = start + hold;
    return start;
  }
}

/**
 * The concurrent fabric (docs/model/costs.md §8): up to `cap` global sequences on the fabric at once.
 * Slot s of the calendar remembers how many sequences of its epoch are in it, as
 * ((epoch + 1) mod 2^24) << 8 | count (0 = never used).
 */
export class SharedFabric {
  private readonly calendar = new Uint32Array(FABRIC_SLOTS);
  freeAt = 0n;

  constructor(private readonly cap: number) {}

  private tag(slot: bigint): number {
    return Number((slot / BigInt(FABRIC_SLOTS) + 1n) & 0xffffffn);
  }

  /** Sequences in flight in slot `slot`. */
  inFlight(slot: bigint): number {
    const e = this.calendar[Number(slot % BigInt(FABRIC_SLOTS))]!;
    return e >>> 8 === this.tag(slot) ? e & 0xff : 0;
  }

  /**
   * A share of the fabric for `hold` cycles at or after `t`: the earliest run of slots each with
   * fewer than `cap` sequences in flight. Returns the start and the most sequences already in flight
   * over the run.
   */
  reserve(t: bigint, hold: bigint): { start: bigint; sharedWith: number } {
    const s = firstRun(t, hold, (x) => this.inFlight(x) >= this.cap);
    const need = slotsFrom(t, hold, s);
    let sharedWith = 0;
    for (let k = 0n; k < need; k++) {
      const o = this.inFlight(s + k);
      if (o > sharedWith) sharedWith = o;
      this.calendar[Number((s + k) % BigInt(FABRIC_SLOTS))] = ((this.tag(s + k) << 8) | (o + 1)) >>> 0;
    }
    const slotStart = s * FABRIC_SLOT_CYCLES;
    return { start: slotStart > t ? slotStart : t, sharedWith };
  }
}

/**
 * A tlbie lock's calendar (concurrent fabric, docs/model/costs.md §8): like the exclusive fabric's,
 * slot s holds its epoch + 1 while the lock is held. A sequence takes the lock at the earliest run
 * of free slots long enough for its own length, and holds it until its completion.
 */
export class LockCalendar {
  private readonly calendar = new Uint32Array(FABRIC_SLOTS);

  private held(slot: bigint): boolean {
    const epoch = Number((slot / BigInt(FABRIC_SLOTS)) & 0xffffffffn);
    return this.calendar[Number(slot % BigInt(FABRIC_SLOTS))] === ((epoch + 1) >>> 0);
  }

  /** The first slot, at or after t's, from which a sequence of `hold` cycles issued at `t` finds the lock free for its whole length (slotsFrom). */
  firstFree(t: bigint, hold: bigint): bigint {
    return firstRun(t, hold, (x) => this.held(x));
  }


  /** Hold slots from … to − 1. */
  take(from: bigint, to: bigint): void {
    for (let x = from; x < to; x++) {
      const epoch = Number((x / BigInt(FABRIC_SLOTS)) & 0xffffffffn);
      this.calendar[Number(x % BigInt(FABRIC_SLOTS))] = (epoch + 1) >>> 0;
    }
  }
}
