/**
 * Host mirror of assembly/layout.ts (the one description of the linear memory; a test checks
 * every constant here against the module) and the planner that sizes each region from the
 * machine configuration before anything is allocated.
 */
import { tlbGroupCount, type MachineConfig } from "../config.js";

export const LAYOUT_MAGIC = 0x4c545048;
export const LAYOUT_VERSION = 1;
export const HEADER_BYTES = 256;
export const STATS_BYTES = 1024;
export const GUEST_BYTES = 192;
export const OP_BYTES = 128;
export const TLBE_BYTES = 16;
export const PAGE_BYTES = 65536;
/** WASM32: 65536 pages of 64 KiB. */
export const MAX_PAGES = 65536;
export const MAX_BYTES = MAX_PAGES * PAGE_BYTES;

/** Header field byte offsets (u32 each). */
export const HDR = {
  MAGIC: 0, VERSION: 4, CORES: 8, SMT: 12, TLB_SETS: 16, TLB_WAYS: 20, REPLACEMENT: 24, RNG: 28,
  LPID_LIMIT: 32, MAX_GUESTS: 36, HOST_PAGE_SHIFT: 40, HOST_FRAMES: 44, STATS: 48, GUESTS: 52,
  GUEST_STATS: 56, OPS: 60, OP_SLOTS: 64, LPID_GUEST: 68, LPID_MASK: 72, LPID_COUNT: 76,
  FRAME_OWNER: 80, TLB: 84, MASK_WORDS: 88, FREE_FRAMES: 92, ARENA: 96, ARENA_END: 100,
  PROV: 104, CPUS: 108, CORE_TAB: 112, VIOL: 116, VIOL_SLOTS: 120, FABRIC_CAL: 124, FABRIC_FREE: 128, FRAME_USED: 136, FRAME_HINT: 140, TLB_SPLIT: 144, TLB_FLUSH_SETS: 148, MIXED_FILLS: 152, COSTS: 160, FABRIC_MODE: 240, FABRIC_SENDER: 244, TLBIE_LOCK: 248, TLBIE_ERRATA: 252,
} as const;

/** Cost table entries (u32 cycles at header + HDR.COSTS + 4·index). */
export const K = {
  TLB_HIT: 0, PTEG_WALK: 1, HCALL: 2, TLBIEL: 3, TLBIEL_EXTRA: 4, TLBIE_BASE: 5, TLBIE_PER_CHIP: 6, TLBIE_EXTRA: 7,
  FLUSH_BASE: 8, FLUSH_PER_SET: 9, ENTRY_EXIT: 10, IPI: 11, PAGE_OUT_HPTE: 12, HV_FAULT: 13, CORES_PER_CHIP: 14, TLBIE_ERRATA: 15, IPI_SEND: 16,
} as const;
export const COST_COUNT = 17;

/** Cost categories (cycles per cpu, per guest, machine-wide). */
export const CC = {
  TRANSLATE: 0, WALK: 1, HCALL: 2, TLBIEL: 3, TLBIE: 4, TLBIE_WAIT: 5, FLUSH: 6, ENTRY_EXIT: 7, IPI: 8, PAGE_OUT: 9,
  HV_FAULT: 10,
} as const;
export const CC_COUNT = 11;

/** cpu, core, vcpu, vcore, deferred-VA and violation records (assembly/layout.ts draws them). */
export const REC = {
  CPU_BYTES: 128, CPU_CLOCK: 0, CPU_CYCLES: 8, CPU_RUN_SLOT: 96, CPU_RUN_VCPU: 100, CPU_VC_SLOT: 104, CPU_VC_IDX: 108, CPU_OFFLINE: 112,
  CORE_BYTES: 8, VCPU_BYTES: 8, VCORE_BYTES: 16, DEFER_BYTES: 16, VIOL_BYTES: 64,
} as const;
/** Field byte offsets of the vcpu, vcore, deferred-VA and violation records (assembly/layout.ts draws them). */
export const VCPU_REC = { LAST_CPU: 0, RUNNING: 4 } as const;
export const VCORE_REC = { PCPU: 0, RUNNING: 4, VCPU_MASK: 8, RUNS: 12 } as const;
export const DEFER_REC = { KEY: 0, SET: 8, GFN: 12 } as const;
export const VIOL_REC = { CPU: 0, LPID: 4, GUEST: 8, OWNER: 12, KEY: 16, RPN: 24, TIME: 32, PROV: 40, EA: 48, STALE: 56, FRAME: 60 } as const;

export const NO_CPU = 0xffffffff;
export const FABRIC_SLOTS = 65536;
export const FABRIC_SLOT_SHIFT = 7;
/** HDR.FABRIC_MODE fields (assembly/layout.ts): model bits 0–3, lock scope bits 4–7, in flight bits 8–15. */
export const FABRIC_MODEL_CODE = { exclusive: 0, concurrent: 1 } as const;
export const LOCK_SCOPE_CODE = { none: 0, vm: 1, machine: 2 } as const;
export const STALE = { LOCAL: 1, LPID_FREE: 2, HPT_RESET: 3, LAZY: 4 } as const;
export const DEFER_OVF = { FLUSH: 0, TLBIE: 1, DRAIN: 2 } as const;
/** r3 of KVM ops that could not be done. */
export const KVM_ERR = {
  BAD_VCORE: 0xfffffffffffffff1n, VCORE_BUSY: 0xfffffffffffffff2n, CORE_BUSY: 0xfffffffffffffff3n,
  NOT_RUNNING: 0xfffffffffffffff4n, PINNED: 0xfffffffffffffff5n, BAD_GFN: 0xfffffffffffffff6n,
  NO_FRAME: 0xfffffffffffffff7n, GUEST_RUNNING: 0xfffffffffffffff8n,
} as const;

/** Guest descriptor byte offsets. */
export const G = {
  LPID: 0, FLAGS: 4, HPT_ORDER: 8, HTAB_MASK: 12, NPTE: 16, HPT: 20, REVMAP: 24, RMAP: 28, FRAMES: 32,
  RAM_HOST_PAGES: 36, HPT_MAX_PAGE_SHIFT: 40, INSTANCE: 44, RAM_BYTES: 48, POLICY: 56, VCPUS: 60, VCORES: 64,
  TPV: 68, VCPU_TAB: 72, VCORE_TAB: 76, NEED_FLUSH: 80, LAST_VCPU: 84, DEFER: 88, DEFER_CAP: 92, DEFER_COUNT: 96,
  DEFER_OVERFLOW: 100, RUNNING_VCORES: 104, LAST_VCPU_SLOTS: 108, TLBIE_LOCK: 112, LAZY: 116, IPI_MASK: 120, BATCH: 124, BATCH_COUNT: 128,
} as const;
/** lazy-reuse's block (assembly/layout.ts LZ_*): counts, then two cpumasks, then the held frames; LAZY_* variants. */
export const LZ = { COUNT: 0, CLOSING: 4, CAP: 8, VARIANT: 12, MASKS: 16 } as const;
export const LAZY = { EPOCH: 0, EARLY: 1, RUNNING: 2, FREE_FIRST: 3 } as const;
/** batched-reclaim's batch: page-outs per flush (SWAP_CLUSTER_MAX; docs/model/policies.md §14). */
export const BATCH_MAX = 32;
export const GF_LIVE = 1;
export const GF_QEMU = 2;

/** The POWER9 tlbie errata bits of HDR.TLBIE_ERRATA (docs/model/policies.md §10.3). */
export const ERRATUM_CODE = { stq: 1, erat: 2 } as const;

/** Counter indices inside a stats block (u64 each). */
export const STAT = {
  translations: 0, tlbHits: 1, tlbMisses: 2, hptWalks: 3, ptegsProbed: 4, hptFaults: 5, tlbFills: 6,
  tlbEvictions: 7, globalTlbies: 8, globalTlbieEntries: 9, localTlbiels: 10, localTlbielEntries: 11,
  tlbielSets: 12, lpidFlushes: 13, flushedEntries: 14, rmapLinks: 15, rmapUnlinks: 16,
  violations: 17, staleHarmless: 18, guestEntries: 19, entryFlushes: 20, fullFlushes: 21, tlbieSequences: 22,
  tlbielSequences: 23, tlbieWaits: 24, ipis: 25, pageOuts: 26, pageOutHptes: 27, pageIns: 28, hvFaults: 29,
  deferredRecords: 30, deferredOverflows: 31, deferredTlbies: 32, hptResets: 33, staleMarked: 34,
  localInvalidations: 35, globalInvalidations: 36, needFlushSets: 37, staleHits: 38, tlbieLockWaitCycles: 39, errataTlbies: 40,
  ipiInterrupts: 41, ipiOtherGuest: 42, ipiEmpty: 43, ipiEmptyCycles: 44, batchHeld: 45, batchFlushes: 46,
  quarantined: 56, quarantineReleased: 57, quarantinePeak: 58, quarantineFallbacks: 59, epochFlushes: 60,
} as const;
export const STAT_HCALLS = 64;
export const STAT_CYCLES = 96;
export const RET_BUCKET_COUNT = 6;

/** Op codes: hcalls use their PAPR opcode. */
export const OP = {
  H_REMOVE: 0x04, H_ENTER: 0x08, H_READ: 0x0c, H_PROTECT: 0x18, H_BULK_REMOVE: 0x124,
  TRANSLATE: 0x1001, TLBIEL: 0x1002, TLBIEL_SET: 0x1003, FLUSH_LPID: 0x1004, TLBIE: 0x1005,
  GUEST_INIT: 0x1100, GUEST_DESTROY: 0x1101, VCORE_RUN: 0x1200, VCORE_EXIT: 0x1201, PAGE_OUT: 0x1202, PAGE_IN: 0x1203,
  HPT_RESET: 0x1204, WORK: 0x1205, RECLAIM: 0x1206, CORE_ONLINE: 0x1207,
} as const;
export const OPF_PROBLEM_STATE = 1;
export const XLATE = { HIT: 0n, MISS: 1n, FAULT: 2n, BAD_SLB: 3n } as const;
export const OP_REJECTED = 0xffffffffffffffffn;
export const NO_FRAME = 0xffffffff;

/** TLB entry bits (assembly/layout.ts draws both words): w0 = the tag, w1 = rpn | STALE | lpid | LRU rank. */
export const TLBE = {
  VALID: 0x8000000000000000n, VALID_SHIFT: 63n, PSIZE_SHIFT: 57n, PSIZE_MASK: 7n, B_SHIFT: 56n, VPN: 0x00ffffffffffffffn,
  RPN: 0x00000fffffffffffn, STALE: 0x0000800000000000n, LPID: 0x0fff000000000000n, LPID_SHIFT: 48n,
  RANK: 0xf000000000000000n, RANK_SHIFT: 60n,
} as const;
/** TLB provenance word (why an entry is stale): cause (STALE.*) | cpu | the cpu's clock (low 40 bits). */
export const PROV = { CAUSE_SHIFT: 56n, CPU_SHIFT: 40n, CPU_MASK: 0xffffn, TIME: 0x000000ffffffffffn } as const;
/** rmap word (one per host page of guest RAM): REFERENCED, CHANGED, PRESENT and the ring head's index. */
export const RMAP = {
  REFERENCED: 0x0000010000000000n, CHANGED: 0x0000008000000000n, RC_SHIFT: 32n, PRESENT: 0x0000000100000000n,
  INDEX: 0x00000000ffffffffn,
} as const;
/** frameOwner value of frames the host kernel keeps (frame 0). */
export const FRAME_HOST = 0xffffffff;

export interface Region {
  name: string;
  offset: number;
  bytes: number;
}

/** Where every fixed region lives; guests are carved from the arena that follows. */
export interface LayoutPlan {
  base: number;
  header: number;
  stats: number;
  guests: number;
  guestStats: number;
  ops: number;
  opSlots: number;
  lpidGuest: number;
  lpidMask: number;
  lpidCount: number;
  frameOwner: number;
  /** Frames-in-use bitmap (bit f: frame f has an owner). */
  frameUsed: number;
  tlb: number;
  prov: number;
  cpuTab: number;
  coreTab: number;
  viol: number;
  violSlots: number;
  fabricCal: number;
  /** The machine-wide tlbie lock's calendar (concurrent fabric, lock scope "machine"), or 0. */
  lockCal: number;
  arena: number;
  maskWords: number;
  maxGuests: number;
  lpidLimit: number;
  hostFrames: number;
  /** Bytes of the fixed regions, arena excluded. */
  fixedBytes: number;
  regions: Region[];
}

export const DEFAULT_OP_SLOTS = 4096;

const align = (n: number, a: number) => Math.ceil(n / a) * a;

/** What a guest's KVM state needs besides its HPT and RAM bookkeeping. */
export interface GuestKvmSizes {
  vcpus: number;
  vcores: number;
  maskWords: number;
  lastVcpuSlots: number;
  deferredCap: number;
  /** Slots of the guest's tlbie-lock calendar (concurrent fabric, lock scope "vm"; docs/model/costs.md §8): FABRIC_SLOTS or 0. */
  lockSlots?: number;
  /** lazy-reuse: frames its quarantine can hold (the guest's RAM in host pages), or 0 for no block (docs/model/policies.md §9). */
  quarantineCap?: number;
}

/** Slots of a guest's tlbie-lock calendar on a machine: FABRIC_SLOTS with the concurrent fabric's per-VM lock, else 0. */
export function tlbieLockSlots(cfg: Pick<MachineConfig, "fabric">): number {
  return cfg.fabric.model === "concurrent" && cfg.fabric.lockScope === "vm" ? FABRIC_SLOTS : 0;
}

/** Byte offsets of a guest's arena block, in order (docs/memory.md). */
export function guestParts(hptOrder: number, ramHostPages: number, kvm: boolean, k: GuestKvmSizes) {
  const hpt = 2 ** hptOrder;
  const sizes: [string, number][] = [
    ["hpt", align(hpt, 4096)],
    ["revmap", align(hpt, 4096)],
    ["rmap", kvm ? align(ramHostPages * 8, 4096) : 0],
    ["frames", kvm ? align(ramHostPages * 4, 4096) : 0],
    ["vcpus", align(k.vcpus * REC.VCPU_BYTES, 64)],
    ["vcores", align(k.vcores * REC.VCORE_BYTES, 64)],
    ["needFlush", align(k.maskWords * 8, 64)],
    ["lastVcpu", align(k.lastVcpuSlots * 2, 64)],
    ["deferred", align(k.deferredCap * REC.DEFER_BYTES, 64)],
    ["tlbieLock", align((k.lockSlots ?? 0) * 4, 64)],
    ["lazy", k.quarantineCap ? align(16 + k.maskWords * 16 + k.quarantineCap * 4, 64) : 0],
    ["ipiMask", align(k.maskWords * 8, 64)],
    ["batch", align(BATCH_MAX * 4, 64)],
  ];
  const at: Record<string, number> = {};
  let off = 0;
  for (const [name, bytes] of sizes) { at[name] = off; off += bytes; }
  return { at: at as Record<"hpt" | "revmap" | "rmap" | "frames" | "vcpus" | "vcores" | "needFlush" | "lastVcpu" | "deferred" | "tlbieLock" | "lazy" | "ipiMask" | "batch", number>, bytes: align(off, 4096) };
}

/** Bytes a guest takes from the arena: HPT, revmap, (kvm-hv) rmap words and frame numbers, KVM state. */
export function guestBytes(hptOrder: number, ramHostPages: number, kvm: boolean, k?: GuestKvmSizes): number {
  return guestParts(hptOrder, ramHostPages, kvm, k ?? { vcpus: 1, vcores: 1, maskWords: 16, lastVcpuSlots: 4096, deferredCap: 64 }).bytes;
}

/** Plan the fixed regions for `cfg`, starting at `base` (the module's layoutBase()). */
export function planLayout(cfg: MachineConfig, base: number, opSlots = DEFAULT_OP_SLOTS): LayoutPlan {
  const lpidLimit = 2 ** cfg.lpidBits;
  const maxGuests = lpidLimit - 2; // LPID 0 is the host's, the last is LPID_RSVD
  // one TLB per group of tlbThreadsPerGroup threads (= cores when a core shares one): holder masks,
  // counts, TLB, provenance and fingerprints are per TLB (docs/memory.md)
  const tlbs = tlbGroupCount(cfg);
  const maskWords = Math.ceil(tlbs / 64);
  const hostFrames = cfg.hostMemoryBytes / 2 ** cfg.hostPageShift;
  const sizes: [string, number][] = [
    ["header", HEADER_BYTES],
    ["stats", STATS_BYTES],
    ["guests", maxGuests * GUEST_BYTES],
    ["guestStats", maxGuests * STATS_BYTES],
    ["ops", opSlots * OP_BYTES],
    ["lpidGuest", lpidLimit * 4],
    ["lpidMask", lpidLimit * maskWords * 8],
    ["lpidCount", lpidLimit * tlbs * 4],
    ["frameOwner", hostFrames * 4],
    ["frameUsed", Math.ceil(hostFrames / 64) * 8],
    ["tlb", cfg.tlbSets * tlbs * cfg.tlbWays * TLBE_BYTES],
    ["prov", cfg.tlbSets * tlbs * cfg.tlbWays * 8],
    ["tlbFp", cfg.tlbSets * tlbs * cfg.tlbWays], // must follow prov directly (the engine finds it there)
    ["cpuTab", cfg.cores * cfg.smt * REC.CPU_BYTES],
    ["coreTab", cfg.cores * REC.CORE_BYTES],
    ["viol", cfg.violationRecords * REC.VIOL_BYTES],
    ["fabricCal", FABRIC_SLOTS * 4],
    // the machine-wide tlbie lock's calendar: only with the concurrent fabric and lock scope "machine"
    ...(cfg.fabric.model === "concurrent" && cfg.fabric.lockScope === "machine" ? [["lockCal", FABRIC_SLOTS * 4] as [string, number]] : []),
  ];
  const regions: Region[] = [];
  let at = base;
  for (const [name, bytes] of sizes) {
    regions.push({ name, offset: at, bytes });
    at = align(at + bytes, 64);
  }
  const arena = align(at, 4096);
  const off = (name: string) => regions.find((r) => r.name === name)!.offset;
  return {
    base, header: off("header"), stats: off("stats"), guests: off("guests"), guestStats: off("guestStats"),
    ops: off("ops"), opSlots, lpidGuest: off("lpidGuest"), lpidMask: off("lpidMask"), lpidCount: off("lpidCount"),
    frameOwner: off("frameOwner"), frameUsed: off("frameUsed"), tlb: off("tlb"), prov: off("prov"), cpuTab: off("cpuTab"), coreTab: off("coreTab"),
    viol: off("viol"), violSlots: cfg.violationRecords, fabricCal: off("fabricCal"), lockCal: regions.find((r) => r.name === "lockCal")?.offset ?? 0, arena, maskWords, maxGuests, lpidLimit, hostFrames,
    fixedBytes: arena - base, regions,
  };
}

/** Human-readable size. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) { n /= 1024; u++; }
  return `${Number.isInteger(n) ? n : n.toFixed(1)} ${units[u]}`;
}
