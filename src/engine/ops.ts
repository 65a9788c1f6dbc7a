/**
 * The one op encoder (docs/memory.md, "Op encoding"): every writer of the shared op buffer —
 * Machine's single ops, OpBatch, the workloads' OpWriter and the lackey driver — encodes an op
 * here, as u64 words (BigInt) or as u32 halves (no BigInt on the hot path); and the decoding of what
 * an op leaves in r3 (KVM ops' error codes).
 */
import type { AccessKind } from "../types.js";
import { OP, OP_BYTES, OP_REJECTED, KVM_ERR } from "./layout.js";

/** u64 words per op. */
export const OP_WORDS64 = OP_BYTES / 8;
/** u32 halves per op. */
export const OP_HALVES = OP_BYTES / 4;

/**
 * u64 word indices inside an op: the header, r3 (result), r4.. (inputs, overwritten by outputs),
 * the lpid of machine ops, and the spare word where the host keeps H_READ's flags. A translate op
 * reads slbV, ea and the access kind from r4–r6, guest work cycles from word 7, and writes the real
 * address to word 5 and the detector's verdict to word 6.
 */
export const OPW = {
  HEADER: 0, R3: 1, R4: 2, LPID: 10, READ_FLAGS: 11,
  SLB: 2, EA: 3, ACCESS: 4, RA: 5, VERDICT: 6, WORK: 7,
} as const;

/** Access kind → the translate op's code. */
export const ACCESS_CODE: Record<AccessKind, bigint> = { load: 0n, store: 1n, ifetch: 2n };

/** The header word: opcode[0..15] | opflags[16..31] | cpu[32..47] | guest slot[48..63]. */
export function opHeader(opcode: number, cpu: number, slot = 0, opflags = 0): bigint {
  return BigInt(opcode) | (BigInt(opflags) << 16n) | (BigInt(cpu) << 32n) | (BigInt(slot) << 48n);
}

/** Write a whole op at u64 word `o`: header, inputs r4.., lpid; every other word 0. */
export function encodeOp(w: BigUint64Array, o: number, header: bigint, regs: readonly bigint[], lpid = 0): void {
  w.fill(0n, o, o + OP_WORDS64);
  w[o] = header;
  for (let i = 0; i < regs.length; i++) w[o + OPW.R4 + i] = regs[i]!;
  w[o + OPW.LPID] = BigInt(lpid);
}

/**
 * Write an op's header at u32 half `o` (the u32 view of the same buffer): the caller writes the
 * inputs it needs (u32 pair k of word i at o + 2i, o + 2i + 1); the other words keep what was there.
 */
export function encodeOpHeader32(u32: Uint32Array, o: number, opcode: number, cpu: number, slot: number, opflags = 0): void {
  u32[o] = opcode | (opflags << 16);
  u32[o + 1] = cpu | (slot << 16);
}

/** The opcode of the op at u64 word `o`. */
export function opcodeAt(w: BigUint64Array, o: number): number {
  return Number(w[o]! & 0xffffn);
}

/** A KVM-model operation the simulated kernel would refuse. */
export class KvmOpError extends Error {
  constructor(message: string, readonly code: bigint) {
    super(message);
    this.name = "KvmOpError";
  }
}

const KVM_ERR_TEXT: Record<string, string> = {
  [KVM_ERR.BAD_VCORE.toString()]: "no such vcore, or no vcpu of it selected",
  [KVM_ERR.VCORE_BUSY.toString()]: "the vcore is already running",
  [KVM_ERR.CORE_BUSY.toString()]: "another vcore runs on that core",
  [KVM_ERR.NOT_RUNNING.toString()]: "the vcore is not running",
  [KVM_ERR.PINNED.toString()]: "guest memory is pinned under this policy (PPC970: no host paging)",
  [KVM_ERR.BAD_GFN.toString()]: "gfn is not a page of the guest's RAM (or the guest is a qemu guest)",
  [KVM_ERR.NO_FRAME.toString()]: "no host frame (already paged out, or none free)",
  [KVM_ERR.GUEST_RUNNING.toString()]: "a vcore of the guest is running (KVM refuses with -EBUSY)",
};

/** Turn an error r3 of a KVM op into an exception; return r3 otherwise. */
export function kvmCheck(what: string, r: bigint): bigint {
  if (r === OP_REJECTED) throw new RangeError(`${what}: rejected (bad guest or arguments)`);
  const m = KVM_ERR_TEXT[r.toString()];
  if (m) throw new KvmOpError(`${what}: ${m}`, r);
  return r;
}

const U64_LIMIT = 1n << 64n;

/** An op argument that must be an unsigned 64-bit value. */
export function checkU64(name: string, x: bigint): bigint {
  if (typeof x !== "bigint" || x < 0n || x >= U64_LIMIT) throw new RangeError(`${name}: ${String(x)} is not an unsigned 64-bit value`);
  return x;
}

/** An op argument that must be an integer in [0, limit). */
export function checkInt(name: string, x: number, limit: number): number {
  if (!Number.isInteger(x) || x < 0 || x >= limit) throw new RangeError(`${name}: ${x} is not an integer in [0, ${limit})`);
  return x;
}

/** H_READ's H_READ_4 flag: four HPTEs (8 words) instead of one. */
const H_READ_4 = 0x0000002000000000n;

/** Output registers H_READ reports (r4..) for its flags. */
export function hReadOutCount(flags: bigint): number {
  return (flags & H_READ_4) !== 0n ? 8 : 2;
}

/** Output registers an hcall reports (r4..), by opcode (H_READ: by its input flags). */
export function hcallOutCount(opcode: number, flags: bigint): number {
  switch (opcode) {
    case OP.H_ENTER: return 1;
    case OP.H_REMOVE: return 2;
    case OP.H_PROTECT: return 0;
    case OP.H_READ: return hReadOutCount(flags);
    default: return 8;
  }
}
