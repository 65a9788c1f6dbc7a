// A guest's KVM state at creation and teardown, and HPT reset (kvmppc_alloc_reset_hpt).
import {
  NO_CPU, G_LPID, G_VCPUS, G_VCORES, G_NEED_FLUSH, G_DEFER_COUNT, G_RUNNING_VCORES, G_POLICY, G_HPT, G_HPT_ORDER, G_REVMAP,
  G_RMAP, G_RAM_HOST_PAGES, G_TLBIE_LOCK, G_IPI_MASK, G_BATCH_COUNT, FABRIC_SLOTS, STALE_LPID_FREE, STALE_HPT_RESET, STAT_HPT_RESETS, KVM_GUEST_RUNNING,
} from "../layout";
import { maskWords, guestStatsOf, bump } from "../machine";
import { markStaleLpid } from "../tlb";
import { HPTE_V_HPTE_DIRTY } from "../hpt";
import { policyCall, EV_VM_INIT, EV_HPT_RESET } from "../policies/table";
import { vcpuRec, vcoreRec, isQemu } from "./records";
import { lastVcpuFill } from "./need-flush";
import { vcoreExit } from "./vcore";
import { provenance } from "./detector";
import { lazyDestroy } from "./quarantine";
import { ipiMaskZero, batchDrop } from "./ipi";

/** KVM state of a new guest: vcpus never ran, vcores nowhere, empty lists; then the policy's VM init. */
export function kvmGuestInit(g: usize): void {
  const vcpus = load<u32>(g, G_VCPUS);
  for (let v: u32 = 0; v < vcpus; ++v) {
    store<u32>(vcpuRec(g, v), 0xffff); // vcpu->arch.last_cpu = -1 (u16)
    store<u32>(vcpuRec(g, v), 0, 4);
  }
  const vcores = load<u32>(g, G_VCORES);
  for (let v: u32 = 0; v < vcores; ++v) {
    const rec = vcoreRec(g, v);
    store<u32>(rec, NO_CPU);
    store<u32>(rec, 0, 4);
    store<u32>(rec, 0, 8);
    store<u32>(rec, 0, 12);
  }
  memory.fill(<usize>load<u32>(g, G_NEED_FLUSH), 0, <usize>maskWords << 3);
  lastVcpuFill(g, 0);
  store<u32>(g, 0, G_DEFER_COUNT);
  store<u32>(g, 0, G_RUNNING_VCORES);
  if (load<u32>(g, G_IPI_MASK) != 0) ipiMaskZero(g);
  store<u32>(g, 0, G_BATCH_COUNT);
  const lockCal = <usize>load<u32>(g, G_TLBIE_LOCK);
  if (lockCal != 0) memory.fill(lockCal, 0, <usize>FABRIC_SLOTS << 2);
  policyCall(load<u32>(g, G_POLICY), EV_VM_INIT, g, 0, 0, 0);
}

/** Before a guest's frames and LPID are freed: its vcores leave, its entries become stale (no flush). */
export function kvmGuestDestroy(g: usize, cpu: u32): void {
  const vcores = load<u32>(g, G_VCORES);
  for (let v: u32 = 0; v < vcores; ++v) if (load<u32>(vcoreRec(g, v), 4) != 0) vcoreExit(g, v);
  markStaleLpid(load<u32>(g, G_LPID), provenance(STALE_LPID_FREE, cpu));
  store<u32>(g, 0, G_DEFER_COUNT);
  lazyDestroy(g);
  batchDrop(g); // batched-reclaim's held frames go with the guest's
}

/**
 * kvmppc_alloc_reset_hpt on an existing HPT: zeroed, every rmap chain emptied, no tlbie; refused
 * while a vcore runs (KVM returns -EBUSY). The policy then marks what must flush.
 */
export function hptReset(g: usize, cpu: u32): u64 {
  if (load<u32>(g, G_RUNNING_VCORES) != 0) return KVM_GUEST_RUNNING;
  const hptBytes = <usize>1 << load<u32>(g, G_HPT_ORDER);
  const hpt = <usize>load<u32>(g, G_HPT);
  memory.fill(hpt, 0, hptBytes);
  memory.fill(<usize>load<u32>(g, G_REVMAP), 0, hptBytes);
  if (isQemu(g)) {
    for (let p = hpt; p < hpt + hptBytes; p += 16) store<u64>(p, HPTE_V_HPTE_DIRTY); // docs/model/hcalls.md §3.1: v = 0x40
  } else {
    memory.fill(<usize>load<u32>(g, G_RMAP), 0, <usize>load<u32>(g, G_RAM_HOST_PAGES) << 3);
  }
  markStaleLpid(load<u32>(g, G_LPID), provenance(STALE_HPT_RESET, cpu));
  bump(STAT_HPT_RESETS, guestStatsOf(g));
  policyCall(load<u32>(g, G_POLICY), EV_HPT_RESET, g, cpu, 0, 0);
  return 0;
}
