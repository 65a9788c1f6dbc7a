// The TLBs: one per group of threads (docs/model/tlb.md §7.2; the whole core on POWER7/POWER8, 4
// threads of an SMT8 POWER9/POWER10 core), sets × ways, tagged with (B, VA page, page size, LPID),
// set-major in memory (layout.ts). Replacement: LRU by a rank permutation per set, or seeded xorshift32.
// Every TLB that may hold an entry of an LPID is kept in an exact per-LPID mask, so a tlbie visits
// only the holders (the *simulated* broadcast still reaches every TLB). Below, `core` names a TLB's
// index (cpu >> tlbGroupShift), which is the core's when a core shares one TLB.
import {
  TLBE_BYTES, TLBE_VALID, TLBE_VALID_SHIFT, TLBE_B_SHIFT, TLBE_PSIZE_SHIFT, TLBE_RPN, TLBE_STALE, TLBE_LPID, TLBE_LPID_SHIFT,
  TLBE_RANK, TLBE_RANK_SHIFT, HDR_RNG, STAT_TLB_FILLS, STAT_TLB_EVICTIONS, STAT_STALE_MARKED,
} from "./layout";
import { tlb, prov, tlbFp, tlbGroups, tlbWays, tlbSets, header, randomReplacement, lpidCount, lpidMask, maskWords, bump, guestOfLpid, guestStatsOf } from "./machine";

/** Where touched values go (so that no touch is optimised away). */
const sinkCell: usize = memory.data(8, 8);
/** A tlbie's candidates: the holders whose fingerprint bytes may hold the VA, in TLB order (at most 2048 TLBs, src/config.ts). */
const candidates: usize = memory.data(8192, 64);

/**
 * Tag fingerprints (assembly/layout.ts, "TLB fingerprints"): one byte per TLB entry, same index,
 * 0 for an invalid entry, else a hash of (tag, LPID) in 1..255. Not simulated state: a tlbie reads a
 * holder's 4 bytes before its 64-byte line, and most holders' bytes rule the VA out.
 */
// @ts-ignore: decorator
@inline export function fpOf(e: usize): usize {
  return tlbFp + ((e - tlb) >> 4);
}
// @ts-ignore: decorator
@inline export function fingerprint(key: u64, lpid: u32): u32 {
  const h = (<u32>key ^ <u32>(key >> 32) ^ (lpid * 0x9e3779b9)) * 0x85ebca6b;
  const f = h >> 24;
  return select<u32>(f, 1, f != 0);
}

/** Whether one of the 4 fingerprint bytes in `bytes` (a line's, as one u32) equals `fp`: a zero byte of the XOR, found without a branch. */
// @ts-ignore: decorator
@inline function fpAny(bytes: u32, fp: u32): bool {
  const x = bytes ^ (fp * 0x01010101);
  return ((x - 0x01010101) & ~x & 0x80808080) != 0;
}

/** Tag word of an entry: vpn4k | B<<56 | psize code<<57 | VALID. */
// @ts-ignore: decorator
@inline export function tlbKey(vpn4k: u64, b: u64, psizeCode: u64): u64 {
  return vpn4k | (b << TLBE_B_SHIFT) | (psizeCode << TLBE_PSIZE_SHIFT) | TLBE_VALID;
}

/** Address of the ways of (core, set). */
// @ts-ignore: decorator
@inline export function tlbLine(core: u32, set: u32): usize {
  return tlb + ((<usize>set * <usize>tlbGroups + <usize>core) * <usize>tlbWays) * TLBE_BYTES;
}

/**
 * POWER7's 4 ways of one 64-byte line compared at once with (key, LPID field k1): bit w set when way
 * w matches. No branch.
 */
// @ts-ignore: decorator
@inline function hits4(line: usize, key: u64, k1: u64): u32 {
  const h0 = <u32>(load<u64>(line) == key) & <u32>((load<u64>(line, 8) & TLBE_LPID) == k1);
  const h1 = <u32>(load<u64>(line, 16) == key) & <u32>((load<u64>(line, 24) & TLBE_LPID) == k1);
  const h2 = <u32>(load<u64>(line, 32) == key) & <u32>((load<u64>(line, 40) & TLBE_LPID) == k1);
  const h3 = <u32>(load<u64>(line, 48) == key) & <u32>((load<u64>(line, 56) & TLBE_LPID) == k1);
  return h0 | (h1 << 1) | (h2 << 2) | (h3 << 3);
}

/** Way of the entry matching (key, lpid) in the line, or -1. Compares every way, then takes the lowest hit. */
export function tlbLookup(line: usize, key: u64, lpid: u32): i32 {
  const k1 = <u64>lpid << TLBE_LPID_SHIFT;
  if (tlbWays == 4) {
    // one 64-byte line, no branch but the caller's hit test
    const hits = hits4(line, key, k1);
    return select<i32>(<i32>ctz(hits), -1, hits != 0);
  }
  let hits: u32 = 0;
  let p = line;
  for (let w: u32 = 0; w < tlbWays; ++w, p += TLBE_BYTES) {
    const m = <u32>(load<u64>(p) == key) & <u32>((load<u64>(p, 8) & TLBE_LPID) == k1);
    hits |= m << w;
  }
  return hits == 0 ? -1 : <i32>ctz(hits);
}

/** Real page number (4 KiB units) held by a way. */
// @ts-ignore: decorator
@inline export function tlbRpn(line: usize, way: i32): u64 {
  return load<u64>(line + <usize>way * TLBE_BYTES, 8) & TLBE_RPN;
}

/** Make `way` the most recently used: ranks below its rank move up by one, its rank becomes 0. */
export function tlbTouch(line: usize, way: u32): void {
  const pw = line + <usize>way * TLBE_BYTES + 8;
  const w1 = load<u64>(pw);
  const rank = w1 >> TLBE_RANK_SHIFT;
  if (rank == 0) return; // already the most recent (the common case of a hot page)
  let p = line + 8;
  for (let w: u32 = 0; w < tlbWays; ++w, p += TLBE_BYTES) {
    const x = load<u64>(p);
    store<u64>(p, x + (<u64>((x >> TLBE_RANK_SHIFT) < rank) << TLBE_RANK_SHIFT));
  }
  store<u64>(pw, w1 & ~TLBE_RANK);
}

function holderInc(lpid: u32, core: u32): void {
  const p = lpidCount + ((<usize>lpid * <usize>tlbGroups + <usize>core) << 2);
  const c = load<u32>(p);
  store<u32>(p, c + 1);
  if (c == 0) {
    const m = lpidMask + ((<usize>lpid * <usize>maskWords + <usize>(core >> 6)) << 3);
    store<u64>(m, load<u64>(m) | (<u64>1 << (core & 63)));
  }
}

function holderDec(lpid: u32, core: u32): void {
  const p = lpidCount + ((<usize>lpid * <usize>tlbGroups + <usize>core) << 2);
  const c = load<u32>(p) - 1;
  store<u32>(p, c);
  if (c == 0) {
    const m = lpidMask + ((<usize>lpid * <usize>maskWords + <usize>(core >> 6)) << 3);
    store<u64>(m, load<u64>(m) & ~(<u64>1 << (core & 63)));
  }
}

/** Entries of `lpid` that core `core` holds. */
// @ts-ignore: decorator
@inline export function tlbHeld(lpid: u32, core: u32): u32 {
  return load<u32>(lpidCount + ((<usize>lpid * <usize>tlbGroups + <usize>core) << 2));
}

function nextRandom(): u32 {
  let x = load<u32>(header, HDR_RNG);
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  store<u32>(header, x, HDR_RNG);
  return x;
}

/** Load a translation into (core, set): lowest invalid way, else the LRU (or random) victim. */
export function tlbFill(core: u32, set: u32, key: u64, lpid: u32, rpn: u64, gs: usize): void {
  const line = tlbLine(core, set);
  let victim: u32 = tlbWays;
  let evicted = false;
  if (tlbWays == 4 && !randomReplacement) {
    // POWER7's 4 ways, LRU: the lowest invalid way, else the one of rank 3 (ranks are a permutation)
    const w0 = load<u64>(line, 8), w1 = load<u64>(line, 24), w2 = load<u64>(line, 40), w3 = load<u64>(line, 56);
    const invalid = <u32>(load<u64>(line) >> TLBE_VALID_SHIFT == 0) | (<u32>(load<u64>(line, 16) >> TLBE_VALID_SHIFT == 0) << 1)
      | (<u32>(load<u64>(line, 32) >> TLBE_VALID_SHIFT == 0) << 2) | (<u32>(load<u64>(line, 48) >> TLBE_VALID_SHIFT == 0) << 3);
    const lru = <u32>(w0 >> TLBE_RANK_SHIFT == 3) | (<u32>(w1 >> TLBE_RANK_SHIFT == 3) << 1) | (<u32>(w2 >> TLBE_RANK_SHIFT == 3) << 2) | (<u32>(w3 >> TLBE_RANK_SHIFT == 3) << 3);
    evicted = invalid == 0;
    victim = <u32>ctz(select<u32>(lru, invalid, evicted));
  } else {
    let p = line;
    for (let w: u32 = 0; w < tlbWays; ++w, p += TLBE_BYTES) {
      if ((load<u64>(p) & TLBE_VALID) == 0) { victim = w; break; }
    }
    if (victim == tlbWays) {
      evicted = true;
      if (randomReplacement) {
        victim = nextRandom() % tlbWays;
      } else {
        const last = <u64>(tlbWays - 1);
        p = line + 8;
        for (let w: u32 = 0; w < tlbWays; ++w, p += TLBE_BYTES) {
          if ((load<u64>(p) >> TLBE_RANK_SHIFT) == last) { victim = w; break; }
        }
      }
    }
  }
  const e = line + <usize>victim * TLBE_BYTES;
  const old1 = load<u64>(e, 8);
  if (evicted) {
    // an entry of the same LPID replaced: its core's holder count and mask bit do not change
    const oldLpid = <u32>((old1 & TLBE_LPID) >> TLBE_LPID_SHIFT);
    if (oldLpid != lpid) {
      holderDec(oldLpid, core);
      holderInc(lpid, core);
    }
    bump(STAT_TLB_EVICTIONS, gs);
  } else {
    holderInc(lpid, core);
  }
  store<u64>(e, key);
  store<u64>(e, (rpn & TLBE_RPN) | (<u64>lpid << TLBE_LPID_SHIFT) | (old1 & TLBE_RANK), 8);
  store<u8>(fpOf(e), <u8>fingerprint(key, lpid));
  // the new entry becomes the most recent (every way rewritten: no data-dependent branch)
  const rank = old1 >> TLBE_RANK_SHIFT;
  let p = line + 8;
  for (let w: u32 = 0; w < tlbWays; ++w, p += TLBE_BYTES) {
    const x = load<u64>(p);
    store<u64>(p, x + (<u64>((x >> TLBE_RANK_SHIFT) < rank) << TLBE_RANK_SHIFT));
  }
  store<u64>(e, load<u64>(e, 8) & ~TLBE_RANK, 8);
  bump(STAT_TLB_FILLS, gs);
}

/** Invalidate the entries of one line that match (key, lpid); returns how many. */
function invalidateMatching(line: usize, core: u32, key: u64, lpid: u32): u32 {
  const k1 = <u64>lpid << TLBE_LPID_SHIFT;
  let n: u32 = 0;
  let p = line;
  for (let w: u32 = 0; w < tlbWays; ++w, p += TLBE_BYTES) {
    if (load<u64>(p) == key && (load<u64>(p, 8) & TLBE_LPID) == k1) {
      store<u64>(p, 0);
      store<u8>(fpOf(p), 0);
      ++n;
    }
  }
  for (let i: u32 = 0; i < n; ++i) holderDec(lpid, core);
  return n;
}

/** Provenance word of the entry at `e` (same index as the TLB entry). */
// @ts-ignore: decorator
@inline export function provOf(e: usize): usize {
  return prov + ((e - tlb) >> 1);
}

/** Mark one entry stale (unless it already is: the first cause is kept) and record why. */
// @ts-ignore: decorator
@inline function markEntry(p: usize, why: u64): u32 {
  const w1 = load<u64>(p, 8);
  if ((w1 & TLBE_STALE) != 0) return 0;
  store<u64>(p, w1 | TLBE_STALE, 8);
  store<u64>(provOf(p), why);
  return 1;
}

/**
 * The detector's bookkeeping (no effect on translation): after a local invalidation of (key, lpid)
 * on `exceptCore`, every other core's entry for it is stale. `why` = the provenance word (layout.ts, PROV_*).
 */
export function markStale(set: u32, key: u64, lpid: u32, exceptCore: u32, why: u64): u32 {
  const k1 = <u64>lpid << TLBE_LPID_SHIFT;
  let n: u32 = 0;
  if (tlbWays == 4) {
    // POWER7's 4 ways: the holders whose fingerprint bytes may hold the entry (tlbieCandidates), then
    // each candidate's 4 ways compared at once
    const j = tlbieCandidates(set, key, lpid);
    const stripe = tlb + ((<usize>set * <usize>tlbGroups) << 6);
    for (let q: u32 = 0; q < j; ++q) {
      const core = load<u32>(candidates + (<usize>q << 2));
      if (core == exceptCore) continue;
      const line = stripe + (<usize>core << 6);
      let hits = hits4(line, key, k1);
      while (hits != 0) {
        n += markEntry(line + (<usize>ctz(hits) << 4), why);
        hits &= hits - 1;
      }
    }
  } else {
    const m = lpidMask + ((<usize>lpid * <usize>maskWords) << 3);
    const ways = tlbWays;
    for (let i: u32 = 0; i < maskWords; ++i) {
      let bits = load<u64>(m + (<usize>i << 3));
      while (bits != 0) {
        const core = (i << 6) + <u32>ctz(bits);
        bits &= bits - 1;
        if (core == exceptCore) continue;
        let p = tlbLine(core, set);
        for (let w: u32 = 0; w < ways; ++w, p += TLBE_BYTES) {
          if (load<u64>(p) == key && (load<u64>(p, 8) & TLBE_LPID) == k1) n += markEntry(p, why);
        }
      }
    }
  }
  // machine-wide and for the guest whose entries they are (docs/kvm-model.md, "Stale marks")
  if (n != 0) bump(STAT_STALE_MARKED, guestStatsOf(guestOfLpid(lpid)), <u64>n);
  return n;
}

/** Mark every entry of `lpid` on every core stale (LPID freed, HPT reset without a tlbie). */
export function markStaleLpid(lpid: u32, why: u64): u32 {
  const k1 = <u64>lpid << TLBE_LPID_SHIFT;
  let n: u32 = 0;
  const m = lpidMask + ((<usize>lpid * <usize>maskWords) << 3);
  for (let i: u32 = 0; i < maskWords; ++i) {
    let bits = load<u64>(m + (<usize>i << 3));
    while (bits != 0) {
      const core = (i << 6) + <u32>ctz(bits);
      bits &= bits - 1;
      for (let s: u32 = 0; s < tlbSets; ++s) {
        let p = tlbLine(core, s);
        for (let w: u32 = 0; w < tlbWays; ++w, p += TLBE_BYTES) {
          if ((load<u64>(p) & TLBE_VALID) != 0 && (load<u64>(p, 8) & TLBE_LPID) == k1) n += markEntry(p, why);
        }
      }
    }
  }
  // machine-wide and for the guest whose entries they are (docs/kvm-model.md, "Stale marks")
  if (n != 0) bump(STAT_STALE_MARKED, guestStatsOf(guestOfLpid(lpid)), <u64>n);
  return n;
}

/** Flush every entry of every LPID on one core (PPC970: 256 × tlbiel per set, no LPID tags). */
export function flushCore(core: u32): u32 {
  let n: u32 = 0;
  for (let s: u32 = 0; s < tlbSets; ++s) n += tlbielSet(core, s, 0, true);
  return n;
}

/** tlbiel of one VA on one core (IS = 0b00). */
export function tlbielVa(core: u32, set: u32, key: u64, lpid: u32): u32 {
  return invalidateMatching(tlbLine(core, set), core, key, lpid);
}

/**
 * The cores whose TLB line for (set, key, lpid) may hold it, into `candidates` in core order; their
 * count. POWER7's 4 ways only: each holder's 4 fingerprint bytes (one u32) are read, and a holder is
 * a candidate when one byte equals the VA's fingerprint (the entries decide). Compacted without a
 * branch: every holder is written, the count advances only on a match. With holders on most cores
 * (a guest everywhere) the set's whole fingerprint stripe is scanned 16 bytes at a time instead; a
 * core that is no holder has no entry of the LPID, so a false match there removes nothing. Used by
 * tlbie (tlbieVa) and by the detector's stale marking (markStale).
 */
function tlbieCandidates(set: u32, key: u64, lpid: u32): u32 {
  const m = lpidMask + ((<usize>lpid * <usize>maskWords) << 3);
  const fps = tlbFp + ((<usize>set * <usize>tlbGroups) << 2);
  const fp = fingerprint(key, lpid);
  let holders: u32 = 0;
  for (let i: u32 = 0; i < maskWords; ++i) holders += <u32>popcnt(load<u64>(m + (<usize>i << 3)));
  let j: u32 = 0;
  if (holders * 8 > tlbGroups) {
    const pat = i8x16.splat(<i8>fp);
    const groups = tlbGroups >> 2;
    for (let q: u32 = 0; q < groups; ++q) {
      const eq = i8x16.eq(v128.load(fps + (<usize>q << 4)), pat);
      if (!v128.any_true(eq)) continue;
      let b = i8x16.bitmask(eq);
      while (b != 0) {
        const core = (q << 2) + (<u32>ctz(b) >> 2);
        b &= ~(<u32>0xf << ((core & 3) << 2));
        store<u32>(candidates + (<usize>j << 2), core);
        ++j;
      }
    }
    for (let core = groups << 2; core < tlbGroups; ++core) {
      store<u32>(candidates + (<usize>j << 2), core);
      j += <u32>fpAny(load<u32>(fps + (<usize>core << 2)), fp);
    }
    return j;
  }
  for (let i: u32 = 0; i < maskWords; ++i) {
    let bits = load<u64>(m + (<usize>i << 3));
    while (bits != 0) {
      const core = (i << 6) + <u32>ctz(bits);
      bits &= bits - 1;
      store<u32>(candidates + (<usize>j << 2), core);
      j += <u32>fpAny(load<u32>(fps + (<usize>core << 2)), fp);
    }
  }
  return j;
}

/** Load the TLB lines of the first `j` candidates together (many misses in flight); changes nothing. */
function touchCandidates(set: u32, j: u32): void {
  const stripe = tlb + ((<usize>set * <usize>tlbGroups) << 6);
  let sink: u64 = 0;
  for (let q: u32 = 0; q < j; ++q) sink += load<u64>(stripe + (<usize>load<u32>(candidates + (<usize>q << 2)) << 6));
  store<u64>(sinkCell, load<u64>(sinkCell) + sink);
}

/** tlbie of one VA: reaches every core; only cores that hold entries of `lpid` are visited. */
export function tlbieVa(set: u32, key: u64, lpid: u32): u32 {
  let n: u32 = 0;
  if (tlbWays == 4) {
    // POWER7: the candidates (tlbieCandidates), their lines loaded together, then the matches removed
    // in core order
    const j = tlbieCandidates(set, key, lpid);
    touchCandidates(set, j);
    const stripe = tlb + ((<usize>set * <usize>tlbGroups) << 6);
    const k1 = <u64>lpid << TLBE_LPID_SHIFT;
    for (let q: u32 = 0; q < j; ++q) {
      const core = load<u32>(candidates + (<usize>q << 2));
      const line = stripe + (<usize>core << 6);
      // the 4 ways compared at once (a candidate's fingerprint match is rarely false)
      let hits = hits4(line, key, k1);
      while (hits != 0) {
        const e = line + (<usize>ctz(hits) << 4);
        hits &= hits - 1;
        store<u64>(e, 0);
        store<u8>(fpOf(e), 0);
        holderDec(lpid, core);
        ++n;
      }
    }
    return n;
  }
  const m = lpidMask + ((<usize>lpid * <usize>maskWords) << 3);
  for (let i: u32 = 0; i < maskWords; ++i) {
    let bits = load<u64>(m + (<usize>i << 3));
    while (bits != 0) {
      const core = (i << 6) + <u32>ctz(bits);
      bits &= bits - 1;
      n += invalidateMatching(tlbLine(core, set), core, key, lpid);
    }
  }
  return n;
}

/** tlbiel of one congruence class: IS = 0b10 (entries of `lpid`) or 0b11 (`all`: every LPID). */
export function tlbielSet(core: u32, set: u32, lpid: u32, all: bool): u32 {
  const line = tlbLine(core, set);
  const k1 = <u64>lpid << TLBE_LPID_SHIFT;
  let n: u32 = 0;
  let p = line;
  for (let w: u32 = 0; w < tlbWays; ++w, p += TLBE_BYTES) {
    if ((load<u64>(p) & TLBE_VALID) == 0) continue;
    const w1 = load<u64>(p, 8);
    if (all || (w1 & TLBE_LPID) == k1) {
      store<u64>(p, 0);
      store<u8>(fpOf(p), 0);
      holderDec(<u32>((w1 & TLBE_LPID) >> TLBE_LPID_SHIFT), core);
      ++n;
    }
  }
  return n;
}

/** KVM's flush on guest entry: every set with IS = 0b10 on one core (docs/model/tlb.md §4, docs/model/kvm.md §4). */
export function flushLpidOnCore(core: u32, lpid: u32): u32 {
  if (tlbHeld(lpid, core) == 0) return 0; // nothing of this LPID here: the loop would find nothing
  let n: u32 = 0;
  for (let s: u32 = 0; s < tlbSets; ++s) n += tlbielSet(core, s, lpid, false);
  return n;
}

/** Every entry invalid, ranks = way numbers; holder counts and masks are zero (fresh memory). */
export function tlbReset(): void {
  const total = <usize>tlbSets * <usize>tlbGroups;
  let line = tlb;
  for (let i: usize = 0; i < total; ++i) {
    let p = line;
    for (let w: u32 = 0; w < tlbWays; ++w, p += TLBE_BYTES) {
      store<u64>(p, 0);
      store<u64>(p, <u64>w << TLBE_RANK_SHIFT, 8);
    }
    line += <usize>tlbWays * TLBE_BYTES;
  }
}
