import { PAGE_SIZES } from "../model/page-sizes.js";

/**
 * One TLB (a core's, or a thread group's: docs/model/tlb.md §7.2): `sets` congruence classes × `ways` ways (docs/model/tlb.md §1, docs/semantics.md
 * "TLB replacement"), and the xorshift32 generator of random replacement.
 */

/** Tag and data of one TLB entry (docs/model/tlb.md §1). */
export interface TlbEntry {
  lpid: number;
  /** Segment size B: 0 = 256 MB, 1 = 1 TB. */
  b: number;
  /** VA >> 12 with the in-page bits cleared. */
  vpn4k: bigint;
  /** The actual page size (the entry covers the page). */
  pageShift: number;
  /** The segment's base page size: pageShift but for a mixed page-size entry (docs/model/translation.md §2.7). */
  baseShift: number;
  /** Real page number in 4 KiB units. */
  rpn: bigint;
}

/** The TLB set of a page (docs/model/tlb.md §2 default index [A]): (vpn4k >> (p − 12)) & (sets − 1). */
export function tlbSetIndex(vpn4k: bigint, pageShift: number, sets: number): number {
  return Number((vpn4k >> BigInt(pageShift - 12)) & BigInt(sets - 1));
}

/** The actual page sizes a segment of each base page size may hold, the base first (docs/model/translation.md §2.7). */
const ACTUAL_SHIFTS = new Map(PAGE_SIZES.map((s) => [s.shift as number, s.enc.map((e) => e.shift as number)]));

/** A TLB hit: where, and the actual page shift of the entry. */
export interface PageHit {
  set: number;
  way: number;
  pageShift: number;
}

/**
 * Look up the page of (lpid, b, vpn4k) in a segment of base page size `baseShift`: the base page
 * first, then the larger pages the segment may hold (docs/model/translation.md §2.7), each at its own
 * congruence class — one entry covers a whole page. Null on a miss; touches nothing.
 */
export function lookupPage(tlb: CoreTlb, lpid: number, b: number, vpn4k: bigint, baseShift: number): PageHit | null {
  for (const a of ACTUAL_SHIFTS.get(baseShift)!) {
    const vpn = a === baseShift ? vpn4k : vpn4k & ~((1n << BigInt(a - 12)) - 1n);
    const set = tlbSetIndex(vpn, a, tlb.sets);
    const way = tlb.lookup(set, lpid, b, vpn, a, baseShift);
    if (way >= 0) return { set, way, pageShift: a };
  }
  return null;
}

export function sameTag(e: TlbEntry, lpid: number, b: number, vpn4k: bigint, pageShift: number, baseShift = pageShift): boolean {
  return e.lpid === lpid && e.b === b && e.vpn4k === vpn4k && e.pageShift === pageShift && e.baseShift === baseShift;
}

/**
 * xorshift32 on a u32 state: x ^= x << 13; x ^= x >>> 17; x ^= x << 5 (docs/semantics.md).
 * Seed 0 is replaced by 0x9e3779b9.
 */
export class Xorshift32 {
  private state: number;
  constructor(seed: number, zeroSeed: number) {
    this.state = (seed === 0 ? zeroSeed : seed) >>> 0;
  }
  next(): number {
    let x = this.state;
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    this.state = x;
    return x;
  }
}

export interface FillResult {
  way: number;
  /** The valid entry that was evicted, if any. */
  evicted: TlbEntry | null;
}

export class CoreTlb {
  /** entries[set][way]; null = invalid. */
  private readonly entries: (TlbEntry | null)[][];
  /**
   * LRU rank of each way of each set: a permutation of 0..W−1, initially rank = way. Rank 0 is the most
   * recently used; the LRU way is the one of rank W−1.
   */
  private readonly ranks: number[][];

  constructor(readonly sets: number, readonly ways: number) {
    this.entries = [];
    this.ranks = [];
    for (let s = 0; s < sets; s++) {
      this.entries.push(new Array<TlbEntry | null>(ways).fill(null));
      this.ranks.push(Array.from({ length: ways }, (_, w) => w));
    }
  }

  /** The way holding (lpid, b, vpn4k, pageShift) in `set`, or −1. */
  lookup(set: number, lpid: number, b: number, vpn4k: bigint, pageShift: number, baseShift = pageShift): number {
    const row = this.entries[set]!;
    for (let w = 0; w < this.ways; w++) {
      const e = row[w];
      if (e && sameTag(e, lpid, b, vpn4k, pageShift, baseShift)) return w;
    }
    return -1;
  }

  entry(set: number, way: number): TlbEntry | null {
    return this.entries[set]![way]!;
  }

  /** Make `way` the most recently used of its set: ways more recent than it age by one. */
  touch(set: number, way: number): void {
    const rank = this.ranks[set]!;
    const old = rank[way]!;
    for (let w = 0; w < this.ways; w++) if (rank[w]! < old) rank[w] = rank[w]! + 1;
    rank[way] = 0;
  }

  /** The least recently used way (rank W−1). */
  lruWay(set: number): number {
    return this.ranks[set]!.indexOf(this.ways - 1);
  }

  /**
   * Fill: the lowest-numbered invalid way, else the victim chosen by `victim()`; the filled way becomes
   * the most recently used.
   */
  fill(set: number, e: TlbEntry, victim: () => number): FillResult {
    const row = this.entries[set]!;
    let way = row.indexOf(null);
    let evicted: TlbEntry | null = null;
    if (way < 0) {
      way = victim();
      evicted = row[way]!;
    }
    row[way] = e;
    this.touch(set, way);
    return { way, evicted };
  }

  /** Invalidate every valid entry of `set` that `pred` accepts; returns how many. LRU ranks are unchanged. */
  invalidateInSet(set: number, pred: (e: TlbEntry) => boolean): number {
    const row = this.entries[set]!;
    let n = 0;
    for (let w = 0; w < this.ways; w++) {
      const e = row[w];
      if (e && pred(e)) {
        row[w] = null;
        n++;
      }
    }
    return n;
  }

  /** Invalidate in every set. */
  invalidateAll(pred: (e: TlbEntry) => boolean): number {
    let n = 0;
    for (let s = 0; s < this.sets; s++) n += this.invalidateInSet(s, pred);
    return n;
  }

  /** Valid entries ordered by set then way. */
  *valid(): Generator<{ set: number; way: number; e: TlbEntry }> {
    for (let s = 0; s < this.sets; s++) {
      for (let w = 0; w < this.ways; w++) {
        const e = this.entries[s]![w];
        if (e) yield { set: s, way: w, e };
      }
    }
  }
}
