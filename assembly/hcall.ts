// The PAPR HPT hypercalls over op records (layout.ts): r4..r11 are op words 2..9, r3 is word 1.
// Two implementations per guest: `kvm-hv` (Linux 3.8 real-mode handlers, docs/model/hcalls.md §2 and docs/model/kvm.md §8) and
// `qemu` (QEMU 7.2 pseries under TCG, docs/model/hcalls.md §3). docs/semantics.md spells out each step.
import {
  G_FLAGS, G_HPT, G_NPTE, G_FRAMES, G_RAM_BYTES, G_HPT_MAX_PAGE_SHIFT, GF_QEMU, NO_FRAME, RMAP_RC_SHIFT,
} from "./layout";
import { hostPageShift } from "./machine";
import {
  HPTE_V_VALID, HPTE_V_ABSENT, HPTE_V_HVLOCK, HPTE_V_HPTE_DIRTY, HPTE_R_PP0, HPTE_GR_RESERVED, HPTE_R_KEY_HI,
  HPTE_R_KEY_LO, HPTE_R_RPN, HPTE_R_R, HPTE_R_C, HPTE_R_W, HPTE_R_I, HPTE_R_M, HPTE_R_G, HPTE_R_WIMG, HPTE_R_N,
  HPTE_R_PP, pageShiftKvm, pageShiftQemu,
} from "./hpt";
import { invalidateTranslation, decide } from "./kvm/invalidate";
import { revAddr, rmapAdd, rmapRemove } from "./rmap";
import { MODE_GLOBAL, KIND_REMOVE, KIND_PROTECT, KIND_BULK } from "./policies/events";

// Return codes (docs/model/hcalls.md §1.2)
// @ts-ignore: decorator
@inline export const H_SUCCESS: i64 = 0;
// @ts-ignore: decorator
@inline export const H_PRIVILEGE: i64 = -3;
// @ts-ignore: decorator
@inline export const H_PARAMETER: i64 = -4;
// @ts-ignore: decorator
@inline export const H_PTEG_FULL: i64 = -6;
// @ts-ignore: decorator
@inline export const H_NOT_FOUND: i64 = -7;

// Flags (docs/model/hcalls.md §1.3)
// @ts-ignore: decorator
@inline export const H_EXACT: u64 = 0x0000008000000000;
// @ts-ignore: decorator
@inline export const H_READ_4: u64 = 0x0000002000000000;
// @ts-ignore: decorator
@inline export const H_AVPN: u64 = 0x0000000080000000;
// @ts-ignore: decorator
@inline export const H_ANDCOND: u64 = 0x0000000040000000;
// @ts-ignore: decorator
@inline export const H_LOCAL: u64 = 0x0000000010000000;

// H_BULK_REMOVE translation specifier (docs/model/hcalls.md §1.4)
// @ts-ignore: decorator
@inline const TSH_TYPE: u64 = 0xc000000000000000;
// @ts-ignore: decorator
@inline const TSH_REQUEST: u64 = 0x4000000000000000;
// @ts-ignore: decorator
@inline const TSH_RESPONSE: u64 = 0x8000000000000000;
// @ts-ignore: decorator
@inline const TSH_END: u64 = 0xc000000000000000;
// @ts-ignore: decorator
@inline const TSH_FLAGS: u64 = 0x0300000000000000;
// @ts-ignore: decorator
@inline const TSH_ANDCOND: u64 = 0x0100000000000000;
// @ts-ignore: decorator
@inline const TSH_AVPN: u64 = 0x0200000000000000;
// @ts-ignore: decorator
@inline const TSH_PTEX: u64 = 0x00ffffffffffffff;

/** Register r(4 + i) of an op. */
// @ts-ignore: decorator
@inline function reg(o: usize, i: u32): u64 {
  return load<u64>(o + 16 + (<usize>i << 3));
}
// @ts-ignore: decorator
@inline function setReg(o: usize, i: u32, x: u64): void {
  store<u64>(o + 16 + (<usize>i << 3), x);
}
// @ts-ignore: decorator
@inline function hpteAddr(g: usize, ptex: u64): usize {
  return <usize>load<u32>(g, G_HPT) + (<usize>ptex << 4);
}
// @ts-ignore: decorator
@inline function npte(g: usize): u64 {
  return <u64>load<u32>(g, G_NPTE);
}

// ───────────────────────────── kvm-hv ─────────────────────────────

function kvmEnter(o: usize, g: usize, gs: usize): i64 {
  const flags = reg(o, 0);
  let ptex = reg(o, 1);
  let pteh = reg(o, 2);
  let ptel = reg(o, 3);
  // 1. page size
  const shift = pageShiftKvm(pteh, ptel);
  if (shift == 0) return H_PARAMETER;
  const psize = <u64>1 << shift;
  // 2. the guest's V/ABSENT/HVLOCK are ignored; bit 62 is reserved from the guest (3.8)
  pteh &= ~(HPTE_V_HVLOCK | HPTE_V_ABSENT | HPTE_V_VALID);
  ptel &= ~HPTE_GR_RESERVED;
  const gPtel = ptel;
  // 3. memslot: guest RAM is [0, ramBytes); anything above is emulated MMIO (ABSENT, key 31)
  const gpa = (ptel & HPTE_R_RPN) & ~(psize - 1);
  const gfn = gpa >> hostPageShift;
  let linked = false;
  if (gpa >= load<u64>(g, G_RAM_BYTES)) {
    pteh |= HPTE_V_ABSENT;
    ptel |= HPTE_R_KEY_HI | HPTE_R_KEY_LO;
  } else {
    // 4. the host maps RAM with base pages: a guest page larger than a host page is refused
    const hostPage = <u64>1 << hostPageShift;
    if (psize > hostPage) return H_PARAMETER;
    const frame = load<u32>(<usize>load<u32>(g, G_FRAMES) + (<usize>gfn << 2));
    let pa: u64 = 0;
    if (frame != NO_FRAME) {
      pa = <u64>frame << hostPageShift;
      if (hostPage > psize) pa |= gpa & (hostPage - 1);
    }
    // 5. keep PP0 and the bits below the page size, put the host address in
    ptel = (ptel & ~(HPTE_R_PP0 - psize)) | pa;
    if (pa != 0) {
      pteh |= HPTE_V_VALID;
      // 6. WIMG: host RAM is normal memory; SAO (W|I|M) is accepted on ARCH_206, else force M
      let wimg = ptel & HPTE_R_WIMG;
      if (wimg == (HPTE_R_W | HPTE_R_I | HPTE_R_M)) wimg = HPTE_R_M;
      if (wimg != HPTE_R_M) ptel = (ptel & ~(HPTE_R_W | HPTE_R_I | HPTE_R_G)) | HPTE_R_M;
      linked = true;
    } else {
      pteh |= HPTE_V_ABSENT;
    }
  }
  // 7. find the slot: neither VALID nor ABSENT
  if (ptex >= npte(g)) return H_PARAMETER;
  let hp: usize;
  if ((flags & H_EXACT) == 0) {
    ptex &= ~(<u64>7);
    hp = hpteAddr(g, ptex);
    let i: u64 = 0;
    for (; i < 8; ++i, hp += 16) {
      if ((load<u64>(hp) & (HPTE_V_VALID | HPTE_V_ABSENT)) == 0) break;
    }
    if (i == 8) return H_PTEG_FULL;
    ptex += i;
  } else {
    hp = hpteAddr(g, ptex);
    if ((load<u64>(hp) & (HPTE_V_VALID | HPTE_V_ABSENT)) != 0) return H_PTEG_FULL;
  }
  // 8. guest view, rmap ring, R/C only if the rmap has them
  store<u64>(revAddr(g, ptex), gPtel);
  if (linked) {
    const rmap = rmapAdd(g, gs, gfn, ptex);
    const rcbits = rmap >> RMAP_RC_SHIFT;
    ptel &= rcbits | ~(HPTE_R_R | HPTE_R_C);
  }
  // 9. r, then v (this unlocks)
  store<u64>(hp, ptel, 8);
  store<u64>(hp, pteh);
  setReg(o, 0, ptex);
  return H_SUCCESS;
}

function kvmRemove(o: usize, g: usize, gs: usize, cpu: u32): i64 {
  const flags = reg(o, 0);
  const ptex = reg(o, 1);
  const avpn = reg(o, 2);
  if (ptex >= npte(g)) return H_PARAMETER;
  const hp = hpteAddr(g, ptex);
  const v = load<u64>(hp);
  const w = v | HPTE_V_HVLOCK; // the tests run with the HPTE locked
  if ((w & (HPTE_V_ABSENT | HPTE_V_VALID)) == 0 ||
      ((flags & H_AVPN) != 0 && (w & ~(<u64>0x7f)) != avpn) ||
      ((flags & H_ANDCOND) != 0 && (w & avpn) != 0)) {
    return H_NOT_FOUND;
  }
  const rev = revAddr(g, ptex);
  if ((v & HPTE_V_VALID) != 0) {
    store<u64>(hp, v & ~HPTE_V_VALID);
    const r = load<u64>(hp, 8);
    invalidateTranslation(cpu, g, gs, decide(cpu, g, KIND_REMOVE, flags), v, r, ptex);
    rmapRemove(g, gs, ptex, v, load<u64>(hp, 8));
  }
  setReg(o, 0, v);
  setReg(o, 1, load<u64>(rev) & ~HPTE_GR_RESERVED);
  store<u64>(hp, 0);
  return H_SUCCESS;
}

function protectBits(flags: u64): u64 {
  return ((flags << 55) & HPTE_R_PP0) | ((flags << 48) & HPTE_R_KEY_HI) | (flags & (HPTE_R_PP | HPTE_R_N | HPTE_R_KEY_LO));
}
// @ts-ignore: decorator
@inline const PROTECT_MASK: u64 = HPTE_R_PP0 | HPTE_R_PP | HPTE_R_N | HPTE_R_KEY_HI | HPTE_R_KEY_LO;

function kvmProtect(o: usize, g: usize, gs: usize, cpu: u32): i64 {
  const flags = reg(o, 0);
  const ptex = reg(o, 1);
  const avpn = reg(o, 2);
  if (ptex >= npte(g)) return H_PARAMETER;
  const hp = hpteAddr(g, ptex);
  const v = load<u64>(hp);
  const w = v | HPTE_V_HVLOCK;
  if ((w & (HPTE_V_ABSENT | HPTE_V_VALID)) == 0 || ((flags & H_AVPN) != 0 && (w & ~(<u64>0x7f)) != avpn)) {
    return H_NOT_FOUND;
  }
  const bits = protectBits(flags);
  const rev = revAddr(g, ptex);
  store<u64>(rev, (load<u64>(rev) & ~PROTECT_MASK) | bits);
  const r = (load<u64>(hp, 8) & ~PROTECT_MASK) | bits;
  if ((v & HPTE_V_VALID) != 0) {
    store<u64>(hp, v & ~HPTE_V_VALID);
    invalidateTranslation(cpu, g, gs, decide(cpu, g, KIND_PROTECT, flags), v, r, ptex);
    // the host page is never read-only in this model, so no permission is reduced
  }
  store<u64>(hp, r, 8);
  store<u64>(hp, v);
  return H_SUCCESS;
}

function kvmRead(o: usize, g: usize): i64 {
  const flags = reg(o, 0);
  let ptex = reg(o, 1);
  if (ptex >= npte(g)) return H_PARAMETER;
  let n: u32 = 1;
  if ((flags & H_READ_4) != 0) {
    ptex &= ~(<u64>3);
    n = 4;
  }
  for (let i: u32 = 0; i < n; ++i, ++ptex) {
    const hp = hpteAddr(g, ptex);
    let v = load<u64>(hp) & ~HPTE_V_HVLOCK;
    let r = load<u64>(hp, 8);
    if ((v & HPTE_V_ABSENT) != 0) v = (v & ~HPTE_V_ABSENT) | HPTE_V_VALID;
    if ((v & HPTE_V_VALID) != 0) r = (load<u64>(revAddr(g, ptex)) | (r & (HPTE_R_R | HPTE_R_C))) & ~HPTE_GR_RESERVED;
    setReg(o, 2 * i, v);
    setReg(o, 2 * i + 1, r);
  }
  return H_SUCCESS;
}

function kvmBulkRemove(o: usize, g: usize, gs: usize, cpu: u32): i64 {
  // the policy decides once per hcall, before any entry is examined (v3.12+; 3.8 has no side effects)
  const mode = decide(cpu, g, KIND_BULK, 0);
  let ret = H_SUCCESS;
  let queued: u32 = 0; // bit j: request j found a VALID entry, to be invalidated and completed
  for (let j: u32 = 0; j < 4; ++j) {
    const tsh = reg(o, 2 * j);
    const tsl = reg(o, 2 * j + 1);
    const ptex = tsh & TSH_PTEX;
    const flags = (tsh >> 56) & 3;
    const req = tsh >> 62;
    if (req == 3) break; // end of list
    if (req != 1 || flags == 3 || ptex >= npte(g)) {
      setReg(o, 2 * j, ((0xa0 | flags) << 56) | ptex);
      ret = H_PARAMETER;
      break;
    }
    const hp = hpteAddr(g, ptex);
    const w = load<u64>(hp) | HPTE_V_HVLOCK;
    let found = false;
    if ((w & (HPTE_V_ABSENT | HPTE_V_VALID)) != 0) {
      if (flags == 0) found = true;
      else if (flags == 1) found = (w & tsl) == 0;
      else found = (w & ~(<u64>0x7f)) == tsl;
    }
    if (!found) {
      setReg(o, 2 * j, ((0x90 | flags) << 56) | ptex);
      continue;
    }
    let resp = ((0x80 | flags) << 56) | ptex;
    if ((w & HPTE_V_VALID) == 0) {
      // ABSENT: report the guest's R/C, free the slot, no invalidation
      resp |= (load<u64>(revAddr(g, ptex)) & (HPTE_R_R | HPTE_R_C)) << 51;
      store<u64>(hp, 0);
    } else {
      store<u64>(hp, load<u64>(hp) & ~HPTE_V_VALID);
      queued |= 1 << j;
    }
    setReg(o, 2 * j, resp);
  }
  // one invalidation sequence for the batch, then harvest and unlink each entry
  for (let j: u32 = 0; j < 4; ++j) {
    if ((queued & (1 << j)) == 0) continue;
    const ptex = reg(o, 2 * j) & TSH_PTEX;
    const hp = hpteAddr(g, ptex);
    invalidateTranslation(cpu, g, gs, mode, load<u64>(hp) | HPTE_V_VALID, load<u64>(hp, 8), ptex);
  }
  for (let j: u32 = 0; j < 4; ++j) {
    if ((queued & (1 << j)) == 0) continue;
    const ptex = reg(o, 2 * j) & TSH_PTEX;
    const hp = hpteAddr(g, ptex);
    rmapRemove(g, gs, ptex, load<u64>(hp), load<u64>(hp, 8));
    const rc = load<u64>(revAddr(g, ptex)) & (HPTE_R_R | HPTE_R_C);
    setReg(o, 2 * j, reg(o, 2 * j) | (rc << 51));
    store<u64>(hp, 0);
  }
  return ret;
}

// ───────────────────────────── qemu ─────────────────────────────

function qemuEnter(o: usize, g: usize): i64 {
  const flags = reg(o, 0);
  const ptexIn = reg(o, 1);
  let pteh = reg(o, 2);
  const ptel = reg(o, 3);
  // page-size encoding → WIMG / RAM → index range → slot (docs/model/hcalls.md §3.2)
  const shift = pageShiftQemu(pteh, ptel, load<u32>(g, G_HPT_MAX_PAGE_SHIFT));
  if (shift == 0) return H_PARAMETER;
  const raddr = (ptel & HPTE_R_RPN) & ~((<u64>1 << shift) - 1);
  if (raddr < load<u64>(g, G_RAM_BYTES)) {
    if ((ptel & HPTE_R_WIMG) != HPTE_R_M) return H_PARAMETER;
  } else {
    const wim = ptel & (HPTE_R_W | HPTE_R_I | HPTE_R_M);
    if (wim != HPTE_R_I && wim != (HPTE_R_I | HPTE_R_M)) return H_PARAMETER;
  }
  pteh &= ~(<u64>0x60);
  if (ptexIn >= npte(g)) return H_PARAMETER;
  let ptex = ptexIn;
  let hp: usize;
  if ((flags & H_EXACT) == 0) {
    ptex &= ~(<u64>7);
    hp = hpteAddr(g, ptex);
    let i: u64 = 0;
    for (; i < 8; ++i, hp += 16) {
      if ((load<u64>(hp) & HPTE_V_VALID) == 0) break;
    }
    if (i == 8) return H_PTEG_FULL;
    ptex += i;
  } else {
    hp = hpteAddr(g, ptex);
    if ((load<u64>(hp) & HPTE_V_VALID) != 0) return H_PTEG_FULL;
  }
  store<u64>(hp, ptel, 8);
  store<u64>(hp, pteh | HPTE_V_HPTE_DIRTY);
  setReg(o, 0, ptex);
  return H_SUCCESS;
}

/** QEMU remove_hpte: 0 removed (v, r in outV/outR), 1 not found, 2 parameter. */
let outV: u64 = 0;
let outR: u64 = 0;
function qemuRemoveHpte(g: usize, gs: usize, cpu: u32, ptex: u64, avpn: u64, flags: u64): u32 {
  if (ptex >= npte(g)) return 2;
  const hp = hpteAddr(g, ptex);
  const v = load<u64>(hp);
  const r = load<u64>(hp, 8);
  if ((v & HPTE_V_VALID) == 0 ||
      ((flags & H_AVPN) != 0 && (v & ~(<u64>0x7f)) != avpn) ||
      ((flags & H_ANDCOND) != 0 && (v & avpn) != 0)) {
    return 1;
  }
  outV = v;
  outR = r;
  store<u64>(hp, 0, 8);
  store<u64>(hp, HPTE_V_HPTE_DIRTY);
  invalidateTranslation(cpu, g, gs, MODE_GLOBAL, v, r, ptex);
  return 0;
}

function qemuRemove(o: usize, g: usize, gs: usize, cpu: u32): i64 {
  const rc = qemuRemoveHpte(g, gs, cpu, reg(o, 1), reg(o, 2), reg(o, 0));
  if (rc == 2) return H_PARAMETER;
  if (rc == 1) return H_NOT_FOUND;
  setReg(o, 0, outV);
  setReg(o, 1, outR);
  return H_SUCCESS;
}

function qemuProtect(o: usize, g: usize, gs: usize, cpu: u32): i64 {
  const flags = reg(o, 0);
  const ptex = reg(o, 1);
  const avpn = reg(o, 2);
  if (ptex >= npte(g)) return H_PARAMETER;
  const hp = hpteAddr(g, ptex);
  const v = load<u64>(hp);
  if ((v & HPTE_V_VALID) == 0 || ((flags & H_AVPN) != 0 && (v & ~(<u64>0x7f)) != avpn)) return H_NOT_FOUND;
  const r = (load<u64>(hp, 8) & ~PROTECT_MASK) | protectBits(flags);
  invalidateTranslation(cpu, g, gs, MODE_GLOBAL, v, r, ptex);
  store<u64>(hp, r, 8);
  store<u64>(hp, v | HPTE_V_HPTE_DIRTY);
  return H_SUCCESS;
}

function qemuRead(o: usize, g: usize): i64 {
  const flags = reg(o, 0);
  let ptex = reg(o, 1);
  if (ptex >= npte(g)) return H_PARAMETER;
  let n: u32 = 1;
  if ((flags & H_READ_4) != 0) {
    ptex &= ~(<u64>3);
    n = 4;
  }
  for (let i: u32 = 0; i < n; ++i, ++ptex) {
    const hp = hpteAddr(g, ptex);
    setReg(o, 2 * i, load<u64>(hp));
    setReg(o, 2 * i + 1, load<u64>(hp, 8));
  }
  return H_SUCCESS;
}

function qemuBulkRemove(o: usize, g: usize, gs: usize, cpu: u32): i64 {
  for (let j: u32 = 0; j < 4; ++j) {
    let tsh = reg(o, 2 * j);
    const tsl = reg(o, 2 * j + 1);
    const type = tsh & TSH_TYPE;
    if (type == TSH_END) break;
    if (type != TSH_REQUEST) return H_PARAMETER; // that word left untouched
    tsh = (tsh & (TSH_PTEX | TSH_FLAGS)) | TSH_RESPONSE;
    if ((tsh & TSH_ANDCOND) != 0 && (tsh & TSH_AVPN) != 0) {
      setReg(o, 2 * j, tsh | (<u64>2 << 60));
      return H_PARAMETER;
    }
    const rc = qemuRemoveHpte(g, gs, cpu, tsh & TSH_PTEX, tsl, (tsh & TSH_FLAGS) >> 26);
    tsh |= <u64>rc << 60;
    if (rc == 0) tsh |= (outR & (HPTE_R_C | HPTE_R_R)) << 43; // QEMU's placement, inside the ptex field
    setReg(o, 2 * j, tsh);
    if (rc == 2) return H_PARAMETER;
  }
  return H_SUCCESS;
}

// ───────────────────────────── dispatch ─────────────────────────────

/** Execute the hcall of op `o` for guest `g`; returns r3. Problem state: QEMU refuses, KVM-HV reflects. */
export function hcall(o: usize, opcode: u32, g: usize, gs: usize, cpu: u32, problemState: bool): i64 {
  const qemu = (load<u32>(g, G_FLAGS) & GF_QEMU) != 0;
  if (problemState) return qemu ? H_PRIVILEGE : <i64>opcode;
  if (qemu) {
    switch (opcode) {
      case 0x08: return qemuEnter(o, g);
      case 0x04: return qemuRemove(o, g, gs, cpu);
      case 0x18: return qemuProtect(o, g, gs, cpu);
      case 0x0c: return qemuRead(o, g);
      default: return qemuBulkRemove(o, g, gs, cpu);
    }
  }
  switch (opcode) {
    case 0x08: return kvmEnter(o, g, gs);
    case 0x04: return kvmRemove(o, g, gs, cpu);
    case 0x18: return kvmProtect(o, g, gs, cpu);
    case 0x0c: return kvmRead(o, g);
    default: return kvmBulkRemove(o, g, gs, cpu);
  }
}
