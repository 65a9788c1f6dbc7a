/**
 * Study configs (docs/study.md): validated with zod, every default filled in, expanded into the
 * ordered list of sweep points. A point's seed derives from the study seed and the index of its
 * configuration (everything but the policy variant), so every policy faces the same workload and
 * any subset of points (a shard, one worker's share) reproduces exactly.
 */
import { z } from "zod";
import { ConfigError, machineCosts, resolveMachineConfig, type MachineConfig } from "../config.js";
import { GENERATIONS, PRESET_NAMES, generationRow, presetByName, type Generation } from "../model/machines.js";
import { COST_PROFILE_NAMES, COST_ROWS, DEFAULT_COSTS, DEFAULT_COST_PROFILE, FABRIC_MODELS, FABRIC_PROFILES, TLBIE_LOCK_SCOPES, costProfileByName, profileTable, type CostName, type CostProfile, type CostTable, type FabricSettings } from "../model/costs.js";
import { CostProfileFileSchema, costProfileFromJson } from "../cost-profile.js";
import { POLICY_NAMES, POLICY_PARAMS, paramValues, policyByName, type DeferredOverflow, type PolicyName, type PolicyParamValues } from "../model/policies.js";
import { DEFAULT_WORKLOAD, type PointRun, type WorkloadParams } from "../workload/synthetic.js";
import type { PointParams, HLocalMode } from "./results.js";
import { DEFAULT_TRACE_WORKLOAD, type TraceWorkloadParams } from "../workload/trace-driven.js";

const pos = z.number().int().min(1);
const ShapeSchema = z.strictObject({
  /** Label in reports, e.g. "4 vcores". */
  label: z.string().min(1),
  vcpus: z.number().int().min(1).max(4096),
  threadsPerVcore: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8)]),
});

/**
 * A policy and its parameters (src/model/policies.ts: each parameter's study key, schema and default;
 * deferred-va: `deferredCaps`, the caps to sweep, and `deferredOverflow`, one rule).
 */
const PolicyEntrySchema = z.strictObject({
  policy: z.enum(POLICY_NAMES),
  ...(Object.fromEntries(POLICY_PARAMS.map((p) => [p.studyKey, (p.studyList ? z.array(p.schema).min(1) : p.schema).optional()])) as {
    deferredCaps: z.ZodOptional<z.ZodArray<z.ZodType<number>>>;
    deferredOverflow: z.ZodOptional<z.ZodType<DeferredOverflow>>;
  }),
});

/** A study's (or a sweep's) machine: a preset's name or the machine's fields. */
const MachineSchema = z.union([z.enum(PRESET_NAMES).transform((preset) => ({ preset, costs: {} })), z.strictObject({
    preset: z.enum(PRESET_NAMES).optional(),
    generation: z.enum(GENERATIONS).optional(),
    smt: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8)]).optional(),
    tlbThreadsPerGroup: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8)]).optional(),
    tlbSets: z.number().int().min(1).max(4096).optional(),
    tlbWays: z.number().int().min(1).max(16).optional(),
    tlbFlushSets: z.number().int().min(1).max(4096).optional(),
    costs: z.strictObject(Object.fromEntries(COST_ROWS.map((r) => [r.key, z.number().int().min(0).max(0xffffffff).optional()])) as Record<keyof CostTable, z.ZodOptional<z.ZodNumber>>).default({}),
    /**
     * The tlbie fabric (docs/model/costs.md §8): absent or "exclusive", the machine-wide exclusive
     * fabric; "concurrent" takes lockScope, inFlight and senderSlowdown from the cost profile's
     * generation (its base, for a profile file) unless given here.
     */
    fabric: z.strictObject({
      model: z.enum(FABRIC_MODELS),
      lockScope: z.enum(TLBIE_LOCK_SCOPES).optional(),
      inFlight: z.number().int().min(1).max(255).optional(),
      senderSlowdown: z.number().int().min(0).max(10_000).optional(),
    }).optional(),
  })]);

/** A built-in cost profile's name, or a profile inline (docs/model/costs.md §7). */
const CostProfileSchema = z.union([z.string().refine((n) => COST_PROFILE_NAMES.includes(n), { message: `must be one of ${COST_PROFILE_NAMES.join(", ")} (or a profile object, docs/model/costs.md §7)` }), CostProfileFileSchema]);

const SweepSchema = z.strictObject({
  name: z.string().min(1),
  cores: z.array(z.number().int().min(1).max(1024)).min(1),
  shapes: z.array(ShapeSchema).min(1),
  policies: z.array(PolicyEntrySchema).min(1),
  hLocal: z.array(z.enum(["never", "honest", "lying"])).min(1).default(["honest"]),
  pageOutsPerMop: z.array(z.number().min(0).max(1e6)).min(1).default([0]),
  migrationRate: z.array(z.number().min(0).max(1)).min(1).default([0.05]),
  /** Guests on the machine: the one under study plus neighbours (which receive reclaimed frames). */
  guests: z.number().int().min(1).max(64).default(2),
  /** Guest operations per point (overrides the study's opsPerPoint; synthetic sweeps only). */
  opsPerPoint: pos.max(1e9).optional(),
  /**
   * A hypercall trace (docs/formats.md §1, plain or gzip) that drives the guest under study instead of the
   * synthetic generator; a relative path is taken from the config file's folder.
   */
  trace: z.string().min(1).optional(),
  /** Replay only the first N calls of the trace (default: all). */
  traceCalls: pos.max(1e9).optional(),
  /**
   * This sweep's machine instead of the study's (docs/study.md, "A sweep's own machine"): a preset's
   * name or the machine's fields, as the study's `machine`; nothing of the study's machine carries over.
   */
  machine: MachineSchema.optional(),
  /** This sweep's cost profile; default the study's, or the generation's of the sweep's own machine. */
  costProfile: CostProfileSchema.optional(),
});

const WorkloadSchema = z.strictObject(
  Object.fromEntries(Object.entries(DEFAULT_WORKLOAD).map(([k, v]) => [k, z.number().min(0).max(k === "processes" || k === "pagesPerProcess" || k === "burstMax" || k === "sliceOps" || k === "workCycles" ? 1e7 : k === "reclaimSample" ? 8 : k === "zipf" ? 8 : 1).default(v)])) as Record<keyof WorkloadParams, z.ZodDefault<z.ZodNumber>>,
);

const TraceWorkloadSchema = z.strictObject(
  Object.fromEntries(Object.entries(DEFAULT_TRACE_WORKLOAD).map(([k, v]) => [k, (k === "revisitsPerCall" || k === "revisitWindow" ? z.number().int().min(k === "revisitWindow" ? 1 : 0).max(1 << 16) : z.number().min(0).max(k === "locality" ? 8 : 1)).default(v)])) as Record<keyof TraceWorkloadParams, z.ZodDefault<z.ZodNumber>>,
);

export const StudySchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().default(""),
  seed: z.number().int().min(0).max(0xffffffff).default(1),
  /** Guest operations (translations + hypercalls) per point. */
  opsPerPoint: pos.max(1e9).default(100_000),
  /** A preset's name (`hptlab machines`) or the machine's fields; geometry defaults from the generation (src/model/machines.ts). */
  machine: MachineSchema.default({ costs: {} }),
  /**
   * The cost table the points run with (src/model/costs.ts, docs/model/costs.md §6): a built-in
   * profile's name, or a profile inline (what `--costs FILE` puts here); machine.costs overrides
   * single values on top.
   */
  costProfile: CostProfileSchema.default(DEFAULT_COST_PROFILE),
  /**
   * Scale every cost value one at a time by each factor, re-run the points the headline findings
   * read and say which findings flip (docs/study.md, "Sensitivity"). Absent: no sensitivity runs.
   */
  sensitivity: z.strictObject({
    factors: z.array(z.number().positive().max(1000).refine((f) => f !== 1, { message: "a factor of 1 changes nothing" })).min(1).max(16).default([0.5, 2]),
    findings: z.enum(["headline"]).default("headline"),
    /** The cost values to scale (default: every one). */
    params: z.array(z.enum(COST_ROWS.map((r) => r.key) as [CostName, ...CostName[]])).min(1).optional(),
  }).optional(),
  workload: WorkloadSchema.default(DEFAULT_WORKLOAD as never),
  /** How trace-driven sweeps derive memory accesses and H_LOCAL from the trace (src/workload/trace-driven.ts). */
  traceWorkload: TraceWorkloadSchema.default(DEFAULT_TRACE_WORKLOAD as never),
  sweeps: z.array(SweepSchema).min(1),
});
export type StudyConfigInput = z.input<typeof StudySchema>;
/** The study's machine, resolved: geometry filled from the generation; generation fields only where not POWER7's defaults (so a POWER7 study's config reads as before). */
export interface StudyMachine {
  preset?: string;
  generation?: Generation;
  smt: 1 | 2 | 4 | 8;
  tlbThreadsPerGroup?: 1 | 2 | 4 | 8;
  tlbSets: number;
  tlbWays: number;
  tlbFlushSets?: number;
  costs: Partial<CostTable>;
  /** The tlbie fabric as given (docs/model/costs.md §8); absent: the exclusive one. */
  fabric?: { model: (typeof FABRIC_MODELS)[number]; lockScope?: (typeof TLBIE_LOCK_SCOPES)[number]; inFlight?: number; senderSlowdown?: number };
}
type SweepOutput = z.output<typeof SweepSchema>;
/** A sweep, resolved: its own machine (if it has one) filled in like the study's. */
export type StudySweep = Omit<SweepOutput, "machine"> & { machine?: StudyMachine };
export type StudyConfig = Omit<z.output<typeof StudySchema>, "machine" | "sweeps"> & { machine: StudyMachine; sweeps: StudySweep[] };

/** Fill a study machine's geometry from its preset / generation (src/config.ts resolveMachineConfig). */
function resolveStudyMachine(m: z.output<typeof MachineSchema>, file?: string, where = "study.machine"): StudyMachine {
  const src = m as Partial<StudyMachine> & { costs: Partial<CostTable> };
  let c: MachineConfig;
  try {
    c = resolveMachineConfig({
      cores: 1, ...(src.preset ? { preset: src.preset as never } : {}), ...(src.generation ? { generation: src.generation } : {}),
      ...(src.smt ? { smt: src.smt } : {}), ...(src.tlbThreadsPerGroup ? { tlbThreadsPerGroup: src.tlbThreadsPerGroup } : {}),
      ...(src.tlbSets ? { tlbSets: src.tlbSets } : {}), ...(src.tlbWays ? { tlbWays: src.tlbWays } : {}),
      ...(src.tlbFlushSets ? { tlbFlushSets: src.tlbFlushSets } : {}),
    });
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${file ? `${file}: ` : ""}${where}${e.path.replace(/^machine/, "")}`, e.message.slice(e.path.length + 2));
    throw e;
  }
  const plain = c.generation === "power7" && c.tlbThreadsPerGroup === c.smt && c.tlbFlushSets === c.tlbSets;
  return {
    ...(src.preset ? { preset: src.preset } : {}),
    ...(plain ? {} : { generation: c.generation }),
    smt: c.smt,
    ...(plain ? {} : { tlbThreadsPerGroup: c.tlbThreadsPerGroup }),
    tlbSets: c.tlbSets,
    tlbWays: c.tlbWays,
    ...(plain ? {} : { tlbFlushSets: c.tlbFlushSets }),
    costs: src.costs,
    ...(src.fabric ? { fabric: src.fabric } : {}),
  };
}

/** Validate a study config; errors name the field (`study.sweeps.0.cores.2: …`) and, if given, the file. */
export function resolveStudy(input: unknown, file?: string): StudyConfig {
  const unknownPreset = (named: unknown, where: string) => {
    if (typeof named === "string" && !PRESET_NAMES.includes(named)) {
      throw new ConfigError(`${file ? `${file}: ` : ""}${where}`, `unknown preset ${JSON.stringify(named)} (\`hptlab machines\` lists ${PRESET_NAMES.join(", ")})`);
    }
  };
  unknownPreset((input as { machine?: unknown } | null)?.machine, "study.machine");
  const rawSweeps = (input as { sweeps?: unknown } | null)?.sweeps;
  if (Array.isArray(rawSweeps)) rawSweeps.forEach((sw, i) => unknownPreset((sw as { machine?: unknown } | null)?.machine, `study.sweeps.${i}.machine`));
  const r = StudySchema.safeParse(input);
  if (!r.success) {
    let issue = r.error.issues[0]!;
    // a union (machine: a preset's name or its fields): report the branch that got furthest
    while (issue.code === "invalid_union" && issue.errors.length > 0) {
      const deepest = issue.errors.map((e) => e[0]).filter((e) => e !== undefined).sort((a, b) => b.path.length - a.path.length)[0];
      if (!deepest || deepest.path.length === 0) break;
      issue = { ...deepest, path: [...issue.path, ...deepest.path] };
    }
    const path = ["study", ...issue.path.map(String)].join(".");
    let msg = issue.message;
    if (issue.code === "unrecognized_keys") msg = `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
    throw new ConfigError(file ? `${file}: ${path}` : path, msg);
  }
  const s = {
    ...r.data, machine: resolveStudyMachine(r.data.machine, file),
    sweeps: r.data.sweeps.map((sw, i) => {
      if (sw.machine === undefined) return sw;
      const machine = resolveStudyMachine(sw.machine, file, `study.sweeps.${i}.machine`);
      // no costProfile given: the sweep machine's generation's
      const costProfile = sw.costProfile ?? (machine.generation !== undefined && COST_PROFILE_NAMES.includes(machine.generation) ? machine.generation : undefined);
      return { ...sw, machine, ...(costProfile !== undefined ? { costProfile } : {}) };
    }),
  } as StudyConfig;
  if (typeof s.costProfile === "object") costProfileFromJson(s.costProfile, file ? `${file}: study.costProfile` : "study.costProfile");
  // no costProfile given: the machine's generation's (power7 unless the machine says otherwise)
  if ((input as { costProfile?: unknown }).costProfile === undefined && s.machine.generation !== undefined && COST_PROFILE_NAMES.includes(s.machine.generation)) s.costProfile = s.machine.generation;
  if ((s.workload.processes | 0) !== s.workload.processes || s.workload.processes < 1) throw new ConfigError("study.workload.processes", "must be a positive integer");
  for (const [i, sw] of s.sweeps.entries()) {
    if (typeof sw.costProfile === "object") costProfileFromJson(sw.costProfile, file ? `${file}: study.sweeps.${i}.costProfile` : `study.sweeps.${i}.costProfile`);
    const machine = sweepMachine(s, sw);
    const preset = machine.preset ? presetByName(machine.preset) : undefined;
    for (const [j, sh] of sw.shapes.entries()) {
      if (sh.threadsPerVcore > machine.smt) throw new ConfigError(`study.sweeps.${i}.shapes.${j}.threadsPerVcore`, `${sh.threadsPerVcore} does not fit a core of SMT${machine.smt}${sw.machine ? " (the sweep's machine)" : ""}`);
    }
    for (const [j, p] of sw.policies.entries()) {
      const policy = policyByName(p.policy)!;
      for (const param of POLICY_PARAMS) {
        if ((p as Record<string, unknown>)[param.studyKey] !== undefined && !policy.params.includes(param)) {
          throw new ConfigError(`study.sweeps.${i}.policies.${j}.${param.studyKey}`, `${p.policy} takes no ${param.key} (${param.summary})`);
        }
      }
    }
    for (const [j, n] of sw.cores.entries()) {
      if (preset && n > preset.cores) throw new ConfigError(`study.sweeps.${i}.cores.${j}`, `${n} cores: ${preset.name} has at most ${preset.cores}`);
    }
    if (sw.traceCalls !== undefined && sw.trace === undefined) throw new ConfigError(`study.sweeps.${i}.traceCalls`, "applies to a sweep with a trace only");
  }
  return s;
}

/** The study's cost profile (built-in or inline). */
export function studyCostProfile(s: Pick<StudyConfig, "costProfile">): CostProfile {
  return typeof s.costProfile === "string" ? costProfileByName(s.costProfile)! : costProfileFromJson(s.costProfile, "study.costProfile");
}

/** The machine a sweep runs on: its own, else the study's. */
export function sweepMachine(s: Pick<StudyConfig, "machine">, sw: Pick<StudySweep, "machine">): StudyMachine {
  return sw.machine ?? s.machine;
}

/** What a sweep runs with: its machine and cost profile (its own where it has them), as studyCosts/studyFabric read them. */
export function sweepSetting(s: Pick<StudyConfig, "costProfile" | "machine">, sw: Pick<StudySweep, "machine" | "costProfile">): Pick<StudyConfig, "costProfile" | "machine"> {
  return { machine: sweepMachine(s, sw), costProfile: sw.costProfile ?? s.costProfile };
}

/** What results.json records about costs: the profile, and every value the points ran with (machine.costs applied) and its source. */
export interface StudyCosts {
  profile: string;
  values: CostTable;
  sources: Record<CostName, string>;
  /** The concurrent tlbie fabric the points ran with (docs/model/costs.md §8); absent: the exclusive one. */
  fabric?: FabricSettings;
  /** Sweeps with a machine or cost profile of their own (docs/study.md, "A sweep's own machine"): what each ran with. */
  sweeps?: Record<string, { profile: string; values: CostTable; fabric?: FabricSettings; machine: StudyMachine }>;
}

export function studyCosts(s: Pick<StudyConfig, "costProfile" | "machine">): StudyCosts {
  const p = studyCostProfile(s);
  const values = profileTable(p);
  const sources = Object.fromEntries(COST_ROWS.map((r) => [r.key, p.values[r.key].source])) as Record<CostName, string>;
  for (const [k, v] of Object.entries(s.machine.costs)) {
    if (v === undefined) continue;
    values[k as CostName] = v;
    sources[k as CostName] = "the study config (machine.costs)";
  }
  const fabric = studyFabric(s);
  const own = ((s as { sweeps?: StudySweep[] }).sweeps ?? []).filter((sw) => sw.machine !== undefined || sw.costProfile !== undefined);
  const sweeps = Object.fromEntries(own.map((sw) => {
    const set = sweepSetting(s, sw);
    const c = sweepCostsOnly(set);
    const f = studyFabric(set);
    return [sw.name, { profile: c.profile, values: c.values, ...(f ? { fabric: f } : {}), machine: set.machine }];
  }));
  return { profile: p.name, values, sources, ...(fabric ? { fabric } : {}), ...(own.length > 0 ? { sweeps } : {}) };
}

/** The profile and values of a study-like setting (no sweeps). */
function sweepCostsOnly(s: Pick<StudyConfig, "costProfile" | "machine">): { profile: string; values: CostTable } {
  const p = studyCostProfile(s);
  const values = profileTable(p);
  for (const [k, v] of Object.entries(s.machine.costs)) if (v !== undefined) values[k as CostName] = v;
  return { profile: p.name, values };
}

/**
 * The concurrent fabric the points run with (docs/model/costs.md §8), or null for the exclusive one:
 * machine.fabric's values over the defaults of the cost profile's generation.
 */
export function studyFabric(s: Pick<StudyConfig, "costProfile" | "machine">): FabricSettings | null {
  const f = s.machine.fabric;
  if (f === undefined || f.model === "exclusive") return null;
  const gen = typeof s.costProfile === "string" ? s.costProfile : (s.costProfile as { base?: string }).base ?? DEFAULT_COST_PROFILE;
  const d = FABRIC_PROFILES[gen] ?? FABRIC_PROFILES[DEFAULT_COST_PROFILE]!;
  return {
    model: f.model,
    lockScope: f.lockScope ?? d.lockScope.value,
    inFlight: f.inFlight ?? d.inFlight.value,
    senderSlowdown: f.senderSlowdown ?? d.senderSlowdown.value,
  };
}

/** The whole cost table a point's machine runs with (machineCosts, as resolveMachineConfig builds it). */
export function runCosts(run: { generation?: Generation; costs?: Record<string, number> }): CostTable {
  return machineCosts(run.generation ?? "power7", run.costs);
}

/** The engine's cost overrides for a table: the values that differ from the default (power7) table. */
export function costOverrides(values: CostTable, generation?: Generation): Record<string, number> {
  // a machine fills coresPerChip from its generation when the run names none (src/config.ts): a profile's
  // value equal to POWER7's default must still be named on a machine of another generation
  const own = generationRow(generation ?? "power7").coresPerChip;
  return Object.fromEntries(COST_ROWS.filter((r) => values[r.key] !== DEFAULT_COSTS[r.key] || (r.key === "coresPerChip" && values[r.key] !== own)).map((r) => [r.key, values[r.key]]));
}

/** 32-bit mix of the study seed and a configuration's index (splitmix-like): one stream per configuration. */
export function pointSeed(studySeed: number, id: number): number {
  let x = (studySeed ^ Math.imul(id + 1, 0x9e3779b9)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

export interface StudyPoint {
  id: number;
  params: PointParams;
  run: PointRun;
}

/** Every point of the study, in a fixed order (sweep, cores, shape, hLocal, paging, migration, policy variant). */
export function expandStudy(s: StudyConfig): StudyPoint[] {
  const out: StudyPoint[] = [];
  let configs = 0;
  for (const sw of s.sweeps) {
    const variants: { policy: PolicyName; values: PolicyParamValues }[] = [];
    for (const p of sw.policies) {
      // every combination of the policy's parameter values, its first parameter outermost
      const policy = policyByName(p.policy)!;
      let combos: Record<string, number | string>[] = [{}];
      for (const param of policy.params) {
        const given = (p as Record<string, unknown>)[param.studyKey] as number | string | (number | string)[] | undefined;
        const values = given === undefined ? [param.default] : Array.isArray(given) ? given : [given];
        combos = combos.flatMap((c) => values.map((v) => ({ ...c, [param.key]: v })));
      }
      for (const c of combos) variants.push({ policy: p.policy, values: paramValues(policy, c) });
    }
    // the sweep's own machine and costs where it has them (docs/study.md, "A sweep's own machine")
    const set = sweepSetting(s, sw);
    const machine = set.machine;
    // a POWER9/POWER10 machine's fields (none for POWER7's defaults: its points read as before)
    const machineExtra = machine.generation === undefined ? {} : { generation: machine.generation, tlbThreadsPerGroup: machine.tlbThreadsPerGroup!, tlbFlushSets: machine.tlbFlushSets! };
    const costs = costOverrides(sweepCostsOnly(set).values, machine.generation);
    const fabric = studyFabric(set);
    const push = (cores: number, shape: (typeof sw.shapes)[number], hLocal: HLocalMode, paging: number, mig: number, seed: number) => {
      for (const v of variants) {
        const id = out.length;
        const ops = sw.trace !== undefined ? sw.traceCalls ?? 0 : sw.opsPerPoint ?? s.opsPerPoint;
        const params: PointParams = {
          sweep: sw.name, cores, smt: machine.smt, tlbSets: machine.tlbSets, tlbWays: machine.tlbWays, ...machineExtra, policy: v.policy,
          ...v.values, shape: shape.label, vcpus: shape.vcpus, threadsPerVcore: shape.threadsPerVcore,
          guests: sw.guests, hLocal, pageOutsPerMop: paging, migrationRate: mig, workload: sw.trace !== undefined ? "hcall-trace" : "kernel-churn", ops, seed,
          ...(sw.trace !== undefined ? { trace: sw.trace } : {}),
        };
        out.push({
          id, params,
          run: {
            cores, smt: machine.smt, tlbSets: machine.tlbSets, tlbWays: machine.tlbWays, ...machineExtra, policy: v.policy, ...v.values,
            vcpus: shape.vcpus, threadsPerVcore: shape.threadsPerVcore, guests: sw.guests, hLocal,
            pageOutsPerMop: paging, migrationRate: mig, ops, seed, workload: s.workload as WorkloadParams,
            ...(Object.keys(costs).length ? { costs } : {}),
            ...(fabric ? { fabric } : {}),
            ...(sw.trace !== undefined ? { trace: { file: sw.trace, maxCalls: sw.traceCalls ?? null }, traceWorkload: s.traceWorkload as TraceWorkloadParams } : {}),
          },
        });
      }
    };
    if (sw.trace === undefined) {
      for (const cores of sw.cores) for (const shape of sw.shapes) for (const hLocal of sw.hLocal) for (const paging of sw.pageOutsPerMop) for (const mig of sw.migrationRate) {
        // every policy variant of one configuration replays the same workload (common random numbers):
        // the generator never looks at the engine's results, so their op streams are identical
        push(cores, shape, hLocal, paging, mig, pointSeed(s.seed, configs++));
      }
    } else {
      // a trace sweep also shares the seed across H_LOCAL modes: the same accesses and schedule, so
      // "honest" and "lying" differ from "never" only in the flags (points: cores, shape, paging,
      // migration, then hLocal and policy variant)
      for (const cores of sw.cores) for (const shape of sw.shapes) for (const paging of sw.pageOutsPerMop) for (const mig of sw.migrationRate) {
        const seed = pointSeed(s.seed, configs++);
        for (const hLocal of sw.hLocal) push(cores, shape, hLocal, paging, mig, seed);
      }
    }
  }
  return out;
}

/** `K/N` → the points whose id % N == K − 1. */
export function parseShard(text: string): { k: number; n: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const k = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || !(n >= 1) || !(k >= 1) || k > n || n > 1e6) throw new ConfigError("--shard", `${JSON.stringify(text)} is not K/N with 1 ≤ K ≤ N`);
  return { k, n };
}
