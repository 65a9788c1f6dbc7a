// Addresses of the KVM model's records (assembly/layout.ts draws them) and small reads of them.
import { CPU_BYTES, CPU_CLOCK, CPU_RUN_SLOT, CORE_BYTES, VCPU_BYTES, VCORE_BYTES, G_LPID, G_FLAGS, G_VCPU_TAB, G_VCORE_TAB, GF_QEMU } from "../layout";
import { cpuTab, coreTab, guestDesc } from "../machine";

// @ts-ignore: decorator
@inline export function cpuRec(cpu: u32): usize {
  return cpuTab + <usize>cpu * CPU_BYTES;
}
// @ts-ignore: decorator
@inline export function coreRec(core: u32): usize {
  return coreTab + <usize>core * CORE_BYTES;
}
// @ts-ignore: decorator
@inline export function vcpuRec(g: usize, vcpu: u32): usize {
  return <usize>load<u32>(g, G_VCPU_TAB) + <usize>vcpu * VCPU_BYTES;
}
// @ts-ignore: decorator
@inline export function vcoreRec(g: usize, vcore: u32): usize {
  return <usize>load<u32>(g, G_VCORE_TAB) + <usize>vcore * VCORE_BYTES;
}
// @ts-ignore: decorator
@inline export function clockOf(cpu: u32): u64 {
  return load<u64>(cpuRec(cpu), CPU_CLOCK);
}
// @ts-ignore: decorator
@inline export function isQemu(g: usize): bool {
  return (load<u32>(g, G_FLAGS) & GF_QEMU) != 0;
}
/** Guest descriptor of the vcpu running on `cpu` (paca kvm_vcpu, cleared at exit), or 0. */
// @ts-ignore: decorator
@inline export function runningGuest(cpu: u32): usize {
  const s = load<u32>(cpuRec(cpu), CPU_RUN_SLOT);
  return s == 0 ? 0 : guestDesc(s - 1);
}
/** LPIDR of a core: the LPID of the guest running there, else the host's (0). */
export function coreLpid(core: u32): u32 {
  const s = load<u32>(coreRec(core));
  return s == 0 ? 0 : load<u32>(guestDesc(s - 1), G_LPID);
}
