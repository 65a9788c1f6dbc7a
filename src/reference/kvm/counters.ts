/**
 * The KVM model's counters (docs/kvm-model.md): events, and cycles per cost category; kept
 * machine-wide and per guest, with the same names as the engine's `kvmCounters()`.
 */
import { KVM_COUNTERS, QUARANTINE_COUNTERS, type KvmCounters } from "../../engine/index.js";
import { COST_CATEGORIES, type CostCategory } from "../../model/costs.js";

export type KvmCounterName = (typeof KVM_COUNTERS)[number] | "tlbieLockWaitCycles" | "errataTlbies" | (typeof QUARANTINE_COUNTERS)[number];

export function newKvmCounters(): KvmCounters {
  const out = {} as Record<string, unknown>;
  for (const name of KVM_COUNTERS) out[name] = 0n;
  out.tlbieLockWaitCycles = 0n;
  for (const name of QUARANTINE_COUNTERS) out[name] = 0n;
  out.errataTlbies = 0n;
  out.cycles = newCycles();
  return out as unknown as KvmCounters;
}

export function newCycles(): Record<CostCategory, bigint> {
  return Object.fromEntries(COST_CATEGORIES.map((c) => [c, 0n])) as Record<CostCategory, bigint>;
}

export function copyKvmCounters(k: KvmCounters): KvmCounters {
  return { ...k, cycles: { ...k.cycles } };
}
