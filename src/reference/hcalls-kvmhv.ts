/**
 * `kvm-hv` semantics: the Linux 3.8 real-mode HPT hypercall handlers of KVM Book3S HV
 * (`book3s_hv_rm_mmu.c`), as docs/model/hcalls.md §2 / docs/model/kvm.md §8 describe them and docs/semantics.md pins them down.
 *
 * Locks: the model is single-threaded, so HVLOCK is never left set in the HPT. Where the real code
 * tests the first doubleword while holding the lock, the model tests `w = v | HVLOCK` (docs/model/hcalls.md §2: an
 * ANDCOND mask containing 0x40 therefore never matches).
 */
import {
  BULK_FLAGS_ABSOLUTE, BULK_FLAGS_ANDCOND, BULK_FLAGS_AVPN, BULK_FLAGS_SHIFT, BULK_PTEX_MASK,
  BULK_RC_SHIFT_KVM, BULK_TYPE_END, BULK_TYPE_REQUEST, BULK_TYPE_SHIFT,
  H_ANDCOND, H_AVPN, H_EXACT, H_NOT_FOUND, H_PARAMETER, H_PTEG_FULL, H_READ_4, H_SUCCESS,
  HPTE_GR_RESERVED, HPTE_R_C, HPTE_R_G, HPTE_R_I, HPTE_R_KEY_HI, HPTE_R_KEY_LO, HPTE_R_M, HPTE_R_PP0,
  HPTE_R_PROTECT_MASK, HPTE_R_R, HPTE_R_RPN, HPTE_R_W, HPTE_R_WIMG, HPTE_V_ABSENT, HPTE_V_HVLOCK,
  HPTE_V_VALID, RMAP_RC_SHIFT, lowMask,
} from "./constants.js";
import type { HcallEnv, Regs } from "./hcall-env.js";
import { kvmHvPageShift } from "./pagesize.js";

/** `hpte_cache_flags_ok` for normal memory (docs/model/hcalls.md §2.1 WIMG): WIMG == M, or W|I|M (SAO, ARCH_206). */
function wimgOkForRam(ptel: bigint): boolean {
  const wimg = ptel & HPTE_R_WIMG;
  return wimg === HPTE_R_M || wimg === (HPTE_R_W | HPTE_R_I | HPTE_R_M);
}

/** Host page (gfn) of the guest page an HPTE maps, from its guest view of r (`hpte_rpn`). */
function gfnOfGuestRpte(env: HcallEnv, v: bigint, guestRpte: bigint): number {
  const shift = kvmHvPageShift(v, guestRpte);
  if (shift === 0) return -1;
  const gpa = (guestRpte & HPTE_R_RPN) & ~lowMask(shift);
  if (gpa >= env.ramBytes) return -1; // no memslot
  return Number(gpa >> BigInt(env.hostPageShift));
}

/**
 * `remove_revmap_chain` for a VALID HPTE being removed: harvest the real r's R/C into guest_rpte and
 * the rmap, unlink from the ring.
 */
function harvestAndUnlink(env: HcallEnv, ptex: number, v: bigint): void {
  const hwR = env.hpt.r(ptex); // read after the invalidation: the final R/C
  const rev = env.hpt.rev(ptex);
  const gfn = gfnOfGuestRpte(env, v, rev.guestRpte | (hwR & (HPTE_R_R | HPTE_R_C)));
  if (gfn < 0) {
    rev.guestRpte |= hwR & (HPTE_R_R | HPTE_R_C);
    return;
  }
  env.hpt.removeRevmapChain(gfn, ptex, hwR);
  env.count.add("rmapUnlinks");
}

/** H_ENTER (`kvmppc_do_h_enter`, docs/model/hcalls.md §2.1, docs/semantics.md steps 1–9). Inputs r4 flags, r5 ptex, r6 pteh, r7 ptel. */
export function kvmHEnter(env: HcallEnv, regs: Regs): number {
  const flags = regs[0]!;
  let ptex = regs[1]!;
  let pteh = regs[2]!;
  let ptel = regs[3]!;

  // 1. page size
  const pshift = kvmHvPageShift(pteh, ptel);
  if (pshift === 0) return H_PARAMETER;
  const psize = 1n << BigInt(pshift);

  // 2. the guest's V, ABSENT and HVLOCK are ignored; bit 62 is reserved from the guest (L3.8+)
  pteh &= ~(HPTE_V_HVLOCK | HPTE_V_ABSENT | HPTE_V_VALID);
  ptel &= ~HPTE_GR_RESERVED;
  const gPtel = ptel;

  // 3. memslot lookup: no RAM there → emulated MMIO (POWER7), ABSENT with key 31
  const gpa = (ptel & HPTE_R_RPN) & ~(psize - 1n);
  let gfn = -1;
  if (gpa >= env.ramBytes) {
    pteh |= HPTE_V_ABSENT;
    ptel |= HPTE_R_KEY_HI | HPTE_R_KEY_LO;
  } else {
    // 4. host page size < psize → H_PARAMETER; present → host address, VALID; else ABSENT
    if (pshift > env.hostPageShift) return H_PARAMETER;
    const hostPage = 1n << BigInt(env.hostPageShift);
    gfn = Number(gpa >> BigInt(env.hostPageShift));
    const frame = env.frameOf(gfn);
    const present = frame >= 0;
    const pa = present ? (BigInt(frame) << BigInt(env.hostPageShift)) | (gpa & (hostPage - 1n)) : 0n;
    pteh |= present ? HPTE_V_VALID : HPTE_V_ABSENT;
    // 5. keep PP0 and the bits below the page size; RPN, bit 62 and KEY_HI are replaced / lost
    ptel = (ptel & (HPTE_R_PP0 | (psize - 1n))) | pa;
    // 6. WIMG: host RAM is normal memory; a non-M value is forced to M (no error)
    if (present && !wimgOkForRam(ptel)) {
      ptel &= ~(HPTE_R_W | HPTE_R_I | HPTE_R_G);
      ptel |= HPTE_R_M;
    }
  }

  // 7. insert
  if (ptex >= env.npte) return H_PARAMETER;
  const occupied = (i: number) => (env.hpt.v(i) & (HPTE_V_VALID | HPTE_V_ABSENT)) !== 0n;
  let slot: number;
  if ((flags & H_EXACT) === 0n) {
    ptex &= ~7n;
    const base = Number(ptex);
    let i = 0;
    while (i < 8 && occupied(base + i)) i++;
    if (i === 8) return H_PTEG_FULL;
    slot = base + i;
  } else {
    slot = Number(ptex);
    if (occupied(slot)) return H_PTEG_FULL;
  }

  // 8. revmap and rmap
  env.hpt.rev(slot).guestRpte = gPtel;
  if ((pteh & HPTE_V_VALID) !== 0n) {
    env.hpt.addRevmapChain(gfn, slot);
    env.count.add("rmapLinks");
    // only set R/C in the real HPTE if the rmap already has them
    const rcbits = env.hpt.rmap(gfn) >> RMAP_RC_SHIFT;
    ptel &= rcbits | ~(HPTE_R_R | HPTE_R_C);
  }

  // 9. store r, then v (this unlocks)
  env.hpt.setR(slot, ptel);
  env.hpt.setV(slot, pteh);
  regs[0] = BigInt(slot);
  return H_SUCCESS;
}

/** H_REMOVE (`kvmppc_h_remove`, docs/model/hcalls.md §2.2). Inputs r4 flags, r5 ptex, r6 avpn; outputs r4 old v, r5 guest r. */
export function kvmHRemove(env: HcallEnv, regs: Regs): number {
  const flags = regs[0]!;
  const ptexIn = regs[1]!;
  const avpn = regs[2]!;
  if (ptexIn >= env.npte) return H_PARAMETER;
  const ptex = Number(ptexIn);
  const v = env.hpt.v(ptex);
  const w = v | HPTE_V_HVLOCK; // as read under the lock
  if ((w & (HPTE_V_VALID | HPTE_V_ABSENT)) === 0n
    || ((flags & H_AVPN) !== 0n && (w & ~0x7fn) !== avpn)
    || ((flags & H_ANDCOND) !== 0n && (w & avpn) !== 0n)) {
    return H_NOT_FOUND;
  }
  const vOut = v & ~HPTE_V_HVLOCK;
  if ((v & HPTE_V_VALID) !== 0n) {
    env.hpt.setV(ptex, v & ~HPTE_V_VALID);
    env.invalidateHpte(v, env.hpt.r(ptex), ptex, flags, "H_REMOVE");
    harvestAndUnlink(env, ptex, v);
  }
  const rOut = env.hpt.guestRpte(ptex) & ~HPTE_GR_RESERVED;
  env.hpt.setV(ptex, 0n); // unlock; r stays
  regs[0] = vOut;
  regs[1] = rOut;
  return H_SUCCESS;
}

/** H_PROTECT (`kvmppc_h_protect`, docs/model/hcalls.md §2.3). Inputs r4 flags, r5 ptex, r6 avpn; no outputs. */
export function kvmHProtect(env: HcallEnv, regs: Regs): number {
  const flags = regs[0]!;
  const ptexIn = regs[1]!;
  const avpn = regs[2]!;
  if (ptexIn >= env.npte) return H_PARAMETER;
  const ptex = Number(ptexIn);
  const v = env.hpt.v(ptex);
  const w = v | HPTE_V_HVLOCK;
  if ((w & (HPTE_V_VALID | HPTE_V_ABSENT)) === 0n
    || ((flags & H_AVPN) !== 0n && (w & ~0x7fn) !== avpn)) {
    return H_NOT_FOUND;
  }
  const bits = protectBits(flags);
  const rev = env.hpt.rev(ptex);
  rev.guestRpte = (rev.guestRpte & ~HPTE_R_PROTECT_MASK) | bits;
  const r = (env.hpt.r(ptex) & ~HPTE_R_PROTECT_MASK) | bits;
  if ((v & HPTE_V_VALID) !== 0n) {
    env.hpt.setV(ptex, v & ~HPTE_V_VALID);
    env.invalidateHpte(v, r, ptex, flags, "H_PROTECT");
    // L3.8 would force read-only for a read-only host page; host pages are never read-only here.
  }
  env.hpt.setR(ptex, r);
  env.hpt.setV(ptex, v);
  return H_SUCCESS;
}

/**
 * New protection bits from H_PROTECT flags (docs/model/hcalls.md §2.3): flags bit 8 → PP0, bits 12–13 → KEY_HI,
 * bits 9–11 → KEY_LO, bits 0–2 → PP and N.
 */
export function protectBits(flags: bigint): bigint {
  return ((flags << 55n) & HPTE_R_PP0)
    | ((flags << 48n) & HPTE_R_KEY_HI)
    | (flags & (0x3n | 0x4n | HPTE_R_KEY_LO));
}

/** H_READ (`kvmppc_h_read`, docs/model/hcalls.md §2.4). Inputs r4 flags, r5 ptex; outputs r4/r5 (… r10/r11 with H_READ_4). */
export function kvmHRead(env: HcallEnv, regs: Regs): number {
  const flags = regs[0]!;
  let ptex = regs[1]!;
  if (ptex >= env.npte) return H_PARAMETER;
  let n = 1;
  if ((flags & H_READ_4) !== 0n) {
    ptex &= ~3n;
    n = 4;
  }
  const first = Number(ptex);
  for (let k = 0; k < n; k++) {
    const i = first + k;
    let v = env.hpt.v(i) & ~HPTE_V_HVLOCK;
    let r = env.hpt.r(i);
    if ((v & HPTE_V_ABSENT) !== 0n) {
      v &= ~HPTE_V_ABSENT;
      v |= HPTE_V_VALID;
    }
    if ((v & HPTE_V_VALID) !== 0n) {
      r = (env.hpt.guestRpte(i) | (r & (HPTE_R_R | HPTE_R_C))) & ~HPTE_GR_RESERVED;
    }
    regs[2 * k] = v;
    regs[2 * k + 1] = r;
  }
  return H_SUCCESS;
}

/**
 * H_BULK_REMOVE (`kvmppc_h_bulk_remove`, docs/model/hcalls.md §2.5, docs/semantics.md). r4..r11 = 4 (tsh, tsl) pairs;
 * tsh words are rewritten in place.
 */
export function kvmHBulkRemove(env: HcallEnv, regs: Regs): number {
  let ret = H_SUCCESS;
  const queued: { k: number; ptex: number; v: bigint }[] = [];
  for (let k = 0; k < 4; k++) {
    const tsh = regs[2 * k]!;
    const tsl = regs[2 * k + 1]!;
    const req = tsh >> BULK_TYPE_SHIFT;
    const flags = (tsh >> BULK_FLAGS_SHIFT) & 3n;
    const ptexIn = tsh & BULK_PTEX_MASK;
    if (req === BULK_TYPE_END) break;
    if (req !== BULK_TYPE_REQUEST || flags === 3n || ptexIn >= env.npte) {
      regs[2 * k] = ((0xa0n | flags) << 56n) | ptexIn;
      ret = H_PARAMETER;
      break;
    }
    const ptex = Number(ptexIn);
    const v = env.hpt.v(ptex);
    const w = v | HPTE_V_HVLOCK;
    let found = false;
    if ((w & (HPTE_V_ABSENT | HPTE_V_VALID)) !== 0n) {
      if (flags === BULK_FLAGS_ABSOLUTE) found = true;
      else if (flags === BULK_FLAGS_ANDCOND) found = (w & tsl) === 0n;
      else if (flags === BULK_FLAGS_AVPN) found = (w & ~0x7fn) === tsl;
    }
    if (!found) {
      regs[2 * k] = ((0x90n | flags) << 56n) | ptexIn;
      continue;
    }
    regs[2 * k] = ((0x80n | flags) << 56n) | ptexIn;
    if ((v & HPTE_V_VALID) === 0n) {
      // ABSENT: R/C from the guest view, no invalidation, not on any ring
      const rc = env.hpt.guestRpte(ptex) & (HPTE_R_R | HPTE_R_C);
      regs[2 * k] = regs[2 * k]! | (rc << BULK_RC_SHIFT_KVM);
      env.hpt.setV(ptex, 0n);
      continue;
    }
    env.hpt.setV(ptex, v & ~HPTE_V_VALID); // stays locked until the batch completes
    queued.push({ k, ptex, v });
  }
  // one invalidation per queued entry, in request order, then harvest / unlink / respond
  for (const q of queued) env.invalidateHpte(q.v, env.hpt.r(q.ptex), q.ptex, 0n, "H_BULK_REMOVE");
  for (const q of queued) {
    harvestAndUnlink(env, q.ptex, q.v);
    const rc = env.hpt.guestRpte(q.ptex) & (HPTE_R_R | HPTE_R_C);
    regs[2 * q.k] = regs[2 * q.k]! | (rc << BULK_RC_SHIFT_KVM);
    env.hpt.setV(q.ptex, 0n);
  }
  return ret;
}
