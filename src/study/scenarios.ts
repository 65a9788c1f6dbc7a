/**
 * The scenario catalogue (src/kvm/scenarios.ts) as part of a study: every scripted timeline under
 * every policy variant the study runs, and under every other registered policy (the broken one
 * too) with its default parameters. The outcomes go into results.json (`scenarios`) and, with the
 * random runs, decide each policy's safety verdict in the reports (src/report/safety.ts).
 *
 * Each timeline runs on its own small machine (4 POWER7 cores, or the machine it declares) in a few dozen steps (about 5 ms): the whole
 * catalogue costs well under a second, and being deterministic it is the same in every shard —
 * `mergeResults` recomputes it from the config, so shards merged equal one run byte for byte.
 */
import { SCENARIOS, runScenario, scenarioMachine } from "../kvm/scenarios.js";
import { POLICIES, POLICY_PARAMS, takesParam, type DeferredOverflow, type PolicyName } from "../model/policies.js";
import { expandStudy, type StudyConfig } from "./config.js";
import type { ScenarioEvidence, ScenarioOutcome } from "./results.js";

/** A parameter's default (the registry's, as runScenario uses), for a policy not in the study. */
const paramDefault = (key: string) => POLICY_PARAMS.find((p) => p.key === key)!.default;
const DEFAULT_CAP = paramDefault("deferredCap") as number;
const DEFAULT_OVERFLOW = paramDefault("deferredOverflow") as DeferredOverflow;

/** The policy variants a study's scenarios run under: the study's, in point order, then the registry's others. */
export function scenarioVariants(config: StudyConfig): { policy: PolicyName; deferredCap: number | null; deferredOverflow: string | null; inStudy: boolean }[] {
  const seen = new Set<string>();
  const out: ReturnType<typeof scenarioVariants> = [];
  const add = (policy: PolicyName, deferredCap: number | null, deferredOverflow: string | null, inStudy: boolean) => {
    const key = `${policy}|${deferredCap}|${deferredOverflow}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ policy, deferredCap, deferredOverflow, inStudy });
  };
  for (const p of expandStudy(config)) add(p.params.policy, p.params.deferredCap, p.params.deferredOverflow, true);
  const present = new Set(out.map((v) => v.policy));
  for (const p of POLICIES) {
    const name = p.name as PolicyName;
    if (!present.has(name)) add(name, takesParam(p, "deferredCap") ? DEFAULT_CAP : null, takesParam(p, "deferredOverflow") ? DEFAULT_OVERFLOW : null, false);
  }
  return out;
}

/** Run the catalogue for a study (same config → same evidence, byte for byte). */
export function scenarioEvidence(config: StudyConfig): ScenarioEvidence {
  const outcomes: ScenarioOutcome[] = [];
  for (const v of scenarioVariants(config)) {
    for (const def of SCENARIOS) {
      const r = runScenario(def.name, {
        policy: v.policy,
        ...(v.deferredCap !== null ? { deferredCap: v.deferredCap } : {}),
        ...(v.deferredOverflow !== null ? { deferredOverflow: v.deferredOverflow as DeferredOverflow } : {}),
      });
      outcomes.push({
        scenario: def.name, policy: v.policy, deferredCap: v.deferredCap, deferredOverflow: v.deferredOverflow, inStudy: v.inStudy,
        leaked: r.violations > 0, violations: r.violations, staleHarmless: r.staleHarmless,
      });
    }
  }
  return { catalogue: SCENARIOS.map((d) => ({ name: d.name, summary: d.summary, generation: scenarioMachine(d.name).generation })), outcomes };
}
