/**
 * One guest of the reference KVM machine (./machine.ts): its HPT, revmap and rmap, its frame table,
 * and the KVM state of struct kvm_arch / kvm_vcpu_arch / kvmppc_vcore its policy works on
 * (./state.ts). The host API is the engine Guest's: hcalls, runVcore / exitVcore, pageOut / pageIn,
 * reclaim, resetHpt, and the inspection methods.
 */
import type { GuestOptions } from "../../config.js";
import type { CounterBlock, HcallName, HcallOptions, HcallResult, Semantics, SimGuest } from "../../types.js";
import type { KvmCounters } from "../../engine/index.js";
import { H_READ_4, HPTE_R_RPN, lowMask } from "../constants.js";
import { copyCounterBlock, newCounterBlock } from "../counters.js";
import type { Regs } from "../hcall-env.js";
import { Hpt } from "../hpt.js";
import { kvmHvPagePair, kvmHvPageShift, qemuPagePair, qemuPageShift } from "../pagesize.js";
import type { PagePair } from "../../model/page-sizes.js";
import { checkInt, checkU64 } from "./checks.js";
import { copyKvmCounters, newKvmCounters } from "./counters.js";
import { LockCalendar } from "./fabric.js";
import type { KvmPolicy } from "./policy.js";
import type { DeferredRecord, KvmGuestState, VcoreState, VcpuState } from "./state.js";
import type { RefKvmMachine } from "./machine.js";
import type { Quarantine } from "./quarantine.js";

export class RefKvmGuest implements SimGuest, KvmGuestState {
  readonly semantics: Semantics;
  readonly hptOrder: number;
  readonly npte: number;
  readonly ramBytes: number;
  readonly options: GuestOptions;
  readonly policy: KvmPolicy;
  readonly block: CounterBlock = newCounterBlock();
  readonly kvm: KvmCounters = newKvmCounters();
  /** The real HPT and KVM's revmap / rmap (replaced by an HPT reset). */
  table: Hpt;
  /** gfn → host frame (−1 = not present). */
  readonly frames: number[];
  readonly onlineVcpus: number;
  readonly onlineVcores: number;
  readonly threadsPerVcore: number;
  readonly needFlush: boolean[];
  readonly lastVcpuTab: number[];
  readonly vcpuTab: VcpuState[];
  readonly vcoreTab: VcoreState[];
  deferredVas: DeferredRecord[] = [];
  readonly mayHold: boolean[];
  batch: number[] = [];
  readonly deferredCap: number;
  readonly deferredOverflow: "flush" | "tlbie" | "drain";
  dead = false;
  /** kvm->arch.tlbie_lock's calendar (concurrent fabric, lock scope "vm"), made at first use. */
  tlbieLock: LockCalendar | null = null;
  quarantineState: Quarantine | null = null;

  constructor(private readonly m: RefKvmMachine, readonly lpid: number, readonly instance: number, options: GuestOptions, policy: KvmPolicy) {
    this.options = options;
    this.policy = policy;
    this.semantics = options.semantics;
    this.hptOrder = options.hptOrder;
    this.npte = 2 ** (options.hptOrder - 4);
    this.ramBytes = options.ramBytes;
    this.table = new Hpt(this.npte, options.semantics === "qemu" ? 0x40n : 0n);
    this.frames = Array.from({ length: this.hostPages }, () => -1);
    this.onlineVcpus = options.vcpus;
    this.threadsPerVcore = options.threadsPerVcore;
    this.onlineVcores = Math.ceil(options.vcpus / options.threadsPerVcore);
    this.needFlush = Array.from({ length: m.tlbCount }, () => false);
    this.mayHold = Array.from({ length: m.cores }, () => false);
    this.lastVcpuTab = Array.from({ length: Math.ceil(m.cpus / 4) * 4 }, () => 0);
    this.vcpuTab = Array.from({ length: this.onlineVcpus }, () => ({ lastCpu: 0xffff, runningOn: null }));
    this.vcoreTab = Array.from({ length: this.onlineVcores }, () => ({ pcpu: null, running: false, vcpuMask: 0, runs: 0 }));
    this.deferredCap = options.deferredCap;
    this.deferredOverflow = options.deferredOverflow;
  }

  get instanceId(): number {
    return this.instance;
  }
  /** online_vcpus and online_vcores (the engine Guest's names). */
  get vcpus(): number {
    return this.onlineVcpus;
  }
  get vcores(): number {
    return this.onlineVcores;
  }
  /** Host pages of guest RAM (rmap words, frame table entries); 0 under qemu. */
  get hostPages(): number {
    return this.semantics === "kvm-hv" ? this.ramBytes / 2 ** this.m.config.hostPageShift : 0;
  }

  /** The actual page shift of an HPTE under this guest's semantics, 0 when refused. */
  decodePageShift(v: bigint, r: bigint): number {
    return this.semantics === "qemu" ? qemuPageShift(v, r, this.options.hptMaxPageShift) : kvmHvPageShift(v, r);
  }

  /** (base, actual) of an HPTE under this guest's semantics, undefined when refused (docs/model/translation.md §2.7). */
  decodePagePair(v: bigint, r: bigint): PagePair | undefined {
    return this.semantics === "qemu" ? qemuPagePair(v, r, this.options.hptMaxPageShift) : kvmHvPagePair(v, r);
  }

  /** The gfn (host page) of the guest page an HPTE maps, from its guest view of r; null for MMIO. */
  gfnOfHpte(v: bigint, ptex: number): number | null {
    const gr = this.table.guestRpte(ptex);
    const shift = kvmHvPageShift(v, gr);
    if (shift === 0) return null;
    const gpa = gr & HPTE_R_RPN & ~lowMask(shift);
    if (gpa >= BigInt(this.ramBytes)) return null;
    return Number(gpa >> BigInt(this.m.config.hostPageShift));
  }

  private live(): void {
    if (this.dead) throw new Error(`guest LPID ${this.lpid} was destroyed`);
  }

  // ───────── hypercalls ─────────

  private call(name: HcallName, inputs: readonly bigint[], nOut: number, opts: HcallOptions = {}): HcallResult {
    this.live();
    const cpu = checkInt("cpu", opts.cpu ?? 0, this.m.cpus);
    const regs: Regs = Array.from({ length: 8 }, (_, i) => inputs[i] ?? 0n);
    const ret = this.m.hcall(this, name, regs, cpu, opts.problemState ?? false);
    this.m.sinkFor(this).hcall(name, ret);
    return { ret, out: regs.slice(0, nOut) };
  }
  hEnter(flags: bigint, ptex: bigint, pteh: bigint, ptel: bigint, opts?: HcallOptions): HcallResult {
    return this.call("H_ENTER", [checkU64("flags", flags), checkU64("ptex", ptex), checkU64("pteh", pteh), checkU64("ptel", ptel)], 1, opts);
  }
  hRemove(flags: bigint, ptex: bigint, avpn: bigint, opts?: HcallOptions): HcallResult {
    return this.call("H_REMOVE", [checkU64("flags", flags), checkU64("ptex", ptex), checkU64("avpn", avpn)], 2, opts);
  }
  hProtect(flags: bigint, ptex: bigint, avpn: bigint, opts?: HcallOptions): HcallResult {
    return this.call("H_PROTECT", [checkU64("flags", flags), checkU64("ptex", ptex), checkU64("avpn", avpn)], 0, opts);
  }
  hRead(flags: bigint, ptex: bigint, opts?: HcallOptions): HcallResult {
    checkU64("flags", flags);
    return this.call("H_READ", [flags, checkU64("ptex", ptex)], (flags & H_READ_4) !== 0n ? 8 : 2, opts);
  }
  hBulkRemove(words: readonly bigint[], opts?: HcallOptions): HcallResult {
    if (words.length > 8) throw new RangeError(`H_BULK_REMOVE takes at most 8 words (4 pairs), got ${words.length}`);
    return this.call("H_BULK_REMOVE", words.map((w, i) => checkU64(`words[${i}]`, w)), 8, opts);
  }

  // ───────── the KVM model ─────────

  runVcore(vcore: number, core: number, vcpuMask = 0): void {
    this.live();
    checkInt("core", core, this.m.cores);
    checkInt("vcore", vcore, 65536);
    checkInt("vcpuMask", vcpuMask, 256);
    this.m.runVcore(this, vcore, core, vcpuMask);
  }
  exitVcore(vcore: number): void {
    this.live();
    checkInt("vcore", vcore, 65536);
    this.m.exitVcore(this, vcore);
  }
  pageOut(gfn: number, cpu = 0): number {
    this.live();
    checkInt("gfn", gfn, 2 ** 32);
    checkInt("cpu", cpu, this.m.cpus);
    return this.m.pageOut(this, gfn, cpu);
  }
  pageIn(gfn: number): number {
    this.live();
    checkInt("gfn", gfn, 2 ** 32);
    return this.m.pageIn(this, gfn);
  }
  reclaim(gfns: number[], cpu = 0): number {
    this.live();
    if (gfns.length < 1 || gfns.length > 8) throw new RangeError(`reclaim: 1 to 8 candidate gfns, got ${gfns.length}`);
    gfns.forEach((g) => checkInt("gfn", g, 2 ** 32));
    return this.m.reclaim(this, gfns, cpu);
  }
  resetHpt(cpu = 0): void {
    this.live();
    this.m.resetHpt(this, cpu);
  }

  // ───────── inspection (the engine Guest's) ─────────

  hpte(ptex: number): { v: bigint; r: bigint } {
    checkInt("ptex", ptex, this.npte);
    return { v: this.table.v(ptex), r: this.table.r(ptex) };
  }
  guestRpte(ptex: number): bigint {
    checkInt("ptex", ptex, this.npte);
    return this.semantics === "qemu" ? this.table.r(ptex) : this.table.guestRpte(ptex);
  }
  rmap(gfn: number): bigint {
    if (this.semantics === "qemu") return 0n;
    checkInt("gfn", gfn, this.hostPages);
    return this.table.rmap(gfn);
  }
  rmapChain(gfn: number): number[] {
    if (this.semantics === "qemu") return [];
    checkInt("gfn", gfn, this.hostPages);
    return this.table.chain(gfn);
  }
  frame(gfn: number): number {
    if (this.semantics === "qemu") return -1;
    checkInt("gfn", gfn, this.hostPages);
    return this.frames[gfn]!;
  }
  counters(): CounterBlock {
    return copyCounterBlock(this.block);
  }
  kvmCounters(): KvmCounters {
    return copyKvmCounters(this.kvm);
  }
  /** Cores (or, under p9-hash, TLBs) whose need_tlb_flush bit is set. */
  needTlbFlush(): number[] {
    return this.needFlush.flatMap((b, core) => (b ? [core] : []));
  }
  /** kvm.last_vcpu[slot] (pre-patch; 0xffff after an HPT reset). */
  lastVcpu(slot: number): number {
    checkInt("slot", slot, this.lastVcpuTab.length);
    return this.lastVcpuTab[slot]!;
  }
  vcpuState(vcpu: number): { lastCpu: number; runningOn: number | null } {
    checkInt("vcpu", vcpu, this.onlineVcpus);
    return { ...this.vcpuTab[vcpu]! };
  }
  vcoreState(vcore: number): { pcpu: number | null; running: boolean; vcpuMask: number; runs: number } {
    checkInt("vcore", vcore, this.onlineVcores);
    return { ...this.vcoreTab[vcore]! };
  }
  /** deferred-va: the recorded VAs, oldest first. */
  /** lazy-reuse's quarantine (../quarantine.ts), as the engine's Guest.quarantine() shows it; null without one. */
  quarantine(): { held: number[]; closing: number; pending: number[]; mayHold: number[] } | null {
    const q = this.quarantineState;
    if (!q) return null;
    const cores = (m: boolean[]) => m.flatMap((x, c) => (x ? [c] : []));
    return { held: [...q.held], closing: q.closing, pending: cores(q.pending), mayHold: cores(q.mayHold) };
  }

  deferred(): { set: number; vpn4k: bigint; gfn: number | null }[] {
    return this.deferredVas.map((d) => ({ set: d.set, vpn4k: d.vpn4k, gfn: d.gfn }));
  }
  /** ipi-tlbiel, batched-reclaim: the cores in the VM's "may hold entries" mask, in order. */
  ipiMask(): number[] {
    return this.mayHold.flatMap((b, core) => (b ? [core] : []));
  }
  /** batched-reclaim: the frames held until the batch's flush (−1: freed early), oldest first. */
  heldFrames(): number[] {
    return [...this.batch];
  }
}
