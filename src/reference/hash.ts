/**
 * The HPT hash and its inverse (docs/model/translation.md §2.3, docs/model/tlb.md §5).
 */
import {
  HPTE_V_AVPN, HPTE_V_B_SHIFT, HPTE_V_COMPARE, HPTE_V_SECONDARY, lowMask,
} from "./constants.js";
import type { VaPage } from "./slb.js";

/** Linux masks the hash to 39 bits. */
export const HASH_MASK = lowMask(39);

/** 256 MB segment: hash = VSID XOR ((EA & 0x0fffffff) >> p)   (docs/model/translation.md §2.3). */
export function hptHash256M(vsid: bigint, segOffset: bigint, pageShift: number): bigint {
  return (vsid ^ ((segOffset & 0x0fffffffn) >> BigInt(pageShift))) & HASH_MASK;
}

/** 1 TB segment: hash = VSID XOR (VSID << 25) XOR ((EA & 0xffffffffff) >> p)   (docs/model/translation.md §2.3). */
export function hptHash1T(vsid: bigint, segOffset: bigint, pageShift: number): bigint {
  return (vsid ^ (vsid << 25n) ^ ((segOffset & 0xffffffffffn) >> BigInt(pageShift))) & HASH_MASK;
}

/** The hash of a translation, by segment size. */
export function hptHash(b: number, vsid: bigint, segOffset: bigint, pageShift: number): bigint {
  return b === 1 ? hptHash1T(vsid, segOffset, pageShift) : hptHash256M(vsid, segOffset, pageShift);
}

/** Number of PTEGs minus one for an HPT of 2^order bytes: 2^(order−7) − 1. */
export function htabMask(hptOrder: number): bigint {
  return lowMask(hptOrder - 7);
}

export function primaryPteg(hash: bigint, mask: bigint): bigint {
  return hash & mask;
}

/** Secondary PTEG = ~hash & htab_mask (== primary XOR htab_mask). */
export function secondaryPteg(hash: bigint, mask: bigint): bigint {
  return ~hash & mask;
}

/**
 * The word an HPTE's `v & 0xffffffffffffff80` must equal (docs/semantics.md step 4):
 * `(slbV & 0xfffffffffffff000 & (B|VSID)) | ((epn >> 16) & AVPN)`.
 */
export function compareWord(slbV: bigint, page: VaPage): bigint {
  return ((slbV & 0xfffffffffffff000n) | ((page.epn >> 16n) & HPTE_V_AVPN)) & HPTE_V_COMPARE;
}

/** A virtual page recovered from an HPTE. */
export interface RecoveredVa {
  /** B field of v (0..3; only 0 and 1 can be in a TLB). */
  b: number;
  /** Full VA of the page (in-page bits clear); may be ≥ 2^68. */
  va: bigint;
  /** va >> 12. */
  vpn4k: bigint;
  pageShift: number;
}

/**
 * Recover the virtual page of an HPTE from (v, ptex) the way `compute_tlbie_rb` does (docs/model/tlb.md §5):
 * - VA bits 23..77 are the AVPN (v bits 7..61);
 * - the page-index bits below VA bit 23 come from the PTEG number: x = ptex >> 3, complemented
 *   (within htab_mask) when H is set, XOR the VSID term of the hash (256 MB: VSID = v >> 12;
 *   1 TB: VSID = v >> 24, term VSID ^ VSID << 25).
 * `pageShift` is the base page size the hash used; a larger `actualShift` (a mixed page-size segment)
 * clears the actual page's offset bits.
 */
export function recoverVa(v: bigint, ptex: bigint, mask: bigint, pageShift: number, actualShift = pageShift): RecoveredVa {
  const b = Number(v >> HPTE_V_B_SHIFT);
  const is1T = b === 1;
  const vsid = is1T ? (v >> 24n) & lowMask(38) : (v >> 12n) & lowMask(50);
  const vsidTerm = is1T ? vsid ^ (vsid << 25n) : vsid;

  let pteg = ptex >> 3n;
  if ((v & HPTE_V_SECONDARY) !== 0n) pteg = ~pteg;
  pteg &= mask;

  const high = ((v & HPTE_V_AVPN) >> 7n) << 23n; // VA bits 23..77
  let low = 0n;
  if (pageShift < 23) {
    const nbits = 23 - pageShift; // 11 for 4K, 7 for 64K
    low = ((pteg ^ vsidTerm) & lowMask(nbits)) << BigInt(pageShift);
  }
  // the hash was taken at the base page size (pageShift); the page is the actual one (docs/model/translation.md §2.7)
  const va = (high | low) & ~lowMask(actualShift);
  return { b, va, vpn4k: va >> 12n, pageShift: actualShift };
}
