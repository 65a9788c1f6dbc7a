/**
 * Host mirror of assembly/layout.ts (the one description of the linear memory; a test checks
 * every constant here against the module) and the planner that sizes each region from the
 * machine configuration before anything is allocated.
 */
import type { MachineConfig } from "../config.js";

export const LAYOUT_MAGIC = 0x4c545048;
export const LAYOUT_VERSION = 1;
export const HEADER_BYTES = 256;
export const STATS_BYTES = 512;
export const GUEST_BYTES = 128;
export const OP_BYTES = 128;
export const TLBE_BYTES = 16;
export const PAGE_BYTES = 65536;
/** WASM32: 65536 pages of 64 KiB. */
export const MAX_PAGES = 65536;
export const MAX_BYTES = MAX_PAGES * PAGE_BYTES;

/** Header field byte offsets (u32 each). */
export const H = {
  MAGIC: 0, VERSION: 4, CORES: 8, SMT: 12, TLB_SETS: 16, TLB_WAYS: 20, REPLACEMENT: 24, RNG: 28,
  LPID_LIMIT: 32, MAX_GUESTS: 36, HOST_PAGE_SHIFT: 40, HOST_FRAMES: 44, STATS: 48, GUESTS: 52,
  GUEST_STATS: 56, OPS: 60, OP_SLOTS: 64, LPID_GUEST: 68, LPID_MASK: 72, LPID_COUNT: 76,
  FRAME_OWNER: 80, TLB: 84, MASK_WORDS: 88, FREE_FRAMES: 92, ARENA: 96, ARENA_END: 100,
} as const;

/** Guest descriptor byte offsets. */
export const G = {
  LPID: 0, FLAGS: 4, HPT_ORDER: 8, HTAB_MASK: 12, NPTE: 16, HPT: 20, REVMAP: 24, RMAP: 28, FRAMES: 32,
  RAM_HOST_PAGES: 36, HPT_MAX_PAGE_SHIFT: 40, INSTANCE: 44, RAM_BYTES: 48,
} as const;
export const GF_LIVE = 1;
export const GF_QEMU = 2;

/** Counter indices inside a stats block (u64 each). */
export const STAT = {
  translations: 0, tlbHits: 1, tlbMisses: 2, hptWalks: 3, ptegsProbed: 4, hptFaults: 5, tlbFills: 6,
  tlbEvictions: 7, globalTlbies: 8, globalTlbieEntries: 9, localTlbiels: 10, localTlbielEntries: 11,
  tlbielSets: 12, lpidFlushes: 13, flushedEntries: 14, rmapLinks: 15, rmapUnlinks: 16,
} as const;
export const STAT_HCALLS = 32;
export const RET_BUCKET_COUNT = 6;

/** Op codes: hcalls use their PAPR opcode. */
export const OP = {
  H_REMOVE: 0x04, H_ENTER: 0x08, H_READ: 0x0c, H_PROTECT: 0x18, H_BULK_REMOVE: 0x124,
  TRANSLATE: 0x1001, TLBIEL: 0x1002, TLBIEL_SET: 0x1003, FLUSH_LPID: 0x1004, TLBIE: 0x1005,
  GUEST_INIT: 0x1100, GUEST_DESTROY: 0x1101,
} as const;
export const OPF_PROBLEM_STATE = 1;
export const XLATE = { HIT: 0n, MISS: 1n, FAULT: 2n, BAD_SLB: 3n } as const;
export const OP_REJECTED = 0xffffffffffffffffn;
export const NO_FRAME = 0xffffffff;
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
  tlb: number;
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

/** Bytes a guest takes from the arena: HPT, revmap, and (kvm-hv) rmap words and frame numbers. */
export function guestBytes(hptOrder: number, ramHostPages: number, kvm: boolean): number {
  const hpt = 2 ** hptOrder;
  return align(hpt, 4096) + align(hpt, 4096) + (kvm ? align(ramHostPages * 8, 4096) + align(ramHostPages * 4, 4096) : 0);
}

/** Plan the fixed regions for `cfg`, starting at `base` (the module's layoutBase()). */
export function planLayout(cfg: MachineConfig, base: number, opSlots = DEFAULT_OP_SLOTS): LayoutPlan {
  const lpidLimit = 2 ** cfg.lpidBits;
  const maxGuests = lpidLimit - 2; // LPID 0 is the host's, the last is LPID_RSVD
  const maskWords = Math.ceil(cfg.cores / 64);
  const hostFrames = cfg.hostMemoryBytes / 2 ** cfg.hostPageShift;
  const sizes: [string, number][] = [
    ["header", HEADER_BYTES],
    ["stats", STATS_BYTES],
    ["guests", maxGuests * GUEST_BYTES],
    ["guestStats", maxGuests * STATS_BYTES],
    ["ops", opSlots * OP_BYTES],
    ["lpidGuest", lpidLimit * 4],
    ["lpidMask", lpidLimit * maskWords * 8],
    ["lpidCount", lpidLimit * cfg.cores * 4],
    ["frameOwner", hostFrames * 4],
    ["tlb", cfg.tlbSets * cfg.cores * cfg.tlbWays * TLBE_BYTES],
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
    frameOwner: off("frameOwner"), tlb: off("tlb"), arena, maskWords, maxGuests, lpidLimit, hostFrames,
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
