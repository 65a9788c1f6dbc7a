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

/** KVM-HV's hpte_page_size as a shift: 4K, 64K (ARCH_206), 16M, else 0 (docs/model/translation.md §2.2). */
// @ts-ignore: decorator
@inline export function pageShiftKvm(v: u64, r: u64): u32 {
  if ((v & HPTE_V_LARGE) == 0) return 12;
  if ((r & 0xf000) == 0x1000) return 16;
  if ((r & 0xff000) == 0) return 24;
  return 0;
}

/** QEMU 7.2's decoder under cap-hpt-max-page-size: base = actual only; 16M checks every in-page RPN bit. */
// @ts-ignore: decorator
@inline export function pageShiftQemu(v: u64, r: u64, maxShift: u32): u32 {
  if ((v & HPTE_V_LARGE) == 0) return 12;
  if ((r & 0xf000) == 0x1000) return maxShift >= 16 ? 16 : 0;
  if ((r & 0xfff000) == 0) return maxShift >= 24 ? 24 : 0;
  return 0;
}

/** Page shift of an HPTE as the guest's implementation decodes it. */
// @ts-ignore: decorator
@inline export function pageShiftOf(g: usize, v: u64, r: u64): u32 {
  return (load<u32>(g, G_FLAGS) & GF_QEMU) != 0
    ? pageShiftQemu(v, r, load<u32>(g, G_HPT_MAX_PAGE_SHIFT))
    : pageShiftKvm(v, r);
}

// @ts-ignore: decorator
@inline export function psizeCode(shift: u32): u64 {
  return shift == 12 ? 0 : shift == 16 ? 1 : 2;
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
  const p = pageShiftOf(g, v, r);
  if (p == 0) return false;
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
  const vpn4k = (vsid << segShift) | (pageIndex << (p - 12));
  xShift = p;
  xKey = tlbKey(vpn4k, b, psizeCode(p));
  xSet = <u32>(vpn4k >> (p - 12)) & (tlbSets - 1);
  return true;
}

/**
 * Search one PTEG for the HPTE matching `cmp` (B|AVPN|V, plus H for the secondary group) whose
 * page size decodes to `shift`. Returns the HPTE address or 0.
 */
export function ptegSearch(g: usize, pteg: u32, cmp: u64, shift: u32): usize {
  let p = <usize>load<u32>(g, G_HPT) + (<usize>pteg << 7);
  for (let i = 0; i < 8; ++i, p += 16) {
    const v = load<u64>(p);
    if ((v & HPTE_V_COMPARE) == cmp && pageShiftOf(g, v, load<u64>(p, 8)) == shift) return p;
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
