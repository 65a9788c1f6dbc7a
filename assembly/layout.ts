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
//   │ frames in use       │ ⌈hostFrames/64⌉ × u64: bit f = frame f's   │ engine       │
//   │                     │ owner ≠ 0 (bits past the last frame set):  │              │
//   │                     │ the lowest free frame, 64 at a time        │              │
//   │ TLB (set-major)     │ sets × cores × ways × TLBE_BYTES           │ engine       │
//   │ TLB provenance      │ sets × cores × ways × u64 (why stale)      │ engine       │
//   │ TLB fingerprints    │ sets × cores × ways × u8 (tag hash, 0 =    │ engine       │
//   │                     │ invalid): a tlbie's filter, not state      │              │
//   │ cpu table           │ cpus × CPU_BYTES: clock, cycles, running   │ engine       │
//   │ core table          │ cores × CORE_BYTES: running vcore          │ engine       │
//   │ violation records   │ violationSlots × VIOL_BYTES                │ engine       │
//   │ fabric calendar     │ FABRIC_SLOTS × u32 (tlbie reservations)    │ engine       │
//   │ guest arena         │ per guest: HPT 2^order, revmap npte × 16,  │ engine       │
//   │                     │ rmap ramHostPages × 8, frames × u32,       │              │
//   │                     │ vcpus × VCPU_BYTES, vcores × VCORE_BYTES,  │              │
//   │                     │ need_tlb_flush maskWords × u64,            │              │
//   │                     │ last_vcpu lastVcpuSlots × u16,             │              │
//   │                     │ deferred VAs deferredCap × DEFER_BYTES,    │              │
//   │                     │ lazy-reuse block (G_LAZY, LZ_*),           │              │
//   │                     │ IPI mask maskWords × u64,                  │              │
//   │                     │ held frames BATCH_MAX × u32                │              │
//   └─────────────────────┴────────────────────────────────────────────┴──────────────┘
//
// TLB, set-major: for congruence class s, all cores' ways side by side, so a tlbie of one
// VA walks one contiguous stripe: entry(s, core, way) = tlb + ((s·cores + core)·ways + way)·16.
//
// TLB entry (16 B): two words, drawn with their named bits below ("TLB entry", TLBE_*).
// TLB fingerprint (1 B, same index as the entry, right after the provenance words, 64-byte aligned;
//                    no header field): 0 = invalid, else a hash of (tag word, LPID) in 1..255
//                    (tlb.ts, fingerprint). Derived from the entries; only tlbie reads it.
// TLB provenance (8 B, same index as the entry; meaningful while STALE is set): drawn below (PROV_*).
// HPTE (16 B): v then r, as the 64-bit register view of docs/model/translation.md §3, stored little-endian (native).
// revmap entry (16 B): guest_rpte u64, forw u32, back u32 (docs/model/kvm.md §8.2).
// rmap word (8 B, one per host page of guest RAM): drawn below (RMAP_*).
//
// Op (OP_BYTES = 128 B = 16 u64 words; the batch interface, see docs/memory.md):
//   w0  = opcode[0..15] | opflags[16..31] | cpu[32..47] | guest slot[48..63]
//   w1  = r3: the hcall return code (i64) or the result of a machine op
//   w2..w9 = r4..r11: hcall inputs, overwritten by its outputs
//   w10 = lpid (machine ops), w11..w15 spare
//
// cpu record (CPU_BYTES): clock u64 @0; cycles per cost category u64 × CC_COUNT @8;
//   running guest slot + 1 u32 @CPU_RUN_SLOT; running vcpu id u32 @CPU_RUN_VCPU;
//   paca kvm_vcore (3.8: set when a vcore thread starts here, never cleared) slot + 1 @CPU_VC_SLOT, vcore @CPU_VC_IDX
// core record (CORE_BYTES): running vcore's guest slot + 1 u32 @0, vcore index u32 @4
// vcpu record (VCPU_BYTES): last_cpu u32 @0 (0xffff = none), running cpu + 1 u32 @4
// vcore record (VCORE_BYTES): pcpu (thread-0 cpu of its last run, 0xffffffff none) u32 @0,
//   running u32 @4, vcpu mask of its last run u32 @8, runs u32 @12
// deferred VA record (DEFER_BYTES): TLB key u64 @0, set u32 @8, gfn u32 @12
// violation record (VIOL_BYTES): cpu u32 @0, lpid u32 @4, guest instance u32 @8, frame owner u32 @12,
//   vpn4k|B|psize key u64 @16, rpn u64 @24, time u64 @32, provenance u64 @40, ea u64 @48, flags u32 @56

// @ts-ignore: decorator
@inline export const LAYOUT_MAGIC: u32 = 0x4c545048; // "HPTL"
// @ts-ignore: decorator
@inline export const LAYOUT_VERSION: u32 = 1;

// ── header (u32 fields unless noted; HDR_, since H_ is PAPR's: H_ENTER, H_LOCAL) ──
// @ts-ignore: decorator
@inline export const HEADER_BYTES: u32 = 256;
// @ts-ignore: decorator
@inline export const HDR_MAGIC: u32 = 0;
// @ts-ignore: decorator
@inline export const HDR_VERSION: u32 = 4;
// @ts-ignore: decorator
@inline export const HDR_CORES: u32 = 8;
// @ts-ignore: decorator
@inline export const HDR_SMT: u32 = 12;
// @ts-ignore: decorator
@inline export const HDR_TLB_SETS: u32 = 16;
// @ts-ignore: decorator
@inline export const HDR_TLB_WAYS: u32 = 20;
// @ts-ignore: decorator
@inline export const HDR_REPLACEMENT: u32 = 24; // 0 lru, 1 random
// @ts-ignore: decorator
@inline export const HDR_RNG: u32 = 28; // xorshift32 state
// @ts-ignore: decorator
@inline export const HDR_LPID_LIMIT: u32 = 32;
// @ts-ignore: decorator
@inline export const HDR_MAX_GUESTS: u32 = 36;
// @ts-ignore: decorator
@inline export const HDR_HOST_PAGE_SHIFT: u32 = 40;
// @ts-ignore: decorator
@inline export const HDR_HOST_FRAMES: u32 = 44;
// @ts-ignore: decorator
@inline export const HDR_STATS: u32 = 48;
// @ts-ignore: decorator
@inline export const HDR_GUESTS: u32 = 52;
// @ts-ignore: decorator
@inline export const HDR_GUEST_STATS: u32 = 56;
// @ts-ignore: decorator
@inline export const HDR_OPS: u32 = 60;
// @ts-ignore: decorator
@inline export const HDR_OP_SLOTS: u32 = 64;
// @ts-ignore: decorator
@inline export const HDR_LPID_GUEST: u32 = 68;
// @ts-ignore: decorator
@inline export const HDR_LPID_MASK: u32 = 72;
// @ts-ignore: decorator
@inline export const HDR_LPID_COUNT: u32 = 76;
// @ts-ignore: decorator
@inline export const HDR_FRAME_OWNER: u32 = 80;
// @ts-ignore: decorator
@inline export const HDR_TLB: u32 = 84;
// @ts-ignore: decorator
@inline export const HDR_MASK_WORDS: u32 = 88;
// @ts-ignore: decorator
@inline export const HDR_FREE_FRAMES: u32 = 92;
// @ts-ignore: decorator
@inline export const HDR_ARENA: u32 = 96;
// @ts-ignore: decorator
@inline export const HDR_ARENA_END: u32 = 100;
// @ts-ignore: decorator
@inline export const HDR_PROV: u32 = 104;
// @ts-ignore: decorator
@inline export const HDR_CPUS: u32 = 108;
// @ts-ignore: decorator
@inline export const HDR_CORE_TAB: u32 = 112;
// @ts-ignore: decorator
@inline export const HDR_VIOL: u32 = 116;
// @ts-ignore: decorator
@inline export const HDR_VIOL_SLOTS: u32 = 120;
/** The tlbie fabric's reservation calendar (FABRIC_SLOTS × u32). */
// @ts-ignore: decorator
@inline export const HDR_FABRIC_CAL: u32 = 124;
/** Calendar: FABRIC_SLOTS slots of 2^FABRIC_SLOT_SHIFT cycles, each holding (epoch + 1) when reserved. */
// @ts-ignore: decorator
@inline export const FABRIC_SLOTS: u32 = 65536;
// @ts-ignore: decorator
@inline export const FABRIC_SLOT_SHIFT: u32 = 7;
/** u64: simulated time at which the tlbie fabric is free again. */
// @ts-ignore: decorator
@inline export const HDR_FABRIC_FREE: u32 = 128;
/** The frames-in-use bitmap (⌈hostFrames/64⌉ × u64). */
// @ts-ignore: decorator
@inline export const HDR_FRAME_USED: u32 = 136;
/** u32, engine: every bitmap word below this index is full (where the lowest-free search starts). */
// @ts-ignore: decorator
@inline export const HDR_FRAME_HINT: u32 = 140;
/** log2(TLBs per core) (docs/model/tlb.md §7.2): 0 on POWER7/POWER8 (a core shares one TLB), 1 on SMT8 POWER9/POWER10. */
// @ts-ignore: decorator
@inline export const HDR_TLB_SPLIT: u32 = 144;
/** tlbiels one full LPID flush takes (the kernel's *_TLB_SETS; POWER10: 1), charged by the cost model; 0 = tlbSets. */
// @ts-ignore: decorator
@inline export const HDR_TLB_FLUSH_SETS: u32 = 148;
/** u32, engine: 1 once a mixed page-size entry (§2.6) was loaded into a TLB; until then a lookup probes the base size only. */
// @ts-ignore: decorator
@inline export const HDR_MIXED_FILLS: u32 = 152;
/**
 * (after the cost table, which ends at 228) u32, host: the fabric model (docs/model/costs.md §8): bits 0–3 FABRIC_EXCLUSIVE / FABRIC_CONCURRENT,
 * bits 4–7 the tlbie lock's scope (LOCK_NONE / LOCK_VM / LOCK_MACHINE), bits 8–15 tlbies in flight.
 */
// @ts-ignore: decorator
@inline export const HDR_FABRIC_MODE: u32 = 240;
/** u32, host: percent of its length a sequence takes longer per other sequence in flight with it. */
// @ts-ignore: decorator
@inline export const HDR_FABRIC_SENDER: u32 = 244;
/** u32, host: the machine-wide tlbie lock's calendar (lock scope "machine"; FABRIC_SLOTS × u32), or 0. */
// @ts-ignore: decorator
@inline export const HDR_TLBIE_LOCK: u32 = 248;
/**
 * u32, host: the POWER9 tlbie errata the machine has (docs/model/policies.md §10.3): bit 0
 * CPU_FTR_P9_TLBIE_STQ_BUG, bit 1 CPU_FTR_P9_TLBIE_ERAT_BUG; each adds one `ptesync; tlbie` to every
 * global sequence of a kernel that applies the workarounds (the policy answers EV_TLBIE_FIXUPS).
 */
// @ts-ignore: decorator
@inline export const HDR_TLBIE_ERRATA: u32 = 252;
// @ts-ignore: decorator
@inline export const ERRATUM_STQ: u32 = 1;
// @ts-ignore: decorator
@inline export const ERRATUM_ERAT: u32 = 2;
// @ts-ignore: decorator
@inline export const FABRIC_EXCLUSIVE: u32 = 0;
// @ts-ignore: decorator
@inline export const FABRIC_CONCURRENT: u32 = 1;
// @ts-ignore: decorator
@inline export const LOCK_NONE: u32 = 0;
// @ts-ignore: decorator
@inline export const LOCK_VM: u32 = 1;
// @ts-ignore: decorator
@inline export const LOCK_MACHINE: u32 = 2;
/** The cost table: COST_COUNT u32 entries (cycles), K_* index. */
// @ts-ignore: decorator
@inline export const HDR_COSTS: u32 = 160;

// ── cost table entries (cycles; defaults in src/model/costs.ts, sources in docs/model/costs.md §3) ──
// @ts-ignore: decorator
@inline export const K_TLB_HIT: u32 = 0;
// @ts-ignore: decorator
@inline export const K_PTEG_WALK: u32 = 1;
// @ts-ignore: decorator
@inline export const K_HCALL: u32 = 2;
// @ts-ignore: decorator
@inline export const K_TLBIEL: u32 = 3;
// @ts-ignore: decorator
@inline export const K_TLBIEL_EXTRA: u32 = 4;
// @ts-ignore: decorator
@inline export const K_TLBIE_BASE: u32 = 5;
// @ts-ignore: decorator
@inline export const K_TLBIE_PER_CHIP: u32 = 6;
// @ts-ignore: decorator
@inline export const K_TLBIE_EXTRA: u32 = 7;
// @ts-ignore: decorator
@inline export const K_FLUSH_BASE: u32 = 8;
// @ts-ignore: decorator
@inline export const K_FLUSH_PER_SET: u32 = 9;
// @ts-ignore: decorator
@inline export const K_ENTRY_EXIT: u32 = 10;
// @ts-ignore: decorator
@inline export const K_IPI: u32 = 11;
// @ts-ignore: decorator
@inline export const K_PAGE_OUT_HPTE: u32 = 12;
// @ts-ignore: decorator
@inline export const K_HV_FAULT: u32 = 13;
// @ts-ignore: decorator
@inline export const K_CORES_PER_CHIP: u32 = 14;
/** One erratum workaround's `ptesync; tlbie` in a global sequence (docs/model/costs.md §6.3). */
// @ts-ignore: decorator
@inline export const K_TLBIE_ERRATA: u32 = 15;
/** The IPI sender's part, per target: the msgsnd / XICS MFRR write (ipi-tlbiel; docs/model/costs.md §3.8). */
// @ts-ignore: decorator
@inline export const K_IPI_SEND: u32 = 16;
// @ts-ignore: decorator
@inline export const COST_COUNT: u32 = 17;

// ── cost categories: cycles are kept per cpu, per guest and machine-wide in each ──
// @ts-ignore: decorator
@inline export const CC_TRANSLATE: u32 = 0;
// @ts-ignore: decorator
@inline export const CC_WALK: u32 = 1;
// @ts-ignore: decorator
@inline export const CC_HCALL: u32 = 2;
// @ts-ignore: decorator
@inline export const CC_TLBIEL: u32 = 3;
// @ts-ignore: decorator
@inline export const CC_TLBIE: u32 = 4;
// @ts-ignore: decorator
@inline export const CC_TLBIE_WAIT: u32 = 5;
// @ts-ignore: decorator
@inline export const CC_FLUSH: u32 = 6;
// @ts-ignore: decorator
@inline export const CC_ENTRY_EXIT: u32 = 7;
// @ts-ignore: decorator
@inline export const CC_IPI: u32 = 8;
// @ts-ignore: decorator
@inline export const CC_PAGE_OUT: u32 = 9;
// @ts-ignore: decorator
@inline export const CC_HV_FAULT: u32 = 10;
// @ts-ignore: decorator
@inline export const CC_COUNT: u32 = 11;

// ── cpu, core, vcpu, vcore, deferred and violation records ──
// @ts-ignore: decorator
@inline export const CPU_BYTES: u32 = 128;
// @ts-ignore: decorator
@inline export const CPU_CLOCK: u32 = 0;
// @ts-ignore: decorator
@inline export const CPU_CYCLES: u32 = 8;
// @ts-ignore: decorator
@inline export const CPU_RUN_SLOT: u32 = 96;
// @ts-ignore: decorator
@inline export const CPU_RUN_VCPU: u32 = 100;
// @ts-ignore: decorator
@inline export const CPU_VC_SLOT: u32 = 104;
// @ts-ignore: decorator
@inline export const CPU_VC_IDX: u32 = 108;
/** u32 on a core's thread-0 cpu record: 1 while the core is offline (OP_CORE_ONLINE). */
// @ts-ignore: decorator
@inline export const CPU_OFFLINE: u32 = 112;
// @ts-ignore: decorator
@inline export const CORE_BYTES: u32 = 8;
// @ts-ignore: decorator
@inline export const VCPU_BYTES: u32 = 8;
// @ts-ignore: decorator
@inline export const VCORE_BYTES: u32 = 16;
// @ts-ignore: decorator
@inline export const DEFER_BYTES: u32 = 16;
// @ts-ignore: decorator
@inline export const VIOL_BYTES: u32 = 64;
// @ts-ignore: decorator
@inline export const NO_CPU: u32 = 0xffffffff;
/** Causes of a STALE mark (TLB provenance). */
// @ts-ignore: decorator
@inline export const STALE_LOCAL: u32 = 1;
// @ts-ignore: decorator
@inline export const STALE_LPID_FREE: u32 = 2;
// @ts-ignore: decorator
@inline export const STALE_HPT_RESET: u32 = 3;
/** A lazy page-out (lazy-reuse) left the entry for its epoch's flush point to remove. */
// @ts-ignore: decorator
@inline export const STALE_LAZY: u32 = 4;

// ── counters: STAT_* index × 8 bytes inside a stats block ──
// @ts-ignore: decorator
@inline export const STATS_BYTES: u32 = 1024;
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
// KVM model counters (docs/kvm-model.md)
// @ts-ignore: decorator
@inline export const STAT_VIOLATIONS: u32 = 17;
// @ts-ignore: decorator
@inline export const STAT_STALE_HARMLESS: u32 = 18;
// @ts-ignore: decorator
@inline export const STAT_GUEST_ENTRIES: u32 = 19;
// @ts-ignore: decorator
@inline export const STAT_ENTRY_FLUSHES: u32 = 20;
// @ts-ignore: decorator
@inline export const STAT_FULL_FLUSHES: u32 = 21;
// @ts-ignore: decorator
@inline export const STAT_TLBIE_SEQUENCES: u32 = 22;
// @ts-ignore: decorator
@inline export const STAT_TLBIEL_SEQUENCES: u32 = 23;
// @ts-ignore: decorator
@inline export const STAT_TLBIE_WAITS: u32 = 24;
// @ts-ignore: decorator
@inline export const STAT_IPIS: u32 = 25;
// @ts-ignore: decorator
@inline export const STAT_PAGE_OUTS: u32 = 26;
// @ts-ignore: decorator
@inline export const STAT_PAGE_OUT_HPTES: u32 = 27;
// @ts-ignore: decorator
@inline export const STAT_PAGE_INS: u32 = 28;
// @ts-ignore: decorator
@inline export const STAT_HV_FAULTS: u32 = 29;
// @ts-ignore: decorator
@inline export const STAT_DEFERRED_RECORDS: u32 = 30;
// @ts-ignore: decorator
@inline export const STAT_DEFERRED_OVERFLOWS: u32 = 31;
// @ts-ignore: decorator
@inline export const STAT_DEFERRED_TLBIES: u32 = 32;
// @ts-ignore: decorator
@inline export const STAT_HPT_RESETS: u32 = 33;
// @ts-ignore: decorator
@inline export const STAT_STALE_MARKED: u32 = 34;
// @ts-ignore: decorator
@inline export const STAT_LOCAL_INVALIDATIONS: u32 = 35;
// @ts-ignore: decorator
@inline export const STAT_GLOBAL_INVALIDATIONS: u32 = 36;
// @ts-ignore: decorator
@inline export const STAT_NEED_FLUSH_SETS: u32 = 37;
// @ts-ignore: decorator
@inline export const STAT_STALE_HITS: u32 = 38;
/** Cycles of tlbieWait spent waiting for the tlbie lock (the rest waited for the fabric). */
// @ts-ignore: decorator
@inline export const STAT_TLBIE_LOCK_WAIT_CYCLES: u32 = 39;
/** Extra tlbies the POWER9 errata workarounds issued (one per erratum per global sequence). */
// @ts-ignore: decorator
@inline export const STAT_ERRATA_TLBIES: u32 = 40;
// lazy-reuse's quarantine (kvm/quarantine.ts, docs/model/policies.md §9); outside KVM_COUNTERS, like the lock's wait
/** Frames a lazy page-out put in quarantine instead of freeing them. */
// @ts-ignore: decorator
@inline export const STAT_QUARANTINED: u32 = 56;
/** Quarantined frames freed once every core of their epoch's mask had flushed. */
// @ts-ignore: decorator
@inline export const STAT_QUARANTINE_RELEASED: u32 = 57;
/** The most frames one guest's quarantine held at once (a maximum, not a sum; machine-wide: the largest guest's). */
// @ts-ignore: decorator
@inline export const STAT_QUARANTINE_PEAK: u32 = 58;
/** Lazy page-outs done eagerly (tlbie, frame freed) because the quarantine was full. */
// @ts-ignore: decorator
@inline export const STAT_QUARANTINE_FALLBACKS: u32 = 59;
/** LPID flushes a core made to pass an epoch's flush point (at the VM's exit or entry there). */
// @ts-ignore: decorator
@inline export const STAT_EPOCH_FLUSHES: u32 = 60;
/** IPIs that interrupted a core running a guest (ipi-tlbiel, batched-reclaim; docs/model/policies.md §13). */
// @ts-ignore: decorator
@inline export const STAT_IPI_INTERRUPTS: u32 = 41;
/** Of those, IPIs that interrupted a guest other than the one flushed. */
// @ts-ignore: decorator
@inline export const STAT_IPI_OTHER_GUEST: u32 = 42;
/** IPIs to a core whose TLB held no entry of the flushed LPID (the mask's imprecision). */
// @ts-ignore: decorator
@inline export const STAT_IPI_EMPTY: u32 = 43;
/** Cycles (sender's send, target's handler and tlbiels) spent on those IPIs. */
// @ts-ignore: decorator
@inline export const STAT_IPI_EMPTY_CYCLES: u32 = 44;
/** Host page-outs whose frame waits for its batch's flush (batched-reclaim). */
// @ts-ignore: decorator
@inline export const STAT_BATCH_HELD: u32 = 45;
/** Batch flushes (batched-reclaim). */
// @ts-ignore: decorator
@inline export const STAT_BATCH_FLUSHES: u32 = 46;
/** hcall counters: STAT_HCALLS + kind × RET_BUCKETS + bucket. */
// @ts-ignore: decorator
@inline export const STAT_HCALLS: u32 = 64;
/** cycles per cost category: STAT_CYCLES + CC_*. */
// @ts-ignore: decorator
@inline export const STAT_CYCLES: u32 = 96;
// @ts-ignore: decorator
@inline export const RET_BUCKETS: u32 = 6;

// ── guest descriptor (GUEST_BYTES each, indexed by guest slot) ──
// @ts-ignore: decorator
@inline export const GUEST_BYTES: u32 = 192;
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
@inline export const G_POLICY: u32 = 56; // P_* of src/model/policies.ts (assembly/policies/table.ts)
// @ts-ignore: decorator
@inline export const G_VCPUS: u32 = 60; // online_vcpus
// @ts-ignore: decorator
@inline export const G_VCORES: u32 = 64; // online_vcores
// @ts-ignore: decorator
@inline export const G_TPV: u32 = 68; // threads (vcpus) per vcore
// @ts-ignore: decorator
@inline export const G_VCPU_TAB: u32 = 72;
// @ts-ignore: decorator
@inline export const G_VCORE_TAB: u32 = 76;
// @ts-ignore: decorator
@inline export const G_NEED_FLUSH: u32 = 80; // need_tlb_flush: maskWords × u64, one bit per core (thread 0)
// @ts-ignore: decorator
@inline export const G_LAST_VCPU: u32 = 84; // last_vcpu[]: u16 per slot (pre-patch)
// @ts-ignore: decorator
@inline export const G_DEFER: u32 = 88;
// @ts-ignore: decorator
@inline export const G_DEFER_CAP: u32 = 92;
// @ts-ignore: decorator
@inline export const G_DEFER_COUNT: u32 = 96;
// @ts-ignore: decorator
@inline export const G_DEFER_OVERFLOW: u32 = 100; // DEFER_OVF_*
// @ts-ignore: decorator
@inline export const G_RUNNING_VCORES: u32 = 104;
// @ts-ignore: decorator
@inline export const G_LAST_VCPU_SLOTS: u32 = 108;
/** u32: kvm->arch.tlbie_lock's calendar (fabric lock scope "vm", docs/model/costs.md §8; FABRIC_SLOTS × u32), or 0. */
// @ts-ignore: decorator
@inline export const G_TLBIE_LOCK: u32 = 112;
/** u32: the guest's lazy-reuse block (kvm/quarantine.ts: LZ_*), or 0 for a policy without a quarantine. */
// @ts-ignore: decorator
@inline export const G_LAZY: u32 = 116;
// lazy-reuse block: frames held u32, of which the first LZ_CLOSING are the closing epoch's; capacity; variant;
// then the pending mask (cores that must still flush for the closing epoch) and the may-hold mask (cores that
// ran the VM since their last flush of its LPID), maskWords × u64 each; then the held frames, cap × u32
// @ts-ignore: decorator
@inline export const LZ_COUNT: u32 = 0;
// @ts-ignore: decorator
@inline export const LZ_CLOSING: u32 = 4;
// @ts-ignore: decorator
@inline export const LZ_CAP: u32 = 8;
// @ts-ignore: decorator
@inline export const LZ_VARIANT: u32 = 12;
// @ts-ignore: decorator
@inline export const LZ_MASKS: u32 = 16;
/** Variants (LZ_VARIANT): the scheme; the frame handed out one epoch early; the mask of running cores only; the frame freed at once (the flush still pending). */
// @ts-ignore: decorator
@inline export const LAZY_EPOCH: u32 = 0;
// @ts-ignore: decorator
@inline export const LAZY_EARLY: u32 = 1;
// @ts-ignore: decorator
@inline export const LAZY_RUNNING: u32 = 2;
// @ts-ignore: decorator
@inline export const LAZY_FREE_FIRST: u32 = 3;
/** u32: the VM's "may hold entries" core mask (maskWords × u64, one bit per core; ipi-tlbiel, batched-reclaim), or 0. */
// @ts-ignore: decorator
@inline export const G_IPI_MASK: u32 = 120;
/** u32: batched-reclaim's held frames (BATCH_MAX × u32: frames paged out, not yet flushed), or 0. */
// @ts-ignore: decorator
@inline export const G_BATCH: u32 = 124;
/** u32: frames in the batch now. */
// @ts-ignore: decorator
@inline export const G_BATCH_COUNT: u32 = 128;
/** batched-reclaim's batch: SWAP_CLUSTER_MAX (32) pages, the reclaim batch the 2024 RFC flushes once (docs/model/policies.md §14). */
// @ts-ignore: decorator
@inline export const BATCH_MAX: u32 = 32;
// @ts-ignore: decorator
@inline export const DEFER_OVF_FLUSH: u32 = 0;
// @ts-ignore: decorator
@inline export const DEFER_OVF_TLBIE: u32 = 1;
// @ts-ignore: decorator
@inline export const DEFER_OVF_DRAIN: u32 = 2;
// @ts-ignore: decorator
@inline export const GF_LIVE: u32 = 1;
// @ts-ignore: decorator
@inline export const GF_QEMU: u32 = 2;

// ── ops ──
// @ts-ignore: decorator
@inline export const OP_BYTES: u32 = 128;
// hcalls use their PAPR opcode (docs/model/hcalls.md §1.1)
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
// KVM model ops (docs/kvm-model.md): w2.. are arguments, r3 (w1) the result
// @ts-ignore: decorator
@inline export const OP_VCORE_RUN: u32 = 0x1200; // w2 vcore, w3 core, w4 vcpu mask (0 = all)
// @ts-ignore: decorator
@inline export const OP_VCORE_EXIT: u32 = 0x1201; // w2 vcore
// @ts-ignore: decorator
@inline export const OP_PAGE_OUT: u32 = 0x1202; // w2 gfn (host page of guest RAM)
// @ts-ignore: decorator
@inline export const OP_PAGE_IN: u32 = 0x1203; // w2 gfn
// @ts-ignore: decorator
@inline export const OP_HPT_RESET: u32 = 0x1204;
// @ts-ignore: decorator
@inline export const OP_WORK: u32 = 0x1205; // w2 cycles of guest work on cpu (advances its clock)
// @ts-ignore: decorator
@inline export const OP_RECLAIM: u32 = 0x1206; // w2..w9 candidate gfns (0xffffffff = none): age them, page out the coldest
// @ts-ignore: decorator
@inline export const OP_CORE_ONLINE: u32 = 0x1207; // w2 core, w3 1 = online, 0 = offline (refused while a vcore runs there)
/** r3 of KVM ops that cannot be done (the host layer turns them into errors). */
// @ts-ignore: decorator
@inline export const KVM_BAD_VCORE: u64 = 0xfffffffffffffff1;
// @ts-ignore: decorator
@inline export const KVM_VCORE_BUSY: u64 = 0xfffffffffffffff2;
// @ts-ignore: decorator
@inline export const KVM_CORE_BUSY: u64 = 0xfffffffffffffff3;
// @ts-ignore: decorator
@inline export const KVM_NOT_RUNNING: u64 = 0xfffffffffffffff4;
// @ts-ignore: decorator
@inline export const KVM_PINNED: u64 = 0xfffffffffffffff5;
// @ts-ignore: decorator
@inline export const KVM_BAD_GFN: u64 = 0xfffffffffffffff6;
// @ts-ignore: decorator
@inline export const KVM_NO_FRAME: u64 = 0xfffffffffffffff7;
// @ts-ignore: decorator
@inline export const KVM_GUEST_RUNNING: u64 = 0xfffffffffffffff8;
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

// ── bit layouts of the words the engine packs (src/engine/layout.ts mirrors them: TLBE, PROV, RMAP) ──
//
// TLB entry, w0 (the tag word: a lookup compares it whole):
//   63      62 ─ 60   59 ─ 57   56   55 ───────────────────────────────── 0
//  ┌───────┬─────────┬─────────┬────┬─────────────────────────────────────┐
//  │ VALID │    0    │  psize  │ B  │ vpn4k: VA >> 12, the actual page's  │
//  │       │         │         │    │ offset bits cleared                 │
//  └───────┴─────────┴─────────┴────┴─────────────────────────────────────┘
//   psize (base, actual): 0 4K, 1 64K, 2 16M; mixed (docs/model/translation.md §2.7): 3 64K in a
//   4K segment, 4 16M in 4K, 5 16M in 64K. B: segment size (0 256M, 1 1T).
// TLB entry, w1:
//   63 ── 60   59 ──── 48   47      46 ─ 44   43 ─────────────────────── 0
//  ┌──────────┬────────────┬───────┬─────────┬───────────────────────────┐
//  │ LRU rank │ lpid (12)  │ STALE │    0    │ rpn: real page, 4 KiB     │
//  │ 0 = MRU  │            │       │         │ units                     │
//  └──────────┴────────────┴───────┴─────────┴───────────────────────────┘
//   STALE is the detector's mark: translation never reads it (tlb.ts, markStale).
// @ts-ignore: decorator
@inline export const TLBE_VALID: u64 = 0x8000000000000000; // w0 bit 63
// @ts-ignore: decorator
@inline export const TLBE_VALID_SHIFT: u64 = 63;
// @ts-ignore: decorator
@inline export const TLBE_PSIZE_SHIFT: u64 = 57; // w0 bits 57..59: 0 4K, 1 64K, 2 16M, 3–5 mixed
// @ts-ignore: decorator
@inline export const TLBE_PSIZE_MASK: u64 = 7; // after the shift
// @ts-ignore: decorator
@inline export const TLBE_B_SHIFT: u64 = 56; // w0 bit 56: segment size (1 = 1T)
// @ts-ignore: decorator
@inline export const TLBE_VPN: u64 = 0x00ffffffffffffff; // w0 bits 0..55
// @ts-ignore: decorator
@inline export const TLBE_RPN: u64 = 0x00000fffffffffff; // w1 bits 0..43
// @ts-ignore: decorator
@inline export const TLBE_STALE: u64 = 0x0000800000000000; // w1 bit 47
// @ts-ignore: decorator
@inline export const TLBE_LPID: u64 = 0x0fff000000000000; // w1 bits 48..59
// @ts-ignore: decorator
@inline export const TLBE_LPID_SHIFT: u64 = 48;
// @ts-ignore: decorator
@inline export const TLBE_RANK: u64 = 0xf000000000000000; // w1 bits 60..63
// @ts-ignore: decorator
@inline export const TLBE_RANK_SHIFT: u64 = 60;
//
// TLB provenance word (why an entry is stale; same index as the entry, meaningful while STALE):
//   63 ── 56   55 ── 40   39 ──────────────────────────────────────────── 0
//  ┌─────────┬──────────┬────────────────────────────────────────────────┐
//  │ cause   │ cpu (16) │ time: the clock of that cpu then (low 40 bits) │
//  │ STALE_* │          │                                                │
//  └─────────┴──────────┴────────────────────────────────────────────────┘
// @ts-ignore: decorator
@inline export const PROV_CAUSE_SHIFT: u64 = 56;
// @ts-ignore: decorator
@inline export const PROV_CPU_SHIFT: u64 = 40;
// @ts-ignore: decorator
@inline export const PROV_CPU_MASK: u64 = 0xffff; // after the shift
// @ts-ignore: decorator
@inline export const PROV_TIME: u64 = 0x000000ffffffffff; // bits 0..39
//
// rmap word (u64 per host page of guest RAM; Linux 3.8 arch/powerpc/include/asm/kvm_host.h, KVMPPC_RMAP_*):
//   63 ── 41   40           39        38 ── 33   32        31 ─────────────── 0
//  ┌─────────┬────────────┬─────────┬─────────┬─────────┬─────────────────────┐
//  │    0    │ REFERENCED │ CHANGED │    0    │ PRESENT │ index: ptex of the  │
//  │         │ (HPTE R)   │ (HPTE C)│         │         │ ring's head HPTE    │
//  └─────────┴────────────┴─────────┴─────────┴─────────┴─────────────────────┘
//   R and C are harvested from an HPTE's r word shifted left by RMAP_RC_SHIFT (HPTE_R_R bit 8 → 40,
//   HPTE_R_C bit 7 → 39). Bit 63, the kernel's KVMPPC_RMAP_LOCK_BIT, is not modelled (ops run one at a time).
// @ts-ignore: decorator
@inline export const RMAP_REFERENCED: u64 = 0x0000010000000000; // bit 40
// @ts-ignore: decorator
@inline export const RMAP_CHANGED: u64 = 0x0000008000000000; // bit 39
// @ts-ignore: decorator
@inline export const RMAP_RC_SHIFT: u64 = 32;
// @ts-ignore: decorator
@inline export const RMAP_PRESENT: u64 = 0x0000000100000000; // bit 32
// @ts-ignore: decorator
@inline export const RMAP_INDEX: u64 = 0x00000000ffffffff; // bits 0..31

// @ts-ignore: decorator
@inline export const TLBE_BYTES: u32 = 16;
// @ts-ignore: decorator
@inline export const NO_FRAME: u32 = 0xffffffff;
/** Owner of frames the host kernel keeps (frame 0). */
// @ts-ignore: decorator
@inline export const FRAME_HOST: u32 = 0xffffffff;
