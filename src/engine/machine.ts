/**
 * The typed host API over the WASM engine: one shared memory per machine, ops written into the
 * op buffer and executed by one `runBatch` call, counters read straight from memory.
 */
import { resolveMachineConfig, resolveGuestOptions, type MachineConfig, type MachineConfigInput, type GuestOptionsInput, type GuestOptions } from "../config.js";
import type {
  AccessKind, CounterBlock, HcallOptions, HcallResult, HcallName, RetBucket, Semantics, SimGuest, SimMachine,
  TlbEntryView, TranslateResult,
} from "../types.js";
import { HCALL_NAMES, RET_BUCKETS, SCALAR_COUNTERS } from "../types.js";
import {
  planLayout, guestParts, formatBytes, H, G, GF_QEMU, STAT, STAT_HCALLS, STAT_CYCLES, STATS_BYTES, RET_BUCKET_COUNT, OP,
  OPF_PROBLEM_STATE, XLATE, OP_REJECTED, OP_BYTES, PAGE_BYTES, MAX_BYTES, MAX_PAGES, LAYOUT_MAGIC, LAYOUT_VERSION, NO_FRAME,
  NO_CPU, REC, K, KVM_ERR, DEFER_OVF, STALE, CC_COUNT, GUEST_BYTES,
  type LayoutPlan,
} from "./layout.js";
import { COST_ROWS, COST_CATEGORIES, type CostCategory } from "../model/costs.js";
import { policyByName, takesParam } from "../model/policies.js";
import { EngineAbort, engineModule, instantiateEngine, type HptlabExports } from "./wasm.js";
import { OpBatch } from "./batch.js";
import { adviseHugePages } from "./hugepages.js";

const U64_LIMIT = 1n << 64n;
/** Cost table name → K index name. */
const KEY_OF: Partial<Record<string, keyof typeof K>> = {
  tlbHit: "TLB_HIT", ptegWalk: "PTEG_WALK", hcall: "HCALL", tlbiel: "TLBIEL", tlbielExtra: "TLBIEL_EXTRA",
  tlbieBase: "TLBIE_BASE", tlbiePerChip: "TLBIE_PER_CHIP", tlbieExtra: "TLBIE_EXTRA", flushBase: "FLUSH_BASE",
  flushPerSet: "FLUSH_PER_SET", entryExit: "ENTRY_EXIT", ipi: "IPI", pageOutHpte: "PAGE_OUT_HPTE", hvFault: "HV_FAULT",
  coresPerChip: "CORES_PER_CHIP",
};

/** The KVM model's counters (docs/kvm-model.md), with cycles per cost category. */
export interface KvmCounters {
  violations: bigint;
  staleHarmless: bigint;
  staleHits: bigint;
  staleMarked: bigint;
  guestEntries: bigint;
  entryFlushes: bigint;
  fullFlushes: bigint;
  tlbieSequences: bigint;
  tlbielSequences: bigint;
  tlbieWaits: bigint;
  ipis: bigint;
  pageOuts: bigint;
  pageOutHptes: bigint;
  pageIns: bigint;
  hvFaults: bigint;
  deferredRecords: bigint;
  deferredOverflows: bigint;
  deferredTlbies: bigint;
  hptResets: bigint;
  localInvalidations: bigint;
  globalInvalidations: bigint;
  needFlushSets: bigint;
  cycles: Record<CostCategory, bigint>;
}
export const KVM_COUNTERS = [
  "violations", "staleHarmless", "staleHits", "staleMarked", "guestEntries", "entryFlushes", "fullFlushes",
  "tlbieSequences", "tlbielSequences", "tlbieWaits", "ipis", "pageOuts", "pageOutHptes", "pageIns", "hvFaults",
  "deferredRecords", "deferredOverflows", "deferredTlbies", "hptResets", "localInvalidations", "globalInvalidations",
  "needFlushSets",
] as const;

/** The detector's verdict on a TLB hit. */
export type Verdict = "ok" | "stale-harmless" | "violation";
const VERDICTS: Verdict[] = ["ok", "stale-harmless", "violation"];

/** One recorded violation: a TLB hit on a frame the accessing guest no longer owns. */
export interface ViolationRecord {
  cpu: number;
  lpid: number;
  /** Instance id of the accessing guest, and the frame's owner now (0 free, 0xffffffff host). */
  guest: number;
  owner: number;
  ea: bigint;
  /** VA >> 12 (page-aligned) of the entry, its segment size B and page shift. */
  vpn4k: bigint;
  b: number;
  pageShift: number;
  /** Real page number (4 KiB units) and host frame. */
  rpn: bigint;
  frame: number;
  /** The accessing cpu's clock. */
  time: bigint;
  /** Why the entry was stale, if the detector had marked it: the event that left it behind. */
  leftBy: StaleCause | null;
}

export interface StaleCause {
  cause: "local-invalidation" | "lpid-freed" | "hpt-reset";
  /** The cpu that issued the local invalidation (or ran the host operation) … */
  cpu: number;
  /** … and its clock then (low 40 bits). */
  time: bigint;
}

function staleCause(word: bigint): StaleCause | null {
  const c = Number(word >> 56n);
  if (c === 0) return null;
  const cause = c === STALE.LOCAL ? "local-invalidation" : c === STALE.LPID_FREE ? "lpid-freed" : "hpt-reset";
  return { cause, cpu: Number((word >> 40n) & 0xffffn), time: word & 0xffffffffffn };
}

/** Turn an error r3 of a KVM op into an exception. */
function kvmCheck(what: string, r: bigint): bigint {
  if (r === OP_REJECTED) throw new RangeError(`${what}: rejected (bad guest or arguments)`);
  const msg: Record<string, string> = {
    [KVM_ERR.BAD_VCORE.toString()]: "no such vcore, or no vcpu of it selected",
    [KVM_ERR.VCORE_BUSY.toString()]: "the vcore is already running",
    [KVM_ERR.CORE_BUSY.toString()]: "another vcore runs on that core",
    [KVM_ERR.NOT_RUNNING.toString()]: "the vcore is not running",
    [KVM_ERR.PINNED.toString()]: "guest memory is pinned under this policy (PPC970: no host paging)",
    [KVM_ERR.BAD_GFN.toString()]: "gfn is not a page of the guest's RAM (or the guest is a qemu guest)",
    [KVM_ERR.NO_FRAME.toString()]: "no host frame (already paged out, or none free)",
    [KVM_ERR.GUEST_RUNNING.toString()]: "a vcore of the guest is running (KVM refuses with -EBUSY)",
  };
  const m = msg[r.toString()];
  if (m) throw new KvmOpError(`${what}: ${m}`, r);
  return r;
}

/** A KVM-model operation the simulated kernel would refuse. */
export class KvmOpError extends Error {
  constructor(message: string, readonly code: bigint) {
    super(message);
    this.name = "KvmOpError";
  }
}
const WORDS_PER_OP = OP_BYTES / 8;
const ACCESS: Record<AccessKind, bigint> = { load: 0n, store: 1n, ifetch: 2n };

function checkU64(name: string, x: bigint): bigint {
  if (typeof x !== "bigint" || x < 0n || x >= U64_LIMIT) throw new RangeError(`${name}: ${String(x)} is not an unsigned 64-bit value`);
  return x;
}
function checkInt(name: string, x: number, limit: number): number {
  if (!Number.isInteger(x) || x < 0 || x >= limit) throw new RangeError(`${name}: ${x} is not an integer in [0, ${limit})`);
  return x;
}

/**
 * Memories of disposed machines, for the next machine made on this thread with the same engine
 * module (the debug and release builds' static data differ). A fresh WASM memory
 * page-faults on the first touch of every 4 KiB page (about 2,000 faults, a fifth of the time, for a
 * 256-core study point); a reused one is already mapped and only needs zeroing, which each machine
 * does lazily: a byte is zeroed when the machine first takes the memory that holds it, so what a
 * machine sees is exactly what a fresh memory would show. Up to MEMORY_POOL_MAX memories of
 * MEMORY_POOL_BYTES in all are kept: a study task runs the machines of a configuration's policy
 * variants at once (5 or 14 in the default study), and the next task reuses all of them (with a pool
 * of one, a task of five 256-core points ran 1.9× slower on 2 MiB pages: each fresh memory faults
 * its huge pages in).
 */
export const MEMORY_POOL_MAX = 16;
const MEMORY_POOL_BYTES = 2 ** 30;
/** One pool per engine build used on this thread (the builds are compiled once per process). */
const pools = new Map<WebAssembly.Module, MemoryPool>();
interface MemoryPool {
  memories: WebAssembly.Memory[];
  /** Bytes of the memories held. */
  bytes: number;
  staticEnd: number;
}

/**
 * Zero bytes [from, to) of a shared memory: 8 bytes at a time where aligned (a fill of a shared
 * Uint8Array goes byte by byte, 3× slower than a Float64Array's), bytes at the ragged ends.
 */
function zeroBytes(buf: ArrayBufferLike, from: number, to: number): void {
  const a = Math.min(to, Math.ceil(from / 8) * 8);
  const b = Math.max(a, Math.floor(to / 8) * 8);
  if (a > from) new Uint8Array(buf, from, a - from).fill(0);
  if (b > a) new Float64Array(buf, a, (b - a) / 8).fill(0);
  if (to > b) new Uint8Array(buf, b, to - b).fill(0);
}

/**
 * HPTLAB_LOOKAHEAD: whether the engine reads each chunk of ops ahead — "measured" (default: it times
 * both ways now and then and keeps the cheaper), "always" or "never". Speed only: every simulated
 * result is the same either way (test/golden.test.ts).
 */
function lookaheadMode(): number {
  const v = process.env.HPTLAB_LOOKAHEAD;
  if (v === undefined || v === "" || v === "measured") return 0;
  if (v === "always") return 1;
  if (v === "never") return 2;
  throw new Error(`HPTLAB_LOOKAHEAD=${JSON.stringify(v)}: expected measured, always or never`);
}

/**
 * Let go of the memories that disposed machines left for reuse on this thread (up to 1 GiB): the
 * garbage collector can then return them. Returns how many bytes were held. For long-lived embedders
 * between bursts of machines; machines made afterwards start on fresh memory.
 */
export function releaseMachineMemory(): number {
  let bytes = 0;
  for (const pool of pools.values()) {
    bytes += pool.bytes;
    pool.memories.length = 0;
    pool.bytes = 0;
  }
  return bytes;
}

/** Memories advised for 2 MiB pages, and their addresses (a pooled memory keeps its advice). */
const hugePagesBases = new WeakMap<WebAssembly.Memory, number>();

/** A guest's slice of the arena. */
interface ArenaBlock {
  offset: number;
  bytes: number;
}

export class Machine implements SimMachine {
  readonly config: MachineConfig;
  readonly plan: LayoutPlan;
  readonly memory: WebAssembly.Memory;
  /**
   * The memory's address in this process when it is advised for 2 MiB pages (src/engine/hugepages.ts;
   * HPTLAB_HUGEPAGES), else 0. Speed only.
   */
  get hugePagesBase(): number {
    return hugePagesBases.get(this.memory) ?? 0;
  }
  readonly #wasm: HptlabExports;
  #u32!: Uint32Array;
  #u64!: BigUint64Array;
  #i64!: BigInt64Array;
  #bufferBytes = 0;
  #stale = true;
  readonly #opWord: number;
  readonly #guests = new Map<number, Guest>();
  #nextInstance = 1;
  #arenaTop: number;
  #arenaFree: ArenaBlock[] = [];
  /** Of a reused memory: bytes below #zeroedTo are this machine's (zeroed or written); up to #dirtyEnd the last machine's. */
  #zeroedTo = 0;
  #dirtyEnd = 0;
  /** 64 KiB pages this machine has taken (a reused memory may hold more: the last machine's). */
  #pagesTaken = 1;
  #disposed = false;
  /** Where dispose() leaves the memory: the pool of this machine's engine module. */
  #pool!: MemoryPool;

  constructor(input: MachineConfigInput = {}, module: WebAssembly.Module = engineModule()) {
    this.config = resolveMachineConfig(input);
    let pool = pools.get(module);
    const reused = pool?.memories.pop();
    if (reused) {
      this.memory = reused;
      this.#dirtyEnd = reused.buffer.byteLength;
      pool!.bytes -= this.#dirtyEnd;
      // the engine's static data (written by instantiation) and scratch areas lie below layoutBase
      this.#zeroTo(pool!.staticEnd);
    } else {
      this.memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
      // 2 MiB pages for all it will grow into, where the native helper is built (speed only)
      const base = adviseHugePages(this.memory, MAX_BYTES);
      if (base !== 0) hugePagesBases.set(this.memory, base);
    }
    this.#wasm = instantiateEngine(this.memory, module);
    if (!pool) pools.set(module, (pool = { memories: [], bytes: 0, staticEnd: this.#wasm.layoutBase() }));
    this.#pool = pool;
    this.plan = planLayout(this.config, this.#wasm.layoutBase());
    if (this.plan.arena > MAX_BYTES) {
      throw new RangeError(`machine: needs ${formatBytes(this.plan.arena)} before any guest; one WASM32 memory holds ${formatBytes(MAX_BYTES)}`);
    }
    this.#growTo(this.plan.arena);
    this.#arenaTop = this.plan.arena;
    this.#opWord = this.plan.ops / 8;
    this.#writeHeader();
    this.#wasm.attach(this.plan.header);
    this.#wasm.initMachine();
    this.#wasm.setLookahead(lookaheadMode());
  }

  #growTo(bytes: number): void {
    const pages = Math.ceil(bytes / PAGE_BYTES);
    const have = this.memory.buffer.byteLength / PAGE_BYTES;
    if (pages > have) this.memory.grow(pages - have);
    this.#pagesTaken = Math.max(this.#pagesTaken, pages);
    this.#zeroTo(bytes);
    this.#stale = true;
    this.#views();
  }

  /** Take memory up to `bytes`: what a reused memory holds there from the last machine is zeroed. */
  #zeroTo(bytes: number): void {
    if (bytes <= this.#zeroedTo) return;
    const end = Math.min(bytes, this.#dirtyEnd);
    // once the engine is instantiated it zeroes (one bulk memory.fill: +1% on endToEnd256 over a Float64Array fill)
    if (end > this.#zeroedTo) {
      if (this.#wasm) this.#wasm.zeroRange(this.#zeroedTo, end);
      else zeroBytes(this.memory.buffer, this.#zeroedTo, end);
    }
    this.#zeroedTo = bytes;
  }

  /**
   * Give the machine's memory to the next machine made on this thread (it is then zeroed as that one
   * takes it): saves the page faults of a fresh memory. The machine is unusable afterwards; every
   * method that reads or runs the engine throws. Study points dispose of their machines once their
   * counters are read.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const pool = this.#pool;
    const bytes = this.memory.buffer.byteLength;
    if (pool.memories.length < MEMORY_POOL_MAX && pool.bytes + bytes <= MEMORY_POOL_BYTES) {
      pool.memories.push(this.memory);
      pool.bytes += bytes;
    }
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /**
   * The typed views over the whole memory, renewed after it grew. Only #growTo grows it (the engine
   * never does), so the views are renewed only then: reading `memory.buffer` of a shared memory
   * makes a new SharedArrayBuffer object each time, which the per-cpu readers would pay per call.
   */
  #views(): void {
    if (this.#disposed) throw new Error("machine: used after dispose()");
    if (!this.#stale) return;
    this.#stale = false;
    const buf = this.memory.buffer;
    if (buf.byteLength === this.#bufferBytes) return;
    this.#bufferBytes = buf.byteLength;
    this.#u32 = new Uint32Array(buf);
    this.#u64 = new BigUint64Array(buf);
    this.#i64 = new BigInt64Array(buf);
  }

  #writeHeader(): void {
    const c = this.config;
    const p = this.plan;
    const h = p.header / 4;
    const set = (off: number, x: number) => { this.#u32[h + off / 4] = x; };
    set(H.MAGIC, LAYOUT_MAGIC);
    set(H.VERSION, LAYOUT_VERSION);
    set(H.CORES, c.cores);
    set(H.SMT, c.smt);
    set(H.TLB_SETS, c.tlbSets);
    set(H.TLB_WAYS, c.tlbWays);
    set(H.REPLACEMENT, c.replacement === "random" ? 1 : 0);
    set(H.RNG, c.seed === 0 ? 0x9e3779b9 : c.seed);
    set(H.LPID_LIMIT, p.lpidLimit);
    set(H.MAX_GUESTS, p.maxGuests);
    set(H.HOST_PAGE_SHIFT, c.hostPageShift);
    set(H.HOST_FRAMES, p.hostFrames);
    set(H.STATS, p.stats);
    set(H.GUESTS, p.guests);
    set(H.GUEST_STATS, p.guestStats);
    set(H.OPS, p.ops);
    set(H.OP_SLOTS, p.opSlots);
    set(H.LPID_GUEST, p.lpidGuest);
    set(H.LPID_MASK, p.lpidMask);
    set(H.LPID_COUNT, p.lpidCount);
    set(H.FRAME_OWNER, p.frameOwner);
    set(H.FRAME_USED, p.frameUsed);
    set(H.TLB, p.tlb);
    set(H.MASK_WORDS, p.maskWords);
    set(H.ARENA, p.arena);
    set(H.ARENA_END, p.arena);
    set(H.PROV, p.prov);
    set(H.CPUS, p.cpuTab);
    set(H.CORE_TAB, p.coreTab);
    set(H.VIOL, p.viol);
    set(H.VIOL_SLOTS, p.violSlots);
    set(H.FABRIC_CAL, p.fabricCal);
    COST_ROWS.forEach((row) => set(H.COSTS + 4 * K[KEY_OF[row.key]!], c.costs[row.key]));
  }

  get cpus(): number {
    return this.config.cores * this.config.smt;
  }

  /** Free host frames (read from the header). */
  get freeFrames(): number {
    return this.#u32[(this.plan.header + H.FREE_FRAMES) / 4]!;
  }

  /** Bytes of linear memory in use (fixed regions plus the guests' arena), in whole 64 KiB pages; on a reused memory, not what the last machine grew it to. */
  get memoryBytes(): number {
    return this.#pagesTaken * PAGE_BYTES;
  }

  // ───────── ops ─────────

  /** The op buffer as u64 words (OP_BYTES / 8 words per op); see docs/memory.md for the encoding. */
  get opWords(): BigUint64Array {
    this.#views();
    return this.#u64.subarray(this.#opWord, this.#opWord + this.plan.opSlots * WORDS_PER_OP);
  }

  /** A new batch over this machine's op buffer (one batch at a time: they share the buffer). */
  batch(): OpBatch {
    return new OpBatch(this);
  }

  /** Execute ops 0..count−1 of the op buffer in one WASM call. */
  runOps(count: number): void {
    checkInt("count", count, this.plan.opSlots + 1);
    this.#exec(count);
  }

  /** Run ops 0..count−1; an abort or trap inside the engine becomes an EngineAbort naming the batch and its first op. */
  #exec(count: number): void {
    if (this.#disposed) throw new Error("machine: used after dispose()");
    try {
      this.#wasm.runBatch(count);
    } catch (e) {
      if (!(e instanceof EngineAbort) && !(e instanceof WebAssembly.RuntimeError)) throw e;
      this.#views();
      const op0 = count > 0 ? Number(this.#u64[this.#opWord]! & 0xffffn) : 0;
      throw new EngineAbort(`runBatch of ${count} op${count === 1 ? "" : "s"} (first: opcode 0x${op0.toString(16)}): ${(e as Error).message}`);
    }
  }

  /** Op header word. */
  static opHeader(opcode: number, cpu: number, slot = 0, opflags = 0): bigint {
    return BigInt(opcode) | (BigInt(opflags) << 16n) | (BigInt(cpu) << 32n) | (BigInt(slot) << 48n);
  }

  /** Write one op at slot 0, run it, and return the index of its first word. */
  #runOne(w0: bigint, regs: readonly bigint[], lpid = 0): number {
    this.#views();
    const o = this.#opWord;
    const u = this.#u64;
    u.fill(0n, o, o + WORDS_PER_OP);
    u[o] = w0;
    for (let i = 0; i < regs.length; i++) u[o + 2 + i] = regs[i]!;
    u[o + 10] = BigInt(lpid);
    this.#exec(1);
    return o;
  }

  /** @internal used by Guest */
  _hcall(slot: number, opcode: number, regs: readonly bigint[], nOut: number, opts: HcallOptions | undefined): HcallResult {
    const cpu = checkInt("cpu", opts?.cpu ?? 0, this.cpus);
    const o = this.#runOne(Machine.opHeader(opcode, cpu, slot, opts?.problemState ? OPF_PROBLEM_STATE : 0), regs);
    if (this.#u64[o + 1] === OP_REJECTED) throw new Error(`engine rejected hcall ${opcode.toString(16)} on slot ${slot}`);
    const out: bigint[] = new Array(nOut);
    for (let i = 0; i < nOut; i++) out[i] = this.#u64[o + 2 + i]!;
    return { ret: Number(this.#i64[o + 1]!), out };
  }

  // ───────── guests ─────────

  createGuest(input: GuestOptionsInput = {}): Guest {
    const opts = resolveGuestOptions(input, this.config);
    const c = this.config;
    let lpid = 1;
    while (this.#guests.has(lpid)) lpid++;
    if (lpid > this.plan.maxGuests) throw new RangeError(`createGuest: all ${this.plan.maxGuests} LPIDs are in use`);
    const kvm = opts.semantics === "kvm-hv";
    const ramHostPages = kvm ? opts.ramBytes / 2 ** c.hostPageShift : 0;
    if (kvm && ramHostPages > this.freeFrames) {
      throw new RangeError(`createGuest: ${formatBytes(opts.ramBytes)} of RAM needs ${ramHostPages} host frames; ${this.freeFrames} are free (machine.hostMemoryBytes)`);
    }
    const cpus = c.cores * c.smt;
    const vcores = Math.ceil(opts.vcpus / opts.threadsPerVcore);
    const policy = policyByName(opts.policy)!;
    const sizes = {
      vcpus: opts.vcpus, vcores, maskWords: this.plan.maskWords, lastVcpuSlots: Math.ceil(cpus / 4) * 4,
      deferredCap: takesParam(policy, "deferredCap") ? opts.deferredCap : 0,
    };
    const parts = guestParts(opts.hptOrder, ramHostPages, kvm, sizes);
    const block = this.#arenaAlloc(parts.bytes, opts);
    const slot = lpid - 1;
    const g = (this.plan.guests + slot * GUEST_BYTES) / 4;
    const u32 = this.#u32;
    const at = (name: keyof typeof parts.at) => block.offset + parts.at[name];
    u32.fill(0, g, g + GUEST_BYTES / 4);
    u32[g + G.LPID / 4] = lpid;
    u32[g + G.FLAGS / 4] = kvm ? 0 : GF_QEMU;
    u32[g + G.HPT_ORDER / 4] = opts.hptOrder;
    u32[g + G.HTAB_MASK / 4] = 2 ** (opts.hptOrder - 7) - 1;
    u32[g + G.NPTE / 4] = 2 ** (opts.hptOrder - 4);
    u32[g + G.HPT / 4] = at("hpt");
    u32[g + G.REVMAP / 4] = at("revmap");
    u32[g + G.RMAP / 4] = kvm ? at("rmap") : 0;
    u32[g + G.FRAMES / 4] = kvm ? at("frames") : 0;
    u32[g + G.RAM_HOST_PAGES / 4] = ramHostPages;
    u32[g + G.HPT_MAX_PAGE_SHIFT / 4] = opts.hptMaxPageShift;
    u32[g + G.POLICY / 4] = policy.id;
    u32[g + G.VCPUS / 4] = opts.vcpus;
    u32[g + G.VCORES / 4] = vcores;
    u32[g + G.TPV / 4] = opts.threadsPerVcore;
    u32[g + G.VCPU_TAB / 4] = at("vcpus");
    u32[g + G.VCORE_TAB / 4] = at("vcores");
    u32[g + G.NEED_FLUSH / 4] = at("needFlush");
    u32[g + G.LAST_VCPU / 4] = at("lastVcpu");
    u32[g + G.LAST_VCPU_SLOTS / 4] = sizes.lastVcpuSlots;
    u32[g + G.DEFER / 4] = at("deferred");
    u32[g + G.DEFER_CAP / 4] = sizes.deferredCap;
    u32[g + G.DEFER_OVERFLOW / 4] = DEFER_OVF[opts.deferredOverflow.toUpperCase() as keyof typeof DEFER_OVF];
    const instance = this.#nextInstance++;
    u32[g + G.INSTANCE / 4] = instance;
    this.#u64[(this.plan.guests + slot * GUEST_BYTES + G.RAM_BYTES) / 8] = BigInt(opts.ramBytes);
    const o = this.#runOne(Machine.opHeader(OP.GUEST_INIT, 0, slot), []);
    if (this.#u64[o + 1] === OP_REJECTED) {
      this.#arenaRelease(block);
      throw new RangeError(`createGuest: not enough free host frames`);
    }
    const guest = new Guest(this, lpid, slot, instance, opts, block);
    this.#guests.set(lpid, guest);
    return guest;
  }

  destroyGuest(lpid: number): void {
    const guest = this.#guests.get(lpid);
    if (!guest) throw new RangeError(`destroyGuest: no guest has LPID ${lpid}`);
    this.#runOne(Machine.opHeader(OP.GUEST_DESTROY, 0, guest.slot), []);
    this.#arenaRelease(guest._block);
    this.#guests.delete(lpid);
    guest._dead = true;
  }

  guest(lpid: number): Guest | undefined {
    return this.#guests.get(lpid);
  }

  get guests(): Guest[] {
    return [...this.#guests.values()];
  }

  #arenaAlloc(bytes: number, opts: GuestOptions): ArenaBlock {
    const i = this.#arenaFree.findIndex((b) => b.bytes >= bytes);
    if (i >= 0) {
      const b = this.#arenaFree[i]!;
      if (b.bytes === bytes) this.#arenaFree.splice(i, 1);
      else this.#arenaFree[i] = { offset: b.offset + bytes, bytes: b.bytes - bytes };
      return { offset: b.offset, bytes };
    }
    const end = this.#arenaTop + bytes;
    if (end > MAX_BYTES - PAGE_BYTES) {
      throw new RangeError(
        `createGuest: hptOrder ${opts.hptOrder} needs ${formatBytes(bytes)} (HPT ${formatBytes(2 ** opts.hptOrder)}, revmap as much, rmap and frames); ` +
        `one WASM32 memory holds ${formatBytes(MAX_BYTES)} and ${formatBytes(this.#arenaTop)} are in use`,
      );
    }
    this.#growTo(end);
    this.#u32[(this.plan.header + H.ARENA_END) / 4] = end;
    const block = { offset: this.#arenaTop, bytes };
    this.#arenaTop = end;
    return block;
  }

  #arenaRelease(block: ArenaBlock): void {
    this.#arenaFree.push(block);
    this.#arenaFree.sort((a, b) => a.offset - b.offset);
    // coalesce neighbours
    const merged: ArenaBlock[] = [];
    for (const b of this.#arenaFree) {
      const last = merged[merged.length - 1];
      if (last && last.offset + last.bytes === b.offset) last.bytes += b.bytes;
      else merged.push({ ...b });
    }
    this.#arenaFree = merged;
  }

  // ───────── translation and TLB maintenance ─────────

  translate(cpu: number, lpid: number, slbV: bigint, ea: bigint, access: AccessKind = "load"): TranslateResult {
    checkInt("cpu", cpu, this.cpus);
    checkInt("lpid", lpid, this.plan.lpidLimit);
    const o = this.#runOne(Machine.opHeader(OP.TRANSLATE, cpu), [checkU64("slbV", slbV), checkU64("ea", ea), ACCESS[access]], lpid);
    const kind = this.#u64[o + 1]!;
    if (kind === XLATE.BAD_SLB) throw new RangeError(`slbV: 0x${slbV.toString(16)} is not a POWER7 segment (B, L||LP or VSID out of range)`);
    return { kind: kind === XLATE.HIT ? "hit" : kind === XLATE.MISS ? "miss" : "fault", ra: this.#u64[o + 5]! };
  }

  /** translate(), plus the detector's verdict on a hit (docs/kvm-model.md, "Detector"). */
  access(cpu: number, lpid: number, slbV: bigint, ea: bigint, access: AccessKind = "load"): TranslateResult & { verdict: Verdict } {
    const r = this.translate(cpu, lpid, slbV, ea, access);
    const w = this.#u64[this.#opWord + 6]!;
    return { ...r, verdict: r.kind !== "hit" ? "ok" : VERDICTS[Number(w)]! };
  }

  #tlbOp(op: number, cpu: number, lpid: number, regs: bigint[]): number {
    checkInt("cpu", cpu, this.cpus);
    checkInt("lpid", lpid, this.plan.lpidLimit);
    const o = this.#runOne(Machine.opHeader(op, cpu), regs, lpid);
    const r = this.#u64[o + 1]!;
    if (r === OP_REJECTED) throw new RangeError(`invalid TLB operation arguments`);
    return Number(r);
  }

  tlbiel(cpu: number, lpid: number, slbV: bigint, ea: bigint): number {
    return this.#tlbOp(OP.TLBIEL, cpu, lpid, [checkU64("slbV", slbV), checkU64("ea", ea)]);
  }

  tlbielSet(cpu: number, set: number, lpid: number | "all"): number {
    checkInt("set", set, this.config.tlbSets);
    return this.#tlbOp(OP.TLBIEL_SET, cpu, lpid === "all" ? 0 : lpid, [BigInt(set), lpid === "all" ? 1n : 0n]);
  }

  flushLpid(cpu: number, lpid: number): number {
    return this.#tlbOp(OP.FLUSH_LPID, cpu, lpid, []);
  }

  tlbie(lpid: number, slbV: bigint, ea: bigint): number {
    return this.#tlbOp(OP.TLBIE, 0, lpid, [checkU64("slbV", slbV), checkU64("ea", ea)]);
  }

  tlbEntries(core: number): TlbEntryView[] {
    checkInt("core", core, this.config.cores);
    this.#views();
    const { tlbSets, tlbWays, cores } = this.config;
    const out: TlbEntryView[] = [];
    for (let set = 0; set < tlbSets; set++) {
      const line = (this.plan.tlb + (set * cores + core) * tlbWays * 16) / 8;
      for (let way = 0; way < tlbWays; way++) {
        const w0 = this.#u64[line + 2 * way]!;
        if (!(w0 >> 63n)) continue;
        const w1 = this.#u64[line + 2 * way + 1]!;
        const code = Number((w0 >> 57n) & 3n);
        out.push({
          set, way, lpid: Number((w1 >> 48n) & 0xfffn), b: Number((w0 >> 56n) & 1n),
          vpn4k: w0 & 0x00ffffffffffffffn, pageShift: code === 0 ? 12 : code === 1 ? 16 : 24, rpn: w1 & 0xfffffffffffn,
        });
      }
    }
    return out;
  }

  /** Cores whose TLB may hold entries of `lpid` (the engine's exact holder mask). */
  lpidHolders(lpid: number): number[] {
    checkInt("lpid", lpid, this.plan.lpidLimit);
    this.#views();
    const out: number[] = [];
    const base = (this.plan.lpidMask / 8) + lpid * this.plan.maskWords;
    for (let w = 0; w < this.plan.maskWords; w++) {
      const bits = this.#u64[base + w]!;
      for (let b = 0; b < 64; b++) if ((bits >> BigInt(b)) & 1n) out.push(w * 64 + b);
    }
    return out;
  }

  frameOwner(frame: number): number {
    checkInt("frame", frame, this.plan.hostFrames);
    this.#views();
    return this.#u32[this.plan.frameOwner / 4 + frame]!;
  }

  // ───────── the KVM model (docs/kvm-model.md) ─────────

  /** @internal run one KVM op for guest slot `slot` on `cpu` and return r3 (errors thrown). */
  _kvmOp(what: string, opcode: number, cpu: number, slot: number, regs: bigint[]): bigint {
    checkInt("cpu", cpu, this.cpus);
    const o = this.#runOne(Machine.opHeader(opcode, cpu, slot), regs);
    return kvmCheck(what, this.#u64[o + 1]!);
  }

  /** Advance cpu's clock by `cycles` of guest work (no cost category). */
  work(cpu: number, cycles: number): void {
    checkInt("cpu", cpu, this.cpus);
    this.#runOne(Machine.opHeader(OP.WORK, cpu), [BigInt(checkInt("cycles", cycles, 2 ** 53))]);
  }

  /** A cpu's simulated clock and its cycles per cost category. */
  cpuCycles(cpu: number): { clock: bigint; cycles: Record<CostCategory, bigint> } {
    checkInt("cpu", cpu, this.cpus);
    this.#views();
    const base = (this.plan.cpuTab + cpu * REC.CPU_BYTES) / 8;
    const cycles = {} as Record<CostCategory, bigint>;
    COST_CATEGORIES.forEach((name, i) => { cycles[name] = this.#u64[base + 1 + i]!; });
    return { clock: this.#u64[base]!, cycles };
  }

  /** The latest clock of any cpu (cycles): when the last cpu finished its work. */
  makespan(): bigint {
    this.#views();
    let max = 0n;
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      const c = this.#u64[(this.plan.cpuTab + cpu * REC.CPU_BYTES) / 8]!;
      if (c > max) max = c;
    }
    return max;
  }

  /** What runs on a cpu: the guest (LPID) and vcpu, and the 3.8 paca kvm_vcore (never cleared). */
  cpuState(cpu: number): { lpid: number | null; vcpu: number | null; kvmVcore: { lpid: number; vcore: number } | null } {
    checkInt("cpu", cpu, this.cpus);
    const b = (this.plan.cpuTab + cpu * REC.CPU_BYTES) / 4;
    const u = this._u32;
    const run = u[b + REC.CPU_RUN_SLOT / 4]!;
    const vc = u[b + REC.CPU_VC_SLOT / 4]!;
    return {
      lpid: run ? run : null,
      vcpu: run ? u[b + REC.CPU_RUN_VCPU / 4]! : null,
      kvmVcore: vc ? { lpid: vc, vcore: u[b + REC.CPU_VC_IDX / 4]! } : null,
    };
  }

  /** The tlbie fabric's next free time. */
  get fabricFreeAt(): bigint {
    return this._u64[(this.plan.header + H.FABRIC_FREE) / 8]!;
  }

  /** Machine-wide KVM counters and cycles. */
  kvmCounters(): KvmCounters {
    return this._readKvm(this.plan.stats);
  }

  /** @internal */
  _readKvm(byteOffset: number): KvmCounters {
    const u = this._u64;
    const base = byteOffset / 8;
    const out = {} as KvmCounters;
    for (const name of KVM_COUNTERS) (out as unknown as Record<string, bigint>)[name] = u[base + STAT[name]]!;
    const cycles = {} as Record<CostCategory, bigint>;
    COST_CATEGORIES.forEach((name, i) => { cycles[name] = u[base + STAT_CYCLES + i]!; });
    out.cycles = cycles;
    return out;
  }

  /** The recorded violations (at most machine.violationRecords; kvmCounters().violations counts all). */
  violations(): ViolationRecord[] {
    const u32 = this._u32;
    const u64 = this._u64;
    const n = Math.min(Number(u64[this.plan.stats / 8 + STAT.violations]!), this.plan.violSlots);
    const out: ViolationRecord[] = [];
    for (let i = 0; i < n; i++) {
      const r = this.plan.viol + i * REC.VIOL_BYTES;
      const key = u64[(r + 16) / 8]!;
      const code = Number((key >> 57n) & 3n);
      out.push({
        cpu: u32[r / 4]!, lpid: u32[r / 4 + 1]!, guest: u32[r / 4 + 2]!, owner: u32[r / 4 + 3]!,
        vpn4k: key & 0x00ffffffffffffffn, b: Number((key >> 56n) & 1n), pageShift: code === 0 ? 12 : code === 1 ? 16 : 24,
        rpn: u64[(r + 24) / 8]!, time: u64[(r + 32) / 8]!, leftBy: u32[r / 4 + 14] ? staleCause(u64[(r + 40) / 8]!) : null,
        ea: u64[(r + 48) / 8]!, frame: u32[r / 4 + 15]!,
      });
    }
    return out;
  }

  /** Valid entries of one core's TLB that the detector has marked stale, with why. */
  staleEntries(core: number): (TlbEntryView & { leftBy: StaleCause })[] {
    const all = this.tlbEntries(core);
    const { cores, tlbWays } = this.config;
    const out: (TlbEntryView & { leftBy: StaleCause })[] = [];
    for (const e of all) {
      const idx = (e.set * cores + core) * tlbWays + e.way;
      const w1 = this._u64[(this.plan.tlb + idx * 16 + 8) / 8]!;
      if (!(w1 & 0x800000000000n)) continue;
      out.push({ ...e, leftBy: staleCause(this._u64[this.plan.prov / 8 + idx]!)! });
    }
    return out;
  }

  /** @internal */
  _readStats(byteOffset: number): CounterBlock {
    this.#views();
    const base = byteOffset / 8;
    const u = this.#u64;
    const block = {} as CounterBlock;
    for (const name of SCALAR_COUNTERS) (block as unknown as Record<string, bigint>)[name] = u[base + STAT[name]]!;
    const hcalls = {} as Record<HcallName, Record<RetBucket, bigint>>;
    HCALL_NAMES.forEach((h, k) => {
      const row = {} as Record<RetBucket, bigint>;
      RET_BUCKETS.forEach((r, b) => { row[r] = u[base + STAT_HCALLS + k * RET_BUCKET_COUNT + b]!; });
      hcalls[h] = row;
    });
    block.hcalls = hcalls;
    return block;
  }

  counters(): CounterBlock {
    return this._readStats(this.plan.stats);
  }

  /** @internal */
  get _u32(): Uint32Array { this.#views(); return this.#u32; }
  /** @internal Whether the engine reads its next chunk of ops ahead (HPTLAB_LOOKAHEAD; tests). */
  get _lookahead(): boolean { return this.#wasm.lookaheadIsOn() === 1; }
  /** @internal */
  get _u64(): BigUint64Array { this.#views(); return this.#u64; }
}

export class Guest implements SimGuest {
  readonly lpid: number;
  readonly slot: number;
  readonly instance: number;
  readonly options: GuestOptions;
  /** @internal */
  readonly _block: ArenaBlock;
  /** @internal */
  _dead = false;
  readonly #m: Machine;

  constructor(m: Machine, lpid: number, slot: number, instance: number, options: GuestOptions, block: ArenaBlock) {
    this.#m = m;
    this.lpid = lpid;
    this.slot = slot;
    this.instance = instance;
    this.options = options;
    this._block = block;
  }

  get semantics(): Semantics { return this.options.semantics; }
  get hptOrder(): number { return this.options.hptOrder; }
  get npte(): number { return 2 ** (this.options.hptOrder - 4); }

  #desc(field: number): number {
    return this.#m._u32[(this.#m.plan.guests + this.slot * GUEST_BYTES + field) / 4]!;
  }

  #call(opcode: number, regs: bigint[], nOut: number, opts?: HcallOptions): HcallResult {
    if (this._dead) throw new Error(`guest LPID ${this.lpid} was destroyed`);
    return this.#m._hcall(this.slot, opcode, regs, nOut, opts);
  }

  hEnter(flags: bigint, ptex: bigint, pteh: bigint, ptel: bigint, opts?: HcallOptions): HcallResult {
    return this.#call(OP.H_ENTER, [checkU64("flags", flags), checkU64("ptex", ptex), checkU64("pteh", pteh), checkU64("ptel", ptel)], 1, opts);
  }
  hRemove(flags: bigint, ptex: bigint, avpn: bigint, opts?: HcallOptions): HcallResult {
    return this.#call(OP.H_REMOVE, [checkU64("flags", flags), checkU64("ptex", ptex), checkU64("avpn", avpn)], 2, opts);
  }
  hProtect(flags: bigint, ptex: bigint, avpn: bigint, opts?: HcallOptions): HcallResult {
    return this.#call(OP.H_PROTECT, [checkU64("flags", flags), checkU64("ptex", ptex), checkU64("avpn", avpn)], 0, opts);
  }
  hRead(flags: bigint, ptex: bigint, opts?: HcallOptions): HcallResult {
    checkU64("flags", flags);
    return this.#call(OP.H_READ, [flags, checkU64("ptex", ptex)], (flags & 0x0000002000000000n) !== 0n ? 8 : 2, opts);
  }
  hBulkRemove(words: readonly bigint[], opts?: HcallOptions): HcallResult {
    if (words.length > 8) throw new RangeError(`H_BULK_REMOVE takes at most 8 words (4 pairs), got ${words.length}`);
    const regs = Array.from({ length: 8 }, (_, i) => checkU64(`words[${i}]`, words[i] ?? 0n)); // missing registers are 0
    return this.#call(OP.H_BULK_REMOVE, regs, 8, opts);
  }

  hpte(ptex: number): { v: bigint; r: bigint } {
    checkInt("ptex", ptex, this.npte);
    const a = (this.#desc(G.HPT) + ptex * 16) / 8;
    const u = this.#m._u64;
    return { v: u[a]!, r: u[a + 1]! };
  }

  guestRpte(ptex: number): bigint {
    checkInt("ptex", ptex, this.npte);
    if (this.semantics === "qemu") return this.hpte(ptex).r;
    return this.#m._u64[(this.#desc(G.REVMAP) + ptex * 16) / 8]!;
  }

  #ramHostPages(): number { return this.#desc(G.RAM_HOST_PAGES); }

  rmap(gfn: number): bigint {
    if (this.semantics === "qemu") return 0n;
    checkInt("gfn", gfn, this.#ramHostPages());
    return this.#m._u64[(this.#desc(G.RMAP) + gfn * 8) / 8]!;
  }

  rmapChain(gfn: number): number[] {
    const w = this.rmap(gfn);
    if (!(w & 0x100000000n)) return [];
    const head = Number(w & 0xffffffffn);
    const rev = this.#desc(G.REVMAP) / 4;
    const u32 = this.#m._u32;
    const out = [head];
    for (let i = u32[rev + head * 4 + 2]!; i !== head; i = u32[rev + i * 4 + 2]!) {
      out.push(i);
      if (out.length > this.npte) throw new Error(`rmap ring of gfn ${gfn} does not close`);
    }
    return out;
  }

  frame(gfn: number): number {
    if (this.semantics === "qemu") return -1;
    checkInt("gfn", gfn, this.#ramHostPages());
    const f = this.#m._u32[this.#desc(G.FRAMES) / 4 + gfn]!;
    return f === NO_FRAME ? -1 : f;
  }

  counters(): CounterBlock {
    return this.#m._readStats(this.#m.plan.guestStats + this.slot * STATS_BYTES);
  }

  // ───────── the KVM model ─────────

  get policy(): string { return this.options.policy; }
  /** online_vcpus and online_vcores (vcore = vcpu / threadsPerVcore). */
  get vcpus(): number { return this.options.vcpus; }
  get vcores(): number { return this.#desc(G.VCORES); }

  #live(): void {
    if (this._dead) throw new Error(`guest LPID ${this.lpid} was destroyed`);
  }

  /**
   * Vcore `vcore` enters physical core `core` (kvmppc_run_core): its vcpus selected by `vcpuMask`
   * (bit k = vcpu vcore·threadsPerVcore + k; default all) take threads 0, 1, … of the core.
   */
  runVcore(vcore: number, core: number, vcpuMask = 0): void {
    this.#live();
    checkInt("core", core, this.#m.config.cores);
    this.#m._kvmOp(`runVcore(${vcore}, core ${core})`, OP.VCORE_RUN, 0, this.slot, [BigInt(checkInt("vcore", vcore, 65536)), BigInt(core), BigInt(checkInt("vcpuMask", vcpuMask, 256))]);
  }

  /** The vcore exits to the host. */
  exitVcore(vcore: number): void {
    this.#live();
    this.#m._kvmOp(`exitVcore(${vcore})`, OP.VCORE_EXIT, 0, this.slot, [BigInt(checkInt("vcore", vcore, 65536))]);
  }

  /** The host takes page `gfn` away (MMU notifier, run on host cpu `cpu`). Returns the HPTEs invalidated. */
  pageOut(gfn: number, cpu = 0): number {
    this.#live();
    return Number(this.#m._kvmOp(`pageOut(gfn ${gfn})`, OP.PAGE_OUT, cpu, this.slot, [BigInt(checkInt("gfn", gfn, 2 ** 32))]));
  }

  /**
   * LRU-like host reclaim (kvm_age_rmapp): of up to 8 candidate gfns, page out the first whose HPTEs
   * were not referenced since the last look (else the first), and age them all. Returns the gfn paged out.
   */
  reclaim(gfns: number[], cpu = 0): number {
    this.#live();
    if (gfns.length < 1 || gfns.length > 8) throw new RangeError(`reclaim: 1 to 8 candidate gfns, got ${gfns.length}`);
    const regs = Array.from({ length: 8 }, (_, i) => (i < gfns.length ? BigInt(checkInt("gfn", gfns[i]!, 2 ** 32)) : 0xffffffffffffffffn));
    return Number(this.#m._kvmOp(`reclaim(${gfns.join(", ")})`, OP.RECLAIM, cpu, this.slot, regs));
  }

  /** The host backs page `gfn` with a frame again (lowest free). Returns the frame. */
  pageIn(gfn: number): number {
    this.#live();
    return Number(this.#m._kvmOp(`pageIn(gfn ${gfn})`, OP.PAGE_IN, 0, this.slot, [BigInt(checkInt("gfn", gfn, 2 ** 32))]));
  }

  /** KVM_PPC_ALLOCATE_HTAB on an existing HPT: zeroed, rmap chains emptied, no tlbie. */
  resetHpt(cpu = 0): void {
    this.#live();
    this.#m._kvmOp("resetHpt", OP.HPT_RESET, cpu, this.slot, []);
  }

  kvmCounters(): KvmCounters {
    return this.#m._readKvm(this.#m.plan.guestStats + this.slot * STATS_BYTES);
  }

  /** Cores whose need_tlb_flush bit is set. */
  needTlbFlush(): number[] {
    const base = this.#desc(G.NEED_FLUSH) / 8;
    const out: number[] = [];
    for (let core = 0; core < this.#m.config.cores; core++) {
      if ((this.#m._u64[base + (core >> 6)]! >> BigInt(core & 63)) & 1n) out.push(core);
    }
    return out;
  }

  /** kvm.last_vcpu[slot] (pre-patch; 0xffff after an HPT reset). */
  lastVcpu(slot: number): number {
    checkInt("slot", slot, this.#desc(G.LAST_VCPU_SLOTS));
    return this.#m._u32[(this.#desc(G.LAST_VCPU) + slot * 2) >> 2]! >>> (((this.#desc(G.LAST_VCPU) + slot * 2) & 2) * 8) & 0xffff;
  }

  /** vcpu.last_cpu (pre-patch; 0xffff before its first run) and the cpu it runs on now. */
  vcpuState(vcpu: number): { lastCpu: number; runningOn: number | null } {
    checkInt("vcpu", vcpu, this.options.vcpus);
    const b = (this.#desc(G.VCPU_TAB) + vcpu * REC.VCPU_BYTES) / 4;
    const on = this.#m._u32[b + 1]!;
    return { lastCpu: this.#m._u32[b]!, runningOn: on ? on - 1 : null };
  }

  /** vcore.pcpu (thread-0 cpu of its last run), whether it runs now, and how many runs. */
  vcoreState(vcore: number): { pcpu: number | null; running: boolean; vcpuMask: number; runs: number } {
    checkInt("vcore", vcore, this.vcores);
    const b = (this.#desc(G.VCORE_TAB) + vcore * REC.VCORE_BYTES) / 4;
    const u = this.#m._u32;
    return { pcpu: u[b] === NO_CPU ? null : u[b]!, running: u[b + 1] !== 0, vcpuMask: u[b + 2]!, runs: u[b + 3]! };
  }

  /** deferred-va: the recorded VAs, oldest first. */
  deferred(): { set: number; vpn4k: bigint; gfn: number | null }[] {
    const n = this.#desc(G.DEFER_COUNT);
    const base = this.#desc(G.DEFER);
    const out = [];
    for (let i = 0; i < n; i++) {
      const r = base + i * REC.DEFER_BYTES;
      const gfn = this.#m._u32[r / 4 + 3]!;
      out.push({ set: this.#m._u32[r / 4 + 2]!, vpn4k: this.#m._u64[r / 8]! & 0x00ffffffffffffffn, gfn: gfn === NO_FRAME ? null : gfn });
    }
    return out;
  }
}

/** Create a machine (synchronously: the module is compiled once per process). */
export function createMachineSync(config: MachineConfigInput = {}): Machine {
  return new Machine(config);
}

/** Create a machine. */
export async function createMachine(config: MachineConfigInput = {}): Promise<Machine> {
  return new Machine(config);
}
