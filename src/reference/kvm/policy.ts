/**
 * What an invalidation policy is (docs/kvm-model.md, "The policies"): the answers KVM Book3S HV
 * gives at five moments of a guest's life. Each policy is one file in ./policies/; the table in
 * ./policies/index.ts maps ids and names to them.
 */
import type { HcallName } from "../../types.js";
import type { KvmHost, KvmGuestState } from "./state.js";

/** Where one invalidation of a VALID HPTE goes. */
export type Decision =
  /** tlbie of the HPTE's VA on every core that may hold it */
  | "global"
  /** tlbiel on the calling cpu's core (acting on the LPID in that core's LPIDR) */
  | "local"
  /** deferred-va: as local, and the VA is appended to the guest's deferred list */
  | "local-record"
  /** ipi-tlbiel: IPI every core in the VM's mask; each runs tlbiel (docs/model/policies.md §13) */
  | "ipi";

/** How a host page-out invalidates: tlbie per HPTE (KVM), an IPI shootdown, or the batch (batched-reclaim). */
export type PageOutMode = "global" | "ipi" | "batch" | "batch-free-early";

/** One question to the policy: H_REMOVE / H_PROTECT per VALID entry, H_BULK_REMOVE once per call. */
export interface InvalidationRequest {
  kind: HcallName;
  /** The hcall's flags (H_LOCAL is 0x10000000); 0 for H_BULK_REMOVE, which has no flags word. */
  flags: bigint;
  /** The cpu making the hcall. */
  cpu: number;
}

/** A vcpu placed on a hardware thread at a vcore entry (ptid 0 first). */
export interface Thread {
  cpu: number;
  vcpu: number;
}

export interface KvmPolicy {
  readonly id: number;
  readonly name: string;
  /** Guest memory is pinned (PPC970): the host may not page it out. */
  readonly pinned: boolean;
  /** Host page-outs are lazy (lazy-reuse, docs/model/policies.md §9): no tlbie, the frame quarantined. */
  readonly lazyPageOut?: boolean;
  /** Its kernel applies the POWER9 tlbie errata workarounds in every global sequence (fixup_tlbie_lpid). */
  readonly tlbieFixups?: boolean;
  /** kvmppc_core_init_vm. */
  vmStart(k: KvmHost, g: KvmGuestState): void;
  /** kvmppc_alloc_reset_hpt on an existing HPT (after it is zeroed). */
  hptReset(k: KvmHost, g: KvmGuestState): void;
  /** A vcore entered `core`: the threads carrying its runnable vcpus (kvmppc_hv_entry). */
  enter(k: KvmHost, g: KvmGuestState, core: number, threads: readonly Thread[]): void;
  /** The vcore leaves `core` (before its threads go back to the host). */
  exit(k: KvmHost, g: KvmGuestState, core: number, threads: readonly Thread[]): void;
  /** tlbie or tlbiel for this invalidation (global_invalidates and its ancestors). */
  decide(k: KvmHost, g: KvmGuestState, req: InvalidationRequest): Decision;
  /** How host page-outs invalidate (absent: "global", KVM's tlbie per HPTE). */
  readonly pageOut?: PageOutMode;
  /** A core of the mask not running the VM: no IPI, its flush deferred to the VM's next entry there (absent: IPI, flush now). */
  readonly ipiDeferToEntry?: boolean;
  /** Core `core` goes offline (absent: nothing). */
  coreOffline?(k: KvmHost, g: KvmGuestState, core: number): void;
}

/** H_LOCAL (PAPR): "this translation was used only on the current vcpu". */
export const H_LOCAL = 0x0000000010000000n;
