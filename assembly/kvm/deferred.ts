// Alexander Graf's deferred-VA list (his alternative in the 2012 KVM/PPC thread; docs/kvm-model.md,
// deferred-va): the VAs a guest invalidated locally with H_LOCAL, recorded so that host paging can
// tlbie them before it takes their page (deferred-va policy).
import {
  NO_FRAME, DEFER_BYTES, G_LPID, G_VCORES, G_DEFER, G_DEFER_CAP, G_DEFER_COUNT, G_DEFER_OVERFLOW, K_IPI, CC_IPI,
  DEFER_OVF_FLUSH, DEFER_OVF_TLBIE, STAT_GLOBAL_TLBIES, STAT_GLOBAL_TLBIE_ENTRIES, STAT_IPIS, STAT_DEFERRED_RECORDS,
  STAT_DEFERRED_OVERFLOWS, STAT_DEFERRED_TLBIES,
} from "../layout";
import { smtShift, guestStatsOf, bump } from "../machine";
import { tlbieVa } from "../tlb";
import { vcoreRec } from "./records";
import { cost, charge } from "./costs";
import { globalSequence } from "./fabric";
import { needFlushSetAll } from "./need-flush";
import { vcoreRun, vcoreExit } from "./vcore";

/**
 * Record a locally invalidated VA; on a full list apply the guest's overflow rule. Returns the tlbies
 * it adds to the hcall's global sequence (invalidate.ts issues them with the hcall's others).
 */
export function deferRecord(cpu: u32, g: usize, gs: usize, set: u32, key: u64, gfn: u32): u32 {
  const cap = load<u32>(g, G_DEFER_CAP);
  let count = load<u32>(g, G_DEFER_COUNT);
  if (count >= cap) {
    bump(STAT_DEFERRED_OVERFLOWS, gs);
    const rule = load<u32>(g, G_DEFER_OVERFLOW);
    if (rule == DEFER_OVF_TLBIE) {
      // (a): this invalidation becomes a tlbie (the tlbiel already ran: the tlbie covers every core)
      const n = tlbieVa(set, key, load<u32>(g, G_LPID));
      bump(STAT_GLOBAL_TLBIES, gs);
      bump(STAT_GLOBAL_TLBIE_ENTRIES, gs, <u64>n);
      return 1;
    }
    if (rule == DEFER_OVF_FLUSH) {
      // (c): need_tlb_flush = ALL and every running vcore of the VM is kicked out and re-enters
      // (flushing at entry), then the list is empty; this VA was tlbiel'd here and is covered
      needFlushSetAll(g);
      kickRunningVcores(g);
      store<u32>(g, 0, G_DEFER_COUNT);
      return 0;
    }
    // (b) drain: tlbie every recorded VA, empty the list, then record this one
    drainDeferred(cpu, g, gs, NO_FRAME);
    count = 0;
  }
  const rec = <usize>load<u32>(g, G_DEFER) + <usize>count * DEFER_BYTES;
  store<u64>(rec, key);
  store<u32>(rec, set, 8);
  store<u32>(rec, gfn, 12);
  store<u32>(g, count + 1, G_DEFER_COUNT);
  bump(STAT_DEFERRED_RECORDS, gs);
  return 0;
}

/** tlbie the recorded VAs of `gfn` (NO_FRAME: all of them) as one sequence and drop them. */
export function drainDeferred(cpu: u32, g: usize, gs: usize, gfn: u32): u32 {
  const base = <usize>load<u32>(g, G_DEFER);
  const count = load<u32>(g, G_DEFER_COUNT);
  const lpid = load<u32>(g, G_LPID);
  let kept: u32 = 0;
  let done: u32 = 0;
  for (let i: u32 = 0; i < count; ++i) {
    const rec = base + <usize>i * DEFER_BYTES;
    const key = load<u64>(rec);
    const set = load<u32>(rec, 8);
    const rgfn = load<u32>(rec, 12);
    if (gfn == NO_FRAME || rgfn == gfn) {
      const n = tlbieVa(set, key, lpid);
      bump(STAT_GLOBAL_TLBIES, gs);
      bump(STAT_GLOBAL_TLBIE_ENTRIES, gs, <u64>n);
      ++done;
    } else {
      const to = base + <usize>kept * DEFER_BYTES;
      store<u64>(to, key);
      store<u32>(to, set, 8);
      store<u32>(to, rgfn, 12);
      ++kept;
    }
  }
  store<u32>(g, kept, G_DEFER_COUNT);
  bump(STAT_DEFERRED_TLBIES, gs, <u64>done);
  globalSequence(cpu, gs, done);
  return done;
}

/** IPI every running vcore of g: each exits and re-enters its core at once (running the entry checks). */
function kickRunningVcores(g: usize): void {
  const gs = guestStatsOf(g);
  const n = load<u32>(g, G_VCORES);
  for (let vc: u32 = 0; vc < n; ++vc) {
    const rec = vcoreRec(g, vc);
    if (load<u32>(rec, 4) == 0) continue;
    const pcpu = load<u32>(rec);
    const mask = load<u32>(rec, 8);
    charge(pcpu, gs, CC_IPI, cost(K_IPI)); // the MFRR write → exit; the sender's part is in its hcall
    bump(STAT_IPIS, gs);
    vcoreExit(g, vc);
    vcoreRun(g, vc, pcpu >> smtShift, mask);
  }
}
