// The linear memory of hptlab: one shared WebAssembly.Memory, planned by the host
// (src/engine/layout.ts, planLayout) and described by a header that the host writes once.
// This file is the single description of that memory; src/engine/layout.ts mirrors its
// constants and a test checks each one.
//
//   0 ──────────────── AssemblyScript static data (abort messages), up to layoutBase()
//   ╒═══ region ══════════╤═ size ════════════════════════════════════╤═ who writes ═╕
//   │ header              │ HEADER_BYTES: geometry + region addresses  │ host, once   │
//   │ stats (global)      │ STATS_BYTES: STAT_* u64 counters           │ engine       │
//   │ guest table         │ maxGuests × GUEST_BYTES descriptors        │ host + engine│
//   │ guest stats         │ maxGuests × STATS_BYTES                    │ engine       │
//   │ op buffer           │ opSlots × OP_BYTES (the batch interface)   │ host → engine│
//   │ lpid → guest        │ lpidLimit × u32 (guest slot + 1, 0 = none) │ engine       │
//   │ lpid core mask      │ lpidLimit × maskWords × u64                │ engine       │
//   │ lpid core count     │ lpidLimit × cores × u32 (entries held)     │ engine       │
//   │ frame owner         │ hostFrames × u32 (guest instance, 0 free)  │ engine       │
//   │ TLB (set-major)     │ sets × cores × ways × TLBE_BYTES           │ engine       │
//   │ guest arena         │ per guest: HPT 2^order, revmap npte × 16,  │ engine       │
//   │                     │ rmap ramHostPages × 8, frames × u32        │              │
//   └─────────────────────┴────────────────────────────────────────────┴──────────────┘
//
// TLB, set-major: for congruence class s, all cores' ways side by side, so a tlbie of one
// VA walks one contiguous stripe: entry(s, core, way) = tlb + ((s·cores + core)·ways + way)·16.
//
// TLB entry (16 B):  w0 = vpn4k[0..55] | B<<56 | psize<<57 (0 4K, 1 64K, 2 16M) | VALID<<63
//                    w1 = rpn[0..39] | lpid<<40 (12 bits) | lruRank<<52 (4 bits)
// HPTE (16 B): v then r, as the 64-bit register view of SPEC §3, stored little-endian (native).
// revmap entry (16 B): guest_rpte u64, forw u32, back u32 (SPEC §7).
// rmap word (8 B): SPEC §7 layout (REFERENCED bit 40, CHANGED bit 39, PRESENT bit 32, index 0..31).
//
// Op (OP_BYTES = 128 B = 16 u64 words; the batch interface, see docs/memory.md):
//   w0  = opcode[0..15] | opflags[16..31] | cpu[32..47] | guest slot[48..63]
//   w1  = r3: the hcall return code (i64) or the result of a machine op
//   w2..w9 = r4..r11: hcall inputs, overwritten by its outputs
//   w10 = lpid (machine ops), w11..w15 spare

// @ts-ignore: decorator
@inline export const LAYOUT_MAGIC: u32 = 0x4c545048; // "HPTL"
// @ts-ignore: decorator
@inline export const LAYOUT_VERSION: u32 = 1;

// ── header (u32 fields unless noted) ──
// @ts-ignore: decorator
@inline export const HEADER_BYTES: u32 = 256;
// @ts-ignore: decorator
@inline export const H_MAGIC: u32 = 0;
// @ts-ignore: decorator
@inline export const H_VERSION: u32 = 4;
// @ts-ignore: decorator
@inline export const H_CORES: u32 = 8;
// @ts-ignore: decorator
@inline export const H_SMT: u32 = 12;
// @ts-ignore: decorator
@inline export const H_TLB_SETS: u32 = 16;
// @ts-ignore: decorator
@inline export const H_TLB_WAYS: u32 = 20;
// @ts-ignore: decorator
@inline export const H_REPLACEMENT: u32 = 24; // 0 lru, 1 random
// @ts-ignore: decorator
@inline export const H_RNG: u32 = 28; // xorshift32 state
// @ts-ignore: decorator
@inline export const H_LPID_LIMIT: u32 = 32;
// @ts-ignore: decorator
@inline export const H_MAX_GUESTS: u32 = 36;
// @ts-ignore: decorator
@inline export const H_HOST_PAGE_SHIFT: u32 = 40;
// @ts-ignore: decorator
@inline export const H_HOST_FRAMES: u32 = 44;
// @ts-ignore: decorator
@inline export const H_STATS: u32 = 48;
// @ts-ignore: decorator
@inline export const H_GUESTS: u32 = 52;
// @ts-ignore: decorator
@inline export const H_GUEST_STATS: u32 = 56;
// @ts-ignore: decorator
@inline export const H_OPS: u32 = 60;
// @ts-ignore: decorator
@inline export const H_OP_SLOTS: u32 = 64;
// @ts-ignore: decorator
@inline export const H_LPID_GUEST: u32 = 68;
// @ts-ignore: decorator
@inline export const H_LPID_MASK: u32 = 72;
// @ts-ignore: decorator
@inline export const H_LPID_COUNT: u32 = 76;
// @ts-ignore: decorator
@inline export const H_FRAME_OWNER: u32 = 80;
// @ts-ignore: decorator
@inline export const H_TLB: u32 = 84;
// @ts-ignore: decorator
@inline export const H_MASK_WORDS: u32 = 88;
// @ts-ignore: decorator
@inline export const H_FREE_FRAMES: u32 = 92;
// @ts-ignore: decorator
@inline export const H_ARENA: u32 = 96;
// @ts-ignore: decorator
@inline export const H_ARENA_END: u32 = 100;

// ── counters: STAT_* index × 8 bytes inside a stats block ──
// @ts-ignore: decorator
@inline export const STATS_BYTES: u32 = 512;
// @ts-ignore: decorator
@inline export const STAT_TRANSLATIONS: u32 = 0;
// @ts-ignore: decorator
@inline export const STAT_TLB_HITS: u32 = 1;
// @ts-ignore: decorator
@inline export const STAT_TLB_MISSES: u32 = 2;
// @ts-ignore: decorator
@inline export const STAT_HPT_WALKS: u32 = 3;
// @ts-ignore: decorator
@inline export const STAT_PTEGS_PROBED: u32 = 4;
// @ts-ignore: decorator
@inline export const STAT_HPT_FAULTS: u32 = 5;
// @ts-ignore: decorator
@inline export const STAT_TLB_FILLS: u32 = 6;
// @ts-ignore: decorator
@inline export const STAT_TLB_EVICTIONS: u32 = 7;
// @ts-ignore: decorator
@inline export const STAT_GLOBAL_TLBIES: u32 = 8;
// @ts-ignore: decorator
@inline export const STAT_GLOBAL_TLBIE_ENTRIES: u32 = 9;
// @ts-ignore: decorator
@inline export const STAT_LOCAL_TLBIELS: u32 = 10;
// @ts-ignore: decorator
@inline export const STAT_LOCAL_TLBIEL_ENTRIES: u32 = 11;
// @ts-ignore: decorator
@inline export const STAT_TLBIEL_SETS: u32 = 12;
// @ts-ignore: decorator
@inline export const STAT_LPID_FLUSHES: u32 = 13;
// @ts-ignore: decorator
@inline export const STAT_FLUSHED_ENTRIES: u32 = 14;
// @ts-ignore: decorator
@inline export const STAT_RMAP_LINKS: u32 = 15;
// @ts-ignore: decorator
@inline export const STAT_RMAP_UNLINKS: u32 = 16;
/** hcall counters: STAT_HCALLS + kind × RET_BUCKETS + bucket. */
// @ts-ignore: decorator
@inline export const STAT_HCALLS: u32 = 32;
// @ts-ignore: decorator
@inline export const RET_BUCKETS: u32 = 6;

// ── guest descriptor (GUEST_BYTES each, indexed by guest slot) ──
// @ts-ignore: decorator
@inline export const GUEST_BYTES: u32 = 128;
// @ts-ignore: decorator
@inline export const G_LPID: u32 = 0;
// @ts-ignore: decorator
@inline export const G_FLAGS: u32 = 4; // GF_*
// @ts-ignore: decorator
@inline export const G_HPT_ORDER: u32 = 8;
// @ts-ignore: decorator
@inline export const G_HTAB_MASK: u32 = 12; // nPTEG − 1
// @ts-ignore: decorator
@inline export const G_NPTE: u32 = 16;
// @ts-ignore: decorator
@inline export const G_HPT: u32 = 20;
// @ts-ignore: decorator
@inline export const G_REVMAP: u32 = 24;
// @ts-ignore: decorator
@inline export const G_RMAP: u32 = 28;
// @ts-ignore: decorator
@inline export const G_FRAMES: u32 = 32;
// @ts-ignore: decorator
@inline export const G_RAM_HOST_PAGES: u32 = 36;
// @ts-ignore: decorator
@inline export const G_HPT_MAX_PAGE_SHIFT: u32 = 40;
// @ts-ignore: decorator
@inline export const G_INSTANCE: u32 = 44;
// @ts-ignore: decorator
@inline export const G_RAM_BYTES: u32 = 48; // u64
// @ts-ignore: decorator
@inline export const GF_LIVE: u32 = 1;
// @ts-ignore: decorator
@inline export const GF_QEMU: u32 = 2;

// ── ops ──
// @ts-ignore: decorator
@inline export const OP_BYTES: u32 = 128;
// hcalls use their PAPR opcode (SPEC §4)
// @ts-ignore: decorator
@inline export const OP_H_REMOVE: u32 = 0x04;
// @ts-ignore: decorator
@inline export const OP_H_ENTER: u32 = 0x08;
// @ts-ignore: decorator
@inline export const OP_H_READ: u32 = 0x0c;
// @ts-ignore: decorator
@inline export const OP_H_PROTECT: u32 = 0x18;
// @ts-ignore: decorator
@inline export const OP_H_BULK_REMOVE: u32 = 0x124;
// machine ops
// @ts-ignore: decorator
@inline export const OP_TRANSLATE: u32 = 0x1001;
// @ts-ignore: decorator
@inline export const OP_TLBIEL: u32 = 0x1002;
// @ts-ignore: decorator
@inline export const OP_TLBIEL_SET: u32 = 0x1003;
// @ts-ignore: decorator
@inline export const OP_FLUSH_LPID: u32 = 0x1004;
// @ts-ignore: decorator
@inline export const OP_TLBIE: u32 = 0x1005;
// @ts-ignore: decorator
@inline export const OP_GUEST_INIT: u32 = 0x1100;
// @ts-ignore: decorator
@inline export const OP_GUEST_DESTROY: u32 = 0x1101;
/** opflags bit: the hcall was made with MSR[PR] = 1. */
// @ts-ignore: decorator
@inline export const OPF_PROBLEM_STATE: u32 = 1;
/** Result of OP_TRANSLATE in r3. */
// @ts-ignore: decorator
@inline export const XLATE_HIT: u64 = 0;
// @ts-ignore: decorator
@inline export const XLATE_MISS: u64 = 1;
// @ts-ignore: decorator
@inline export const XLATE_FAULT: u64 = 2;
// @ts-ignore: decorator
@inline export const XLATE_BAD_SLB: u64 = 3;
/** Result of an op whose opcode is unknown or whose guest slot is not live. */
// @ts-ignore: decorator
@inline export const OP_REJECTED: u64 = 0xffffffffffffffff;

// @ts-ignore: decorator
@inline export const TLBE_BYTES: u32 = 16;
// @ts-ignore: decorator
@inline export const NO_FRAME: u32 = 0xffffffff;
/** Owner of frames the host kernel keeps (frame 0). */
// @ts-ignore: decorator
@inline export const FRAME_HOST: u32 = 0xffffffff;
