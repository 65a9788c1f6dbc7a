/**
 * Batches: many ops written into the shared op buffer, executed in order by one WASM call.
 * The encoding is docs/memory.md's; results are read back from the same slots after `run()`.
 */
import type { AccessKind, HcallOptions, HcallResult, TranslateResult } from "../types.js";
import { OP, OPF_PROBLEM_STATE, OP_REJECTED, XLATE } from "./layout.js";
import type { Guest } from "./guest.js";
import type { Machine } from "./machine.js";
import { ACCESS_CODE, OPW, OP_WORDS64 as WORDS, encodeOp, hcallOutCount, opHeader, opcodeAt } from "./ops.js";

export class OpBatch {
  readonly #m: Machine;
  readonly #w: BigUint64Array;
  readonly #signed: BigInt64Array;
  #n = 0;

  constructor(machine: Machine) {
    this.#m = machine;
    this.#w = machine.opWords;
    this.#signed = new BigInt64Array(this.#w.buffer, this.#w.byteOffset, this.#w.length);
  }

  get length(): number { return this.#n; }
  get capacity(): number { return this.#m.plan.opSlots; }
  get full(): boolean { return this.#n === this.capacity; }

  #push(w0: bigint, regs: readonly bigint[], lpid = 0): number {
    if (this.#n === this.capacity) throw new RangeError(`batch is full (${this.capacity} ops): run() it first`);
    const i = this.#n++;
    encodeOp(this.#w, i * WORDS, w0, regs, lpid);
    return i;
  }

  #hcall(guest: Guest, opcode: number, regs: readonly bigint[], opts?: HcallOptions): number {
    return this.#push(opHeader(opcode, opts?.cpu ?? 0, guest.slot, opts?.problemState ? OPF_PROBLEM_STATE : 0), regs);
  }

  hEnter(guest: Guest, flags: bigint, ptex: bigint, pteh: bigint, ptel: bigint, opts?: HcallOptions): number {
    return this.#hcall(guest, OP.H_ENTER, [flags, ptex, pteh, ptel], opts);
  }
  hRemove(guest: Guest, flags: bigint, ptex: bigint, avpn: bigint, opts?: HcallOptions): number {
    return this.#hcall(guest, OP.H_REMOVE, [flags, ptex, avpn], opts);
  }
  hProtect(guest: Guest, flags: bigint, ptex: bigint, avpn: bigint, opts?: HcallOptions): number {
    return this.#hcall(guest, OP.H_PROTECT, [flags, ptex, avpn], opts);
  }
  hRead(guest: Guest, flags: bigint, ptex: bigint, opts?: HcallOptions): number {
    const i = this.#hcall(guest, OP.H_READ, [flags, ptex], opts);
    this.#w[i * WORDS + OPW.READ_FLAGS] = flags; // r4 is overwritten by the output; keep the flags for hcallResult()
    return i;
  }
  hBulkRemove(guest: Guest, words: readonly bigint[], opts?: HcallOptions): number {
    if (words.length !== 8) throw new RangeError(`hBulkRemove: expected 8 words, got ${words.length}`);
    return this.#hcall(guest, OP.H_BULK_REMOVE, words, opts);
  }
  translate(cpu: number, lpid: number, slbV: bigint, ea: bigint, access: AccessKind = "load"): number {
    return this.#push(opHeader(OP.TRANSLATE, cpu), [slbV, ea, ACCESS_CODE[access]], lpid);
  }
  tlbiel(cpu: number, lpid: number, slbV: bigint, ea: bigint): number {
    return this.#push(opHeader(OP.TLBIEL, cpu), [slbV, ea], lpid);
  }
  tlbie(lpid: number, slbV: bigint, ea: bigint): number {
    return this.#push(opHeader(OP.TLBIE, 0), [slbV, ea], lpid);
  }
  flushLpid(cpu: number, lpid: number): number {
    return this.#push(opHeader(OP.FLUSH_LPID, cpu), [], lpid);
  }

  // the KVM model (docs/kvm-model.md); results: r3 via result(i) (0 or KVM_ERR.*)
  runVcore(guest: Guest, vcore: number, core: number, vcpuMask = 0): number {
    return this.#push(opHeader(OP.VCORE_RUN, 0, guest.slot), [BigInt(vcore), BigInt(core), BigInt(vcpuMask)]);
  }
  exitVcore(guest: Guest, vcore: number): number {
    return this.#push(opHeader(OP.VCORE_EXIT, 0, guest.slot), [BigInt(vcore)]);
  }
  pageOut(guest: Guest, gfn: number, cpu = 0): number {
    return this.#push(opHeader(OP.PAGE_OUT, cpu, guest.slot), [BigInt(gfn)]);
  }
  pageIn(guest: Guest, gfn: number): number {
    return this.#push(opHeader(OP.PAGE_IN, 0, guest.slot), [BigInt(gfn)]);
  }
  work(cpu: number, cycles: number): number {
    return this.#push(opHeader(OP.WORK, cpu), [BigInt(cycles)]);
  }

  /** r3 of op i as an unsigned word (KVM ops: 0, a count, or a KVM_ERR code). */
  result(i: number): bigint {
    return this.#w[i * WORDS + OPW.R3]!;
  }

  /** The detector's verdict on translate op i: 0 ok (or not a hit), 1 stale but harmless, 2 violation. */
  verdict(i: number): number {
    return this.#w[i * WORDS + OPW.R3] === XLATE.HIT ? Number(this.#w[i * WORDS + OPW.VERDICT]!) : 0;
  }

  /** Execute every op written so far, in order, in one WASM call. */
  run(): void {
    this.#m.runOps(this.#n);
  }

  /** Forget the ops (and their results). */
  clear(): void {
    this.#n = 0;
  }

  opcode(i: number): number {
    return opcodeAt(this.#w, i * WORDS);
  }

  /** True when the engine refused op i (bad cpu, guest or arguments). */
  rejected(i: number): boolean {
    return this.#w[i * WORDS + OPW.R3] === OP_REJECTED;
  }

  /** r3 of hcall op i (after run). */
  ret(i: number): number {
    return Number(this.#signed[i * WORDS + OPW.R3]!);
  }

  /** r4 + k of op i (after run). */
  reg(i: number, k: number): bigint {
    return this.#w[i * WORDS + OPW.R4 + k]!;
  }

  /** The hcall result of op i in PAPR register order (after run). */
  hcallResult(i: number): HcallResult {
    const opcode = this.opcode(i);
    // flags are overwritten by outputs; H_READ's count follows from what it wrote (8 words with H_READ_4)
    const n = hcallOutCount(opcode, opcode === OP.H_READ ? this.#readFlags(i) : 0n);
    const out: bigint[] = new Array(n);
    for (let k = 0; k < n; k++) out[k] = this.reg(i, k);
    return { ret: this.ret(i), out };
  }

  #readFlags(i: number): bigint {
    return this.#w[i * WORDS + OPW.READ_FLAGS]!; // H_READ's input flags, kept by hRead()
  }

  /** Translation result of op i (after run). */
  translateResult(i: number): TranslateResult {
    const kind = this.#w[i * WORDS + OPW.R3]!;
    if (kind === XLATE.BAD_SLB || kind === OP_REJECTED) throw new RangeError(`op ${i}: invalid translation arguments`);
    return { kind: kind === XLATE.HIT ? "hit" : kind === XLATE.MISS ? "miss" : "fault", ra: this.#w[i * WORDS + OPW.RA]! };
  }
}
