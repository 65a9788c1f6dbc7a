/**
 * Architectural and PAPR constants used by the reference model.
 * Every value is a 64-bit register view (LSB-0 bit numbering, docs/model/README.md §2).
 */

/** All ones in 64 bits. */
export const U64_MASK = (1n << 64n) - 1n;

/** `(1 << n) - 1` as a bigint. */
export function lowMask(n: number | bigint): bigint {
  return (1n << BigInt(n)) - 1n;
}

// ---------------------------------------------------------------------------
// HPTE first doubleword v (docs/model/translation.md §3.1)
// ---------------------------------------------------------------------------
export const HPTE_V_B_MASK = 0xc000000000000000n; // segment size B
export const HPTE_V_B_SHIFT = 62n;
export const HPTE_V_AVPN = 0x3fffffffffffff80n; // VA bits 23–77
export const HPTE_V_COMPARE = 0xffffffffffffff80n; // B + AVPN (docs/model/translation.md §2.4)
export const HPTE_V_HVLOCK = 0x40n; // KVM per-HPTE lock; QEMU's "dirty" flag (docs/model/hcalls.md §3.1)
export const HPTE_V_ABSENT = 0x20n; // KVM: guest-visible, host page not present / MMIO
export const HPTE_V_BOLTED = 0x10n;
export const HPTE_V_LOCK = 0x08n;
export const HPTE_V_LARGE = 0x04n; // L
export const HPTE_V_SECONDARY = 0x02n; // H
export const HPTE_V_VALID = 0x01n; // V
/** QEMU keeps its migration dirty flag at v bit 0x40 (docs/model/hcalls.md §3.1). */
export const HPTE_V_QEMU_DIRTY = 0x40n;

// ---------------------------------------------------------------------------
// HPTE second doubleword r (docs/model/translation.md §3.2)
// ---------------------------------------------------------------------------
export const HPTE_R_PP0 = 0x8000000000000000n;
/** Bit 62: reserved (Linux "TS"); KVM's HPTE_GR_MODIFIED / HPTE_GR_RESERVED in guest_rpte. */
export const HPTE_R_BIT62 = 0x4000000000000000n;
export const HPTE_GR_RESERVED = HPTE_R_BIT62;
export const HPTE_R_KEY_HI = 0x3000000000000000n;
export const HPTE_R_RPN = 0x0ffffffffffff000n;
export const HPTE_R_KEY_LO = 0xe00n;
export const HPTE_R_R = 0x100n;
export const HPTE_R_C = 0x80n;
export const HPTE_R_W = 0x40n;
export const HPTE_R_I = 0x20n;
export const HPTE_R_M = 0x10n;
export const HPTE_R_G = 0x08n;
export const HPTE_R_WIMG = 0x78n;
export const HPTE_R_N = 0x04n;
export const HPTE_R_PP = 0x03n;
/** Fields H_PROTECT replaces (docs/model/hcalls.md §2.3). */
export const HPTE_R_PROTECT_MASK = HPTE_R_PP0 | HPTE_R_PP | HPTE_R_N | HPTE_R_KEY_HI | HPTE_R_KEY_LO;

// ---------------------------------------------------------------------------
// SLB VSID word (docs/model/translation.md §2.1)
// ---------------------------------------------------------------------------
export const SLB_VSID_B_MASK = 0xc000000000000000n;
export const SLB_VSID_B_1T = 0x4000000000000000n;
export const SLB_VSID_L = 0x100n;
export const SLB_VSID_LP = 0x30n;
export const SLB_VSID_LLP_MASK = SLB_VSID_L | SLB_VSID_LP; // 0x130
export const SLB_LLP_4K = 0x000n;
export const SLB_LLP_64K = 0x110n;
export const SLB_LLP_16M = 0x100n;

// ---------------------------------------------------------------------------
// Hypercall opcodes, return codes and flags (docs/model/hcalls.md §1)
// ---------------------------------------------------------------------------
export const H_REMOVE = 0x04;
export const H_ENTER = 0x08;
export const H_READ = 0x0c;
export const H_CLEAR_MOD = 0x10;
export const H_CLEAR_REF = 0x14;
export const H_PROTECT = 0x18;
export const H_BULK_REMOVE = 0x124;

export const H_SUCCESS = 0;
export const H_BUSY = 1;
export const H_HARDWARE = -1;
export const H_FUNCTION = -2;
export const H_PRIVILEGE = -3;
export const H_PARAMETER = -4;
export const H_BAD_MODE = -5;
export const H_PTEG_FULL = -6;
export const H_NOT_FOUND = -7;
export const H_RESERVED_DABR = -8;
export const H_NO_MEM = -9;
export const H_RESOURCE = -16;

export const H_LARGE_PAGE = 0x0000800000000000n;
export const H_EXACT = 0x0000008000000000n;
export const H_R_XLATE = 0x0000004000000000n;
export const H_READ_4 = 0x0000002000000000n;
export const H_AVPN = 0x0000000080000000n;
export const H_ANDCOND = 0x0000000040000000n;
export const H_LOCAL = 0x0000000010000000n;
export const H_ICACHE_INVALIDATE = 0x0000000000800000n;
export const H_ICACHE_SYNCHRONIZE = 0x0000000000400000n;
export const H_COALESCE_CAND = 0x0000000000200000n;
export const H_ZERO_PAGE = 0x0000000000008000n;
export const H_COPY_PAGE = 0x0000000000004000n;
export const H_N = 0x4n;
export const H_PP1 = 0x2n;
export const H_PP2 = 0x1n;

// ---------------------------------------------------------------------------
// H_BULK_REMOVE translation specifier (docs/model/hcalls.md §1.4 table)
// ---------------------------------------------------------------------------
export const BULK_TYPE_MASK = 0xc000000000000000n;
export const BULK_TYPE_SHIFT = 62n;
export const BULK_TYPE_REQUEST = 1n;
export const BULK_TYPE_RESPONSE = 2n;
export const BULK_TYPE_END = 3n;
export const BULK_CODE_MASK = 0x3000000000000000n;
export const BULK_CODE_SHIFT = 60n;
export const BULK_CODE_SUCCESS = 0n;
export const BULK_CODE_NOT_FOUND = 1n;
export const BULK_CODE_PARAMETER = 2n;
export const BULK_RC_MASK = 0x0c00000000000000n;
export const BULK_FLAGS_MASK = 0x0300000000000000n;
export const BULK_FLAGS_SHIFT = 56n;
export const BULK_FLAGS_ABSOLUTE = 0n;
export const BULK_FLAGS_ANDCOND = 1n;
export const BULK_FLAGS_AVPN = 2n;
export const BULK_PTEX_MASK = 0x00ffffffffffffffn;
/** KVM-HV places harvested R/C at bits 59/58 (`rc << 51`), QEMU at bits 51/50 (`rc << 43`). */
export const BULK_RC_SHIFT_KVM = 51n;
export const BULK_RC_SHIFT_QEMU = 43n;

// ---------------------------------------------------------------------------
// KVM-HV rmap word (docs/model/kvm.md §8.1)
// ---------------------------------------------------------------------------
export const RMAP_LOCK = 0x8000000000000000n;
export const RMAP_REFERENCED = 0x0000010000000000n; // HPTE R << 32
export const RMAP_CHANGED = 0x0000008000000000n; // HPTE C << 32
export const RMAP_RC_SHIFT = 32n;
export const RMAP_PRESENT = 0x0000000100000000n;
export const RMAP_INDEX = 0x00000000ffffffffn;

// ---------------------------------------------------------------------------
// Page shifts
// ---------------------------------------------------------------------------
export const SHIFT_4K = 12;
export const SHIFT_64K = 16;
export const SHIFT_16M = 24;
/** POWER6 and later implement 68 VA bits (docs/model/translation.md §2.1). */
export const VA_BITS = 68;

/** xorshift32 seed used when the configured seed is 0 (docs/semantics.md). */
export const XORSHIFT_ZERO_SEED = 0x9e3779b9;
