// Host paging: the MMU-notifier path that takes a page of guest RAM away (kvm_unmap_rmapp) and the
// page coming back. Reclaim (reclaim.ts) chooses which page goes.
import {
  NO_FRAME, G_POLICY, G_INSTANCE, G_LPID, G_HPT, G_REVMAP, G_FRAMES, G_RAM_HOST_PAGES, G_DEFER_COUNT, K_PAGE_OUT_HPTE,
  CC_PAGE_OUT, STAT_BATCH_HELD, STAT_GLOBAL_TLBIES, STAT_GLOBAL_TLBIE_ENTRIES, STAT_PAGE_OUTS, STAT_PAGE_OUT_HPTES, STAT_PAGE_INS,
  KVM_BAD_GFN, KVM_NO_FRAME, KVM_PINNED, RMAP_PRESENT, RMAP_INDEX, RMAP_RC_SHIFT, NO_CPU, STALE_LAZY, STAT_QUARANTINE_FALLBACKS,
} from "../layout";
import { tlbSets, guestStatsOf, bump, frameFree, takeFrame } from "../machine";
import { tlbieVa, markStale } from "../tlb";
import { HPTE_V_VALID, HPTE_V_ABSENT, HPTE_R_R, HPTE_R_C, vaFromHpte, xKey, xSet } from "../hpt";
import { rmapAddr, rmapUnlinkHead } from "../rmap";
import { policyCall, EV_CAN_PAGE_OUT, PAGE_OUT_PINNED, PAGE_OUT_LAZY, EV_PAGE_OUT } from "../policies/table";
import { MODE_GLOBAL, MODE_IPI, MODE_BATCH, MODE_BATCH_FREE_EARLY } from "../policies/events";
import { ipiPend, finishIpi, batchHold } from "./ipi";
import { isQemu } from "./records";
import { cost, charge } from "./costs";
import { globalSequence } from "./fabric";
import { drainDeferred } from "./deferred";
import { lazyHasRoom, lazyHold } from "./quarantine";
import { provenance } from "./detector";

/**
 * The MMU-notifier path (kvm_unmap_rmapp, docs/model/kvm.md §8.3) for host page `gfn` of guest g, run by the host on
 * `cpu`: every HPTE of the ring becomes ABSENT with a global tlbie and its R/C harvested; the deferred
 * VAs of the page are tlbie'd (deferred-va); then the frame is freed. A lazy page-out (lazy-reuse,
 * docs/model/policies.md §9) issues no tlbie — the entries it leaves are marked stale — and hands the
 * frame to the guest's quarantine instead, unless the quarantine is full. r3 = HPTEs invalidated.
 */
export function pageOut(g: usize, cpu: u32, gfn: u64): u64 {
  if (isQemu(g)) return KVM_BAD_GFN;
  const how = policyCall(load<u32>(g, G_POLICY), EV_CAN_PAGE_OUT, g, cpu, 0, 0);
  if (how == PAGE_OUT_PINNED) return KVM_PINNED;
  if (gfn >= <u64>load<u32>(g, G_RAM_HOST_PAGES)) return KVM_BAD_GFN;
  const fp = <usize>load<u32>(g, G_FRAMES) + (<usize>gfn << 2);
  const frame = load<u32>(fp);
  if (frame == NO_FRAME) return KVM_NO_FRAME;
  const gs = guestStatsOf(g);
  const rp = rmapAddr(g, gfn);
  const hptBase = <usize>load<u32>(g, G_HPT);
  const revBase = <usize>load<u32>(g, G_REVMAP);
  const lpid = load<u32>(g, G_LPID);
  let lazy = false;
  if (how == PAGE_OUT_LAZY) {
    lazy = lazyHasRoom(g);
    if (!lazy) bump(STAT_QUARANTINE_FALLBACKS, gs);
  }
  // an eager page-out goes the policy's way: tlbie per HPTE (KVM), an IPI shootdown (ipi-tlbiel), or
  // the batch (batched-reclaim); a lazy one (lazy-reuse) marks the entries stale and holds the frame
  const mode = lazy ? MODE_GLOBAL : policyCall(load<u32>(g, G_POLICY), EV_PAGE_OUT, g, cpu, 0, 0);
  let n: u64 = 0;
  let rmap = load<u64>(rp);
  while ((rmap & RMAP_PRESENT) != 0) {
    const i = rmap & RMAP_INDEX;
    const rev = revBase + (<usize>i << 4);
    rmap = rmapUnlinkHead(revBase, rmap);
    const hp = hptBase + (<usize>i << 4);
    const v = load<u64>(hp);
    if ((v & HPTE_V_VALID) != 0) {
      const r = load<u64>(hp, 8);
      store<u64>(hp, (v | HPTE_V_ABSENT) & ~HPTE_V_VALID);
      const va = vaFromHpte(g, v, r, i, tlbSets);
      if (lazy) {
        if (va) markStale(xSet, xKey, lpid, NO_CPU, provenance(STALE_LAZY, cpu));
      } else if (mode == MODE_GLOBAL && va) {
        const k = tlbieVa(xSet, xKey, lpid);
        bump(STAT_GLOBAL_TLBIES, gs);
        bump(STAT_GLOBAL_TLBIE_ENTRIES, gs, <u64>k);
      }
      const rc = r & (HPTE_R_R | HPTE_R_C);
      rmap |= rc << RMAP_RC_SHIFT;
      store<u64>(rev, load<u64>(rev) | rc);
      charge(cpu, gs, CC_PAGE_OUT, cost(K_PAGE_OUT_HPTE));
      if (lazy) { /* no flush now: the epoch's flush points do it */ }
      else if (mode == MODE_GLOBAL) globalSequence(cpu, gs, 1); // kvmppc_invalidate_hpte: one sequence per HPTE
      else if (mode == MODE_IPI && va) {
        ipiPend(cpu, g, gs, xSet, xKey); // one shootdown per HPTE, as the tlbie path's one sequence per HPTE
        globalSequence(cpu, gs, finishIpi(cpu, g, gs));
      }
      bump(STAT_PAGE_OUT_HPTES, gs);
      ++n;
    }
  }
  store<u64>(rp, rmap);
  if (load<u32>(g, G_DEFER_COUNT) != 0) drainDeferred(cpu, g, gs, <u32>gfn);
  store<u32>(fp, NO_FRAME);
  bump(STAT_PAGE_OUTS, gs);
  if (lazy) {
    lazyHold(g, gs, frame);
    return n;
  }
  if (mode == MODE_BATCH || mode == MODE_BATCH_FREE_EARLY) {
    bump(STAT_BATCH_HELD, gs);
    batchHold(cpu, g, gs, frame, mode == MODE_BATCH_FREE_EARLY);
    return n;
  }
  frameFree(frame);
  return n;
}

/** The host gives page `gfn` a frame again (lowest free). r3 = the frame. */
export function pageIn(g: usize, gfn: u64): u64 {
  if (isQemu(g) || gfn >= <u64>load<u32>(g, G_RAM_HOST_PAGES)) return KVM_BAD_GFN;
  const fp = <usize>load<u32>(g, G_FRAMES) + (<usize>gfn << 2);
  let frame = load<u32>(fp);
  if (frame != NO_FRAME) return <u64>frame;
  frame = takeFrame(load<u32>(g, G_INSTANCE));
  if (frame == NO_FRAME) return KVM_NO_FRAME;
  store<u32>(fp, frame);
  bump(STAT_PAGE_INS, guestStatsOf(g));
  return <u64>frame;
}
