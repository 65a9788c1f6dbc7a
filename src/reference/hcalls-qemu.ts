/**
 * `qemu` semantics: QEMU 7.2 pseries under TCG (`hw/ppc/spapr_softmmu.c`), docs/model/hcalls.md §3 and the "where they
 * differ" table of docs/model/hcalls.md §4, as docs/semantics.md pins them down. The HPT holds guest real addresses; every
 * HPTE carries the migration dirty flag 0x40 in v.
 */
import {
  BULK_CODE_NOT_FOUND, BULK_CODE_PARAMETER, BULK_CODE_SHIFT, BULK_CODE_SUCCESS, BULK_FLAGS_MASK,
  BULK_PTEX_MASK, BULK_RC_SHIFT_QEMU, BULK_TYPE_END, BULK_TYPE_REQUEST, BULK_TYPE_SHIFT,
  H_ANDCOND, H_AVPN, H_EXACT, H_NOT_FOUND, H_PARAMETER, H_PTEG_FULL, H_READ_4, H_SUCCESS,
  HPTE_R_C, HPTE_R_I, HPTE_R_M, HPTE_R_PROTECT_MASK, HPTE_R_R, HPTE_R_RPN, HPTE_R_W, HPTE_R_WIMG,
  HPTE_V_QEMU_DIRTY, HPTE_V_VALID, lowMask,
} from "./constants.js";
import type { HcallEnv, Regs } from "./hcall-env.js";
import { protectBits } from "./hcalls-kvmhv.js";
import { qemuPageShift } from "./pagesize.js";

const BULK_ANDCOND_BIT = 0x0100000000000000n;
const BULK_AVPN_BIT = 0x0200000000000000n;
const BULK_RESPONSE = 0x8000000000000000n;

/** H_ENTER (`h_enter`): page size → WIMG / RAM → index → slot (docs/model/hcalls.md §3.2). */
export function qemuHEnter(env: HcallEnv, regs: Regs): number {
  const flags = regs[0]!;
  let ptex = regs[1]!;
  let pteh = regs[2]!;
  const ptel = regs[3]!;

  const pshift = qemuPageShift(pteh, ptel, env.hptMaxPageShift);
  if (pshift === 0) return H_PARAMETER;

  const raddr = (ptel & HPTE_R_RPN) & ~lowMask(pshift);
  if (raddr < env.ramBytes) {
    // RAM: WIMG must be exactly M
    if ((ptel & HPTE_R_WIMG) !== HPTE_R_M) return H_PARAMETER;
  } else {
    // I/O: W, I, M must be I or I|M (G is free)
    const wim = ptel & (HPTE_R_W | HPTE_R_I | HPTE_R_M);
    if (wim !== HPTE_R_I && wim !== (HPTE_R_I | HPTE_R_M)) return H_PARAMETER;
  }

  pteh &= ~0x60n;
  if (ptex >= env.npte) return H_PARAMETER;
  const used = (i: number) => (env.hpt.v(i) & HPTE_V_VALID) !== 0n;
  let slot: number;
  if ((flags & H_EXACT) === 0n) {
    ptex &= ~7n;
    const base = Number(ptex);
    let i = 0;
    while (i < 8 && used(base + i)) i++;
    if (i === 8) return H_PTEG_FULL;
    slot = base + i;
  } else {
    slot = Number(ptex);
    if (used(slot)) return H_PTEG_FULL;
  }
  env.hpt.setR(slot, ptel); // verbatim
  env.hpt.setV(slot, pteh | HPTE_V_QEMU_DIRTY); // V kept as given
  regs[0] = BigInt(slot);
  return H_SUCCESS;
}

type RemoveResult = { code: bigint; v: bigint; r: bigint };

/** QEMU's `remove_hpte`: code 0 success, 1 not found, 2 parameter. */
function removeHpte(env: HcallEnv, ptexIn: bigint, avpn: bigint, flags: bigint, kind: "H_REMOVE" | "H_BULK_REMOVE"): RemoveResult {
  if (ptexIn >= env.npte) return { code: BULK_CODE_PARAMETER, v: 0n, r: 0n };
  const ptex = Number(ptexIn);
  const v = env.hpt.v(ptex);
  const r = env.hpt.r(ptex);
  if ((v & HPTE_V_VALID) === 0n
    || ((flags & H_AVPN) !== 0n && (v & ~0x7fn) !== avpn)
    || ((flags & H_ANDCOND) !== 0n && (v & avpn) !== 0n)) {
    return { code: BULK_CODE_NOT_FOUND, v: 0n, r: 0n };
  }
  env.hpt.setV(ptex, HPTE_V_QEMU_DIRTY);
  env.hpt.setR(ptex, 0n);
  env.invalidateHpte(v, r, ptex, flags, kind);
  return { code: BULK_CODE_SUCCESS, v, r };
}

/** H_REMOVE: outputs r4 = old v (0x40 included), r5 = old r. */
export function qemuHRemove(env: HcallEnv, regs: Regs): number {
  const res = removeHpte(env, regs[1]!, regs[2]!, regs[0]!, "H_REMOVE");
  if (res.code === BULK_CODE_PARAMETER) return H_PARAMETER;
  if (res.code === BULK_CODE_NOT_FOUND) return H_NOT_FOUND;
  regs[0] = res.v;
  regs[1] = res.r;
  return H_SUCCESS;
}

/** H_PROTECT: index / V / H_AVPN tests (ANDCOND ignored); PP0, PP, N, KEY replaced. */
export function qemuHProtect(env: HcallEnv, regs: Regs): number {
  const flags = regs[0]!;
  const ptexIn = regs[1]!;
  const avpn = regs[2]!;
  if (ptexIn >= env.npte) return H_PARAMETER;
  const ptex = Number(ptexIn);
  const v = env.hpt.v(ptex);
  if ((v & HPTE_V_VALID) === 0n || ((flags & H_AVPN) !== 0n && (v & ~0x7fn) !== avpn)) return H_NOT_FOUND;
  const r = (env.hpt.r(ptex) & ~HPTE_R_PROTECT_MASK) | protectBits(flags);
  env.invalidateHpte(v, r, ptex, flags, "H_PROTECT");
  env.hpt.setR(ptex, r);
  env.hpt.setV(ptex, v | HPTE_V_QEMU_DIRTY);
  return H_SUCCESS;
}

/** H_READ: raw v and r; H_READ_4 rounds the index down to a multiple of 4. */
export function qemuHRead(env: HcallEnv, regs: Regs): number {
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
    regs[2 * k] = env.hpt.v(first + k);
    regs[2 * k + 1] = env.hpt.r(first + k);
  }
  return H_SUCCESS;
}

/** H_BULK_REMOVE (`h_bulk_remove`, docs/model/hcalls.md §3.6). */
export function qemuHBulkRemove(env: HcallEnv, regs: Regs): number {
  for (let k = 0; k < 4; k++) {
    const tshIn = regs[2 * k]!;
    const tsl = regs[2 * k + 1]!;
    const type = tshIn >> BULK_TYPE_SHIFT;
    if (type === BULK_TYPE_END) break;
    if (type !== BULK_TYPE_REQUEST) return H_PARAMETER; // word left untouched
    let tsh = (tshIn & (BULK_PTEX_MASK | BULK_FLAGS_MASK)) | BULK_RESPONSE;
    if ((tsh & BULK_ANDCOND_BIT) !== 0n && (tsh & BULK_AVPN_BIT) !== 0n) {
      regs[2 * k] = tsh | (BULK_CODE_PARAMETER << BULK_CODE_SHIFT);
      return H_PARAMETER;
    }
    // flags field → H_AVPN / H_ANDCOND (QEMU: (tsh & FLAGS) >> 26)
    const flags = (tsh & BULK_FLAGS_MASK) >> 26n;
    const res = removeHpte(env, tsh & BULK_PTEX_MASK, tsl, flags, "H_BULK_REMOVE");
    tsh |= res.code << BULK_CODE_SHIFT;
    if (res.code === BULK_CODE_SUCCESS) tsh |= (res.r & (HPTE_R_R | HPTE_R_C)) << BULK_RC_SHIFT_QEMU;
    regs[2 * k] = tsh;
    if (res.code === BULK_CODE_PARAMETER) return H_PARAMETER;
  }
  return H_SUCCESS;
}
