// The reverse maps of a kvm-hv guest (Linux 3.8 arch/powerpc/kvm/book3s_hv_rm_mmu.c): each host page of
// guest RAM has an rmap word (layout.ts draws it: RMAP_*) whose index names the head of a ring of
// the HPTEs that map the page, linked through their revmap entries (guest_rpte u64 @0, forw u32 @8,
// back u32 @12). H_ENTER and the HV fault link an entry, H_REMOVE / H_BULK_REMOVE unlink it and
// harvest its R/C, host paging (kvm/paging.ts) unlinks every entry of a page, reclaim reads R.
import { G_REVMAP, G_RMAP, G_RAM_HOST_PAGES, STAT_RMAP_LINKS, STAT_RMAP_UNLINKS, RMAP_PRESENT, RMAP_INDEX, RMAP_RC_SHIFT } from "./layout";
import { bump, hostPageShift } from "./machine";
import { HPTE_R_R, HPTE_R_C, HPTE_R_RPN, pageShiftKvm } from "./hpt";

/** The revmap entry of HPTE `ptex`. */
// @ts-ignore: decorator
@inline export function revAddr(g: usize, ptex: u64): usize {
  return <usize>load<u32>(g, G_REVMAP) + (<usize>ptex << 4);
}

/** The rmap word of host page `gfn` of guest RAM. */
// @ts-ignore: decorator
@inline export function rmapAddr(g: usize, gfn: u64): usize {
  return <usize>load<u32>(g, G_RMAP) + (<usize>gfn << 3);
}

/** kvmppc_add_revmap_chain: link `ptex` before the head of the ring of `gfn` (or start one). Returns the rmap word. */
export function rmapAdd(g: usize, gs: usize, gfn: u64, ptex: u64): u64 {
  const rp = rmapAddr(g, gfn);
  let rmap = load<u64>(rp);
  const rev = revAddr(g, ptex);
  if ((rmap & RMAP_PRESENT) != 0) {
    const head = rmap & RMAP_INDEX;
    const h = revAddr(g, head);
    const tail = <u64>load<u32>(h, 12);
    store<u32>(rev, <u32>head, 8);
    store<u32>(rev, <u32>tail, 12);
    store<u32>(revAddr(g, tail), <u32>ptex, 8);
    store<u32>(h, <u32>ptex, 12);
  } else {
    store<u32>(rev, <u32>ptex, 8);
    store<u32>(rev, <u32>ptex, 12);
    rmap = (rmap & ~RMAP_INDEX) | ptex | RMAP_PRESENT;
    store<u64>(rp, rmap);
  }
  bump(STAT_RMAP_LINKS, gs);
  return rmap;
}

/** remove_revmap_chain: harvest R/C from the real r into guest_rpte and the rmap, unlink `ptex`. */
export function rmapRemove(g: usize, gs: usize, ptex: u64, v: u64, hwR: u64): void {
  const rev = revAddr(g, ptex);
  const rcbits = hwR & (HPTE_R_R | HPTE_R_C);
  const ptel = load<u64>(rev) | rcbits;
  store<u64>(rev, ptel);
  const psize = pageShiftKvm(v, ptel);
  const gfn = ((ptel & HPTE_R_RPN) & ~((<u64>1 << psize) - 1)) >> hostPageShift;
  if (gfn >= <u64>load<u32>(g, G_RAM_HOST_PAGES)) return; // no memslot
  const rp = rmapAddr(g, gfn);
  let rmap = load<u64>(rp);
  const forw = <u64>load<u32>(rev, 8);
  const back = <u64>load<u32>(rev, 12);
  store<u32>(revAddr(g, forw), <u32>back, 12);
  store<u32>(revAddr(g, back), <u32>forw, 8);
  if ((rmap & RMAP_INDEX) == ptex) {
    if (forw == ptex) rmap &= ~(RMAP_PRESENT | RMAP_INDEX);
    else rmap = (rmap & ~RMAP_INDEX) | forw;
  }
  rmap |= rcbits << RMAP_RC_SHIFT;
  store<u64>(rp, rmap);
  bump(STAT_RMAP_UNLINKS, gs);
}

/**
 * Unlink the head HPTE of the ring `rmap` names (PRESENT set) from the revmap ring, as
 * kvm_unmap_rmapp does entry by entry. Returns the rmap word naming the next head, or with PRESENT
 * and the index cleared when the head was alone. The caller stores the word.
 */
// @ts-ignore: decorator
@inline export function rmapUnlinkHead(revBase: usize, rmap: u64): u64 {
  const i = rmap & RMAP_INDEX;
  const rev = revBase + (<usize>i << 4);
  const forw = <u64>load<u32>(rev, 8);
  const back = <u64>load<u32>(rev, 12);
  store<u32>(revBase + (<usize>forw << 4), <u32>back, 12);
  store<u32>(revBase + (<usize>back << 4), <u32>forw, 8);
  return forw == i ? rmap & ~(RMAP_PRESENT | RMAP_INDEX) : (rmap & ~RMAP_INDEX) | forw;
}
