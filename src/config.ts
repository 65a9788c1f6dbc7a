/**
 * Machine and guest configuration: validated once, at the edge (zod), with errors that name the field.
 * The engine and the reference model both take the *resolved* forms below and trust them.
 */
import { z } from "zod";
import type { Semantics } from "./types.js";
import { COST_ROWS, DEFAULT_COSTS, DEFAULT_FABRIC, FABRIC_MODELS, TLBIE_LOCK_SCOPES, type CostTable } from "./model/costs.js";
import { GENERATIONS, PRESET_NAMES, TLBIE_ERRATA, generationRow, presetByName, type Generation, type TlbieErratum } from "./model/machines.js";
import { POLICY_NAMES, POLICY_PARAMS, type DeferredOverflow, type PolicyName, type PolicyParamKey } from "./model/policies.js";

/** A configuration value was refused. `path` names the field, e.g. `machine.smt`. */
export class ConfigError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = "ConfigError";
    this.path = path;
  }
}

const pow2 = (max: number) =>
  z.number().int().min(1).max(max).refine((n) => (n & (n - 1)) === 0, { message: "must be a power of two" });

export const MachineConfigSchema = z.strictObject({
  /** A named system (src/model/machines.ts, `hptlab machines`): its generation and core count. */
  preset: z.enum(PRESET_NAMES).optional(),
  /** The processor generation (src/model/machines.ts) whose defaults the fields below take; default power7. */
  generation: z.enum(GENERATIONS).optional(),
  /**
   * Physical cores (POWER7 Power 795: 256); default the preset's, else 4. At most 2048, and at most
   * MAX_TLBS TLBs in all (2048 SMT4 cores, or 1024 SMT8 cores of two TLBs); studies and the CLI take up to 1024.
   */
  cores: z.number().int().min(1).max(2048).optional(),
  /** Threads per core; default the generation's (POWER7: 4). */
  smt: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8)]).optional(),
  /** Threads that share one TLB (docs/model/tlb.md §7.2); default 4 on SMT8 POWER9/POWER10, else the whole core. */
  tlbThreadsPerGroup: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8)]).optional(),
  /** TLB congruence classes (POWER7: 128, docs/model/tlb.md §1). */
  tlbSets: pow2(4096).optional(),
  /** TLB ways (commonly quoted 4 for POWER7, docs/model/tlb.md §1 [U]). */
  tlbWays: z.number().int().min(1).max(16).optional(),
  /** tlbiels one full LPID flush takes (the kernel's *_TLB_SETS; POWER10: 1); default the generation's, else tlbSets. */
  tlbFlushSets: z.number().int().min(1).max(4096).optional(),
  /**
   * The POWER9 tlbie errata the machine has (docs/model/policies.md §10.3): "stq", "erat"; default the
   * generation's (power9: both; a Nimbus DD2.3 part has ["erat"]). Policies that apply the kernel's
   * workarounds add one ptesync; tlbie per erratum to every global sequence.
   */
  tlbieErrata: z.array(z.enum(TLBIE_ERRATA)).max(2).refine((a) => new Set(a).size === a.length, { message: "names an erratum twice" }).optional(),
  replacement: z.enum(["lru", "random"]).default("lru"),
  /** Seed of the random-replacement generator (and of nothing else in the engine). */
  seed: z.number().int().min(0).max(0xffffffff).default(1),
  /** LPID width: 10 on POWER7, 12 on POWER8 and later (docs/model/kvm.md §1.3). */
  lpidBits: z.union([z.literal(10), z.literal(12)]).optional(),
  /** log2 of the host kernel's PAGE_SIZE: 12, 16 (ppc64 distributions) or 24. */
  hostPageShift: z.union([z.literal(12), z.literal(16), z.literal(24)]).default(16),
  /** Host memory that backs guest RAM. */
  hostMemoryBytes: z.number().int().min(1 << 24).max(2 ** 44).default(2 ** 32),
  /** How many violations the detector records in full (all are counted). */
  violationRecords: z.number().int().min(1).max(4096).default(64),
  /** Cycle cost overrides (src/model/costs.ts; docs/model/costs.md §3); coresPerChip defaults to the generation's. */
  costs: z.strictObject(Object.fromEntries(COST_ROWS.map((r) => [r.key, z.number().int().min(0).max(0xffffffff).optional()])) as Record<keyof CostTable, z.ZodOptional<z.ZodNumber>>).default({}),
  /**
   * The tlbie fabric (docs/model/costs.md §8): "exclusive" (one machine-wide resource, §4) or
   * "concurrent" (a tlbie lock of the given scope, then up to inFlight sequences sharing the fabric,
   * each senderSlowdown % longer per other sequence in flight with it).
   */
  fabric: z.strictObject({
    model: z.enum(FABRIC_MODELS).default(DEFAULT_FABRIC.model),
    lockScope: z.enum(TLBIE_LOCK_SCOPES).default(DEFAULT_FABRIC.lockScope),
    inFlight: z.number().int().min(1).max(255).default(DEFAULT_FABRIC.inFlight),
    senderSlowdown: z.number().int().min(0).max(10_000).default(DEFAULT_FABRIC.senderSlowdown),
  }).default({ ...DEFAULT_FABRIC }),
});
export type MachineConfigInput = z.input<typeof MachineConfigSchema>;
export interface MachineConfig {
  /** The preset named, if any. */
  preset?: string;
  generation: Generation;
  cores: number;
  smt: 1 | 2 | 4 | 8;
  tlbThreadsPerGroup: 1 | 2 | 4 | 8;
  tlbSets: number;
  tlbWays: number;
  tlbFlushSets: number;
  /** The POWER9 tlbie errata (absent: none). */
  tlbieErrata?: TlbieErratum[];
  replacement: "lru" | "random";
  seed: number;
  lpidBits: 10 | 12;
  hostPageShift: 12 | 16 | 24;
  hostMemoryBytes: number;
  violationRecords: number;
  costs: CostTable;
  /** The tlbie fabric (docs/model/costs.md §8). */
  fabric: { model: (typeof FABRIC_MODELS)[number]; lockScope: (typeof TLBIE_LOCK_SCOPES)[number]; inFlight: number; senderSlowdown: number };
}

/** The most TLBs a machine may have (assembly/tlb.ts sizes its tlbie candidate list by it). */
export const MAX_TLBS = 2048;

/** TLBs on a machine: one per group of tlbThreadsPerGroup threads (docs/model/tlb.md §7.2). */
export function tlbGroupCount(c: Pick<MachineConfig, "cores" | "smt" | "tlbThreadsPerGroup">): number {
  return c.cores * (c.smt / c.tlbThreadsPerGroup);
}

export const GuestOptionsSchema = z.strictObject({
  semantics: z.enum(["kvm-hv", "qemu"]).default("kvm-hv"),
  /** Guest RAM; must be a multiple of the host page size. */
  ramBytes: z.number().int().min(1).max(2 ** 40).default(256 * 2 ** 20),
  /** log2 of the HPT size in bytes; default: QEMU's rule from ramBytes (docs/model/translation.md §1.3). */
  hptOrder: z.number().int().min(18).max(46).optional(),
  /** QEMU's cap-hpt-max-page-size (qemu semantics only). */
  hptMaxPageShift: z.union([z.literal(12), z.literal(16), z.literal(24)]).default(24),
  vcpus: z.number().int().min(1).max(8192).default(1),
  /** vcpus per vcore (vcore = vcpu / threadsPerVcore); default: the machine's SMT (threads_per_core). */
  threadsPerVcore: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8)]).optional(),
  /** TLB invalidation policy (src/model/policies.ts). */
  policy: z.enum(POLICY_NAMES).default(POLICY_NAMES[0]),
  /** The policies' parameters (deferred-va: deferredCap, deferredOverflow), schema and default from src/model/policies.ts. */
  ...(Object.fromEntries(POLICY_PARAMS.map((p) => [p.key, p.schema.default(p.default as never)])) as {
    deferredCap: z.ZodDefault<z.ZodType<number>>;
    deferredOverflow: z.ZodDefault<z.ZodType<DeferredOverflow>>;
  } satisfies Record<PolicyParamKey, unknown>),
});
export type GuestOptionsInput = z.input<typeof GuestOptionsSchema>;
export interface GuestOptions {
  semantics: Semantics;
  ramBytes: number;
  hptOrder: number;
  hptMaxPageShift: number;
  vcpus: number;
  threadsPerVcore: number;
  policy: PolicyName;
  deferredCap: number;
  deferredOverflow: DeferredOverflow;
}

function fail(prefix: string, err: z.ZodError): never {
  const issue = err.issues[0]!;
  const path = [prefix, ...issue.path.map(String)].join(".");
  let msg = issue.message;
  if (issue.code === "unrecognized_keys") msg = `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
  throw new ConfigError(path, msg);
}

/** The cost table of a machine of `generation`: the defaults, the generation's coresPerChip, then `overrides` (undefined values skipped). */
export function machineCosts(generation: Generation, overrides: Partial<Record<keyof CostTable, number | undefined>> = {}): CostTable {
  const costs = { ...DEFAULT_COSTS, coresPerChip: generationRow(generation).coresPerChip };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) costs[k as keyof CostTable] = v;
  return costs;
}

export function resolveMachineConfig(input: MachineConfigInput = {}): MachineConfig {
  const r = MachineConfigSchema.safeParse(input);
  if (!r.success) fail("machine", r.error);
  const d = r.data;
  const preset = d.preset === undefined ? undefined : presetByName(d.preset)!;
  if (preset && d.generation !== undefined && d.generation !== preset.generation) {
    throw new ConfigError("machine.generation", `${d.generation} contradicts preset ${preset.name} (${preset.generation})`);
  }
  const generation: Generation = preset?.generation ?? d.generation ?? "power7";
  const row = generationRow(generation);
  const smt = d.smt ?? row.smt;
  const cores = d.cores ?? preset?.cores ?? 4;
  if (preset && cores > preset.cores) throw new ConfigError("machine.cores", `${cores} cores: ${preset.name} has at most ${preset.cores}`);
  // the whole core shares one TLB unless the generation splits an SMT8 core (docs/model/tlb.md §7.2)
  const tlbThreadsPerGroup = d.tlbThreadsPerGroup ?? (smt === 8 ? row.tlbThreadsSmt8 : smt);
  if (tlbThreadsPerGroup > smt) throw new ConfigError("machine.tlbThreadsPerGroup", `${tlbThreadsPerGroup} threads per TLB do not fit a core of SMT${smt}`);
  if (cores * (smt / tlbThreadsPerGroup) > MAX_TLBS) throw new ConfigError("machine.tlbThreadsPerGroup", `${cores * (smt / tlbThreadsPerGroup)} TLBs: at most ${MAX_TLBS} (2048 cores of one TLB, 1024 SMT8 cores of 2)`);
  const tlbSets = d.tlbSets ?? row.tlbSets;
  const tlbFlushSets = d.tlbFlushSets ?? (d.tlbSets === undefined ? row.tlbFlushSets : tlbSets);
  const hostPage = 2 ** d.hostPageShift;
  if (d.hostMemoryBytes % hostPage !== 0) throw new ConfigError("machine.hostMemoryBytes", `must be a multiple of the host page size (${hostPage})`);
  const costs = machineCosts(generation, d.costs);
  if (costs.coresPerChip === 0) throw new ConfigError("machine.costs.coresPerChip", "must be at least 1");
  const tlbieErrata = TLBIE_ERRATA.filter((e) => (d.tlbieErrata ?? row.tlbieErrata).includes(e));
  return {
    ...(preset ? { preset: preset.name } : {}),
    generation, cores, smt, tlbThreadsPerGroup, tlbSets, tlbWays: d.tlbWays ?? row.tlbWays, tlbFlushSets,
    ...(tlbieErrata.length > 0 ? { tlbieErrata } : {}),
    replacement: d.replacement, seed: d.seed, lpidBits: d.lpidBits ?? row.lpidBits, hostPageShift: d.hostPageShift,
    hostMemoryBytes: d.hostMemoryBytes, violationRecords: d.violationRecords, costs, fabric: d.fabric,
  };
}

/** QEMU 7.2: max(18, log2(pow2ceil(ram)) − 7), at most 46 (docs/model/translation.md §1.3, docs/model/hcalls.md §3). */
export function qemuHptOrder(ramBytes: number): number {
  const log2ceil = Math.ceil(Math.log2(ramBytes));
  return Math.min(46, Math.max(18, log2ceil - 7));
}

export function resolveGuestOptions(input: GuestOptionsInput, machine: MachineConfig): GuestOptions {
  const r = GuestOptionsSchema.safeParse(input);
  if (!r.success) fail("guest", r.error);
  const g = r.data;
  const hostPage = 2 ** machine.hostPageShift;
  const threadsPerVcore = g.threadsPerVcore ?? machine.smt;
  if (threadsPerVcore > machine.smt) throw new ConfigError("guest.threadsPerVcore", `${threadsPerVcore} vcpus per vcore do not fit a core of SMT${machine.smt}`);
  if (g.ramBytes % hostPage !== 0) throw new ConfigError("guest.ramBytes", `${g.ramBytes} is not a multiple of the host page size (${hostPage})`);
  return {
    semantics: g.semantics,
    ramBytes: g.ramBytes,
    hptOrder: g.hptOrder ?? qemuHptOrder(g.ramBytes),
    hptMaxPageShift: g.hptMaxPageShift,
    vcpus: g.vcpus,
    threadsPerVcore,
    policy: g.policy,
    // the policies' parameters (src/model/policies.ts), each with its default
    ...(Object.fromEntries(POLICY_PARAMS.map((p) => [p.key, g[p.key as PolicyParamKey]])) as Pick<GuestOptions, PolicyParamKey>),
  };
}
