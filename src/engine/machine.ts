/**
 * The typed host API over the WASM engine: one shared memory per machine, ops written into the
 * op buffer and executed by one `runBatch` call, counters read straight from memory.
 */
import { resolveMachineConfig, resolveGuestOptions, tlbGroupCount, type MachineConfig, type MachineConfigInput, type GuestOptionsInput, type GuestOptions } from "../config.js";
import type { AccessKind, CounterBlock, HcallOptions, HcallResult, SimMachine, TlbEntryView, TranslateResult } from "../types.js";
import {
  planLayout, guestParts, tlbieLockSlots, formatBytes, HDR, G, LZ, GF_QEMU, OP, OPF_PROBLEM_STATE, XLATE, OP_REJECTED, PAGE_BYTES, MAX_BYTES,
  LAYOUT_MAGIC, LAYOUT_VERSION, REC, K, DEFER_OVF, GUEST_BYTES, STAT, TLBE_BYTES, FABRIC_MODEL_CODE, LOCK_SCOPE_CODE, ERRATUM_CODE,
  type LayoutPlan,
} from "./layout.js";
import { COST_ROWS, type CostCategory } from "../model/costs.js";
import { policyByName, takesParam } from "../model/policies.js";
import { EngineAbort, engineModule, enginePolicyName, instantiateEngine, type HptlabExports } from "./wasm.js";
import { OpBatch } from "./batch.js";
import {
  ensurePool, freshMemory, hugePagesBaseOf, poolOf, returnMemory, takePooledMemory, zeroBytes, type MemoryPool,
} from "./memory-pool.js";
import { ACCESS_CODE, OPW, OP_WORDS64, checkInt, checkU64, encodeOp, kvmCheck, opHeader, opcodeAt } from "./ops.js";
import {
  VERDICTS, decodeCounterBlock, decodeCpuCycles, decodeCpuState, decodeKvmCounters, decodeProvenance, decodeTlbEntry,
  decodeViolation, tlbEntryStale, tlbEntryValid, type KvmCounters, type StaleCause, type Verdict, type ViolationRecord,
} from "./records.js";
import { Guest, type ArenaBlock } from "./guest.js";

/** Cost table name → K index name. */
const KEY_OF: Partial<Record<string, keyof typeof K>> = {
  tlbHit: "TLB_HIT", ptegWalk: "PTEG_WALK", hcall: "HCALL", tlbiel: "TLBIEL", tlbielExtra: "TLBIEL_EXTRA",
  tlbieBase: "TLBIE_BASE", tlbiePerChip: "TLBIE_PER_CHIP", tlbieExtra: "TLBIE_EXTRA", flushBase: "FLUSH_BASE",
  flushPerSet: "FLUSH_PER_SET", entryExit: "ENTRY_EXIT", ipi: "IPI", pageOutHpte: "PAGE_OUT_HPTE", hvFault: "HV_FAULT",
  coresPerChip: "CORES_PER_CHIP", tlbieErrata: "TLBIE_ERRATA", ipiSend: "IPI_SEND",
};

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

export class Machine implements SimMachine {
  readonly config: MachineConfig;
  readonly plan: LayoutPlan;
  readonly memory: WebAssembly.Memory;
  /**
   * The memory's address in this process when it is advised for 2 MiB pages (src/engine/hugepages.ts;
   * HPTLAB_HUGEPAGES), else 0. Speed only.
   */
  get hugePagesBase(): number {
    return hugePagesBaseOf(this.memory);
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
    const pooled = poolOf(module);
    const reused = takePooledMemory(pooled);
    if (reused) {
      this.memory = reused;
      this.#dirtyEnd = reused.buffer.byteLength;
      // the engine's static data (written by instantiation) and scratch areas lie below layoutBase
      this.#zeroTo(pooled!.staticEnd);
    } else {
      this.memory = freshMemory();
    }
    this.#wasm = instantiateEngine(this.memory, module);
    this.#pool = ensurePool(module, this.#wasm.layoutBase());
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
    returnMemory(this.#pool, this.memory);
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
    set(HDR.MAGIC, LAYOUT_MAGIC);
    set(HDR.VERSION, LAYOUT_VERSION);
    set(HDR.CORES, c.cores);
    set(HDR.SMT, c.smt);
    set(HDR.TLB_SETS, c.tlbSets);
    set(HDR.TLB_WAYS, c.tlbWays);
    // 0 where a core shares one TLB and a flush walks every set: POWER7's header is what it was
    set(HDR.TLB_SPLIT, Math.log2(c.smt / c.tlbThreadsPerGroup));
    set(HDR.TLB_FLUSH_SETS, c.tlbFlushSets === c.tlbSets ? 0 : c.tlbFlushSets);
    set(HDR.TLBIE_ERRATA, (c.tlbieErrata ?? []).reduce((m, e) => m | ERRATUM_CODE[e], 0));
    set(HDR.REPLACEMENT, c.replacement === "random" ? 1 : 0);
    set(HDR.RNG, c.seed === 0 ? 0x9e3779b9 : c.seed);
    set(HDR.LPID_LIMIT, p.lpidLimit);
    set(HDR.MAX_GUESTS, p.maxGuests);
    set(HDR.HOST_PAGE_SHIFT, c.hostPageShift);
    set(HDR.HOST_FRAMES, p.hostFrames);
    set(HDR.STATS, p.stats);
    set(HDR.GUESTS, p.guests);
    set(HDR.GUEST_STATS, p.guestStats);
    set(HDR.OPS, p.ops);
    set(HDR.OP_SLOTS, p.opSlots);
    set(HDR.LPID_GUEST, p.lpidGuest);
    set(HDR.LPID_MASK, p.lpidMask);
    set(HDR.LPID_COUNT, p.lpidCount);
    set(HDR.FRAME_OWNER, p.frameOwner);
    set(HDR.FRAME_USED, p.frameUsed);
    set(HDR.TLB, p.tlb);
    set(HDR.MASK_WORDS, p.maskWords);
    set(HDR.ARENA, p.arena);
    set(HDR.ARENA_END, p.arena);
    set(HDR.PROV, p.prov);
    set(HDR.CPUS, p.cpuTab);
    set(HDR.CORE_TAB, p.coreTab);
    set(HDR.VIOL, p.viol);
    set(HDR.VIOL_SLOTS, p.violSlots);
    set(HDR.FABRIC_CAL, p.fabricCal);
    const f = c.fabric;
    if (f.model !== "exclusive") {
      // (exclusive leaves these words 0: the header of an exclusive machine is what it was before the setting)
      set(HDR.FABRIC_MODE, FABRIC_MODEL_CODE[f.model] | (LOCK_SCOPE_CODE[f.lockScope] << 4) | (f.inFlight << 8));
      set(HDR.FABRIC_SENDER, f.senderSlowdown);
      set(HDR.TLBIE_LOCK, p.lockCal);
    }
    // tlbieErrata is charged only on a machine with errata: elsewhere its slot stays 0 (the state of older machines, bit for bit)
    COST_ROWS.forEach((row) => {
      if (row.key !== "tlbieErrata" || (c.tlbieErrata ?? []).length > 0) set(HDR.COSTS + 4 * K[KEY_OF[row.key]!], c.costs[row.key]);
    });
  }

  get cpus(): number {
    return this.config.cores * this.config.smt;
  }

  /** Free host frames (read from the header). */
  get freeFrames(): number {
    return this.#u32[(this.plan.header + HDR.FREE_FRAMES) / 4]!;
  }

  /** Bytes of linear memory in use (fixed regions plus the guests' arena), in whole 64 KiB pages; on a reused memory, not what the last machine grew it to. */
  get memoryBytes(): number {
    return this.#pagesTaken * PAGE_BYTES;
  }

  // ───────── ops ─────────

  /** The op buffer as u64 words (OP_BYTES / 8 words per op); see docs/memory.md for the encoding. */
  get opWords(): BigUint64Array {
    this.#views();
    return this.#u64.subarray(this.#opWord, this.#opWord + this.plan.opSlots * OP_WORDS64);
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

  /**
   * A zeroed block of `bytes` in the arena, above the guests made so far, for a generator kernel's
   * state (the synthetic or the trace-driven one) (docs/memory.md, "The synthetic generator's state" and "The trace generator's state"); returns its address.
   */
  allocGeneratorState(bytes: number): number {
    const block = this.#arenaAlloc(Math.ceil(bytes / 8) * 8, "a generator's state");
    this.#wasm.zeroRange(block.offset, block.offset + block.bytes);
    this.#views();
    return block.offset;
  }

  /** The generator's kernel: set up the state block at `state` (perm, every page mapped). */
  generatorInit(state: number): void {
    if (this.#disposed) throw new Error("machine: used after dispose()");
    this.#wasm.synInit(state);
  }

  /** The generator's kernel: run its loop from `phase`; returns why it stopped (assembly/workload/synthetic.ts synRun). */
  generatorRun(state: number, phase: number): number {
    if (this.#disposed) throw new Error("machine: used after dispose()");
    return this.#wasm.synRun(state, phase);
  }

  /** The trace generator's kernel: run its loop from `phase`; returns why it stopped (assembly/workload/trace.ts traceRun). */
  traceRun(state: number, phase: number): number {
    if (this.#disposed) throw new Error("machine: used after dispose()");
    return this.#wasm.traceRun(state, phase);
  }

  /** Run ops 0..count−1; an abort or trap inside the engine becomes an EngineAbort naming the batch and its first op. */
  #exec(count: number): void {
    if (this.#disposed) throw new Error("machine: used after dispose()");
    try {
      this.#wasm.runBatch(count);
    } catch (e) {
      if (!(e instanceof EngineAbort) && !(e instanceof WebAssembly.RuntimeError)) throw e;
      this.#views();
      const op0 = count > 0 ? opcodeAt(this.#u64, this.#opWord) : 0;
      throw new EngineAbort(`runBatch of ${count} op${count === 1 ? "" : "s"} (first: opcode 0x${op0.toString(16)}): ${(e as Error).message}`);
    }
  }

  /** Op header word (src/engine/ops.ts). */
  static opHeader(opcode: number, cpu: number, slot = 0, opflags = 0): bigint {
    return opHeader(opcode, cpu, slot, opflags);
  }

  /** Write one op at slot 0, run it, and return the index of its first word. */
  #runOne(w0: bigint, regs: readonly bigint[], lpid = 0): number {
    this.#views();
    const o = this.#opWord;
    encodeOp(this.#u64, o, w0, regs, lpid);
    this.#exec(1);
    return o;
  }

  /** @internal used by Guest */
  _hcall(slot: number, opcode: number, regs: readonly bigint[], nOut: number, opts: HcallOptions | undefined): HcallResult {
    const cpu = checkInt("cpu", opts?.cpu ?? 0, this.cpus);
    const o = this.#runOne(opHeader(opcode, cpu, slot, opts?.problemState ? OPF_PROBLEM_STATE : 0), regs);
    if (this.#u64[o + OPW.R3] === OP_REJECTED) throw new Error(`engine rejected hcall ${opcode.toString(16)} on slot ${slot}`);
    const out: bigint[] = new Array(nOut);
    for (let i = 0; i < nOut; i++) out[i] = this.#u64[o + OPW.R4 + i]!;
    return { ret: Number(this.#i64[o + OPW.R3]!), out };
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
    const inEngine = enginePolicyName(this.#wasm, this.memory, policy.id);
    if (inEngine !== policy.name) {
      throw new RangeError(`createGuest: policy ${policy.name} has id ${policy.id}, which the engine's table (assembly/policies/table.ts) ${inEngine === undefined ? "does not have" : `gives to ${inEngine}`}`);
    }
    const sizes = {
      vcpus: opts.vcpus, vcores, maskWords: this.plan.maskWords, lastVcpuSlots: Math.ceil(cpus / 4) * 4,
      deferredCap: takesParam(policy, "deferredCap") ? opts.deferredCap : 0,
      lockSlots: tlbieLockSlots(this.config),
      quarantineCap: policy.quarantine && kvm ? ramHostPages : 0,
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
    u32[g + G.TLBIE_LOCK / 4] = sizes.lockSlots > 0 ? at("tlbieLock") : 0;
    u32[g + G.LAZY / 4] = sizes.quarantineCap > 0 ? at("lazy") : 0;
    if (sizes.quarantineCap > 0) u32[(block.offset + parts.at.lazy + LZ.CAP) / 4] = sizes.quarantineCap; // its variant: the policy's, at VM init
    u32[g + G.IPI_MASK / 4] = at("ipiMask");
    u32[g + G.BATCH / 4] = at("batch");
    u32[g + G.DEFER_OVERFLOW / 4] = DEFER_OVF[opts.deferredOverflow.toUpperCase() as keyof typeof DEFER_OVF]; // deferred-va's overflow rule (src/model/policies.ts)
    const instance = this.#nextInstance++;
    u32[g + G.INSTANCE / 4] = instance;
    this.#u64[(this.plan.guests + slot * GUEST_BYTES + G.RAM_BYTES) / 8] = BigInt(opts.ramBytes);
    const o = this.#runOne(opHeader(OP.GUEST_INIT, 0, slot), []);
    if (this.#u64[o + OPW.R3] === OP_REJECTED) {
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
    this.#runOne(opHeader(OP.GUEST_DESTROY, 0, guest.slot), []);
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

  /** `opts`: the guest the block is for (named when it does not fit), or a description of what else it holds. */
  #arenaAlloc(bytes: number, opts: GuestOptions | string): ArenaBlock {
    const i = this.#arenaFree.findIndex((b) => b.bytes >= bytes);
    if (i >= 0) {
      const b = this.#arenaFree[i]!;
      if (b.bytes === bytes) this.#arenaFree.splice(i, 1);
      else this.#arenaFree[i] = { offset: b.offset + bytes, bytes: b.bytes - bytes };
      return { offset: b.offset, bytes };
    }
    const end = this.#arenaTop + bytes;
    if (end > MAX_BYTES - PAGE_BYTES) {
      if (typeof opts === "string") throw new RangeError(`machine: ${opts} needs ${formatBytes(bytes)}; one WASM32 memory holds ${formatBytes(MAX_BYTES)} and ${formatBytes(this.#arenaTop)} are in use`);
      throw new RangeError(
        `createGuest: hptOrder ${opts.hptOrder} needs ${formatBytes(bytes)} (HPT ${formatBytes(2 ** opts.hptOrder)}, revmap as much, rmap and frames); ` +
        `one WASM32 memory holds ${formatBytes(MAX_BYTES)} and ${formatBytes(this.#arenaTop)} are in use`,
      );
    }
    this.#growTo(end);
    this.#u32[(this.plan.header + HDR.ARENA_END) / 4] = end;
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
    const o = this.#runOne(opHeader(OP.TRANSLATE, cpu), [checkU64("slbV", slbV), checkU64("ea", ea), ACCESS_CODE[access]], lpid);
    const kind = this.#u64[o + OPW.R3]!;
    if (kind === XLATE.BAD_SLB) throw new RangeError(`slbV: 0x${slbV.toString(16)} is not a POWER7 segment (B, L||LP or VSID out of range)`);
    return { kind: kind === XLATE.HIT ? "hit" : kind === XLATE.MISS ? "miss" : "fault", ra: this.#u64[o + OPW.RA]! };
  }

  /** translate(), plus the detector's verdict on a hit (docs/kvm-model.md, "Detector"). */
  access(cpu: number, lpid: number, slbV: bigint, ea: bigint, access: AccessKind = "load"): TranslateResult & { verdict: Verdict } {
    const r = this.translate(cpu, lpid, slbV, ea, access);
    const w = this.#u64[this.#opWord + OPW.VERDICT]!;
    return { ...r, verdict: r.kind !== "hit" ? "ok" : VERDICTS[Number(w)]! };
  }

  #tlbOp(op: number, cpu: number, lpid: number, regs: bigint[]): number {
    checkInt("cpu", cpu, this.cpus);
    checkInt("lpid", lpid, this.plan.lpidLimit);
    const o = this.#runOne(opHeader(op, cpu), regs, lpid);
    const r = this.#u64[o + OPW.R3]!;
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

  /** TLBs on the machine (one per thread group; = cores when a core shares one: docs/model/tlb.md §7.2). */
  get tlbCount(): number {
    return tlbGroupCount(this.config);
  }

  /** The TLB that `cpu` uses: cpu / tlbThreadsPerGroup (its core when a core shares one TLB). */
  tlbOf(cpu: number): number {
    checkInt("cpu", cpu, this.cpus);
    return Math.floor(cpu / this.config.tlbThreadsPerGroup);
  }

  /** Valid entries of TLB `core` (a TLB index, tlbOf(cpu); the core's index when a core shares one TLB). */
  tlbEntries(core: number): TlbEntryView[] {
    checkInt("core", core, this.tlbCount);
    this.#views();
    const { tlbSets, tlbWays } = this.config;
    const cores = this.tlbCount;
    const out: TlbEntryView[] = [];
    for (let set = 0; set < tlbSets; set++) {
      const line = (this.plan.tlb + (set * cores + core) * tlbWays * TLBE_BYTES) / 8;
      for (let way = 0; way < tlbWays; way++) {
        const w0 = this.#u64[line + 2 * way]!;
        if (!tlbEntryValid(w0)) continue;
        out.push(decodeTlbEntry(set, way, w0, this.#u64[line + 2 * way + 1]!));
      }
    }
    return out;
  }

  /** TLBs (tlbOf(cpu); cores when a core shares one) that may hold entries of `lpid` (the engine's exact holder mask). */
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
    const o = this.#runOne(opHeader(opcode, cpu, slot), regs);
    return kvmCheck(what, this.#u64[o + OPW.R3]!);
  }

  /**
   * CPU hotplug of core `core` (all its threads): offline, it gets no IPI and runs no vcore (tlbie
   * still reaches it); going offline, every kvm-hv guest's policy is told (ipi-tlbiel trims its mask).
   * Refused while a vcore runs there.
   */
  setCoreOnline(core: number, online: boolean): void {
    checkInt("core", core, this.config.cores);
    this._kvmOp(`setCoreOnline(${core}, ${online})`, OP.CORE_ONLINE, 0, 0, [BigInt(core), online ? 1n : 0n]);
  }

  /** Advance cpu's clock by `cycles` of guest work (no cost category). */
  work(cpu: number, cycles: number): void {
    checkInt("cpu", cpu, this.cpus);
    this.#runOne(opHeader(OP.WORK, cpu), [BigInt(checkInt("cycles", cycles, 2 ** 53))]);
  }

  /** A cpu's simulated clock and its cycles per cost category. */
  cpuCycles(cpu: number): { clock: bigint; cycles: Record<CostCategory, bigint> } {
    checkInt("cpu", cpu, this.cpus);
    this.#views();
    return decodeCpuCycles(this.#u64, this.plan.cpuTab + cpu * REC.CPU_BYTES);
  }

  /** The latest clock of any cpu (cycles): when the last cpu finished its work. */
  makespan(): bigint {
    this.#views();
    let max = 0n;
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      const c = this.#u64[(this.plan.cpuTab + cpu * REC.CPU_BYTES + REC.CPU_CLOCK) / 8]!;
      if (c > max) max = c;
    }
    return max;
  }

  /** What runs on a cpu: the guest (LPID) and vcpu, and the 3.8 paca kvm_vcore (never cleared). */
  cpuState(cpu: number): { lpid: number | null; vcpu: number | null; kvmVcore: { lpid: number; vcore: number } | null } {
    checkInt("cpu", cpu, this.cpus);
    return decodeCpuState(this._u32, this.plan.cpuTab + cpu * REC.CPU_BYTES);
  }

  /** The tlbie fabric's next free time. */
  get fabricFreeAt(): bigint {
    return this._u64[(this.plan.header + HDR.FABRIC_FREE) / 8]!;
  }

  /** Machine-wide KVM counters and cycles. */
  kvmCounters(): KvmCounters {
    return this._readKvm(this.plan.stats);
  }

  /** @internal */
  _readKvm(byteOffset: number): KvmCounters {
    return decodeKvmCounters(this._u64, byteOffset);
  }

  /** The recorded violations (at most machine.violationRecords; kvmCounters().violations counts all). */
  violations(): ViolationRecord[] {
    const u32 = this._u32;
    const u64 = this._u64;
    const n = Math.min(Number(u64[this.plan.stats / 8 + STAT.violations]!), this.plan.violSlots);
    const out: ViolationRecord[] = [];
    for (let i = 0; i < n; i++) out.push(decodeViolation(u32, u64, this.plan.viol + i * REC.VIOL_BYTES));
    return out;
  }

  /** Valid entries of one core's TLB that the detector has marked stale, with why. */
  staleEntries(core: number): (TlbEntryView & { leftBy: StaleCause })[] {
    const all = this.tlbEntries(core);
    const { tlbWays } = this.config;
    const cores = this.tlbCount;
    const out: (TlbEntryView & { leftBy: StaleCause })[] = [];
    for (const e of all) {
      const idx = (e.set * cores + core) * tlbWays + e.way;
      const w1 = this._u64[(this.plan.tlb + idx * TLBE_BYTES + 8) / 8]!;
      if (!tlbEntryStale(w1)) continue;
      out.push({ ...e, leftBy: decodeProvenance(this._u64[this.plan.prov / 8 + idx]!)! });
    }
    return out;
  }

  /** @internal */
  _readStats(byteOffset: number): CounterBlock {
    this.#views();
    return decodeCounterBlock(this.#u64, byteOffset);
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

/** Create a machine (synchronously: the module is compiled once per process). */
export function createMachineSync(config: MachineConfigInput = {}): Machine {
  return new Machine(config);
}

/** Create a machine. */
export async function createMachine(config: MachineConfigInput = {}): Promise<Machine> {
  return new Machine(config);
}
