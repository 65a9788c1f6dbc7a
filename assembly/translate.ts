// The translate op's hot path and the batch pipeline around it (issue 5).
//
// runBatch works through the op buffer in chunks (CHUNK ops). Before a chunk executes, `lookahead`
// reads it level by level, each level's loads issued together in one tight loop so that the
// memory system serves them in parallel (WASM has no prefetch instruction; an ordinary load whose
// value goes nowhere does the job): first the lines each op needs at once — a translation's TLB
// line (it is decoded here, once, and the op reuses the decode), a hypercall's HPTE, PTEG, revmap
// entry and rmap word — then what those lines point at: the primary PTEG of a translation the TLB
// line says will miss, the rmap-ring neighbours of an entry being removed, the head and then the
// tail of the ring an entry joins. Translations are read ahead only where it pays: on machines
// whose TLB is too large to stay cached (1 MiB or more), or when the previous chunk missed into
// large HPTs (4 MiB or more). Predictions only decide which lines are loaded early: execution
// re-does every lookup on the live state, so nothing simulated depends on them.
//
// The translation counters and the cycles of the translate category are summed per batch (per
// guest in a small direct-mapped table) and added to the global and guest blocks by
// `flushTranslateStats` — at the end of every runBatch, and before any op that creates or destroys
// a guest (which zeroes or frees a stats block). No op reads them in between. The cpu's clock and
// its own translate cycles are charged at once (other ops read clocks).
import {
  OP_BYTES, OP_TRANSLATE, OP_H_ENTER, OP_H_REMOVE, OP_H_PROTECT, OP_H_READ, XLATE_HIT, XLATE_MISS,
  XLATE_FAULT, XLATE_BAD_SLB, STAT_TRANSLATIONS, STAT_TLB_HITS, STAT_TLB_MISSES, STAT_HPT_WALKS, STAT_HPT_FAULTS,
  STAT_CYCLES, STATS_BYTES, CC_TRANSLATE, CPU_CLOCK, CPU_CYCLES, G_FLAGS, G_HPT, G_HTAB_MASK, G_NPTE, G_REVMAP, G_RMAP,
  G_RAM_HOST_PAGES, G_INSTANCE, G_HPT_ORDER, GF_QEMU, K_TLB_HIT, K_PTEG_WALK, CC_WALK, TLBE_RPN, TLBE_STALE, TLBE_RANK,
  RMAP_PRESENT, RMAP_INDEX, HDR_MIXED_FILLS, TLBE_VPN, TLBE_B_SHIFT,
} from "./layout";
import {
  cores, smt, tlbGroupShift, tlbGroups, tlbSets, lpidLimit, lpidGuest, guests, guestStats, guestDesc, stats, frameOwner, hostFrames,
  hostPageShift, maxGuests, bump, tlbWays, header,
} from "./machine";
import { decodeSlb, hptWalk, hptWalkProbes, xKey, xSet, xShift, xHash, xCmp, setDecoded, pageShiftsOf, pairCode, HPTE_R_R, HPTE_R_C, HPTE_R_RPN } from "./hpt";
import { tlbLine, tlbLookup, tlbTouch, tlbFill, tlbKey } from "./tlb";
import { cpuRec } from "./kvm/records";
import { cost, charge } from "./kvm/costs";
import { detect } from "./kvm/detector";
import { hvFault } from "./kvm/fault";

/** Ops looked ahead at once (a power of two). */
// @ts-ignore: decorator
@inline export const CHUNK: u32 = 128;
// @ts-ignore: decorator
@inline const DEC_BYTES: u32 = 64;
/**
 * Per op of the chunk: the decoded translation (key u64, hash u64, cmp u64, set u32, shift u32 (0: bad
 * SLB)) and two addresses to touch (u32 @32, @36; 0 = none).
 */
const decoded: usize = memory.data(<i32>(CHUNK * DEC_BYTES), 16);
/** The primary PTEGs of the chunk's predicted TLB misses. */
const missList: usize = memory.data(<i32>(CHUNK * 4), 16);
/** Where the touched values go, so that no load is optimised away. */
const sinkCell: usize = memory.data(8, 8);

// ───────────────────────────── per-batch translation counters ─────────────────────────────

// @ts-ignore: decorator
@inline const ACC_SLOTS: u32 = 16;
/** Direct-mapped by guest slot: tag (slot + 1, 0 = empty) u32 @0, hits u32 @4, misses u32 @8. */
const acc: usize = memory.data(<i32>(ACC_SLOTS * 16), 16);
/** Translations of LPIDs without a guest: hits, misses (global counters only). */
let orphanHits: u64 = 0;
let orphanMisses: u64 = 0;
/** cycles of one translation (K_TLB_HIT), read at the start of each batch. */
let kHit: u64 = 0;

/** Add (hits, misses) of guest slot `slot` to its stats block and the global one. */
function addTranslations(slot: u32, hits: u64, misses: u64): void {
  const gs: usize = slot == 0xffffffff ? 0 : guestStats + <usize>slot * STATS_BYTES;
  const n = hits + misses;
  bump(STAT_TRANSLATIONS, gs, n);
  bump(STAT_TLB_HITS, gs, hits);
  bump(STAT_TLB_MISSES, gs, misses);
  bump(STAT_CYCLES + CC_TRANSLATE, gs, kHit * n);
}

/** Count one translation of guest slot `slot` (hit or miss) in the batch's table. */
// @ts-ignore: decorator
@inline function countTranslation(slot: u32, hit: bool): void {
  const e = acc + (<usize>(slot & (ACC_SLOTS - 1)) << 4);
  if (load<u32>(e) != slot + 1) {
    const tag = load<u32>(e);
    if (tag != 0) addTranslations(tag - 1, <u64>load<u32>(e, 4), <u64>load<u32>(e, 8));
    store<u32>(e, slot + 1);
    store<u64>(e, 0, 4);
  }
  const f = e + select<usize>(4, 8, hit);
  store<u32>(f, load<u32>(f) + 1);
}

/** Start of a batch: the cost table may have changed since the last one. */
export function beginTranslateStats(): void {
  kHit = cost(K_TLB_HIT);
}

/** Put the batch's translation counters where the host (and the next batch) reads them. */
export function flushTranslateStats(): void {
  for (let i: u32 = 0; i < ACC_SLOTS; ++i) {
    const e = acc + (<usize>i << 4);
    const tag = load<u32>(e);
    if (tag == 0) continue;
    addTranslations(tag - 1, <u64>load<u32>(e, 4), <u64>load<u32>(e, 8));
    store<u32>(e, 0);
    store<u64>(e, 0, 4);
  }
  if ((orphanHits | orphanMisses) != 0) {
    addTranslations(0xffffffff, orphanHits, orphanMisses);
    orphanHits = 0;
    orphanMisses = 0;
  }
}

// ───────────────────────────── lookahead ─────────────────────────────

/**
 * Whether the current chunk's predicted TLB misses have their PTEG loaded ahead: when the previous
 * chunk missed twice or more into HPTs of 4 MiB or more (smaller ones stay in the caches). It costs
 * a few ns per translation and saves most of a DRAM latency per miss.
 */
let lookTranslations = false;
let chunkMisses: u32 = 0;
/** Whether the current chunk's translations were decoded by the lookahead (their TLB lines touched). */
let readTranslations = false;
// @ts-ignore: decorator
@inline const LOOK_MIN_ORDER: u32 = 22;

// ───────────────────────────── when to read ahead ─────────────────────────────
//
// Reading ahead pays when the chunk's lines are not in the caches (hptOpsMix: 2×), and costs a few
// ns an op when they are (a real guest's trace touches ~20,000 of its 524,288 HPT slots: its points
// run ~10% faster without). Which case a run is in is measured, not guessed: every PERIOD chunks,
// PROBE chunks alternate with and without the lookahead, each timed by the host's clock (an
// import), and the cheaper way per op is kept until the next probe. The choice changes only which
// lines are loaded early, never a simulated result (test/golden.test.ts runs both ways).

// @ts-ignore: decorator
@external("env", "now")
declare function hostNow(): f64;

// @ts-ignore: decorator
@inline const PERIOD: u32 = 2048;
// @ts-ignore: decorator
@inline const PROBE: u32 = 16;
/** 0: measured (default); 1: always read ahead; 2: never (setLookahead). */
let lookaheadMode: u32 = 0;
/** Whether the next chunk is read ahead. */
let lookaheadOn = true;
let chunkNo: u32 = 0;
let probeTime: f64 = 0; // with − without, per op, summed over the probe's chunk pairs
let probeStart: f64 = 0;

/** Fix the lookahead (1 always, 2 never) or let it be measured (0). Results never depend on it. */
export function setLookahead(mode: u32): void {
  lookaheadMode = mode;
  lookaheadOn = mode != 2;
  chunkNo = 0;
  probeTime = 0;
}

/** Whether the next chunk is read ahead (the current choice), 1 or 0. */
export function lookaheadIsOn(): u32 {
  return <u32>lookaheadOn;
}

/** Before a chunk executes: decides whether it is read ahead; in a probe, starts its clock. */
export function chunkBegin(): void {
  if (lookaheadMode != 0) return;
  const k = chunkNo & (PERIOD - 1);
  if (k < PROBE) {
    lookaheadOn = (k & 1) == 0;
    probeStart = hostNow();
  }
}

/** After chunk execution: in a probe, its time per op is booked; at the probe's end the cheaper way is kept. */
export function chunkEnd(n: u32): void {
  if (lookaheadMode != 0) return;
  const k = chunkNo & (PERIOD - 1);
  ++chunkNo;
  if (k >= PROBE) return;
  const perOp = (hostNow() - probeStart) / <f64>n;
  probeTime += lookaheadOn ? perOp : -perOp;
  if (k == PROBE - 1) {
    lookaheadOn = probeTime <= 0;
    probeTime = 0;
  }
}

/** Indices (in the chunk) of its hypercall ops, for the levels that only they need. */
const hcallList: usize = memory.data(<i32>(CHUNK * 4), 16);

/** Load the 4 touch addresses (u32 @32..@44) of the `n` hypercalls listed: many loads in flight at once. */
function touchHcalls(n: u32): void {
  let sink: u64 = 0;
  for (let k: u32 = 0; k < n; ++k) {
    const d = decoded + <usize>load<u32>(hcallList + (<usize>k << 2)) * DEC_BYTES;
    sink += <u64>load<u32>(<usize>load<u32>(d, 32)) + <u64>load<u32>(<usize>load<u32>(d, 36))
      + <u64>load<u32>(<usize>load<u32>(d, 40)) + <u64>load<u32>(<usize>load<u32>(d, 44));
  }
  store<u64>(sinkCell, load<u64>(sinkCell) + sink);
}

/**
 * Read ahead the `n` ops from `o0` (see the file comment). Touches memory; changes nothing simulated.
 * Level 1 decodes each translation and reads its TLB line at once (the lines of consecutive
 * translations are independent loads, so many are in flight), noting the primary PTEG of each
 * predicted miss; the PTEGs are then loaded together. Hypercalls are listed and read level by level
 * (HPTE, revmap entry and rmap word; then the rmap ring neighbours of an entry being removed and
 * the head of the ring an entry joins; then that ring's tail), each level in one tight loop.
 */
export function lookahead(o0: usize, n: u32): void {
  lookTranslations = lookaheadOn && chunkMisses >= 2;
  chunkMisses = 0;
  // translations are read ahead when their TLB lines are unlikely to be cached (a TLB of 1 MiB or
  // more: over 128 cores of POWER7's) or when they miss into large HPTs; with the lookahead off,
  // nothing is (translations decode for themselves)
  readTranslations = lookTranslations || (lookaheadOn && ((<usize>tlbSets * <usize>tlbGroups * <usize>tlbWays) << 4) >= (1 << 20));
  if (!lookaheadOn) return;
  const cpus = cores * smt;
  let nHcalls: u32 = 0;
  let nMiss: u32 = 0;
  let sink: u64 = 0;
  let o = o0;
  let d = decoded;
  // level 1
  for (let j: u32 = 0; j < n; ++j, o += OP_BYTES, d += DEC_BYTES) {
    const w0 = load<u64>(o);
    const opcode = <u32>w0 & 0xffff;
    if (opcode == OP_TRANSLATE) {
      if (!readTranslations) continue;
      // decoded once here, for the op itself; its TLB line is read
      const cpu = <u32>(w0 >> 32) & 0xffff;
      const ok = decodeSlb(load<u64>(o, 16), load<u64>(o, 24), tlbSets);
      const lpid = <u32>load<u64>(o, 80);
      store<u64>(d, xKey);
      store<u64>(d, xHash, 8);
      store<u64>(d, xCmp, 16);
      store<u32>(d, xSet, 24);
      store<u32>(d, select<u32>(xShift, 0, ok & (lpid < lpidLimit)), 28);
      const line = tlbLine(select<u32>(cpu, 0, cpu < cpus) >> tlbGroupShift, xSet);
      if (!lookTranslations) {
        sink += load<u64>(line);
        continue;
      }
      // predicted miss (no way's tag is the key): its primary PTEG goes to a dense list
      const key = xKey;
      if ((load<u64>(line) != key) & (load<u64>(line, 16) != key) & (load<u64>(line, 32) != key) & (load<u64>(line, 48) != key)) {
        const s = load<u32>(lpidGuest + (<usize>select<u32>(lpid, 0, lpid < lpidLimit) << 2));
        const g = guestDesc(select<u32>(s - 1, 0, s != 0));
        store<u32>(missList + (<usize>nMiss << 2), load<u32>(g, G_HPT) + ((<u32>xHash & load<u32>(g, G_HTAB_MASK)) << 7));
        ++nMiss;
      }
      continue;
    }
    if (opcode == OP_H_REMOVE || opcode == OP_H_PROTECT || opcode == OP_H_READ || opcode == OP_H_ENTER) {
      const slot = <u32>(w0 >> 48);
      if (slot >= maxGuests) continue;
      const g = guestDesc(slot);
      const npte = <u64>load<u32>(g, G_NPTE);
      const ptex = load<u64>(o, 24);
      if (ptex >= npte) continue;
      store<u32>(hcallList + (<usize>nHcalls << 2), j);
      ++nHcalls;
      store<u32>(d, <u32>g, 48);
      const hpt = <usize>load<u32>(g, G_HPT);
      const rev = <usize>load<u32>(g, G_REVMAP);
      if (opcode == OP_H_ENTER) {
        // the group it searches, the revmap line of its slots, the rmap word of the page it maps
        const group = <usize>(ptex & ~(<u64>7)) << 4;
        store<u32>(d, <u32>(hpt + group), 32);
        store<u32>(d, <u32>(hpt + group + 64), 36);
        store<u32>(d, <u32>(rev + group), 40);
        const gfn = (load<u64>(o, 40) & HPTE_R_RPN) >> <u64>hostPageShift;
        const ok = (load<u32>(g, G_FLAGS) & GF_QEMU) == 0 && gfn < <u64>load<u32>(g, G_RAM_HOST_PAGES);
        store<u32>(d, <u32>select<usize>(<usize>load<u32>(g, G_RMAP) + (<usize>gfn << 3), o, ok), 44);
        continue;
      }
      // the entry and its guest view
      const e = <usize>ptex << 4;
      store<u32>(d, <u32>(hpt + e), 32);
      store<u32>(d, <u32>(rev + e), 36);
      store<u64>(d, (<u64>o << 32) | <u64>o, 40);
    }
  }
  for (let k: u32 = 0; k < nMiss; ++k) sink += <u64>load<u32>(<usize>load<u32>(missList + (<usize>k << 2)));
  store<u64>(sinkCell, load<u64>(sinkCell) + sink);
  if (nHcalls == 0) return;
  touchHcalls(nHcalls);
  // level 2: a removed entry's ring neighbours; an entered page's ring head
  for (let k: u32 = 0; k < nHcalls; ++k) {
    const j = load<u32>(hcallList + (<usize>k << 2));
    o = o0 + <usize>j * OP_BYTES;
    d = decoded + <usize>j * DEC_BYTES;
    const opcode = <u32>load<u64>(o) & 0xffff;
    const g = <usize>load<u32>(d, 48);
    const npte = <u64>load<u32>(g, G_NPTE);
    const rev = <usize>load<u32>(g, G_REVMAP);
    const rp = <usize>load<u32>(d, 44);
    store<u64>(d, (<u64>o << 32) | <u64>o, 32);
    store<u64>(d, (<u64>o << 32) | <u64>o, 40);
    if (opcode == OP_H_ENTER) {
      const rmap = rp == o ? 0 : load<u64>(rp);
      const head = rmap & RMAP_INDEX;
      store<u32>(d, <u32>select<usize>(rev + (<usize>head << 4), o, (rmap & RMAP_PRESENT) != 0 && head < npte), 32);
      continue;
    }
    if (opcode == OP_H_REMOVE) {
      const e = rev + (<usize>load<u64>(o, 24) << 4);
      const forw = <u64>load<u32>(e, 8);
      const back = <u64>load<u32>(e, 12);
      store<u32>(d, <u32>select<usize>(rev + (<usize>forw << 4), o, forw < npte), 32);
      store<u32>(d, <u32>select<usize>(rev + (<usize>back << 4), o, back < npte), 36);
      const gfn = (load<u64>(e) & HPTE_R_RPN) >> <u64>hostPageShift;
      const ok = (load<u32>(g, G_FLAGS) & GF_QEMU) == 0 && gfn < <u64>load<u32>(g, G_RAM_HOST_PAGES);
      store<u32>(d, <u32>select<usize>(<usize>load<u32>(g, G_RMAP) + (<usize>gfn << 3), o, ok), 40);
    }
  }
  touchHcalls(nHcalls);
  // level 3: the tail of the ring an entry joins (the head's back)
  for (let k: u32 = 0; k < nHcalls; ++k) {
    const j = load<u32>(hcallList + (<usize>k << 2));
    o = o0 + <usize>j * OP_BYTES;
    d = decoded + <usize>j * DEC_BYTES;
    const g = <usize>load<u32>(d, 48);
    const h = <usize>load<u32>(d, 32);
    store<u64>(d, (<u64>o << 32) | <u64>o, 32);
    store<u64>(d, (<u64>o << 32) | <u64>o, 40);
    if ((<u32>load<u64>(o) & 0xffff) != OP_H_ENTER || h == o) continue;
    const tail = <u64>load<u32>(h, 12);
    const rev = <usize>load<u32>(g, G_REVMAP);
    store<u32>(d, <u32>select<usize>(rev + (<usize>tail << 4), o, tail < <u64>load<u32>(g, G_NPTE)), 32);
  }
  touchHcalls(nHcalls);
}

// ───────────────────────────── translate ─────────────────────────────

/** A TLB hit at (line, way): the real address, the detector's verdict (kvm-hv guests), LRU. */
// @ts-ignore: decorator
@inline function translateHit(o: usize, cpu: u32, s: u32, line: usize, way: i32, ea: u64, inPage: u64): void {
  const slot = s - 1;
  const e = line + (<usize>way << 4);
  const w1 = load<u64>(e, 8);
  store<u64>(o, XLATE_HIT, 8);
  store<u64>(o, ((w1 & TLBE_RPN) << 12) | (ea & inPage), 40);
  let verdict: u64 = 0;
  if (s != 0) {
    countTranslation(slot, true);
    // the detector (kvm-hv guests): the entry's host frame must still be the guest's; the full
    // check runs only when it is not, or when the entry is marked stale
    const g = guestDesc(slot);
    const frame = (w1 & TLBE_RPN) >> <u64>(hostPageShift - 12);
    const owner = frame < <u64>hostFrames ? load<u32>(frameOwner + (<usize>frame << 2)) : 0;
    if ((load<u32>(g, G_FLAGS) & GF_QEMU) == 0 && ((w1 & TLBE_STALE) != 0 || owner != load<u32>(g, G_INSTANCE))) {
      verdict = detect(cpu, g, guestStats + <usize>slot * STATS_BYTES, e, ea);
    }
  } else {
    ++orphanHits;
  }
  store<u64>(o, verdict, 48);
  if ((w1 & TLBE_RANK) != 0) tlbTouch(line, <u32>way); // rank 0: already the most recent
}


/**
 * Translate for op `o`, the `j`-th of its chunk (docs/semantics.md, "Translation"; docs/kvm-model.md,
 * "Detector"): r3 = XLATE_*, word 5 = real address, word 6 = the detector's verdict on a hit.
 */
// @ts-ignore: decorator
@inline export function translateOp(o: usize, cpu: u32, j: u32): void {
  const d = decoded + <usize>j * DEC_BYTES;
  const lpid = <u32>load<u64>(o, 80);
  let key: u64, set: u32, shift: u32;
  if (readTranslations) {
    // the lookahead's decode (the miss path puts it in the decode globals for the walk)
    shift = load<u32>(d, 28);
    if (shift == 0) {
      store<u64>(o, XLATE_BAD_SLB, 8);
      return;
    }
    key = load<u64>(d);
    set = load<u32>(d, 24);
  } else {
    if (lpid >= lpidLimit || !decodeSlb(load<u64>(o, 16), load<u64>(o, 24), tlbSets)) {
      store<u64>(o, XLATE_BAD_SLB, 8);
      return;
    }
    key = xKey;
    set = xSet;
    shift = xShift;
  }
  const ea = load<u64>(o, 24);
  const s = load<u32>(lpidGuest + (<usize>lpid << 2));
  const slot = s - 1; // 0xffffffff: no guest
  // the guest's work before this access (no category), then the translation's own cycles
  const c = cpuRec(cpu);
  store<u64>(c, load<u64>(c, CPU_CLOCK) + load<u64>(o, 56) + kHit, CPU_CLOCK);
  store<u64>(c, load<u64>(c, CPU_CYCLES) + kHit, CPU_CYCLES + (CC_TRANSLATE << 3));
  const core = cpu >> tlbGroupShift; // the cpu's TLB (docs/model/tlb.md §7.2)
  const inPage = (<u64>1 << shift) - 1;
  const line = tlbLine(core, set);
  const way = tlbLookup(line, key, lpid);
  if (way >= 0) {
    translateHit(o, cpu, s, line, way, ea, inPage);
    return;
  }
  if (shift < 24 && load<u32>(header, HDR_MIXED_FILLS) != 0) {
    // a larger page in this segment (docs/model/translation.md §2.7): its one entry covers it
    const w = lookupLarger(core, key, lpid, shift);
    if (w >= 0) {
      translateHit(o, cpu, s, largeLine, w, ea, (<u64>1 << largeShift) - 1);
      return;
    }
  }
  store<u64>(o, 0, 48);
  if (readTranslations) setDecoded(key, set, shift, load<u64>(d, 8), load<u64>(d, 16));
  translateMiss(o, cpu, s, lpid, core, line, key, set, shift, ea);
}

/** Where lookupLarger found its entry: the line and the actual page shift. */
let largeLine: usize = 0;
let largeShift: u32 = 0;

/**
 * Look up the larger actual page sizes a segment of base `base` may hold (4K: 64K, 16M; 64K: 16M),
 * each at its own congruence class and tag (docs/model/translation.md §2.7). The way, or -1.
 */
function lookupLarger(core: u32, key: u64, lpid: u32, base: u32): i32 {
  const vpn = key & TLBE_VPN;
  const b = (key >> TLBE_B_SHIFT) & 1;
  for (let a: u32 = base == 12 ? 16 : 24; a <= 24; a += 8) {
    const va = vpn & ~((<u64>1 << (a - 12)) - 1);
    const line = tlbLine(core, <u32>(va >> (a - 12)) & (tlbSets - 1));
    const way = tlbLookup(line, tlbKey(va, b, pairCode((a << 8) | base)), lpid);
    if (way >= 0) {
      largeLine = line;
      largeShift = a;
      return way;
    }
  }
  return -1;
}

/** The miss path: walk (and HV fault), fill, charge the PTEGs probed. */
function translateMiss(o: usize, cpu: u32, s: u32, lpid: u32, core: u32, line: usize, key: u64, set: u32, shift: u32, ea: u64): void {
  const slot = s - 1;
  let g: usize = 0;
  let gs: usize = 0;
  if (s != 0) {
    g = guestDesc(slot);
    gs = guestStats + <usize>slot * STATS_BYTES;
    countTranslation(slot, false);
    if (load<u32>(g, G_HPT_ORDER) >= LOOK_MIN_ORDER) ++chunkMisses;
  } else {
    ++orphanMisses;
  }
  let inPage = (<u64>1 << shift) - 1;
  let hp: usize = 0;
  let ptegs: u32 = 0;
  if (g != 0) {
    bump(STAT_HPT_WALKS, gs);
    hp = hptWalk(g, gs);
    ptegs = hptWalkProbes;
    if (hp == 0) hp = hvFault(cpu, g, gs);
  }
  if (ptegs != 0) charge(cpu, gs, CC_WALK, cost(K_PTEG_WALK) * <u64>ptegs);
  if (hp == 0) {
    bump(STAT_HPT_FAULTS, gs);
    store<u64>(o, XLATE_FAULT, 8);
    store<u64>(o, 0, 40);
    return;
  }
  // the walk sets R, and C on a store (docs/model/translation.md §2.5)
  const r = load<u64>(hp, 8) | HPTE_R_R | (load<u64>(o, 32) == 1 ? HPTE_R_C : 0);
  store<u64>(hp, r, 8);
  const ps = pageShiftsOf(g, load<u64>(hp), r);
  if ((ps >> 8) != shift) {
    // a larger actual page than the segment's base (docs/model/translation.md §2.7): one entry for the
    // whole page, at the actual page's congruence class
    const a = ps >> 8;
    inPage = (<u64>1 << a) - 1;
    const va = (key & TLBE_VPN) & ~((<u64>1 << (a - 12)) - 1);
    key = tlbKey(va, (key >> TLBE_B_SHIFT) & 1, pairCode(ps));
    set = <u32>(va >> (a - 12)) & (tlbSets - 1);
    store<u32>(header, 1, HDR_MIXED_FILLS);
  }
  const rpn = (r & HPTE_R_RPN & ~inPage) >> 12;
  tlbFill(core, set, key, lpid, rpn, gs);
  store<u64>(o, XLATE_MISS, 8);
  store<u64>(o, (rpn << 12) | (ea & inPage), 40);
}

