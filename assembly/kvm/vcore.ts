// Vcores entering and leaving physical cores (kvmppc_run_core): placement, the threads' rendezvous,
// the paca fields the policies read, and the policy's entry and exit work.
import {
  CPU_CLOCK, CPU_RUN_SLOT, CPU_RUN_VCPU, CPU_VC_SLOT, CPU_VC_IDX, K_ENTRY_EXIT, CC_ENTRY_EXIT, G_TPV, G_VCPUS, G_VCORES,
  G_RUNNING_VCORES, G_POLICY, G_FLAGS, GF_LIVE, GF_QEMU, CPU_OFFLINE, STAT_GUEST_ENTRIES, KVM_BAD_VCORE, KVM_VCORE_BUSY, KVM_CORE_BUSY, KVM_NOT_RUNNING,
  GUEST_BYTES,
} from "../layout";
import { cores, smt, smtShift, maxGuests, guestDesc, guestStatsOf, bump } from "../machine";
import { policyCall, EV_VCORE_ENTRY, EV_THREAD_ENTRY, EV_VCORE_EXIT, EV_CORE_OFFLINE } from "../policies/table";
import { cpuRec, coreRec, vcpuRec, vcoreRec, clockOf } from "./records";
import { cost, charge } from "./costs";

/**
 * A vcore enters a physical core (kvmppc_run_core): its vcpus of `mask` (0 = all) take ptids 0, 1, …
 * on cpus core·T + ptid; the threads rendezvous (their clocks meet at the latest one); then the
 * policy's entry work runs: once for the vcore on thread 0, then once per thread carrying a vcpu.
 */
export function vcoreRun(g: usize, vc: u32, core: u32, maskIn: u32): u64 {
  if (vc >= load<u32>(g, G_VCORES) || core >= cores) return KVM_BAD_VCORE;
  const rec = vcoreRec(g, vc);
  if (load<u32>(rec, 4) != 0) return KVM_VCORE_BUSY;
  if (load<u32>(coreRec(core)) != 0 || load<u32>(cpuRec(core << smtShift), CPU_OFFLINE) != 0) return KVM_CORE_BUSY;
  const tpv = load<u32>(g, G_TPV);
  const vcpus = load<u32>(g, G_VCPUS);
  const first = vc * tpv;
  let mask = maskIn;
  if (mask == 0) mask = 0xffffffff;
  let count: u32 = 0;
  for (let k: u32 = 0; k < tpv && first + k < vcpus; ++k) if ((mask & (1 << k)) != 0) ++count;
  if (count == 0 || count > smt) return KVM_BAD_VCORE;
  const slot = <u32>((g - guestDesc(0)) / GUEST_BYTES);
  const cpu0 = core << smtShift;
  // rendezvous: the threads that carry vcpus start together
  let t0: u64 = 0;
  for (let p: u32 = 0; p < count; ++p) t0 = max(t0, clockOf(cpu0 + p));
  for (let p: u32 = 0; p < count; ++p) store<u64>(cpuRec(cpu0 + p), t0, CPU_CLOCK);
  store<u32>(coreRec(core), slot + 1);
  store<u32>(coreRec(core), vc, 4);
  store<u32>(rec, cpu0); // vc->pcpu
  store<u32>(rec, 1, 4);
  store<u32>(rec, mask, 8);
  store<u32>(rec, load<u32>(rec, 12) + 1, 12);
  store<u32>(g, load<u32>(g, G_RUNNING_VCORES) + 1, G_RUNNING_VCORES);
  let ptid: u32 = 0;
  for (let k: u32 = 0; k < tpv && first + k < vcpus; ++k) {
    if ((mask & (1 << k)) == 0) continue;
    const cpu = cpu0 + ptid;
    const c = cpuRec(cpu);
    store<u32>(c, slot + 1, CPU_RUN_SLOT);
    store<u32>(c, first + k, CPU_RUN_VCPU);
    store<u32>(c, slot + 1, CPU_VC_SLOT); // paca kvm_vcore: set here, never cleared (3.8–3.15)
    store<u32>(c, vc, CPU_VC_IDX);
    store<u32>(vcpuRec(g, first + k), cpu + 1, 4);
    ++ptid;
  }
  const gs = guestStatsOf(g);
  bump(STAT_GUEST_ENTRIES, gs);
  const policy = load<u32>(g, G_POLICY);
  policyCall(policy, EV_VCORE_ENTRY, g, cpu0, vc, 0);
  ptid = 0;
  for (let k: u32 = 0; k < tpv && first + k < vcpus; ++k) {
    if ((mask & (1 << k)) == 0) continue;
    policyCall(policy, EV_THREAD_ENTRY, g, cpu0 + ptid, first + k, 0);
    ++ptid;
  }
  return 0;
}

/** The vcore leaves its core: every thread exits to the host and back (K_ENTRY_EXIT each). */
export function vcoreExit(g: usize, vc: u32): u64 {
  if (vc >= load<u32>(g, G_VCORES)) return KVM_BAD_VCORE;
  const rec = vcoreRec(g, vc);
  if (load<u32>(rec, 4) == 0) return KVM_NOT_RUNNING;
  const cpu0 = load<u32>(rec);
  const core = cpu0 >> smtShift;
  const gs = guestStatsOf(g);
  policyCall(load<u32>(g, G_POLICY), EV_VCORE_EXIT, g, cpu0, vc, 0);
  for (let t: u32 = 0; t < smt; ++t) {
    const c = cpuRec(cpu0 + t);
    const s = load<u32>(c, CPU_RUN_SLOT);
    if (s == 0 || guestDesc(s - 1) != g) continue;
    store<u32>(vcpuRec(g, load<u32>(c, CPU_RUN_VCPU)), 0, 4);
    store<u32>(c, 0, CPU_RUN_SLOT); // paca kvm_vcpu is cleared at exit
    charge(cpu0 + t, gs, CC_ENTRY_EXIT, cost(K_ENTRY_EXIT));
  }
  store<u32>(coreRec(core), 0);
  store<u32>(rec, 0, 4);
  store<u32>(g, load<u32>(g, G_RUNNING_VCORES) - 1, G_RUNNING_VCORES);
  return 0;
}

/**
 * CPU hotplug of a whole core (every thread): offline, it gets no IPI (smp_call_function_many sends
 * to online cpus only) and runs no vcore; tlbie still reaches its TLB. Going offline, every live
 * kvm-hv guest's policy is told (EV_CORE_OFFLINE). Refused while a vcore runs there.
 */
export function coreOnline(core: u32, online: bool): u64 {
  if (core >= cores) return KVM_BAD_VCORE;
  if (load<u32>(coreRec(core)) != 0) return KVM_CORE_BUSY;
  const c = cpuRec(core << smtShift);
  const was = load<u32>(c, CPU_OFFLINE) == 0;
  store<u32>(c, online ? 0 : 1, CPU_OFFLINE);
  if (online || !was) return 0;
  for (let s: u32 = 0; s < maxGuests; ++s) {
    const g = guestDesc(s);
    if ((load<u32>(g, G_FLAGS) & (GF_LIVE | GF_QEMU)) != GF_LIVE) continue;
    policyCall(load<u32>(g, G_POLICY), EV_CORE_OFFLINE, g, core << smtShift, core, 0);
  }
  return 0;
}
