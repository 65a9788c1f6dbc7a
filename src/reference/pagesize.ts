/**
 * Page-size decoders for an HPTE (docs/model/translation.md §2.2 page-size table; docs/semantics.md).
 * They return the page shift, or 0 when the encoding is refused.
 */
import { HPTE_V_LARGE, SHIFT_16M, SHIFT_4K, SHIFT_64K } from "./constants.js";

/**
 * KVM's `hpte_page_size` (L3.6–3.8): L = 0 → 4K; L = 1 with (r & 0xf000) == 0x1000 → 64K;
 * L = 1 with (r & 0xff000) == 0 → 16M; anything else → 0.
 */
export function kvmHvPageShift(v: bigint, r: bigint): number {
  if ((v & HPTE_V_LARGE) === 0n) return SHIFT_4K;
  if ((r & 0xf000n) === 0x1000n) return SHIFT_64K;
  if ((r & 0xff000n) === 0n) return SHIFT_16M;
  return 0;
}

/**
 * QEMU 7.2 (docs/model/hcalls.md §3.2, docs/semantics.md): L = 0 → 4K; L = 1: (r & 0xf000) == 0x1000 → 64K if the cap
 * allows 64K; (r & 0xfff000) == 0 → 16M if the cap allows 16M (QEMU masks every RPN bit below the
 * page size); anything else (mixed sizes, 16G, bad encodings) → 0.
 */
export function qemuPageShift(v: bigint, r: bigint, maxPageShift: number): number {
  if ((v & HPTE_V_LARGE) === 0n) return SHIFT_4K;
  if ((r & 0xf000n) === 0x1000n) return maxPageShift >= SHIFT_64K ? SHIFT_64K : 0;
  if ((r & 0xfff000n) === 0n) return maxPageShift >= SHIFT_16M ? SHIFT_16M : 0;
  return 0;
}
