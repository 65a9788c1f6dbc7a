/**
 * The KVM state a policy reads and writes (struct kvm_arch, kvm_vcpu_arch, kvmppc_vcore and the
 * paca fields of Linux 3.6–3.16, reduced to what the model needs), and the machine services it
 * calls. The reference machine (./machine.ts) implements `KvmHost`.
 */
import type { KvmCounterName } from "./counters.js";
import type { Quarantine } from "./quarantine.js";

export interface VcpuState {
  /** vcpu->arch.last_cpu (3.6/3.7; 0xffff = never ran). */
  lastCpu: number;
  /** The cpu it runs on now, or null. */
  runningOn: number | null;
}

export interface VcoreState {
  /** vc->pcpu: thread 0 of the core of its last run (kept after exit); null = never ran. */
  pcpu: number | null;
  running: boolean;
  /** The vcpu mask of its last run (0xffffffff = all). */
  vcpuMask: number;
  runs: number;
}

/** One deferred-va record: the VA invalidated locally, its TLB set and its gfn. */
export interface DeferredRecord {
  lpid: number;
  b: number;
  vpn4k: bigint;
  /** The actual page, and the segment's base page (docs/model/translation.md §2.7). */
  pageShift: number;
  baseShift: number;
  set: number;
  gfn: number | null;
}

export interface KvmGuestState {
  readonly lpid: number;
  readonly instanceId: number;
  /** kvm->arch.online_vcpus / online_vcores: vcpus and vcores that exist (not only running ones). */
  readonly onlineVcpus: number;
  readonly onlineVcores: number;
  readonly threadsPerVcore: number;
  /**
   * need_tlb_flush, one flag per core (the need-tlb-flush family: index = core) or per TLB thread
   * group (p9-hash: index = TLB); as long as the machine's TLBs.
   */
  readonly needFlush: boolean[];
  /** kvm->arch.last_vcpu[] (3.6/3.7), u16 per slot; zero at creation. */
  readonly lastVcpuTab: number[];
  readonly vcpuTab: VcpuState[];
  readonly vcoreTab: VcoreState[];
  /** deferred-va's list, oldest first. */
  deferredVas: DeferredRecord[];
  readonly deferredCap: number;
  readonly deferredOverflow: "flush" | "tlbie" | "drain";
  /** lazy-reuse's quarantine (./quarantine.ts), made at VM start; null for the other policies. */
  quarantineState: Quarantine | null;
  /** The VM's "may hold entries" core mask (ipi-tlbiel, batched-reclaim; mm_cpumask-like), one flag per core. */
  readonly mayHold: boolean[];
  /** batched-reclaim: frames paged out and held until their batch's flush (−1: freed early, by the broken variant). */
  batch: number[];
}

/** Machine services available to policies. */
export interface KvmHost {
  readonly cores: number;
  readonly smt: number;
  coreOf(cpu: number): number;
  /** The TLB `cpu` uses (its thread group's; docs/model/tlb.md §7.2), and how many there are. */
  tlbOf(cpu: number): number;
  readonly tlbCount: number;
  /** A vcpu of `g` runs on `cpu` now (paca kvm_hstate.kvm_vcpu, v3.16+). */
  runsVcpuOf(cpu: number, g: KvmGuestState): boolean;
  /** paca kvm_hstate.kvm_vcore of `cpu` (3.8–3.15): set when a vcore thread starts there, never cleared. */
  kvmVcoreOf(cpu: number): { guest: KvmGuestState | null; vcore: number } | null;
  /** KVM's entry flush of g's LPID from the core of `cpu` (128 × tlbiel IS = 0b10), charged to `cpu`. */
  entryFlush(cpu: number, g: KvmGuestState): void;
  /** PPC970: flush the whole TLB of the core of `cpu`, every LPID, charged to `cpu`. */
  wholeTlbFlush(cpu: number, g: KvmGuestState): void;
  countKvm(g: KvmGuestState | null, name: KvmCounterName, n?: number | bigint): void;
  /** Frame f is free for anyone (lazy-reuse: an epoch ended). */
  freeFrame(f: number): void;
  /** The guest's quarantine holds `held` frames: the most at once, per guest and machine-wide (the largest guest's). */
  quarantinePeak(g: KvmGuestState, held: number): void;
  /** A flush point's LPID flush of g: every TLB of cpu's core (skipOwn: not cpu's own, just flushed), each a full KVM flush charged to cpu. */
  epochFlush(cpu: number, g: KvmGuestState, skipOwn: boolean): void;
  /** The guest's RAM in host pages (its quarantine's capacity). */
  hostPagesOf(g: KvmGuestState): number;
  /** A core going offline leaves g's IPI mask after flushing g's LPID there (commit 01b0f0eae081). */
  ipiOfflineTrim(g: KvmGuestState, core: number): void;
}
