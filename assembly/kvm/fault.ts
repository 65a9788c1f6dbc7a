// The HV page-fault path (kvmppc_book3s_hv_page_fault): an ABSENT HPTE of guest RAM becomes valid
// again when a translation walks onto it.
import { NO_FRAME, G_HPT, G_HTAB_MASK, G_REVMAP, G_FRAMES, G_INSTANCE, G_RAM_BYTES, K_HV_FAULT, CC_HV_FAULT, STAT_HV_FAULTS } from "../layout";
import { hostPageShift, bump, takeFrame } from "../machine";
import { HPTE_V_VALID, HPTE_V_ABSENT, HPTE_V_SECONDARY, HPTE_V_COMPARE, HPTE_R_RPN, HPTE_R_PP0, pageShiftsOf, xHash, xCmp, xShift } from "../hpt";
import { rmapAdd } from "../rmap";
import { isQemu } from "./records";
import { cost, charge } from "./costs";

/** Search one PTEG for an ABSENT HPTE matching the translation being walked (xCmp without V). */
function absentSearch(g: usize, pteg: u32, cmp: u64, shift: u32): usize {
  let p = <usize>load<u32>(g, G_HPT) + (<usize>pteg << 7);
  const want = (cmp & ~HPTE_V_VALID) | HPTE_V_ABSENT;
  for (let i = 0; i < 8; ++i, p += 16) {
    const v = load<u64>(p);
    if ((v & (HPTE_V_COMPARE | HPTE_V_ABSENT)) == want && (pageShiftsOf(g, v, load<u64>(p, 8)) & 0xff) == shift) return p;
  }
  return 0;
}

/**
 * The HV page-fault path (kvmppc_book3s_hv_page_fault) after a walk found no VALID HPTE: an ABSENT
 * entry for guest RAM gets a frame (lowest free, if its page was taken away), its host address, V,
 * and a place on the rmap ring again. Returns the HPTE address, or 0 (a real guest fault / MMIO).
 */
export function hvFault(cpu: u32, g: usize, gs: usize): usize {
  if (isQemu(g)) return 0;
  const mask = <u64>load<u32>(g, G_HTAB_MASK);
  let hp = absentSearch(g, <u32>(xHash & mask), xCmp, xShift);
  if (hp == 0) hp = absentSearch(g, <u32>(~xHash & mask), xCmp | HPTE_V_SECONDARY, xShift);
  if (hp == 0) return 0;
  const ptex = <u64>((hp - <usize>load<u32>(g, G_HPT)) >> 4);
  const rev = <usize>load<u32>(g, G_REVMAP) + (<usize>ptex << 4);
  const psize = <u64>1 << (pageShiftsOf(g, load<u64>(hp), load<u64>(hp, 8)) >> 8); // the actual page (§2.6)
  const gpa = (load<u64>(rev) & HPTE_R_RPN) & ~(psize - 1);
  if (gpa >= load<u64>(g, G_RAM_BYTES)) return 0; // emulated MMIO: the guest's access is emulated, no translation
  const gfn = gpa >> hostPageShift;
  const fp = <usize>load<u32>(g, G_FRAMES) + (<usize>gfn << 2);
  let frame = load<u32>(fp);
  if (frame == NO_FRAME) {
    frame = takeFrame(load<u32>(g, G_INSTANCE));
    if (frame == NO_FRAME) return 0;
    store<u32>(fp, frame);
  }
  const hostPage = <u64>1 << hostPageShift;
  let pa = <u64>frame << hostPageShift;
  if (hostPage > psize) pa |= gpa & (hostPage - 1);
  store<u64>(hp, (load<u64>(hp, 8) & ~(HPTE_R_PP0 - psize)) | pa, 8);
  rmapAdd(g, gs, gfn, ptex); // the same ring discipline as H_ENTER
  store<u64>(hp, (load<u64>(hp) & ~HPTE_V_ABSENT) | HPTE_V_VALID);
  charge(cpu, gs, CC_HV_FAULT, cost(K_HV_FAULT));
  bump(STAT_HV_FAULTS, gs);
  return hp;
}
