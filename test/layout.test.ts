import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import * as L from "../src/engine/layout.js";
import { resolveMachineConfig } from "../src/config.js";
import { HPTE_R_R, HPTE_R_C } from "../src/hpte.js";

/** Every `export const NAME: type = value;` of assembly/layout.ts. */
function assemblyConstants(): Map<string, bigint> {
  const src = readFileSync(new URL("../assembly/layout.ts", import.meta.url), "utf8");
  const out = new Map<string, bigint>();
  for (const m of src.matchAll(/export const (\w+): \w+ = (0x[0-9a-fA-F]+|\d+);/g)) out.set(m[1]!, BigInt(m[2]!));
  return out;
}

const hostValue: Record<string, bigint> = {
  LAYOUT_MAGIC: BigInt(L.LAYOUT_MAGIC), LAYOUT_VERSION: BigInt(L.LAYOUT_VERSION), HEADER_BYTES: BigInt(L.HEADER_BYTES),
  STATS_BYTES: BigInt(L.STATS_BYTES), GUEST_BYTES: BigInt(L.GUEST_BYTES), OP_BYTES: BigInt(L.OP_BYTES),
  TLBE_BYTES: BigInt(L.TLBE_BYTES), NO_FRAME: BigInt(L.NO_FRAME), FRAME_HOST: BigInt(L.FRAME_HOST),
  STAT_HCALLS: BigInt(L.STAT_HCALLS), RET_BUCKETS: BigInt(L.RET_BUCKET_COUNT),
  GF_LIVE: BigInt(L.GF_LIVE), GF_QEMU: BigInt(L.GF_QEMU), OPF_PROBLEM_STATE: BigInt(L.OPF_PROBLEM_STATE),
  XLATE_HIT: L.XLATE.HIT, XLATE_MISS: L.XLATE.MISS, XLATE_FAULT: L.XLATE.FAULT, XLATE_BAD_SLB: L.XLATE.BAD_SLB,
  OP_REJECTED: L.OP_REJECTED,
};
for (const [k, v] of Object.entries(L.HDR)) hostValue[`HDR_${k}`] = BigInt(v);
for (const [k, v] of Object.entries(L.G)) hostValue[`G_${k}`] = BigInt(v);
for (const [k, v] of Object.entries(L.OP)) hostValue[`OP_${k}`] = BigInt(v);
for (const [k, v] of Object.entries(L.K)) hostValue[`K_${k}`] = BigInt(v);
for (const [k, v] of Object.entries(L.CC)) hostValue[`CC_${k}`] = BigInt(v);
for (const [k, v] of Object.entries(L.REC)) hostValue[k] = BigInt(v);
for (const [k, v] of Object.entries(L.STALE)) hostValue[`STALE_${k}`] = BigInt(v);
for (const [k, v] of Object.entries(L.DEFER_OVF)) hostValue[`DEFER_OVF_${k}`] = BigInt(v);
for (const [k, v] of Object.entries(L.LZ)) hostValue[`LZ_${k}`] = BigInt(v);
for (const [k, v] of Object.entries(L.LAZY)) hostValue[`LAZY_${k}`] = BigInt(v);
for (const [k, v] of Object.entries(L.KVM_ERR)) hostValue[`KVM_${k}`] = v;
for (const [k, v] of Object.entries(L.TLBE)) hostValue[`TLBE_${k}`] = v;
for (const [k, v] of Object.entries(L.PROV)) hostValue[`PROV_${k}`] = v;
for (const [k, v] of Object.entries(L.RMAP)) hostValue[`RMAP_${k}`] = v;
for (const [k, v] of Object.entries(L.FABRIC_MODEL_CODE)) hostValue[`FABRIC_${k.toUpperCase()}`] = BigInt(v);
for (const [k, v] of Object.entries(L.ERRATUM_CODE)) hostValue[`ERRATUM_${k.toUpperCase()}`] = BigInt(v);
for (const [k, v] of Object.entries(L.LOCK_SCOPE_CODE)) hostValue[`LOCK_${k.toUpperCase()}`] = BigInt(v);
Object.assign(hostValue, {
  COST_COUNT: BigInt(L.COST_COUNT), FABRIC_SLOTS: BigInt(L.FABRIC_SLOTS), FABRIC_SLOT_SHIFT: BigInt(L.FABRIC_SLOT_SHIFT),
  CC_COUNT: BigInt(L.CC_COUNT), NO_CPU: BigInt(L.NO_CPU), STAT_CYCLES: BigInt(L.STAT_CYCLES), BATCH_MAX: BigInt(L.BATCH_MAX),
});
for (const [k, v] of Object.entries(L.STAT)) hostValue[`STAT_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`] = BigInt(v);

describe("memory layout: assembly/layout.ts and its host mirror agree", () => {
  const asm = assemblyConstants();
  test("the parser found the constants", () => {
    expect(asm.size).toBeGreaterThan(60);
  });
  test.each([...assemblyConstants().keys()])("%s", (name) => {
    expect(hostValue[name], `${name} has no host mirror`).toBeDefined();
    expect(hostValue[name]).toBe(asm.get(name));
  });
  test("every host constant exists in the assembly", () => {
    for (const name of Object.keys(hostValue)) expect(asm.has(name), name).toBe(true);
  });
});

describe("bit layouts: the named fields are the drawing's", () => {
  const disjoint = (fields: bigint[]) => {
    let seen = 0n;
    for (const f of fields) { expect(f & seen).toBe(0n); seen |= f; }
    return seen;
  };
  test("TLB entry w0: VALID 63, psize 58–57, B 56, vpn4k 55–0, bits 62–59 unused", () => {
    const { TLBE } = L;
    expect(TLBE.VALID).toBe(1n << TLBE.VALID_SHIFT);
    expect(disjoint([TLBE.VALID, TLBE.PSIZE_MASK << TLBE.PSIZE_SHIFT, 1n << TLBE.B_SHIFT, TLBE.VPN])).toBe(0x8fffffffffffffffn);
    expect(TLBE.VPN).toBe((1n << 56n) - 1n);
  });
  test("TLB entry w1: rank 63–60, lpid 59–48 (12 bits), STALE 47, rpn 43–0", () => {
    const { TLBE } = L;
    expect(TLBE.RANK >> TLBE.RANK_SHIFT).toBe(0xfn);
    expect(TLBE.LPID >> TLBE.LPID_SHIFT).toBe(0xfffn);
    expect(TLBE.STALE).toBe(1n << 47n);
    expect(disjoint([TLBE.RANK, TLBE.LPID, TLBE.STALE, TLBE.RPN])).toBe(0xffff8fffffffffffn);
  });
  test("provenance: cause 63–56, cpu 55–40, time 39–0", () => {
    const { PROV } = L;
    expect(disjoint([0xffn << PROV.CAUSE_SHIFT, PROV.CPU_MASK << PROV.CPU_SHIFT, PROV.TIME])).toBe(0xffffffffffffffffn);
  });
  test("rmap word: REFERENCED and CHANGED are the HPTE's R and C shifted by RC_SHIFT; PRESENT 32; index 31–0", () => {
    const { RMAP } = L;
    expect([RMAP.REFERENCED, RMAP.CHANGED]).toEqual([HPTE_R_R << RMAP.RC_SHIFT, HPTE_R_C << RMAP.RC_SHIFT]);
    expect(disjoint([RMAP.REFERENCED, RMAP.CHANGED, RMAP.PRESENT, RMAP.INDEX])).toBe(0x00000181ffffffffn);
    expect(RMAP.PRESENT).toBe(1n << 32n);
  });
});

describe("planLayout", () => {
  test("regions are disjoint, 64-byte aligned and in the documented order", () => {
    const plan = L.planLayout(resolveMachineConfig({ cores: 1024, smt: 4 }), 4096);
    expect(plan.regions.map((r) => r.name)).toEqual(["header", "stats", "guests", "guestStats", "ops", "lpidGuest", "lpidMask", "lpidCount", "frameOwner", "frameUsed", "tlb", "prov", "tlbFp", "cpuTab", "coreTab", "viol", "fabricCal"]);
    for (let i = 1; i < plan.regions.length; i++) {
      const a = plan.regions[i - 1]!, b = plan.regions[i]!;
      expect(b.offset % 64).toBe(0);
      expect(b.offset).toBeGreaterThanOrEqual(a.offset + a.bytes);
    }
    // 128 sets × 1024 cores × 4 ways × 16 B; LPID counts 1024 LPIDs × 1024 cores × 4 B
    expect(plan.regions.find((r) => r.name === "tlb")!.bytes).toBe(8 * 2 ** 20);
    expect(plan.regions.find((r) => r.name === "lpidCount")!.bytes).toBe(4 * 2 ** 20);
    expect(plan.maxGuests).toBe(1022);
    expect(plan.arena % 4096).toBe(0);
    // the engine finds the TLB fingerprints right after the provenance words
    const prov = plan.regions.find((r) => r.name === "prov")!;
    expect(plan.regions.find((r) => r.name === "tlbFp")!.offset).toBe(Math.ceil((prov.offset + prov.bytes) / 64) * 64);
  });
  test("a 1024-core SMT4 machine with 64 guests at HPT order 24 fits in WASM32 with room to spare", () => {
    const plan = L.planLayout(resolveMachineConfig({ cores: 1024, smt: 4, hostMemoryBytes: 2 ** 36 }), 65536);
    const perGuest = L.guestBytes(24, 2 ** 30 / 2 ** 16, true);
    const total = plan.arena + 64 * perGuest;
    expect(total).toBeLessThan(0.6 * L.MAX_BYTES);
  });
});
