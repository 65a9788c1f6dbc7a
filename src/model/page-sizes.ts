/**
 * The one table of POWER7 page sizes: each segment base page size with its SLB encoding (L‖LP in
 * the VSID word) and the HPTE encodings of the page sizes a segment of it may hold — as QEMU keeps
 * them (target/ppc/mmu-hash64.c: `struct ppc_one_seg_page_size` with `slb_enc` and `enc[]` of
 * `{ page_shift, pte_enc }`, ppc_hash64_opts_POWER7) and Linux decodes them
 * (arch/powerpc/include/asm/kvm_book3s_64.h hpte_page_size(), v3.6–v3.8). The hypercall semantics of
 * the reference model, the SLB decoder, makeHpte, the trace tools and the engine's record decoders
 * read it; test/page-sizes.test.ts checks assembly/hpt.ts's own decoders against it.
 *
 * hptlab models base page = actual page size only (no mixed page sizes): each segment size holds
 * one HPTE encoding, its own.
 */

export type PageShift = 12 | 16 | 24;

/** An HPTE encoding of one actual page size (QEMU's `struct ppc_one_page_size`). */
export interface HptePageEncoding {
  shift: PageShift;
  /** HPTE v bit L (HPTE_V_LARGE). */
  large: boolean;
  /** The LP field in r: `(r & mask) === lp`, with KVM's mask (hpte_page_size) … */
  lp: bigint;
  kvmMask: bigint;
  /** … or QEMU 7.2's, which checks every RPN bit below the page size. */
  qemuMask: bigint;
}

/** A segment base page size (QEMU's `struct ppc_one_seg_page_size`). */
export interface SegmentPageSize {
  shift: PageShift;
  /** "4K", "64K", "16M". */
  name: string;
  /** L‖LP bits of the SLB VSID word (QEMU's slb_enc: SLB_VSID_4K, SLB_VSID_64K, SLB_VSID_16M). */
  slbEnc: bigint;
  /** The engine's TLB entry psize code (src/engine/layout.ts TLBE.PSIZE_SHIFT). */
  tlbPsize: number;
  enc: readonly HptePageEncoding[];
}

/** Bits of the SLB VSID word that hold L‖LP (SLB_VSID_L | SLB_VSID_LP). */
export const SLB_VSID_LLP_MASK = 0x130n;
/** HPTE v bit L: a large page, whose size the LP bits of r give. */
export const HPTE_V_LARGE = 0x4n;

export const PAGE_SIZES: readonly SegmentPageSize[] = [
  { shift: 12, name: "4K", slbEnc: 0x000n, tlbPsize: 0, enc: [{ shift: 12, large: false, lp: 0n, kvmMask: 0n, qemuMask: 0n }] },
  { shift: 16, name: "64K", slbEnc: 0x110n, tlbPsize: 1, enc: [{ shift: 16, large: true, lp: 0x1000n, kvmMask: 0xf000n, qemuMask: 0xf000n }] },
  { shift: 24, name: "16M", slbEnc: 0x100n, tlbPsize: 2, enc: [{ shift: 24, large: true, lp: 0x0n, kvmMask: 0xff000n, qemuMask: 0xfff000n }] },
];

/** The page shifts, smallest first: 12, 16, 24. */
export const PAGE_SHIFTS: readonly PageShift[] = PAGE_SIZES.map((s) => s.shift);

/** The segment page size of a shift (undefined for one POWER7 does not have). */
export function pageSizeOf(shift: number): SegmentPageSize | undefined {
  return PAGE_SIZES.find((s) => s.shift === shift);
}

/** Base page shift of an SLB VSID word's L‖LP, or 0 for an encoding POWER7 does not have. */
export function slbPageShift(slbV: bigint): number {
  const llp = slbV & SLB_VSID_LLP_MASK;
  return PAGE_SIZES.find((s) => s.slbEnc === llp)?.shift ?? 0;
}

/** Page shift of an HPTE as the table decodes it with one implementation's masks; 0 when no encoding matches. */
function hptePageShift(v: bigint, r: bigint, mask: "kvmMask" | "qemuMask"): number {
  const large = (v & HPTE_V_LARGE) !== 0n;
  for (const s of PAGE_SIZES) {
    for (const e of s.enc) if (e.large === large && (r & e[mask]) === e.lp) return e.shift;
  }
  return 0;
}

/** KVM-HV's hpte_page_size (v3.6–v3.8) as a shift: 12, 16, 24, or 0 when refused. */
export function kvmHptePageShift(v: bigint, r: bigint): number {
  return hptePageShift(v, r, "kvmMask");
}

/** QEMU 7.2's decoder under cap-hpt-max-page-size: 12, 16, 24, or 0 when refused or above the cap. */
export function qemuHptePageShift(v: bigint, r: bigint, maxPageShift: number): number {
  const shift = hptePageShift(v, r, "qemuMask");
  return shift <= maxPageShift ? shift : 0;
}

/** Page shift of a TLB entry's psize code. */
export function tlbPsizeShift(code: number): PageShift {
  const s = PAGE_SIZES.find((x) => x.tlbPsize === code);
  if (!s) throw new RangeError(`TLB psize code ${code} is not one of ${PAGE_SIZES.map((x) => x.tlbPsize).join(", ")}`);
  return s.shift;
}
