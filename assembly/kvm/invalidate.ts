// Invalidation of one HPTE's translation by a guest's hcall: the policy's choice (decide), the TLB
// work at once (tlbie on every core, or tlbiel on this core with the detector's stale marks), and
// the instruction sequences charged once per hcall (finishInvalidations).
import { NO_CPU, NO_FRAME, G_LPID, G_POLICY, G_REVMAP, G_RAM_HOST_PAGES, STALE_LOCAL,
  STAT_GLOBAL_TLBIES, STAT_GLOBAL_TLBIE_ENTRIES, STAT_LOCAL_TLBIELS, STAT_LOCAL_TLBIEL_ENTRIES,
  STAT_LOCAL_INVALIDATIONS, STAT_GLOBAL_INVALIDATIONS,
} from "../layout";
import { smtShift, tlbGroupShift, tlbSets, hostPageShift, bump } from "../machine";
import { tlbieVa, tlbielVa, markStale } from "../tlb";
import { HPTE_R_RPN, pageShiftKvm, vaFromHpte, xKey, xSet } from "../hpt";
import { MODE_GLOBAL, MODE_LOCAL_RECORD, MODE_IPI } from "../policies/events";
import { policyCall, EV_DECIDE } from "../policies/table";
import { isQemu, coreLpid } from "./records";
import { localSequence } from "./costs";
import { globalSequence } from "./fabric";
import { provenance } from "./detector";
import { deferRecord } from "./deferred";
import { ipiPend, finishIpi } from "./ipi";

/** Pending instructions of the current hcall, issued as one sequence by finishInvalidations(). */
let pendGlobal: u32 = 0;
let pendLocal: u32 = 0;

/**
 * Invalidate the translation of the HPTE (v, r, ptex) of guest g from cpu, as `mode` says.
 * The TLB work happens now; the instruction sequences are charged by finishInvalidations().
 */
export function invalidateTranslation(cpu: u32, g: usize, gs: usize, mode: u32, v: u64, r: u64, ptex: u64): void {
  const lpid = load<u32>(g, G_LPID);
  if (!vaFromHpte(g, v, r, ptex, tlbSets)) {
    // no TLB can hold it (undecodable size or VA): the instruction is still issued
    if (mode == MODE_GLOBAL || mode == MODE_IPI) { bump(STAT_GLOBAL_TLBIES, gs); bump(STAT_GLOBAL_INVALIDATIONS, gs); ++pendGlobal; }
    else { bump(STAT_LOCAL_TLBIELS, gs); bump(STAT_LOCAL_INVALIDATIONS, gs); ++pendLocal; }
    return;
  }
  if (mode == MODE_IPI) {
    // ipi-tlbiel: the shootdown is issued with the hcall's other invalidations (finishInvalidations)
    bump(STAT_LOCAL_INVALIDATIONS, gs);
    ipiPend(cpu, g, gs, xSet, xKey);
    return;
  }
  if (mode == MODE_GLOBAL) {
    const n = tlbieVa(xSet, xKey, lpid);
    bump(STAT_GLOBAL_TLBIES, gs);
    bump(STAT_GLOBAL_TLBIE_ENTRIES, gs, <u64>n);
    bump(STAT_GLOBAL_INVALIDATIONS, gs);
    ++pendGlobal;
    return;
  }
  // tlbiel acts on this cpu's TLB (docs/model/tlb.md §7.2) with the LPID loaded in LPIDR (the host's,
  // 0, if no guest runs on the core)
  const lpidr = coreLpid(cpu >> smtShift);
  const core = cpu >> tlbGroupShift;
  const n = tlbielVa(core, xSet, xKey, lpidr);
  bump(STAT_LOCAL_TLBIELS, gs);
  bump(STAT_LOCAL_TLBIEL_ENTRIES, gs, <u64>n);
  bump(STAT_LOCAL_INVALIDATIONS, gs);
  ++pendLocal;
  markStale(xSet, xKey, lpid, lpidr == lpid ? core : NO_CPU, provenance(STALE_LOCAL, cpu));
  if (mode == MODE_LOCAL_RECORD) pendGlobal += deferRecord(cpu, g, gs, xSet, xKey, gfnOfHpte(g, v, ptex));
}

/** Charge the sequences of the invalidations made since the last call (one hcall's worth). */
export function finishInvalidations(cpu: u32, g: usize, gs: usize): void {
  if (g != 0) pendGlobal += finishIpi(cpu, g, gs);
  if (pendLocal != 0) localSequence(cpu, gs, pendLocal);
  if (pendGlobal != 0) globalSequence(cpu, gs, pendGlobal);
  pendLocal = 0;
  pendGlobal = 0;
}

/** The policy's choice for an invalidation by guest g's hcall on cpu. qemu guests: always global. */
export function decide(cpu: u32, g: usize, kind: u32, flags: u64): u32 {
  if (isQemu(g)) return MODE_GLOBAL;
  return policyCall(load<u32>(g, G_POLICY), EV_DECIDE, g, cpu, kind, flags);
}

/** The gfn (host page of guest RAM) an HPTE's guest view points at, or 0xffffffff (MMIO). */
function gfnOfHpte(g: usize, v: u64, ptex: u64): u32 {
  const rpte = load<u64>(<usize>load<u32>(g, G_REVMAP) + (<usize>ptex << 4));
  const shift = pageShiftKvm(v, rpte);
  if (shift == 0) return NO_FRAME;
  const gfn = ((rpte & HPTE_R_RPN) & ~((<u64>1 << shift) - 1)) >> hostPageShift;
  return gfn < <u64>load<u32>(g, G_RAM_HOST_PAGES) ? <u32>gfn : NO_FRAME;
}
