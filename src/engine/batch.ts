/**
 * Batches: many ops written into the shared op buffer, executed in order by one WASM call.
 * The encoding is docs/memory.md's; results are read back from the same slots after `run()`.
 */
import type { AccessKind, HcallOptions, HcallResult, TranslateResult } from "../types.js";
import { OP, OP_BYTES, OPF_PROBLEM_STATE, OP_REJECTED, XLATE } from "./layout.js";
import { Machine, type Guest } from "./machine.js";

const WORDS = OP_BYTES / 8;
const ACCESS: Record<AccessKind, bigint> = { load: 0n, store: 1n, ifetch: 2n };
const H_READ_4 = 0x0000002000000000n;

/** Output registers an hcall reports (r4..), by opcode. */
function outCount(opcode: number, flags: bigint): number {
  switch (opcode) {
    case OP.H_ENTER: return 1;
    case OP.H_REMOVE: return 2;
    case OP.H_PROTECT: return 0;
    case OP.H_READ: return (flags & H_READ_4) !== 0n ? 8 : 2;
    default: return 8;
  }
}

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
    const o = i * WORDS;
    const w = this.#w;
    w.fill(0n, o, o + WORDS);
    w[o] = w0;
    for (let k = 0; k < regs.length; k++) w[o + 2 + k] = regs[k]!;
    w[o + 10] = BigInt(lpid);
    return i;
  }

  #hcall(guest: Guest, opcode: number, regs: readonly bigint[], opts?: HcallOptions): number {
    return this.#push(Machine.opHeader(opcode, opts?.cpu ?? 0, guest.slot, opts?.problemState ? OPF_PROBLEM_STATE : 0), regs);
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
    this.#w[i * WORDS + 11] = flags; // r4 is overwritten by the output; keep the flags for hcallResult()
    return i;
  }
  hBulkRemove(guest: Guest, words: readonly bigint[], opts?: HcallOptions): number {
    if (words.length !== 8) throw new RangeError(`hBulkRemove: expected 8 words, got ${words.length}`);
    return this.#hcall(guest, OP.H_BULK_REMOVE, words, opts);
  }
  translate(cpu: number, lpid: number, slbV: bigint, ea: bigint, access: AccessKind = "load"): number {
    return this.#push(Machine.opHeader(OP.TRANSLATE, cpu), [slbV, ea, ACCESS[access]], lpid);
  }
  tlbiel(cpu: number, lpid: number, slbV: bigint, ea: bigint): number {
    return this.#push(Machine.opHeader(OP.TLBIEL, cpu), [slbV, ea], lpid);
  }
  tlbie(lpid: number, slbV: bigint, ea: bigint): number {
    return this.#push(Machine.opHeader(OP.TLBIE, 0), [slbV, ea], lpid);
  }
  flushLpid(cpu: number, lpid: number): number {
    return this.#push(Machine.opHeader(OP.FLUSH_LPID, cpu), [], lpid);
  }

  // the KVM model (docs/kvm-model.md); results: r3 via result(i) (0 or KVM_ERR.*)
  runVcore(guest: Guest, vcore: number, core: number, vcpuMask = 0): number {
    return this.#push(Machine.opHeader(OP.VCORE_RUN, 0, guest.slot), [BigInt(vcore), BigInt(core), BigInt(vcpuMask)]);
  }
  exitVcore(guest: Guest, vcore: number): number {
    return this.#push(Machine.opHeader(OP.VCORE_EXIT, 0, guest.slot), [BigInt(vcore)]);
  }
  pageOut(guest: Guest, gfn: number, cpu = 0): number {
    return this.#push(Machine.opHeader(OP.PAGE_OUT, cpu, guest.slot), [BigInt(gfn)]);
  }
  pageIn(guest: Guest, gfn: number): number {
    return this.#push(Machine.opHeader(OP.PAGE_IN, 0, guest.slot), [BigInt(gfn)]);
  }
  work(cpu: number, cycles: number): number {
    return this.#push(Machine.opHeader(OP.WORK, cpu), [BigInt(cycles)]);
  }

  /** r3 of op i as an unsigned word (KVM ops: 0, a count, or a KVM_ERR code). */
  result(i: number): bigint {
    return this.#w[i * WORDS + 1]!;
  }

  /** The detector's verdict on translate op i: 0 ok (or not a hit), 1 stale but harmless, 2 violation. */
  verdict(i: number): number {
    return this.#w[i * WORDS + 1] === XLATE.HIT ? Number(this.#w[i * WORDS + 6]!) : 0;
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
    return Number(this.#w[i * WORDS]! & 0xffffn);
  }

  /** True when the engine refused op i (bad cpu, guest or arguments). */
  rejected(i: number): boolean {
    return this.#w[i * WORDS + 1] === OP_REJECTED;
  }

  /** r3 of hcall op i (after run). */
  ret(i: number): number {
    return Number(this.#signed[i * WORDS + 1]!);
  }

  /** r4 + k of op i (after run). */
  reg(i: number, k: number): bigint {
    return this.#w[i * WORDS + 2 + k]!;
  }

  /** The hcall result of op i in PAPR register order (after run). */
  hcallResult(i: number): HcallResult {
    const opcode = this.opcode(i);
    // flags are overwritten by outputs; H_READ's count follows from what it wrote (8 words with H_READ_4)
    const n = outCount(opcode, opcode === OP.H_READ ? this.#readFlags(i) : 0n);
    const out: bigint[] = new Array(n);
    for (let k = 0; k < n; k++) out[k] = this.reg(i, k);
    return { ret: this.ret(i), out };
  }

  #readFlags(i: number): bigint {
    return this.#w[i * WORDS + 11]!; // word 11: H_READ's input flags, kept by hRead()
  }

  /** Translation result of op i (after run). */
  translateResult(i: number): TranslateResult {
    const kind = this.#w[i * WORDS + 1]!;
    if (kind === XLATE.BAD_SLB || kind === OP_REJECTED) throw new RangeError(`op ${i}: invalid translation arguments`);
    return { kind: kind === XLATE.HIT ? "hit" : kind === XLATE.MISS ? "miss" : "fault", ra: this.#w[i * WORDS + 5]! };
  }
}
