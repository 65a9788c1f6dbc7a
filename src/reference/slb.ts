/**
 * SLB VSID word → segment parameters, and EA → VA for one translation (docs/model/translation.md §2.1, docs/semantics.md
 * "Translation").
 */
import { SLB_VSID_B_1T, SLB_VSID_B_MASK, SLB_VSID_LLP_MASK, U64_MASK, lowMask } from "./constants.js";
import { PAGE_SIZES, slbPageShift } from "../model/page-sizes.js";

/** Decoded SLB VSID word. */
export interface Segment {
  /** Segment size field B: 0 = 256 MB, 1 = 1 TB. */
  b: number;
  /** The VSID (256 MB: bits 12–61 of the word, 1 TB: bits 24–61). */
  vsid: bigint;
  /** Base page shift from L‖LP: 12, 16 or 24. */
  pageShift: number;
}

/** Bits 52–61 of the VSID word: a VSID reaching them gives a VA ≥ 2^68 (256 MB: VSID ≥ 2^40, 1 TB: VSID ≥ 2^28). */
const VSID_ABOVE_68_BITS = 0x3ff0000000000000n;
/** Bits 12–23: must be clear in a 1 TB VSID word. */
const VSID_1T_LOW_BITS = 0x0000000000fff000n;

export function isU64(x: bigint): boolean {
  return typeof x === "bigint" && x >= 0n && x <= U64_MASK;
}

/**
 * Decode and validate an SLB VSID word. Throws RangeError for anything that is not a valid POWER7
 * segment of the three supported base page sizes giving a VA below 2^68 (docs/semantics.md).
 * Ks, Kp, N, C and the reserved low bits are ignored.
 */
export function decodeSlb(slbV: bigint): Segment {
  if (typeof slbV !== "bigint" || !isU64(slbV)) throw new RangeError(`slbV ${String(slbV)} is not a u64`);
  const bField = slbV & SLB_VSID_B_MASK;
  let b: number;
  if (bField === 0n) b = 0;
  else if (bField === SLB_VSID_B_1T) b = 1;
  else throw new RangeError(`slbV 0x${slbV.toString(16)}: segment size B must be 00 (256 MB) or 01 (1 TB)`);

  // the page-size table (src/model/page-sizes.ts): L||LP → base page shift
  const pageShift = slbPageShift(slbV);
  if (pageShift === 0) {
    const llp = slbV & SLB_VSID_LLP_MASK;
    const known = PAGE_SIZES.map((s) => `${s.name} (0x${s.slbEnc.toString(16).padStart(3, "0")})`);
    throw new RangeError(`slbV 0x${slbV.toString(16)}: L||LP 0x${llp.toString(16)} is not ${known.slice(0, -1).join(", ")} or ${known[known.length - 1]}`);
  }

  if ((slbV & VSID_ABOVE_68_BITS) !== 0n) {
    throw new RangeError(`slbV 0x${slbV.toString(16)}: VSID gives a VA of 2^68 or more`);
  }
  if (b === 1 && (slbV & VSID_1T_LOW_BITS) !== 0n) {
    throw new RangeError(`slbV 0x${slbV.toString(16)}: bits 12-23 of a 1 TB VSID word must be clear`);
  }
  const vsid = b === 0 ? (slbV >> 12n) & lowMask(50) : (slbV >> 24n) & lowMask(38);
  return { b, vsid, pageShift };
}

/** Segment offset of an EA: 28 bits (256 MB) or 40 bits (1 TB). */
export function segmentOffsetBits(b: number): number {
  return b === 1 ? 40 : 28;
}

/** Everything one translation (or a tlbiel/tlbie by EA) needs from (slbV, ea). */
export interface VaPage {
  seg: Segment;
  /** EA & segment-offset mask. */
  off: bigint;
  /** off with the in-page bits cleared. */
  epn: bigint;
  /** VA >> 12 with the in-page bits cleared (TLB tag). */
  vpn4k: bigint;
}

export function vaPageOf(slbV: bigint, ea: bigint): VaPage {
  const seg = decodeSlb(slbV);
  if (!isU64(ea)) throw new RangeError(`ea ${String(ea)} is not a u64`);
  const off = ea & lowMask(segmentOffsetBits(seg.b));
  const epn = off & ~lowMask(seg.pageShift);
  // 256M: VA = VSID << 28 | off  →  VA >> 12 = VSID << 16 | off >> 12
  // 1T:   VA = VSID << 40 | off  →  VA >> 12 = VSID << 28 | off >> 12
  const vsidShift = seg.b === 1 ? 28n : 16n;
  const vpn4k = (seg.vsid << vsidShift) | (epn >> 12n);
  return { seg, off, epn, vpn4k };
}
