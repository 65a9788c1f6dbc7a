/**
 * Page-size decoders for an HPTE (docs/semantics.md), read from the one page-size table
 * (src/model/page-sizes.ts). They return the page shift, or 0 when the encoding is refused.
 */
import { kvmHptePageShift, qemuHptePageShift } from "../model/page-sizes.js";

/**
 * KVM's `hpte_page_size` (L3.6–3.8): L = 0 → 4K; L = 1 with (r & 0xf000) == 0x1000 → 64K;
 * L = 1 with (r & 0xff000) == 0 → 16M; anything else → 0.
 */
export function kvmHvPageShift(v: bigint, r: bigint): number {
  return kvmHptePageShift(v, r);
}

/**
 * QEMU 7.2 (docs/model/hcalls.md §3.2, docs/semantics.md): L = 0 → 4K; L = 1: (r & 0xf000) == 0x1000 → 64K if the cap
 * allows 64K; (r & 0xfff000) == 0 → 16M if the cap allows 16M (QEMU masks every RPN bit below the
 * page size); anything else (mixed sizes, 16G, bad encodings) → 0.
 */
export function qemuPageShift(v: bigint, r: bigint, maxPageShift: number): number {
  return qemuHptePageShift(v, r, maxPageShift);
}
