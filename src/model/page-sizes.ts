/**
 * The one table of POWER7 page sizes: each segment base page size with its SLB encoding (L‖LP in
 * the VSID word) and the HPTE encodings of the actual page sizes a segment of it may hold — as QEMU
 * keeps them (target/ppc/cpu_init.c / mmu-hash64.c 7.2: `ppc_hash64_opts_POWER7.sps`, each
 * `struct ppc_one_seg_page_size` with `slb_enc` and `enc[]` of `{ page_shift, pte_enc }`) and Linux
 * decodes them (arch/powerpc/include/asm/kvm_book3s_64.h, Linux 6.1: kvmppc_hpte_page_shifts(),
 * kvmppc_actual_pgsz(), kvmppc_pgsize_lp_encoding()). The hypercall semantics of the reference model,
 * the SLB decoder, makeHpte, the trace tools and the engine's record decoders read it;
 * test/page-sizes.test.ts checks assembly/hpt.ts's own decoders against it.
 *
 * Mixed page-size segments (docs/model/translation.md §2.7): a 4K segment may hold 64K and 16M pages,
 * a 64K segment 16M pages; the HPTE's LP field names the pair (base, actual). QEMU's pseries machine
 * drops 64K-in-4K (hw/ppc/spapr_caps.c spapr_pagesize_cb: "KVM doesn't allow multiple pagesizes within
 * a segment, *except* for the case of 16M pages in a 4k or 64k segment"); KVM's decoder keeps it.
 */

export type PageShift = 12 | 16 | 24;

/** An HPTE encoding of one actual page size in a segment (QEMU's `struct ppc_one_page_size`). */
export interface HptePageEncoding {
  /** The actual page size. */
  shift: PageShift;
  /** The engine's TLB entry psize code of (base, actual): the segment's code when equal, 3–5 mixed (src/engine/layout.ts TLBE). */
  tlbPsize: number;
  /** QEMU's pte_enc = KVM's kvmppc_pgsize_lp_encoding(base, actual): the LP field, r bits 12–19. */
  pteEnc: number;
  /** HPTE v bit L (HPTE_V_LARGE). */
  large: boolean;
  /** The LP field in r: `(r & mask) === lp`, with KVM's mask (hpte_page_size) … */
  lp: bigint;
  kvmMask: bigint;
  /** … or QEMU 7.2's, which checks every RPN bit below the page size. */
  qemuMask: bigint;
  /** Kept by QEMU's pseries filter (spapr_pagesize_cb): base = actual, or a 16M actual page. */
  qemu: boolean;
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
  {
    shift: 12, name: "4K", slbEnc: 0x000n, tlbPsize: 0, enc: [
      { shift: 12, tlbPsize: 0, pteEnc: 0, large: false, lp: 0n, kvmMask: 0n, qemuMask: 0n, qemu: true },
      { shift: 16, tlbPsize: 3, pteEnc: 0x7, large: true, lp: 0x7000n, kvmMask: 0xf000n, qemuMask: 0xf000n, qemu: false },
      { shift: 24, tlbPsize: 4, pteEnc: 0x38, large: true, lp: 0x38000n, kvmMask: 0xff000n, qemuMask: 0xfff000n, qemu: true },
    ],
  },
  {
    shift: 16, name: "64K", slbEnc: 0x110n, tlbPsize: 1, enc: [
      { shift: 16, tlbPsize: 1, pteEnc: 0x1, large: true, lp: 0x1000n, kvmMask: 0xf000n, qemuMask: 0xf000n, qemu: true },
      { shift: 24, tlbPsize: 5, pteEnc: 0x8, large: true, lp: 0x8000n, kvmMask: 0xff000n, qemuMask: 0xfff000n, qemu: true },
    ],
  },
  {
    shift: 24, name: "16M", slbEnc: 0x100n, tlbPsize: 2, enc: [
      { shift: 24, tlbPsize: 2, pteEnc: 0x0, large: true, lp: 0x0n, kvmMask: 0xff000n, qemuMask: 0xfff000n, qemu: true },
    ],
  },
];

/** A (base, actual) page-size pair an HPTE encodes. */
export interface PagePair {
  base: PageShift;
  actual: PageShift;
}

/** The encoding of (base, actual) in the table, or undefined for a pair POWER7 has not. */
export function pageEncoding(base: number, actual: number): HptePageEncoding | undefined {
  return PAGE_SIZES.find((s) => s.shift === base)?.enc.find((e) => e.shift === actual);
}

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

/** (base, actual) of an HPTE as the table decodes it with one implementation's masks, in table order; undefined when none matches. */
function hptePagePair(v: bigint, r: bigint, mask: "kvmMask" | "qemuMask", keep: (e: HptePageEncoding) => boolean): PagePair | undefined {
  const large = (v & HPTE_V_LARGE) !== 0n;
  if (!large) return { base: 12, actual: 12 };
  for (const s of PAGE_SIZES) {
    for (const e of s.enc) if (e.large && (r & e[mask]) === e.lp && keep(e)) return { base: s.shift, actual: e.shift };
  }
  return undefined;
}

/**
 * KVM-HV (Linux 6.1 kvmppc_hpte_page_shifts, sizes up to 16M: a 16G page never fits the host page,
 * so H_ENTER refuses it either way): (base, actual), or undefined when refused. On base = actual it
 * is Linux 3.8's hpte_page_size (docs/model/translation.md §2.2).
 */
export function kvmHptePagePair(v: bigint, r: bigint): PagePair | undefined {
  return hptePagePair(v, r, "kvmMask", () => true);
}

/** QEMU 7.2 pseries under cap-hpt-max-page-size: (base, actual), or undefined when refused, filtered or above the cap. */
export function qemuHptePagePair(v: bigint, r: bigint, maxPageShift: number): PagePair | undefined {
  return hptePagePair(v, r, "qemuMask", (e) => e.qemu && e.shift <= maxPageShift);
}

/** KVM-HV's actual page shift (kvmppc_actual_pgsz as a shift): 12, 16, 24, or 0 when refused. */
export function kvmHptePageShift(v: bigint, r: bigint): number {
  return kvmHptePagePair(v, r)?.actual ?? 0;
}

/** QEMU 7.2's actual page shift under cap-hpt-max-page-size: 12, 16, 24, or 0 when refused or above the cap. */
export function qemuHptePageShift(v: bigint, r: bigint, maxPageShift: number): number {
  return qemuHptePagePair(v, r, maxPageShift)?.actual ?? 0;
}

/** (base, actual) of a TLB entry's psize code. */
export function tlbPsizePair(code: number): PagePair {
  for (const s of PAGE_SIZES) for (const e of s.enc) if (e.tlbPsize === code) return { base: s.shift, actual: e.shift };
  throw new RangeError(`TLB psize code ${code} is not one of ${PAGE_SIZES.flatMap((x) => x.enc.map((e) => e.tlbPsize)).join(", ")}`);
}

/** Actual page shift of a TLB entry's psize code. */
export function tlbPsizeShift(code: number): PageShift {
  return tlbPsizePair(code).actual;
}
