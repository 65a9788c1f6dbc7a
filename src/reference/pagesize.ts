/**
 * Page-size decoders for an HPTE (docs/semantics.md), read from the one page-size table
 * (src/model/page-sizes.ts). They return the page shift, or 0 when the encoding is refused.
 */
import { kvmHptePagePair, kvmHptePageShift, qemuHptePagePair, qemuHptePageShift, type PagePair } from "../model/page-sizes.js";

/**
 * KVM's actual page size (Linux 6.1 kvmppc_actual_pgsz; on base = actual pages L3.6–3.8's `hpte_page_size`):
 * L = 0 → 4K; L = 1: LP 0x1 → 64K, 0x7 → 64K in a 4K segment, 0x00 → 16M, 0x08 → 16M in 64K, 0x38 → 16M in 4K
 * (docs/model/translation.md §2.7); anything else → 0.
 */
export function kvmHvPageShift(v: bigint, r: bigint): number {
  return kvmHptePageShift(v, r);
}

/**
 * QEMU 7.2 (docs/model/hcalls.md §3.2, docs/semantics.md): L = 0 → 4K; L = 1: 64K (LP 0x1) if the cap allows
 * 64K; 16M, 16M in 64K, 16M in 4K (LP 0x00, 0x08, 0x38) if the cap allows 16M (QEMU masks every RPN bit
 * below the page size); anything else (64K in 4K, 16G, bad encodings) → 0 (docs/model/translation.md §2.7).
 */
export function qemuPageShift(v: bigint, r: bigint, maxPageShift: number): number {
  return qemuHptePageShift(v, r, maxPageShift);
}

/** KVM's (base, actual) of an HPTE, or undefined when refused. */
export function kvmHvPagePair(v: bigint, r: bigint): PagePair | undefined {
  return kvmHptePagePair(v, r);
}

/** QEMU's (base, actual) of an HPTE under the cap, or undefined when refused. */
export function qemuPagePair(v: bigint, r: bigint, maxPageShift: number): PagePair | undefined {
  return qemuHptePagePair(v, r, maxPageShift);
}
