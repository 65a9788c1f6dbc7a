/**
 * `hptlab scenario` and `hptlab policies`: the KVM invalidation model from the command line
 * (docs/kvm-model.md). Registered in src/cli.ts's COMMANDS.
 */
import { Option } from "commander";
import type { RegisterCommand } from "./cli.js";
import { ConfigError, resolveMachineConfig, tlbGroupCount } from "./config.js";
import { GENERATION_ROWS, MACHINE_PRESETS, type GenerationRow } from "./model/machines.js";
import { POLICIES, POLICY_NAMES, POLICY_PARAMS, type PolicyInfo, type PolicyName, type PolicyParam } from "./model/policies.js";
import { COST_PROFILES, COST_PROFILE_NAMES, COST_ROWS, DEFAULT_COST_PROFILE, FABRIC_PROFILES, costProfileByName, costUnit, type CostProfile } from "./model/costs.js";

function choice<T extends string>(flag: string, choices: readonly T[]) {
  return (text: string): T => {
    if (!(choices as readonly string[]).includes(text)) throw new ConfigError(flag, `${JSON.stringify(text)} is not one of ${choices.join(", ")}`);
    return text as T;
  };
}

const SCENARIO_HELP = `
Each scenario runs a scripted timeline on a 4-core SMT4 machine (16 MiB guests, 64 KiB host pages)
and prints every step with what the model did, then the counters and the detector's verdict.
A violation is a TLB hit that reaches a host frame the accessing guest no longer owns.

--json prints one object: {"scenario", "policy", "deferredCap", "violations", "staleHarmless",
"tlbie", "tlbiel", "flushes", "cycles", "cyclesByCategory", "violationRecords": [{"cpu", "lpid",
"guest", "owner", "ea", "vpn", "rpn", "frame", "time", "leftBy": {"cause", "cpu", "time"} | null}],
"timeline": [{"t", "cpu", "core", "what", "result"}], "finding"} (docs/formats.md §3).

Examples:
  hptlab scenario --list
  hptlab scenario stale-tlb --policy last-vcpu
  hptlab scenario bulk-remove-1vcpu --policy need-tlb-flush-3.8 --json
  hptlab scenario stale-tlb --policy last-vcpu --engine reference --json   (the reference model: same JSON)`;

/** Parse a policy parameter's option value with its schema (src/model/policies.ts). */
function paramOption(param: PolicyParam) {
  const flag = param.flag.split(" ")[0]!;
  return (text: string): number | string => {
    const value = typeof param.default === "number" ? (/^(0|[1-9][0-9]*)$/.test(text) ? Number(text) : NaN) : text;
    const r = param.schema.safeParse(value);
    if (r.success) return r.data;
    throw new ConfigError(flag, param.values ? `${JSON.stringify(text)} is not one of ${param.values.join(", ")}` : `${JSON.stringify(text)}: ${r.error.issues[0]!.message}`);
  };
}

/** The policies that take a parameter, for its --help line. */
const takers = (param: PolicyParam) => POLICIES.filter((p) => p.params.includes(param)).map((p) => p.name).join(", ");

export const registerScenario: RegisterCommand = (program, ctx) => {
  const cmd = program
    .command("scenario")
    .summary("run a scripted stale-TLB timeline under one invalidation policy")
    .argument("[name]", "scenario (see --list)")
    .addOption(new Option("--policy <id>", "invalidation policy (hptlab policies)").argParser(choice("--policy", POLICY_NAMES)).default(POLICY_NAMES[0]));
  // each policy parameter's option, from the registry (deferred-va: --deferred-cap, --deferred-overflow)
  for (const param of POLICY_PARAMS) cmd.addOption(new Option(param.flag, `${takers(param)}: ${param.summary}`).argParser(paramOption(param)).default(param.default));
  cmd
    .addOption(new Option("--engine <engine>", "wasm (the engine) or reference (the plain-TypeScript model, src/reference/kvm: same output)").argParser(choice("--engine", ["wasm", "reference"] as const)).default("wasm"))
    .option("--list", "list the scenarios")
    .option("--json", "print one JSON object (docs/formats.md §3)")
    .addHelpText("after", SCENARIO_HELP)
    .action(async (name: string | undefined, flags: { policy: PolicyName; engine: "wasm" | "reference"; list?: boolean; json?: boolean } & Record<string, unknown>) => {
      const { SCENARIOS, runScenario, scenarioMachine } = await import("./kvm/scenarios.js");
      if (flags.list || !name) {
        if (flags.json) {
          ctx.stdout.write(JSON.stringify(SCENARIOS.map((s) => ({ name: s.name, machine: scenarioMachine(s.name), summary: s.summary, source: s.source }))) + "\n");
        } else {
          const w = Math.max(...SCENARIOS.map((s) => s.name.length));
          const machine = (n: string) => { const m = scenarioMachine(n); return `${m.generation}, ${m.cores} cores × SMT${m.smt}, ${m.tlbThreadsPerGroup} threads per TLB`; };
          ctx.stdout.write(SCENARIOS.map((s) => `${s.name.padEnd(w)}  ${machine(s.name)}: ${s.summary} [${s.source}]`).join("\n") + "\n");
        }
        if (!flags.list && !name) ctx.exitCode = 2;
        return;
      }
      if (!SCENARIOS.some((s) => s.name === name)) {
        throw new ConfigError("scenario", `unknown scenario ${JSON.stringify(name)}; one of ${SCENARIOS.map((s) => s.name).join(", ")}`);
      }
      const params = Object.fromEntries(POLICY_PARAMS.map((p) => [p.key, flags[p.key]]));
      const machine = flags.engine === "reference" ? (await import("./reference/kvm/index.js")).createReferenceKvmMachine : undefined;
      const r = runScenario(name, { policy: flags.policy, ...params, ...(machine ? { machine } : {}) });
      if (flags.json) {
        ctx.stdout.write(JSON.stringify(r) + "\n");
        return;
      }
      const lines: string[] = [];
      lines.push(`scenario ${r.scenario} under ${r.policy}${r.deferredCap !== null ? ` (cap ${r.deferredCap}, overflow ${flags.deferredOverflow})` : ""}`);
      lines.push("");
      lines.push(`${"cycles".padStart(8)}  ${"cpu".padStart(3)}  step → what the model did`);
      for (const e of r.timeline) {
        lines.push(`${String(e.t).padStart(8)}  ${e.cpu === null ? "  -" : String(e.cpu).padStart(3)}  ${e.what}`);
        lines.push(`${"".padStart(15)}→ ${e.result}`);
      }
      lines.push("");
      lines.push(`violations ${r.violations}, stale but harmless hits ${r.staleHarmless}; tlbie ${r.tlbie}, tlbiel ${r.tlbiel}, flushes ${r.flushes}; ${r.cycles} cycles of overhead`);
      for (const v of r.violationRecords) {
        lines.push(`  violation: cpu ${v.cpu} LPID ${v.lpid} EA ${v.ea} → frame ${v.frame} (owner ${v.owner === 0 ? "free" : `guest #${v.owner}`}) at cycle ${v.time}` +
          (v.leftBy ? `; entry left behind by a ${v.leftBy.cause} on cpu ${v.leftBy.cpu} at cycle ${v.leftBy.time}` : ""));
      }
      lines.push(r.finding + ".");
      ctx.stdout.write(lines.join("\n") + "\n");
    });
};

export const registerPolicies: RegisterCommand = (program, ctx) => {
  program
    .command("policies")
    .summary("list the TLB invalidation policies and the cost table")
    .option("--json", "print one JSON object {policies, costs}")
    .action((flags: { json?: boolean }) => {
      if (flags.json) {
        ctx.stdout.write(JSON.stringify({ policies: POLICIES.map(policyJson), costs: COST_ROWS }) + "\n");
        return;
      }
      const w = Math.max(...POLICIES.map((p) => p.name.length));
      const gw = Math.max(...POLICIES.map((p) => p.generations.join(", ").length));
      const lines = POLICIES.flatMap((p) => [
        `${p.name.padEnd(w)}  ${p.safe ? "safe  " : p.broken ? "BROKEN" : "leaks "}  ${p.generations.join(", ").padEnd(gw)}  ${p.summary} [${p.source}]`,
        ...p.params.map((q) => `${"".padEnd(w)}          ${q.flag} (study: ${q.studyKey}; default ${q.default}): ${q.summary}`),
        ...(p.hardwareNotes ? [`${"".padEnd(w)}          hardware: ${p.hardwareNotes}`] : []),
      ]);
      lines.unshift(`${"policy".padEnd(w)}  verdict ${"generations".padEnd(gw)}  (its verdict counts only scenarios and runs on these machines: docs/model/policies.md §12)`);
      lines.push("", "cost table, power7 profile (cycles; hptlab costs shows every profile and source; override with machine.costs in a study config):");
      const cw = Math.max(...COST_ROWS.map((r) => r.key.length));
      for (const r of COST_ROWS) lines.push(`  ${r.key.padEnd(cw)}  ${String(r.cycles).padStart(5)}  ${r.note}`);
      ctx.stdout.write(lines.join("\n") + "\n");
    });
};

/** A policy as `hptlab policies --json` prints it: the registry entry with each parameter's schema as its default and values. */
function policyJson(p: PolicyInfo) {
  const { params, ...rest } = p;
  return {
    ...rest,
    params: params.map((q) => ({ key: q.key, studyKey: q.studyKey, studyList: q.studyList, flag: q.flag, summary: q.summary, default: q.default, ...(q.values ? { values: q.values } : {}) })),
  };
}

export const registerCosts: RegisterCommand = (program, ctx) => {
  program
    .command("costs")
    .summary("print a cost profile: every value, its unit and its source")
    .option("--profile <name>", `a built-in profile: ${COST_PROFILE_NAMES.join(", ")} (default ${DEFAULT_COST_PROFILE})`, choice("--profile", COST_PROFILE_NAMES))
    .option("--costs <file>", "a profile file (JSON, docs/model/costs.md §7), validated")
    .option("--all", "every built-in profile side by side (values only)")
    .option("--json", "print one JSON object {name, summary, values: {KEY: {value, unit, source}}} (--all: {profiles: [...]})")
    .addHelpText("after", `
Each value is in cycles of the profile's core, except coresPerChip (cores). Sources: a published
figure, a kernel comment or commit, or "assumed: …" with the reasoning (docs/model/costs.md §6).
A study takes "costProfile": NAME (docs/study.md); hptlab study --costs FILE runs with a file.

Examples:
  hptlab costs
  hptlab costs --profile power9 --json
  hptlab costs --costs my-power9.json`)
    .action(async (flags: { profile?: string; costs?: string; all?: boolean; json?: boolean }) => {
      if (flags.costs !== undefined && flags.profile !== undefined) throw new ConfigError("--costs", "give --profile or --costs, not both");
      // the concurrent tlbie fabric's defaults for the profile's generation (docs/model/costs.md §8)
      const fabricOf = (p: CostProfile) => FABRIC_PROFILES[p.name] ?? FABRIC_PROFILES[(p as { base?: string }).base ?? ""];
      const json = (p: CostProfile) => {
        const f = fabricOf(p);
        return {
          name: p.name, summary: p.summary, values: Object.fromEntries(COST_ROWS.map((r) => [r.key, { value: p.values[r.key].value, unit: costUnit(r.key), source: p.values[r.key].source }])),
          ...(f ? { fabric: { lockScope: f.lockScope, inFlight: { ...f.inFlight, unit: "sequences" }, senderSlowdown: { ...f.senderSlowdown, unit: "% per sender" } } } : {}),
        };
      };
      if (flags.all) {
        if (flags.json) { ctx.stdout.write(JSON.stringify({ profiles: COST_PROFILES.map(json) }) + "\n"); return; }
        const kw = Math.max(...COST_ROWS.map((r) => r.key.length));
        const lines = [`${"".padEnd(kw)}  ${COST_PROFILES.map((p) => p.name.padStart(8)).join("")}  unit`];
        for (const r of COST_ROWS) lines.push(`${r.key.padEnd(kw)}  ${COST_PROFILES.map((p) => String(p.values[r.key].value).padStart(8)).join("")}  ${costUnit(r.key)}`);
        ctx.stdout.write(lines.join("\n") + "\n");
        return;
      }
      let p: CostProfile;
      if (flags.costs !== undefined) {
        const { loadCostProfile } = await import("./cost-profile.js");
        p = loadCostProfile(flags.costs);
      } else p = costProfileByName(flags.profile ?? DEFAULT_COST_PROFILE)!;
      if (flags.json) { ctx.stdout.write(JSON.stringify(json(p)) + "\n"); return; }
      const kw = Math.max(...COST_ROWS.map((r) => r.key.length));
      const lines = [`${p.name}: ${p.summary}`, ""];
      for (const r of COST_ROWS) lines.push(`  ${r.key.padEnd(kw)}  ${String(p.values[r.key].value).padStart(6)} ${costUnit(r.key).padEnd(6)}  ${p.values[r.key].source}`);
      const f = fabricOf(p);
      if (f) {
        lines.push("", "concurrent tlbie fabric (machine.fabric {model: \"concurrent\"}; docs/model/costs.md §8):");
        lines.push(`  ${"lockScope".padEnd(kw)}  ${String(f.lockScope.value).padStart(6)} ${"".padEnd(6)}  ${f.lockScope.source}`);
        lines.push(`  ${"inFlight".padEnd(kw)}  ${String(f.inFlight.value).padStart(6)} ${"seqs".padEnd(6)}  ${f.inFlight.source}`);
        lines.push(`  ${"senderSlowdown".padEnd(kw)}  ${String(f.senderSlowdown.value).padStart(6)} ${"%".padEnd(6)}  ${f.senderSlowdown.source}`);
      }
      ctx.stdout.write(lines.join("\n") + "\n");
    });
};

export const registerMachines: RegisterCommand = (program, ctx) => {
  program
    .command("machines")
    .summary("list the machine generations and presets (machine.preset / machine.generation)")
    .option("--json", "print one JSON object {generations, presets}")
    .action((flags: { json?: boolean }) => {
      const tlbs = (g: GenerationRow) => (g.tlbThreadsSmt8 < 8 ? `SMT8 core = ${8 / g.tlbThreadsSmt8} TLBs of ${g.tlbThreadsSmt8} threads` : "one TLB per core");
      if (flags.json) {
        const presets = MACHINE_PRESETS.map((p) => {
          const c = resolveMachineConfig({ preset: p.name });
          return { ...p, smt: c.smt, tlbThreadsPerGroup: c.tlbThreadsPerGroup, tlbs: tlbGroupCount(c), tlbSets: c.tlbSets, tlbWays: c.tlbWays, tlbFlushSets: c.tlbFlushSets, lpidBits: c.lpidBits, coresPerChip: c.costs.coresPerChip, tlbieErrata: c.tlbieErrata ?? [] };
        });
        ctx.stdout.write(JSON.stringify({ generations: GENERATION_ROWS, presets }) + "\n");
        return;
      }
      const lines = ["generations (machine.generation; default power7):"];
      for (const g of GENERATION_ROWS) {
        lines.push(`  ${g.generation.padEnd(8)}  SMT${g.smt}, TLB ${g.tlbSets} sets × ${g.tlbWays} ways, full flush ${g.tlbFlushSets} tlbiel${g.tlbFlushSets === 1 ? "" : "s"}, ${tlbs(g)}, ${g.coresPerChip} cores/chip, ${g.lpidBits}-bit LPID${g.tlbieErrata.length ? `, tlbie errata ${g.tlbieErrata.join(" + ")} (docs/model/policies.md §10.3)` : ""}`);
        lines.push(`  ${"".padEnd(8)}  [${g.source}]`);
      }
      lines.push("", "presets (machine.preset; a study's \"machine\": \"NAME\"):");
      const w = Math.max(...MACHINE_PRESETS.map((p) => p.name.length));
      for (const p of MACHINE_PRESETS) {
        const c = resolveMachineConfig({ preset: p.name });
        lines.push(`  ${p.name.padEnd(w)}  ${String(p.cores).padStart(4)} cores, ${tlbGroupCount(c)} TLBs  ${p.system} [${p.source}]`);
      }
      ctx.stdout.write(lines.join("\n") + "\n");
    });
};
