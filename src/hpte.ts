/**
 * Building segment words and HPTEs the way a Linux guest does (docs/model/translation.md §2, §3): what workloads,
 * examples and tests use to create translations. Pure functions over bigint.
 */
import { PAGE_SHIFTS, pageSizeOf, type PageShift } from "./model/page-sizes.js";

export const HPTE_V_VALID = 0x1n;
export const HPTE_V_SECONDARY = 0x2n;
export const HPTE_V_LARGE = 0x4n;
export const HPTE_V_BOLTED = 0x10n;
export const HPTE_R_M = 0x10n;
export const HPTE_R_I = 0x20n;
export const HPTE_R_R = 0x100n;
export const HPTE_R_C = 0x80n;
export const HPTE_R_RPN = 0x0ffffffffffff000n;

export const H_EXACT = 0x0000008000000000n;
export const H_R_XLATE = 0x0000004000000000n;
export const H_READ_4 = 0x0000002000000000n;
export const H_AVPN = 0x0000000080000000n;
export const H_ANDCOND = 0x0000000040000000n;
export const H_LOCAL = 0x0000000010000000n;

export const H_SUCCESS = 0;
export const H_PRIVILEGE = -3;
export const H_PARAMETER = -4;
export const H_PTEG_FULL = -6;
export const H_NOT_FOUND = -7;

export type { PageShift };
export type SegmentSize = "256M" | "1T";

/** The page-size table's entry of a shift (src/model/page-sizes.ts). */
function pageSize(pageShift: PageShift) {
  const s = pageSizeOf(pageShift);
  if (!s) throw new RangeError(`pageShift ${pageShift} is not one of ${PAGE_SHIFTS.join(", ")}`);
  return s;
}

/** The SLB VSID word for a segment: B, VSID and the base page size (L||LP from the page-size table). */
export function slbVsidWord(vsid: bigint, pageShift: PageShift = 12, segment: SegmentSize = "256M"): bigint {
  const llp = pageSize(pageShift).slbEnc;
  return segment === "256M" ? (vsid << 12n) | llp : (1n << 62n) | (vsid << 24n) | llp;
}

export interface HpteSpec {
  vsid: bigint;
  segment?: SegmentSize;
  /** The segment's base page size (default 4K). */
  pageShift?: PageShift;
  /** The page's actual size when larger than the base (a mixed page-size segment, docs/model/translation.md §2.7): LP names the pair. */
  actualPageShift?: PageShift;
  /** Effective address inside the segment (only the segment offset is used). */
  ea: bigint;
  /** Guest real address of the page (aligned down to the page size). */
  gpa: bigint;
  /** Put the entry in the secondary PTEG (H = 1). */
  secondary?: boolean;
  /** WIMG bits of r (default M = 0x10, normal memory). */
  wimg?: bigint;
  /** PP bits (default 2: read/write). */
  pp?: bigint;
  bolted?: boolean;
}

export interface Hpte {
  /** First doubleword (pteh) with V set. */
  v: bigint;
  /** Second doubleword (ptel). */
  r: bigint;
  /** The PTEG this entry hashes to (primary or secondary as asked), for an HPT of `hptOrder`. */
  pteg(hptOrder: number): bigint;
  /** First slot of that PTEG: pass as ptex to H_ENTER without H_EXACT. */
  ptex(hptOrder: number): bigint;
  /** The SLB VSID word of its segment. */
  slbV: bigint;
}

/** The POWER hash of docs/model/translation.md §2.3 for a page of a segment. */
export function hptHash(vsid: bigint, ea: bigint, pageShift: PageShift, segment: SegmentSize): bigint {
  if (segment === "256M") return vsid ^ ((ea & 0x0fffffffn) >> BigInt(pageShift));
  return vsid ^ (vsid << 25n) ^ ((ea & 0xffffffffffn) >> BigInt(pageShift));
}

/** An HPTE mapping `ea` of the segment to `gpa`, encoded as Linux's hpte_encode_v/r do. */
export function makeHpte(spec: HpteSpec): Hpte {
  const segment = spec.segment ?? "256M";
  const p = spec.pageShift ?? 12;
  const psize = 1n << BigInt(p);
  const offMask = segment === "256M" ? 0x0fffffffn : 0xffffffffffn;
  const epn = spec.ea & offMask & ~(psize - 1n);
  const slbV = slbVsidWord(spec.vsid, p, segment);
  let v = (slbV & 0xfffffffffffff000n) | ((epn >> 16n) & 0x3fffffffffffff80n) | HPTE_V_VALID;
  const a = spec.actualPageShift ?? p;
  const enc = pageSize(p).enc.find((e) => e.shift === a);
  if (!enc) throw new RangeError(`makeHpte: a ${pageSize(p).name} segment holds no ${2 ** (a - 10)} KiB pages`);
  if (enc.large) v |= HPTE_V_LARGE;
  if (spec.secondary) v |= HPTE_V_SECONDARY;
  if (spec.bolted) v |= HPTE_V_BOLTED;
  let r = (spec.gpa & HPTE_R_RPN & ~((1n << BigInt(a)) - 1n)) | (spec.wimg ?? HPTE_R_M) | (spec.pp ?? 2n);
  r |= enc.lp; // LP: kvmppc_pgsize_lp_encoding(base, actual) << 12 (64K: 0x1000; 16M in 4K: 0x38000)
  const hash = hptHash(spec.vsid, epn, p, segment);
  const pteg = (order: number) => {
    const mask = (1n << BigInt(order - 7)) - 1n;
    return (spec.secondary ? ~hash : hash) & mask;
  };
  return { v, r, slbV, pteg, ptex: (order) => pteg(order) * 8n };
}
