// The questions the KVM model asks a guest's policy (assembly/kvm/ calls, policies answer).
// A policy is one function `(ev, g, cpu, arg, flags) => u32` in its own file, listed in table.ts.
//
//   EV_VM_INIT       g created (kvmppc_core_init_vm)                       → 0
//   EV_HPT_RESET     g's HPT zeroed (kvmppc_alloc_reset_hpt), cpu = host cpu → 0
//   EV_VCORE_ENTRY   vcore `arg` entered the core of cpu (cpu = its thread 0) → 0
//   EV_THREAD_ENTRY  vcpu `arg` entered on thread cpu (after EV_VCORE_ENTRY)  → 0
//   EV_VCORE_EXIT    vcore `arg` leaves the core of cpu (thread 0)           → 0
//   EV_DECIDE        an hcall on cpu invalidates a VALID HPTE: arg = KIND_*, flags = the hcall's
//                    flags (0 for H_BULK_REMOVE) → MODE_GLOBAL | MODE_LOCAL | MODE_LOCAL_RECORD
//   EV_CAN_PAGE_OUT  may the host take g's pages away?  → PAGE_OUT_EAGER (tlbie, frame freed), 0 pinned,
//                    or PAGE_OUT_LAZY (no tlbie, frame quarantined: kvm/quarantine.ts, lazy-reuse)
//   EV_TLBIE_FIXUPS  does the policy's kernel apply the POWER9 tlbie errata workarounds in its
//                    global sequences (fixup_tlbie_lpid in do_tlbies, Linux 5.4+)? → 1 yes, 0 no
//   EV_PAGE_OUT      an eager page-out of a page of g on cpu: how its HPTEs' translations go
//                    → MODE_GLOBAL (tlbie, the default) | MODE_IPI | MODE_BATCH
//   EV_IPI_RULES     how this policy's IPI handler treats a target core not running g → IPI_RULE_* bits
//   EV_CORE_OFFLINE  core `arg` goes offline (cpu = its thread 0)                → 0
//   EV_NAME          (g = 0) the policy's name, as src/model/policies.ts spells it → address of a
//                    static string (policyName(); test/policy-table.test.ts checks the registry)
// @ts-ignore: decorator
@inline export const EV_VM_INIT: u32 = 0;
// @ts-ignore: decorator
@inline export const EV_HPT_RESET: u32 = 1;
// @ts-ignore: decorator
@inline export const EV_VCORE_ENTRY: u32 = 2;
// @ts-ignore: decorator
@inline export const EV_THREAD_ENTRY: u32 = 3;
// @ts-ignore: decorator
@inline export const EV_VCORE_EXIT: u32 = 4;
// @ts-ignore: decorator
@inline export const EV_DECIDE: u32 = 5;
// @ts-ignore: decorator
@inline export const EV_CAN_PAGE_OUT: u32 = 6;
// @ts-ignore: decorator
@inline export const EV_NAME: u32 = 7;
// @ts-ignore: decorator
@inline export const EV_TLBIE_FIXUPS: u32 = 8;
// @ts-ignore: decorator
@inline export const EV_PAGE_OUT: u32 = 9;
// @ts-ignore: decorator
@inline export const EV_IPI_RULES: u32 = 10;
// @ts-ignore: decorator
@inline export const EV_CORE_OFFLINE: u32 = 11;

// ── EV_CAN_PAGE_OUT answers ──
// @ts-ignore: decorator
@inline export const PAGE_OUT_PINNED: u32 = 0;
// @ts-ignore: decorator
@inline export const PAGE_OUT_EAGER: u32 = 1;
// @ts-ignore: decorator
@inline export const PAGE_OUT_LAZY: u32 = 2;

// ── invalidation modes a policy can choose (EV_DECIDE) ──
// @ts-ignore: decorator
@inline export const MODE_GLOBAL: u32 = 0;
// @ts-ignore: decorator
@inline export const MODE_LOCAL: u32 = 1;
/** tlbiel, and remember the VA in the guest's deferred list (deferred-va). */
// @ts-ignore: decorator
@inline export const MODE_LOCAL_RECORD: u32 = 2;
/** IPI every core in the VM's "may hold entries" mask; each runs tlbiel (ipi-tlbiel; kvm/ipi.ts). */
// @ts-ignore: decorator
@inline export const MODE_IPI: u32 = 3;
/** EV_PAGE_OUT only: no flush now; the frame waits for its batch's IPI flush (batched-reclaim; kvm/ipi.ts). */
// @ts-ignore: decorator
@inline export const MODE_BATCH: u32 = 4;
/** EV_PAGE_OUT only: as MODE_BATCH, but the frame is freed at once (batched-reclaim-early-reuse, broken). */
// @ts-ignore: decorator
@inline export const MODE_BATCH_FREE_EARLY: u32 = 5;
// ── EV_IPI_RULES bits (0: the kernel's rule — a target not running the VM flushes its LPID and leaves the mask) ──
/** A core not running the VM gets no IPI: the sender sets need_tlb_flush for it and it leaves the mask. */
// @ts-ignore: decorator
@inline export const IPI_RULE_DEFER_TO_ENTRY: u32 = 1;
// ── EV_DECIDE kinds ──
// @ts-ignore: decorator
@inline export const KIND_REMOVE: u32 = 0;
// @ts-ignore: decorator
@inline export const KIND_PROTECT: u32 = 1;
// @ts-ignore: decorator
@inline export const KIND_BULK: u32 = 2;
