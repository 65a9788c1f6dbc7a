/**
 * A seeded vcore scheduler: places the vcores of a set of guests on physical cores, preempts and
 * migrates them at given rates, and accepts explicit placements (docs/kvm-model.md, "Machine,
 * guests, vcores"). It keeps its own picture of which vcore runs where, so its decisions are
 * always valid for the engine, and writes them as ops into a batch: scheduling is bulk work too.
 */
import type { Guest } from "../engine/guest.js";
import type { Machine } from "../engine/machine.js";

export interface SchedulerOptions {
  /** Seed of every random choice (same seed, same schedule). */
  seed: number;
  /** Per tick, the probability that a running vcore moves to another free core. */
  migrationRate: number;
  /** Per tick, the probability that a running vcore is preempted (exits and waits a tick). */
  preemptRate?: number;
  /** Per tick, the probability that a running vcore that stays exits to the host and re-enters (timer, I/O). */
  exitRate?: number;
}

export interface Placement {
  guest: Guest;
  vcore: number;
  core: number;
}

/**
 * mulberry32: a small, fast, well-distributed 32-bit generator, one draw per call (the stream of
 * `Draws`, which fills a buffer with mulberry32Fill; test/scheduler.test.ts pins it to the textbook
 * version).
 */
export function mulberry32(seed: number): () => number {
  const d = new Draws(seed);
  return () => d.next();
}

/**
 * mulberry32's next `out.length - from` draws into out[from…], from state[0] (updated) — the one
 * place its arithmetic is written. The state is an Int32Array: a closure variable holding a uint32
 * above 2^30 would be boxed as a heap number at every step.
 */
export function mulberry32Fill(state: Int32Array, out: Float64Array, from: number): void {
  let a = state[0]!;
  for (let k = from; k < out.length; k++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[k] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  state[0] = a;
}

/**
 * mulberry32's stream read from a buffer filled 1024 draws at a time. A hot loop calls `ensure(k)`
 * once for its next k draws and then reads `buf[pos++]` inline: no call per draw (a draw returned by
 * a call V8 does not inline is boxed, an allocation per draw). `next()` is for rare paths. Same
 * sequence as mulberry32(seed) however the two are mixed.
 */
export class Draws {
  readonly buf = new Float64Array(1024);
  pos = 1024;
  readonly #state: Int32Array;
  constructor(seed: number) {
    this.#state = new Int32Array([seed]);
  }
  /** Make sure the next k (≤ 1024) draws are in buf[pos …]: the unread ones move to the front, new ones follow. */
  ensure(k: number): void {
    if (this.pos <= 1024 - k) return;
    this.buf.copyWithin(0, this.pos);
    mulberry32Fill(this.#state, this.buf, 1024 - this.pos);
    this.pos = 0;
  }
  next(): number {
    if (this.pos === 1024) this.ensure(1);
    return this.buf[this.pos++]!;
  }
}

/**
 * Where the scheduler writes its vcore entries and exits, in order with the rest: an OpBatch, or a
 * study's OpWriter (which keeps them in its op buffer with the guest's ops, no extra engine call).
 */
export interface VcoreOps {
  runVcore(guest: Guest, vcore: number, core: number): unknown;
  exitVcore(guest: Guest, vcore: number): unknown;
}

export class Scheduler {
  readonly #m: Machine;
  readonly #guests: Guest[];
  readonly #rand: () => number;
  readonly #opts: Required<SchedulerOptions>;
  /** core → placement, or null. */
  readonly #cores: (Placement | null)[];
  /** lpid · 2^16 + vcore → core (a number key: no string built per lookup). */
  readonly #where = new Map<number, number>();
  migrations = 0;
  preemptions = 0;
  reentries = 0;

  constructor(machine: Machine, guests: Guest[], opts: SchedulerOptions) {
    if (!(opts.migrationRate >= 0 && opts.migrationRate <= 1)) throw new RangeError(`migrationRate: ${opts.migrationRate} is not in [0, 1]`);
    const preemptRate = opts.preemptRate ?? 0;
    if (!((opts.exitRate ?? 0) >= 0 && (opts.exitRate ?? 0) <= 1)) throw new RangeError(`exitRate: ${opts.exitRate} is not in [0, 1]`);
    if (!(preemptRate >= 0 && preemptRate + opts.migrationRate <= 1)) throw new RangeError(`preemptRate: ${preemptRate} + migrationRate must be in [0, 1]`);
    this.#m = machine;
    this.#guests = guests;
    this.#rand = mulberry32(opts.seed);
    this.#opts = { ...opts, preemptRate, exitRate: opts.exitRate ?? 0 };
    this.#cores = new Array<Placement | null>(machine.config.cores).fill(null);
  }

  #key(g: Guest, vcore: number): number {
    return g.lpid * 65536 + vcore;
  }

  /** The core vcore runs on, or null. */
  coreOf(g: Guest, vcore: number): number | null {
    return this.#where.get(this.#key(g, vcore)) ?? null;
  }

  /** Every running vcore, by core. */
  placements(): Placement[] {
    return this.#cores.filter((p): p is Placement => p !== null);
  }

  /** cpus that run a vcpu of g now (vcore v on core c: cpus c·T … c·T + vcpus of v − 1). */
  cpusOf(g: Guest): number[] {
    const T = this.#m.config.smt;
    const out: number[] = [];
    for (let vc = 0; vc < g.vcores; vc++) {
      const core = this.coreOf(g, vc);
      if (core === null) continue;
      const n = Math.min(g.options.threadsPerVcore, g.vcpus - vc * g.options.threadsPerVcore);
      for (let t = 0; t < n; t++) out.push(core * T + t);
    }
    return out;
  }

  #freeCores(): number[] {
    const out: number[] = [];
    this.#cores.forEach((p, c) => { if (p === null) out.push(c); });
    return out;
  }

  #run(batch: VcoreOps, g: Guest, vcore: number, core: number): void {
    batch.runVcore(g, vcore, core);
    const p = { guest: g, vcore, core };
    this.#cores[core] = p;
    this.#where.set(this.#key(g, vcore), core);
  }

  #exit(batch: VcoreOps, g: Guest, vcore: number): void {
    const core = this.coreOf(g, vcore);
    if (core === null) return;
    batch.exitVcore(g, vcore);
    this.#cores[core] = null;
    this.#where.delete(this.#key(g, vcore));
  }

  /** Explicit placement: the vcore leaves where it runs and enters `core` (which must be free or its own). */
  place(batch: VcoreOps, g: Guest, vcore: number, core: number): void {
    if (!Number.isInteger(core) || core < 0 || core >= this.#cores.length) throw new RangeError(`core: ${core} is not a core of the machine`);
    const busy = this.#cores[core];
    if (busy && !(busy.guest === g && busy.vcore === vcore)) throw new RangeError(`core ${core} runs LPID ${busy.guest.lpid} vcore ${busy.vcore}`);
    this.#exit(batch, g, vcore);
    this.#run(batch, g, vcore, core);
  }

  /**
   * Give vcore `vcore` of g a core now, whatever the schedule (a trace call needs its vcpu running):
   * a free core drawn with `draw`, else the core of a neighbour's vcore, else of another of g's
   * vcores, which is stopped. Returns the core.
   */
  forcePlace(batch: VcoreOps, g: Guest, vcore: number, draw: () => number): number {
    const busy = new Set(this.placements().map((x) => x.core));
    const free: number[] = [];
    for (let c = 0; c < this.#cores.length; c++) if (!busy.has(c)) free.push(c);
    let to: number;
    if (free.length) to = free[Math.floor(draw() * free.length)]!;
    else {
      const pl = this.placements();
      const victim = pl.find((x) => x.guest !== g) ?? pl.find((x) => x.vcore !== vcore)!;
      to = victim.core;
      this.stop(batch, victim.guest, victim.vcore);
    }
    this.place(batch, g, vcore, to);
    return to;
  }

  /** Stop a vcore (preempted, or its guest is going away). */
  stop(batch: VcoreOps, g: Guest, vcore: number): void {
    this.#exit(batch, g, vcore);
  }

  /** Forget a destroyed guest's vcores (the engine exits them at destroy). */
  forget(g: Guest): void {
    for (let vc = 0; vc < g.vcores; vc++) {
      const core = this.coreOf(g, vc);
      if (core !== null) this.#cores[core] = null;
      this.#where.delete(this.#key(g, vc));
    }
  }

  /**
   * One scheduling round, in a fixed order (guests, then vcores): each running vcore is preempted
   * with preemptRate, migrated to a random free core with migrationRate, or else exits to the host
   * and re-enters its core with exitRate; then every waiting vcore is placed on a random free core
   * while there are any.
   */
  tick(batch: VcoreOps): void {
    const { migrationRate, preemptRate } = this.#opts;
    const waiting = new Set<number>();
    for (const g of this.#guests) {
      for (let vc = 0; vc < g.vcores; vc++) {
        const core = this.coreOf(g, vc);
        if (core === null) continue;
        const r = this.#rand();
        if (r < preemptRate) {
          this.#exit(batch, g, vc);
          waiting.add(this.#key(g, vc));
          this.preemptions++;
        } else if (r < preemptRate + migrationRate) {
          const free = this.#freeCores();
          if (free.length === 0) continue;
          const to = free[Math.floor(this.#rand() * free.length)]!;
          this.#exit(batch, g, vc);
          this.#run(batch, g, vc, to);
          this.migrations++;
        } else if (this.#opts.exitRate > 0 && this.#rand() < this.#opts.exitRate) {
          // a host exit (timer, interrupt, I/O) and straight back in on the same core
          this.#exit(batch, g, vc);
          this.#run(batch, g, vc, core);
          this.reentries++;
        }
      }
    }
    for (const g of this.#guests) {
      for (let vc = 0; vc < g.vcores; vc++) {
        if (this.coreOf(g, vc) !== null || waiting.has(this.#key(g, vc))) continue;
        const free = this.#freeCores();
        if (free.length === 0) return;
        this.#run(batch, g, vc, free[Math.floor(this.#rand() * free.length)]!);
      }
    }
  }
}
