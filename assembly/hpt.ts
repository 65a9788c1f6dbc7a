// The hashed page table: page-size decoding, the POWER hash, the hardware walk on a TLB miss,
// and the VA recovered from an HPTE for invalidation (what compute_tlbie_rb encodes, docs/model/tlb.md §5).
import { G_FLAGS, G_HPT, G_HTAB_MASK, G_HPT_MAX_PAGE_SHIFT, GF_QEMU, STAT_PTEGS_PROBED } from "./layout";
import { bump } from "./machine";
import { tlbKey } from "./tlb";

// docs/model/translation.md §3.1, first doubleword
// @ts-ignore: decorator
@inline export const HPTE_V_VALID: u64 = 0x1;
// @ts-ignore: decorator
@inline export const HPTE_V_SECONDARY: u64 = 0x2;
// @ts-ignore: decorator
@inline export const HPTE_V_LARGE: u64 = 0x4;
// @ts-ignore: decorator
@inline export const HPTE_V_ABSENT: u64 = 0x20;
// @ts-ignore: decorator
@inline export const HPTE_V_HVLOCK: u64 = 0x40;
/** QEMU's migration dirty flag at the same bit (docs/model/hcalls.md §3.1). */
// @ts-ignore: decorator
@inline export const HPTE_V_HPTE_DIRTY: u64 = 0x40;
/** B + AVPN + H + V: what the hardware compares (QEMU's 0x…ff83). */
// @ts-ignore: decorator
@inline export const HPTE_V_COMPARE: u64 = 0xffffffffffffff83;
// docs/model/translation.md §3.2, second doubleword
// @ts-ignore: decorator
@inline export const HPTE_R_PP0: u64 = 0x8000000000000000;
// @ts-ignore: decorator
@inline export const HPTE_GR_RESERVED: u64 = 0x4000000000000000;
// @ts-ignore: decorator
@inline export const HPTE_R_KEY_HI: u64 = 0x3000000000000000;
// @ts-ignore: decorator
@inline export const HPTE_R_RPN: u64 = 0x0ffffffffffff000;
// @ts-ignore: decorator
@inline export const HPTE_R_KEY_LO: u64 = 0xe00;
// @ts-ignore: decorator
@inline export const HPTE_R_R: u64 = 0x100;
// @ts-ignore: decorator
@inline export const HPTE_R_C: u64 = 0x80;
// @ts-ignore: decorator
@inline export const HPTE_R_W: u64 = 0x40;
// @ts-ignore: decorator
@inline export const HPTE_R_I: u64 = 0x20;
// @ts-ignore: decorator
@inline export const HPTE_R_M: u64 = 0x10;
// @ts-ignore: decorator
@inline export const HPTE_R_G: u64 = 0x08;
// @ts-ignore: decorator
@inline export const HPTE_R_WIMG: u64 = 0x78;
// @ts-ignore: decorator
@inline export const HPTE_R_N: u64 = 0x04;
// @ts-ignore: decorator
@inline export const HPTE_R_PP: u64 = 0x03;

/**
 * KVM-HV's (base, actual) page sizes (Linux 6.1 kvmppc_hpte_page_shifts, up to 16M; on base = actual
 * Linux 3.8's hpte_page_size): actual << 8 | base, 0 when refused (docs/model/translation.md §2.2, §2.7).
 */
// @ts-ignore: decorator
@inline export function pageShiftsKvm(v: u64, r: u64): u32 {
  if ((v & HPTE_V_LARGE) == 0) return 0x0c0c;
  if ((r & 0xf000) == 0x7000) return 0x100c;
  if ((r & 0xff000) == 0x38000) return 0x180c;
  if ((r & 0xf000) == 0x1000) return 0x1010;
  if ((r & 0xff000) == 0x8000) return 0x1810;
  if ((r & 0xff000) == 0) return 0x1818;
  return 0;
}

/**
 * QEMU 7.2 pseries' (base, actual) under cap-hpt-max-page-size: its POWER7 table less 64K-in-4K
 * (spapr_pagesize_cb); 16M checks every in-page RPN bit. actual << 8 | base, 0 when refused.
 */
// @ts-ignore: decorator
@inline export function pageShiftsQemu(v: u64, r: u64, maxShift: u32): u32 {
  if ((v & HPTE_V_LARGE) == 0) return 0x0c0c;
  if ((r & 0xfff000) == 0x38000) return maxShift >= 24 ? 0x180c : 0;
  if ((r & 0xf000) == 0x1000) return maxShift >= 16 ? 0x1010 : 0;
  if ((r & 0xfff000) == 0x8000) return maxShift >= 24 ? 0x1810 : 0;
  if ((r & 0xfff000) == 0) return maxShift >= 24 ? 0x1818 : 0;
  return 0;
}

/** KVM-HV's actual page shift (kvmppc_actual_pgsz): 12, 16, 24, or 0. */
// @ts-ignore: decorator
@inline export function pageShiftKvm(v: u64, r: u64): u32 {
  return pageShiftsKvm(v, r) >> 8;
}

/** QEMU's actual page shift under the cap: 12, 16, 24, or 0. */
// @ts-ignore: decorator
@inline export function pageShiftQemu(v: u64, r: u64, maxShift: u32): u32 {
  return pageShiftsQemu(v, r, maxShift) >> 8;
}

/** (base, actual) of an HPTE as the guest's implementation decodes it: actual << 8 | base, 0 when refused. */
// @ts-ignore: decorator
@inline export function pageShiftsOf(g: usize, v: u64, r: u64): u32 {
  return (load<u32>(g, G_FLAGS) & GF_QEMU) != 0
    ? pageShiftsQemu(v, r, load<u32>(g, G_HPT_MAX_PAGE_SHIFT))
    : pageShiftsKvm(v, r);
}

/** Actual page shift of an HPTE as the guest's implementation decodes it. */
// @ts-ignore: decorator
@inline export function pageShiftOf(g: usize, v: u64, r: u64): u32 {
  return pageShiftsOf(g, v, r) >> 8;
}

// @ts-ignore: decorator
@inline export function psizeCode(shift: u32): u64 {
  return shift == 12 ? 0 : shift == 16 ? 1 : 2;
}

/** The TLB entry's psize code of a (base, actual) pair (actual << 8 | base): psizeCode when equal, else 3 64K-in-4K, 4 16M-in-4K, 5 16M-in-64K. */
// @ts-ignore: decorator
@inline export function pairCode(shifts: u32): u64 {
  const base = shifts & 0xff;
  const actual = shifts >> 8;
  return base == actual ? psizeCode(base) : actual == 16 ? 3 : base == 12 ? 4 : 5;
}

// Results of the last successful decodeSlb()/vaFromHpte(), kept in globals so nothing is allocated.
export let xKey: u64 = 0;      // TLB tag word
export let xSet: u32 = 0;      // congruence class
export let xShift: u32 = 0;    // base page shift
export let xHash: u64 = 0;     // POWER hash (unmasked)
export let xCmp: u64 = 0;      // HPTE compare word (B | AVPN | V)

/**
 * Decode an SLB VSID word and an EA (docs/model/translation.md §2): page size from L‖LP, VA page, TLB set, hash and
 * compare word. False for a segment POWER7 cannot have (B ≥ 2, bad L‖LP, VA ≥ 2^68).
 */
// @ts-ignore: decorator
@inline export function decodeSlb(slbV: u64, ea: u64, tlbSets: u32): bool {
  const b = slbV >> 62;
  if (b > 1) return false;
  const llp = <u32>slbV & 0x130;
  let p: u32;
  if (llp == 0) p = 12;
  else if (llp == 0x110) p = 16;
  else if (llp == 0x100) p = 24;
  else return false;
  const inPage = (<u64>1 << p) - 1;
  let vsid: u64, epn: u64, vpn4k: u64;
  if (b == 0) {
    vsid = (slbV >> 12) & 0x3ffffffffffff;
    if ((vsid >> 40) != 0) return false;
    epn = ea & 0x0fffffff & ~inPage;
    vpn4k = (vsid << 16) | (epn >> 12);
    xHash = vsid ^ (epn >> p);
  } else {
    if (((slbV >> 12) & 0xfff) != 0) return false;
    vsid = (slbV >> 24) & 0x3fffffffff;
    if ((vsid >> 28) != 0) return false;
    epn = ea & 0xffffffffff & ~inPage;
    vpn4k = (vsid << 28) | (epn >> 12);
    xHash = vsid ^ (vsid << 25) ^ (epn >> p);
  }
  xShift = p;
  xKey = tlbKey(vpn4k, b, psizeCode(p));
  xSet = <u32>(vpn4k >> (p - 12)) & (tlbSets - 1);
  xCmp = (slbV & 0xfffffffffffff000) | ((epn >> 16) & 0x3fffffffffffff80) | HPTE_V_VALID;
  return true;
}

/**
 * The VA an HPTE translates, recovered from (v, r, ptex) as compute_tlbie_rb does: B, VSID and the
 * segment-offset bits above 23 from the AVPN, the page-index bits below VA bit 23 from the PTEG
 * number (the hash). False when no TLB can hold it (bad size, B ≥ 2, VA ≥ 2^68).
 */
export function vaFromHpte(g: usize, v: u64, r: u64, ptex: u64, tlbSets: u32): bool {
  // the hash was taken at the base page size; the TLB entry is the actual page's (translation.md §2.7)
  const ps = pageShiftsOf(g, v, r);
  if (ps == 0) return false;
  const p = ps & 0xff;
  const a = ps >> 8;
  const b = v >> 62;
  if (b > 1) return false;
  let vsid: u64, offHi: u64, vsidTerm: u64, segShift: u64;
  if (b == 0) {
    vsid = (v >> 12) & 0x3ffffffffffff;
    if ((vsid >> 40) != 0) return false;
    offHi = (v >> 7) & 0x1f; // VA bits 23..27
    vsidTerm = vsid;
    segShift = 16;
  } else {
    vsid = (v >> 24) & 0x3fffffffff;
    if ((vsid >> 28) != 0) return false;
    offHi = (v >> 7) & 0x1ffff; // VA bits 23..39
    vsidTerm = vsid ^ (vsid << 25);
    segShift = 28;
  }
  let pteg = ptex >> 3;
  if ((v & HPTE_V_SECONDARY) != 0) pteg = ~pteg;
  let pageIndex: u64;
  if (p < 23) {
    const low = (<u64>1 << (23 - p)) - 1;
    pageIndex = (offHi << (23 - p)) | ((pteg ^ vsidTerm) & low);
  } else {
    pageIndex = offHi >> (p - 23);
  }
  const vpn4k = ((vsid << segShift) | (pageIndex << (p - 12))) & ~((<u64>1 << (a - 12)) - 1);
  xShift = a;
  xKey = tlbKey(vpn4k, b, pairCode(ps));
  xSet = <u32>(vpn4k >> (a - 12)) & (tlbSets - 1);
  return true;
}

/**
 * Search one PTEG for the HPTE matching `cmp` (B|AVPN|V, plus H for the secondary group) whose
 * base page size decodes to `shift` (the segment's; its actual size may be larger, translation.md §2.7). Returns the HPTE address or 0.
 */
export function ptegSearch(g: usize, pteg: u32, cmp: u64, shift: u32): usize {
  let p = <usize>load<u32>(g, G_HPT) + (<usize>pteg << 7);
  for (let i = 0; i < 8; ++i, p += 16) {
    const v = load<u64>(p);
    if ((v & HPTE_V_COMPARE) == cmp && (pageShiftsOf(g, v, load<u64>(p, 8)) & 0xff) == shift) return p;
  }
  return 0;
}

/** Set the decode results (xKey …) to those a decodeSlb() gave earlier (the translate pipeline keeps them). */
export function setDecoded(key: u64, set: u32, shift: u32, hash: u64, cmp: u64): void {
  xKey = key;
  xSet = set;
  xShift = shift;
  xHash = hash;
  xCmp = cmp;
}

/** PTEGs the last hptWalk() probed (1 or 2). */
export let hptWalkProbes: u32 = 0;

/** The hardware walk after a TLB miss: primary group, then secondary (docs/model/translation.md §2.5). HPTE address or 0. */
export function hptWalk(g: usize, gs: usize): usize {
  const mask = <u64>load<u32>(g, G_HTAB_MASK);
  bump(STAT_PTEGS_PROBED, gs);
  hptWalkProbes = 1;
  let p = ptegSearch(g, <u32>(xHash & mask), xCmp, xShift);
  if (p != 0) return p;
  bump(STAT_PTEGS_PROBED, gs);
  hptWalkProbes = 2;
  return ptegSearch(g, <u32>(~xHash & mask), xCmp | HPTE_V_SECONDARY, xShift);
}
