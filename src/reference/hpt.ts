/**
 * One guest's hashed page table plus KVM-HV's side structures (docs/model/translation.md §2, §3, docs/model/kvm.md §8):
 * - the real HPT: `npte` HPTEs of two doublewords (v, r);
 * - `revmap[ptex] = { guest_rpte, forw, back }`;
 * - the rmap: one word per host page of guest RAM (REFERENCED, CHANGED, PRESENT, head index).
 * Storage is sparse (Maps) so that large orders cost only what is used.
 */
import {
  HPTE_R_C, HPTE_R_R, RMAP_INDEX, RMAP_PRESENT, RMAP_RC_SHIFT,
} from "./constants.js";

export interface RevmapEntry {
  guestRpte: bigint;
  forw: number;
  back: number;
}

export class Hpt {
  private readonly vWords = new Map<number, bigint>();
  private readonly rWords = new Map<number, bigint>();
  private readonly revmap = new Map<number, RevmapEntry>();
  private readonly rmapWords = new Map<number, bigint>();

  /**
   * @param npte number of HPTEs (2^(order−4))
   * @param initialV what an untouched slot's v reads (0 under kvm-hv, 0x40 under qemu, docs/model/hcalls.md §3.1)
   */
  constructor(readonly npte: number, private readonly initialV: bigint) {}

  v(ptex: number): bigint {
    return this.vWords.get(ptex) ?? this.initialV;
  }
  r(ptex: number): bigint {
    return this.rWords.get(ptex) ?? 0n;
  }
  setV(ptex: number, v: bigint): void {
    this.vWords.set(ptex, v);
  }
  setR(ptex: number, r: bigint): void {
    this.rWords.set(ptex, r);
  }

  rev(ptex: number): RevmapEntry {
    let e = this.revmap.get(ptex);
    if (!e) {
      e = { guestRpte: 0n, forw: 0, back: 0 };
      this.revmap.set(ptex, e);
    }
    return e;
  }
  guestRpte(ptex: number): bigint {
    return this.revmap.get(ptex)?.guestRpte ?? 0n;
  }

  rmap(gfn: number): bigint {
    return this.rmapWords.get(gfn) ?? 0n;
  }
  setRmap(gfn: number, w: bigint): void {
    this.rmapWords.set(gfn, w);
  }

  /**
   * `kvmppc_add_revmap_chain` (L3.8, docs/model/kvm.md §8.2 Add): insert `ptex` before the head of the ring of `gfn`
   * (i.e. at its tail), or start a one-element ring and set PRESENT | index. The R/C history is kept.
   */
  addRevmapChain(gfn: number, ptex: number): void {
    const rmap = this.rmap(gfn);
    const rev = this.rev(ptex);
    if ((rmap & RMAP_PRESENT) !== 0n) {
      const i = Number(rmap & RMAP_INDEX);
      const head = this.rev(i);
      const tail = this.rev(head.back);
      rev.forw = i;
      rev.back = head.back;
      tail.forw = ptex;
      head.back = ptex;
    } else {
      rev.forw = ptex;
      rev.back = ptex;
      this.setRmap(gfn, (rmap & ~RMAP_INDEX) | (BigInt(ptex) & RMAP_INDEX) | RMAP_PRESENT);
    }
  }

  /**
   * `remove_revmap_chain` (L3.8, docs/model/kvm.md §8.2 Remove): OR the hardware R/C of `hwR` into guest_rpte, unlink
   * `ptex` from the ring of `gfn` (advance the head, or clear PRESENT|INDEX if it was the last one), and
   * OR R/C << 32 into the rmap word.
   */
  removeRevmapChain(gfn: number, ptex: number, hwR: bigint): void {
    const rcbits = hwR & (HPTE_R_R | HPTE_R_C);
    const rev = this.rev(ptex);
    rev.guestRpte |= rcbits;
    let rmap = this.rmap(gfn);
    let head = Number(rmap & RMAP_INDEX);
    this.rev(rev.forw).back = rev.back;
    this.rev(rev.back).forw = rev.forw;
    if (head === ptex) {
      head = rev.forw;
      if (head === ptex) rmap &= ~(RMAP_PRESENT | RMAP_INDEX);
      else rmap = (rmap & ~RMAP_INDEX) | (BigInt(head) & RMAP_INDEX);
    }
    rmap |= rcbits << RMAP_RC_SHIFT;
    this.setRmap(gfn, rmap);
  }

  /** The ptexes of the ring of `gfn` from its head, following forw. */
  chain(gfn: number): number[] {
    const rmap = this.rmap(gfn);
    if ((rmap & RMAP_PRESENT) === 0n) return [];
    const head = Number(rmap & RMAP_INDEX);
    const out: number[] = [];
    let i = head;
    do {
      out.push(i);
      i = this.rev(i).forw;
      if (out.length > this.npte) throw new Error(`internal: rmap ring of gfn ${gfn} does not close`);
    } while (i !== head);
    return out;
  }
}
