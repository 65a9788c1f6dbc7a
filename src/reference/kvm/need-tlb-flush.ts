/**
 * The `need_tlb_flush` cpumask of commit 1b400ba0 (Linux 3.8, book3s_hv_rm_mmu.c and
 * book3s_hv_rmhandlers.S), shared by every policy built on it. Only the bit of each core's thread 0
 * is ever tested, so the model keeps one bit per core.
 */
import type { KvmHost, KvmGuestState } from "./state.js";

/** cpumask_setall(&kvm->arch.need_tlb_flush): every core must flush this LPID before running it. */
export function setAll(k: KvmHost, g: KvmGuestState): void {
  g.needFlush.fill(true, 0, k.cores);
  k.countKvm(g, "needFlushSets");
}

/** cpumask_setall with one bit per TLB thread group (p9-hash, docs/model/policies.md §10.2). */
export function setAllTlbs(k: KvmHost, g: KvmGuestState): void {
  g.needFlush.fill(true, 0, k.tlbCount);
  k.countKvm(g, "needFlushSets");
}

/** A thread's entry check on `index` (its TLB's or its core's bit): clear it and flush cpu's TLB if it was set. */
export function threadCheck(k: KvmHost, g: KvmGuestState, cpu: number, index: number): void {
  if (!g.needFlush[index]) return;
  g.needFlush[index] = false;
  k.entryFlush(cpu, g);
}

/**
 * global_invalidates() choosing tlbiel: "any other core might now have stale TLB entries", so every
 * bit is set and then the bit of `core` (the one about to tlbiel) cleared.
 */
export function allButCore(k: KvmHost, g: KvmGuestState, core: number): void {
  setAll(k, g);
  g.needFlush[core] = false;
}

/**
 * Guest entry, primary thread only (kvmppc_hv_entry): test_and_clear the core's bit (cleared BEFORE
 * the flush in 3.8–4.x) and, if it was set, flush the LPID from the core: tlbiel IS = 0b10 over
 * every congruence class.
 */
export function entryCheck(k: KvmHost, g: KvmGuestState, thread0Cpu: number): void {
  const core = k.coreOf(thread0Cpu);
  if (!g.needFlush[core]) return;
  g.needFlush[core] = false;
  k.entryFlush(thread0Cpu, g);
}

/**
 * The one-vcore rule of later kernels (v3.16+, kvm_hstate.kvm_vcpu): local iff the VM has one vcore
 * and a vcpu of this VM is running on the calling cpu; then every other core is marked.
 */
export function oneVcoreRunningHere(k: KvmHost, g: KvmGuestState, cpu: number): boolean {
  if (g.onlineVcores !== 1 || !k.runsVcpuOf(cpu, g)) return false;
  allButCore(k, g, k.coreOf(cpu));
  return true;
}

/**
 * The one-vcore rule as merged in 3.8–3.15 (paca kvm_hstate.kvm_vcore, set when a vcore thread
 * starts on the cpu and never cleared): local iff the VM has one vcore and this cpu ever started a
 * vcore of any VM; then every core but that (possibly foreign) vcore's pcpu is marked.
 */
export function oneVcoreStalePointer(k: KvmHost, g: KvmGuestState, cpu: number): boolean {
  const vc = k.kvmVcoreOf(cpu);
  if (g.onlineVcores !== 1 || vc === null) return false;
  const pcpu = vc.guest?.vcoreTab[vc.vcore]?.pcpu ?? null;
  if (pcpu === null) setAll(k, g); // a vcore that never ran has no pcpu: no bit to clear
  else allButCore(k, g, k.coreOf(pcpu));
  return true;
}
