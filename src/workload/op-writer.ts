/**
 * The op writer the study workloads share: ops go straight into the machine's shared op buffer as
 * 32-bit halves (no BigInt on the hot path, docs/memory.md "Ops") and run when the buffer is full or
 * before anything that must see their effect; the scheduler's vcore entries and exits are written
 * in order with the rest.
 *
 * Mirrors: a workload whose ops never depend on what policies change (generatorKey) can drive
 * several machines at once — one per policy variant. Each engine call is made on every mirror
 * first, with a copy of the ops (running overwrites argument words with results), in calls of
 * MIRROR_CALL_OPS ops, then on the first machine (the one the generator may read, whose op buffer
 * keeps the results in place): every machine executes exactly the ops it would alone, in the same
 * order. (Replaying a tape of many calls per machine instead, so that one machine's state
 * at a time is hot in the caches, measured no faster: the default study 21.7–22.0 s against
 * 21.2–21.8 s.)
 */
import type { Guest } from "../engine/guest.js";
import type { Machine } from "../engine/machine.js";
import type { VcoreOps } from "./scheduler.js";
import { OP } from "../engine/layout.js";
import { OP_HALVES, encodeOpHeader32 } from "../engine/ops.js";

/** u32 halves per op. */
export const OP_WORDS = OP_HALVES;

/**
 * Ops per engine call on a mirror (64 KiB of them): a mirror runs each of the writer's engine calls
 * as calls of this many ops, each copied from the writer's buffer to the start of the mirror's own,
 * so that the copy's source stays in the caches for every mirror and its destination is the same
 * 64 KiB each time. Copying whole calls (up to 512 KiB, into buffers the engine's state had pushed
 * out of the caches) was ~5% of a real-guest task (realGuestTask: relaxed_memmove 4.96% of its
 * samples, 2.1% in 512-op calls; the task's CPU time 0.97×). Shorter calls switch machines more
 * often: on the default study's largest synthetic task (54 machines of 256 cores, 53 mirrors)
 * 512-op calls took 0.98× the CPU time of whole calls, 128-op calls 1.06×. A machine's results do not depend on how its ops are split into
 * engine calls (the engine keeps nothing per call that a result reads; test/study.test.ts runs
 * grouped points against the same points alone).
 */
export const MIRROR_CALL_OPS = 512;

export class OpWriter implements VcoreOps {
  readonly m: Machine;
  /** The op buffer as u32 halves: op k's words start at k · OP_WORDS. */
  readonly u32: Uint32Array;
  readonly #cap: number;
  /** Machines that run every op written here too, and their op buffers. */
  readonly #mirrors: { m: Machine; u32: Uint32Array }[];
  #n = 0;
  /** Every op executed so far (written or batched). */
  engineOps = 0;

  /**
   * `batchOps`: run at most this many ops per engine call (default: the op buffer's capacity). Results
   * do not depend on it. `mirrors`: machines with op buffers of the same size that execute every op
   * written here too, in the same engine calls.
   */
  constructor(m: Machine, batchOps?: number, mirrors: readonly Machine[] = []) {
    this.m = m;
    const view = (x: Machine) => { const ops = x.opWords; return new Uint32Array(ops.buffer, ops.byteOffset, ops.length * 2); };
    this.u32 = view(m);
    this.#cap = Math.max(1, Math.min(m.plan.opSlots, batchOps ?? Infinity));
    this.#mirrors = mirrors.map((x) => {
      if (x.plan.opSlots !== m.plan.opSlots) throw new RangeError("OpWriter: a mirror's op buffer differs in size");
      return { m: x, u32: view(x) };
    });
  }

  /** Ops written and not run yet (a generator kernel that writes the buffer itself reads and sets it). */
  get pending(): number {
    return this.#n;
  }

  set pending(n: number) {
    if (!(Number.isInteger(n) && n >= 0 && n <= this.#cap)) throw new RangeError(`OpWriter: ${n} pending ops (capacity ${this.#cap})`);
    this.#n = n;
  }

  /** Ops per engine call. */
  get capacity(): number {
    return this.#cap;
  }

  /** Run what is written (on the mirrors too). */
  flush(): void {
    if (this.#n === 0) return;
    this.#call(this.#n);
  }

  /**
   * One engine call of the first `n` ops of the buffer (n may be 0): on the mirrors, then on the first
   * machine. A mirror runs them MIRROR_CALL_OPS at a time, each copied to the start of its buffer.
   */
  #call(n: number): void {
    if (this.#mirrors.length) {
      const step = MIRROR_CALL_OPS;
      let a = 0;
      do {
        const k = Math.min(step, n - a);
        const src = this.u32.subarray(a * OP_WORDS, (a + k) * OP_WORDS);
        for (const x of this.#mirrors) {
          x.u32.set(src);
          x.m.runOps(k);
        }
        a += k;
      } while (a < n);
    }
    this.m.runOps(n);
    this.engineOps += n;
    this.#n = 0;
  }

  /** Start an op: writes its header words and returns the u32 index of the op (arguments from +4). */
  op(opcode: number, cpu: number, slot: number, flags = 0): number {
    if (this.#n === this.#cap) this.flush();
    const o = this.#n++ * OP_WORDS;
    encodeOpHeader32(this.u32, o, opcode, cpu, slot, flags);
    return o;
  }

  /** VCORE_RUN of guest's vcore on core, written like an OpBatch's (the rest of the op zero), run in order with the other ops. */
  runVcore(guest: Guest, vcore: number, core: number): void {
    const o = this.#vcoreOp(OP.VCORE_RUN, guest, vcore);
    this.u32[o + 6] = core;
  }

  /** VCORE_EXIT of guest's vcore, in order with the other ops. */
  exitVcore(guest: Guest, vcore: number): void {
    this.#vcoreOp(OP.VCORE_EXIT, guest, vcore);
  }

  #vcoreOp(opcode: number, guest: Guest, vcore: number): number {
    const o = this.op(opcode, 0, guest.slot);
    this.u32.fill(0, o + 2, o + OP_WORDS);
    this.u32[o + 4] = vcore;
    return o;
  }

  /**
   * Run the written ops; then what `fill` writes through this writer (vcore entries and exits: the
   * scheduler's) runs as an engine call of its own — the calls an OpBatch of them would make, so
   * results (and the golden tests' per-call digests) do not depend on which.
   */
  scheduled(fill: (ops: VcoreOps) => void): void {
    this.flush();
    fill(this);
    this.#call(this.#n);
  }
}
