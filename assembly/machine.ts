// Machine-wide state read from the header once per batch (attach()), and counters.
import {
  HDR_CORES, HDR_SMT, HDR_TLB_SETS, HDR_TLB_WAYS, HDR_REPLACEMENT, HDR_LPID_LIMIT, HDR_HOST_PAGE_SHIFT, HDR_HOST_FRAMES,
  HDR_STATS, HDR_GUESTS, HDR_GUEST_STATS, HDR_OPS, HDR_OP_SLOTS, HDR_LPID_GUEST, HDR_LPID_MASK, HDR_LPID_COUNT,
  HDR_FRAME_OWNER, HDR_TLB, HDR_MASK_WORDS, GUEST_BYTES, STATS_BYTES, HDR_MAX_GUESTS, HDR_PROV, HDR_CPUS, HDR_CORE_TAB,
  HDR_VIOL, HDR_VIOL_SLOTS, HDR_COSTS, HDR_FABRIC_CAL, HDR_FRAME_USED, HDR_FRAME_HINT, HDR_FREE_FRAMES, NO_FRAME,
  HDR_TLB_SPLIT, HDR_TLB_FLUSH_SETS,
} from "./layout";

export let header: usize = 0;
export let cores: u32 = 0;
export let smt: u32 = 0;
export let smtShift: u32 = 0;
export let tlbSets: u32 = 0;
/** TLBs on the machine: one per group of 2^tlbGroupShift threads (docs/model/tlb.md §7.2); = cores when a core shares one. */
export let tlbGroups: u32 = 0;
/** log2 of the threads per TLB: a cpu's TLB is cpu >> tlbGroupShift. */
export let tlbGroupShift: u32 = 0;
/** tlbiels per full LPID flush (cost only; POWER10: 1). */
export let tlbFlushSets: u32 = 0;
export let tlbWays: u32 = 0;
export let randomReplacement: bool = false;
export let lpidLimit: u32 = 0;
export let maxGuests: u32 = 0;
export let hostPageShift: u32 = 0;
export let hostFrames: u32 = 0;
export let stats: usize = 0;
export let guests: usize = 0;
export let guestStats: usize = 0;
export let ops: usize = 0;
export let opSlots: u32 = 0;
export let lpidGuest: usize = 0;
export let lpidMask: usize = 0;
export let lpidCount: usize = 0;
export let frameOwner: usize = 0;
export let frameUsed: usize = 0;
export let tlb: usize = 0;
export let maskWords: u32 = 0;
export let prov: usize = 0;
/** TLB fingerprints: right after the provenance words (assembly/layout.ts). */
export let tlbFp: usize = 0;
export let cpuTab: usize = 0;
export let coreTab: usize = 0;
export let viol: usize = 0;
export let violSlots: u32 = 0;
export let costs: usize = 0;
export let fabricCal: usize = 0;

/** Load the geometry from the header at `base`. Called by the host once per batch (cheap). */
export function attachHeader(base: usize): void {
  header = base;
  cores = load<u32>(base, HDR_CORES);
  smt = load<u32>(base, HDR_SMT);
  smtShift = <u32>ctz(smt);
  tlbSets = load<u32>(base, HDR_TLB_SETS);
  tlbGroupShift = smtShift - load<u32>(base, HDR_TLB_SPLIT);
  tlbGroups = cores << load<u32>(base, HDR_TLB_SPLIT);
  tlbFlushSets = load<u32>(base, HDR_TLB_FLUSH_SETS);
  if (tlbFlushSets == 0) tlbFlushSets = tlbSets;
  tlbWays = load<u32>(base, HDR_TLB_WAYS);
  randomReplacement = load<u32>(base, HDR_REPLACEMENT) != 0;
  lpidLimit = load<u32>(base, HDR_LPID_LIMIT);
  maxGuests = load<u32>(base, HDR_MAX_GUESTS);
  hostPageShift = load<u32>(base, HDR_HOST_PAGE_SHIFT);
  hostFrames = load<u32>(base, HDR_HOST_FRAMES);
  stats = <usize>load<u32>(base, HDR_STATS);
  guests = <usize>load<u32>(base, HDR_GUESTS);
  guestStats = <usize>load<u32>(base, HDR_GUEST_STATS);
  ops = <usize>load<u32>(base, HDR_OPS);
  opSlots = load<u32>(base, HDR_OP_SLOTS);
  lpidGuest = <usize>load<u32>(base, HDR_LPID_GUEST);
  lpidMask = <usize>load<u32>(base, HDR_LPID_MASK);
  lpidCount = <usize>load<u32>(base, HDR_LPID_COUNT);
  frameOwner = <usize>load<u32>(base, HDR_FRAME_OWNER);
  frameUsed = <usize>load<u32>(base, HDR_FRAME_USED);
  tlb = <usize>load<u32>(base, HDR_TLB);
  maskWords = load<u32>(base, HDR_MASK_WORDS);
  prov = <usize>load<u32>(base, HDR_PROV);
  tlbFp = (prov + <usize>tlbSets * <usize>tlbGroups * <usize>tlbWays * 8 + 63) & ~(<usize>63);
  cpuTab = <usize>load<u32>(base, HDR_CPUS);
  coreTab = <usize>load<u32>(base, HDR_CORE_TAB);
  viol = <usize>load<u32>(base, HDR_VIOL);
  violSlots = load<u32>(base, HDR_VIOL_SLOTS);
  costs = base + HDR_COSTS;
  fabricCal = <usize>load<u32>(base, HDR_FABRIC_CAL);
}

// ───────────────────────────── host frames ─────────────────────────────
// A frame's owner word (0 = free), its bit in the frames-in-use bitmap and the header's count of
// free frames change together, here.

/** Give host frame `f` (free) to `owner` (a guest instance, or FRAME_HOST). */
export function frameTake(f: u32, owner: u32): void {
  store<u32>(frameOwner + (<usize>f << 2), owner);
  const w = frameUsed + (<usize>(f >> 6) << 3);
  store<u64>(w, load<u64>(w) | (<u64>1 << <u64>(f & 63)));
  store<u32>(header, load<u32>(header, HDR_FREE_FRAMES) - 1, HDR_FREE_FRAMES);
}

/** Free host frame `f` (taken). */
export function frameFree(f: u32): void {
  store<u32>(frameOwner + (<usize>f << 2), 0);
  const w = frameUsed + (<usize>(f >> 6) << 3);
  store<u64>(w, load<u64>(w) & ~(<u64>1 << <u64>(f & 63)));
  if ((f >> 6) < load<u32>(header, HDR_FRAME_HINT)) store<u32>(header, f >> 6, HDR_FRAME_HINT);
  store<u32>(header, load<u32>(header, HDR_FREE_FRAMES) + 1, HDR_FREE_FRAMES);
}

/** Lowest free host frame, taken for `owner`, or NO_FRAME. */
export function takeFrame(owner: u32): u32 {
  if (load<u32>(header, HDR_FREE_FRAMES) == 0) return NO_FRAME;
  const f = lowestFreeFrame();
  if (f != NO_FRAME) frameTake(f, owner);
  return f;
}

/** The lowest free host frame (not taken), or NO_FRAME: 64 frames a step, from the first word not known full. */
function lowestFreeFrame(): u32 {
  const words = (hostFrames + 63) >> 6;
  for (let i = load<u32>(header, HDR_FRAME_HINT); i < words; ++i) {
    const w = load<u64>(frameUsed + (<usize>i << 3));
    if (w != 0xffffffffffffffff) {
      store<u32>(header, i, HDR_FRAME_HINT);
      return (i << 6) + <u32>ctz(~w);
    }
  }
  store<u32>(header, words, HDR_FRAME_HINT);
  return NO_FRAME;
}

/** A fresh machine's frames: all free but for the bits past the last frame (set: never free). */
export function frameBitmapInit(): void {
  store<u32>(header, hostFrames, HDR_FREE_FRAMES);
  const spare = hostFrames & 63;
  if (spare != 0) store<u64>(frameUsed + (<usize>(hostFrames >> 6) << 3), ~((<u64>1 << <u64>spare) - 1));
  store<u32>(header, 0, HDR_FRAME_HINT);
}

/** Descriptor address of guest slot `slot`. */
// @ts-ignore: decorator
@inline export function guestDesc(slot: u32): usize {
  return guests + <usize>slot * GUEST_BYTES;
}

/** Stats block of the guest at descriptor `g` (0 = none). */
// @ts-ignore: decorator
@inline export function guestStatsOf(g: usize): usize {
  return g == 0 ? 0 : guestStats + ((g - guests) / GUEST_BYTES) * STATS_BYTES;
}

/** Add `n` to counter `stat` globally and in the guest stats block `gs` (0 = none). */
// @ts-ignore: decorator
@inline export function bump(stat: u32, gs: usize, n: u64 = 1): void {
  const p = stats + (<usize>stat << 3);
  store<u64>(p, load<u64>(p) + n);
  if (gs != 0) {
    const q = gs + (<usize>stat << 3);
    store<u64>(q, load<u64>(q) + n);
  }
}

/** Guest descriptor that currently owns `lpid`, or 0. */
// @ts-ignore: decorator
@inline export function guestOfLpid(lpid: u32): usize {
  if (lpid >= lpidLimit) return 0;
  const s = load<u32>(lpidGuest + (<usize>lpid << 2));
  return s == 0 ? 0 : guestDesc(s - 1);
}
