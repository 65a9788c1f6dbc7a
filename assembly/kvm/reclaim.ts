// Host reclaim with an LRU flavour (kvm_age_rmapp): which page of guest RAM the host takes.
import { NO_FRAME, G_HPT, G_REVMAP, G_FRAMES, G_RAM_HOST_PAGES, KVM_BAD_GFN, KVM_BAD_VCORE, KVM_NO_FRAME, RMAP_PRESENT, RMAP_INDEX, RMAP_REFERENCED } from "../layout";
import { HPTE_R_R } from "../hpt";
import { rmapAddr } from "../rmap";
import { isQemu } from "./records";
import { pageOut } from "./paging";

/**
 * Host reclaim with an LRU flavour (kvm_age_rmapp): of the candidate gfns, the first whose page was
 * not referenced since the last look (no R bit on any HPTE of its ring, REFERENCED clear in the
 * rmap) is paged out, else the first candidate; every candidate is then aged (R bits cleared; the
 * aging tlbie of kvmppc_clear_ref_hpte is not modelled). A page reached only through stale TLB
 * entries never sets R, so it looks cold — as it would to the real host. r3 = the gfn paged out.
 */
export function reclaim(g: usize, cpu: u32, o: usize): u64 {
  if (isQemu(g)) return KVM_BAD_GFN;
  const pages = <u64>load<u32>(g, G_RAM_HOST_PAGES);
  const hptBase = <usize>load<u32>(g, G_HPT);
  const revBase = <usize>load<u32>(g, G_REVMAP);
  let chosen: u64 = 0xffffffffffffffff;
  let first: u64 = 0xffffffffffffffff;
  for (let j: u32 = 0; j < 8; ++j) {
    const gfn = load<u64>(o + 16 + (<usize>j << 3));
    if (gfn >= pages) continue;
    if (load<u32>(<usize>load<u32>(g, G_FRAMES) + (<usize>gfn << 2)) == NO_FRAME) continue;
    if (first == 0xffffffffffffffff) first = gfn;
    const rp = rmapAddr(g, gfn);
    let rmap = load<u64>(rp);
    let referenced = (rmap & RMAP_REFERENCED) != 0;
    if ((rmap & RMAP_PRESENT) != 0) {
      const head = rmap & RMAP_INDEX;
      let i = head;
      do {
        const hp = hptBase + (<usize>i << 4);
        const r = load<u64>(hp, 8);
        if ((r & HPTE_R_R) != 0) {
          referenced = true;
          store<u64>(hp, r & ~HPTE_R_R, 8);
        }
        i = <u64>load<u32>(revBase + (<usize>i << 4), 8);
      } while (i != head);
    }
    store<u64>(rp, rmap & ~RMAP_REFERENCED);
    if (!referenced && chosen == 0xffffffffffffffff) chosen = gfn;
  }
  if (chosen == 0xffffffffffffffff) chosen = first;
  if (chosen == 0xffffffffffffffff) return KVM_NO_FRAME;
  const r = pageOut(g, cpu, chosen);
  return r >= KVM_BAD_VCORE ? r : chosen;
}
