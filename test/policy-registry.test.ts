/**
 * The policy registry (src/model/policies.ts) is the one home of a policy: no report file names a
 * policy, guest options, study configs and `hptlab scenario` take each parameter from it with its
 * schema and default, and the reports label, order and draw variants from it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  POLICIES, POLICY_PARAMS, baselinePolicy, paramValues, policiesOf, policyByName, variantLabel,
} from "../src/model/policies.js";
import { GuestOptionsSchema, resolveGuestOptions, resolveMachineConfig, ConfigError } from "../src/config.js";
import { expandStudy, resolveStudy } from "../src/study/config.js";
import { compareVariants, variantColors, variantDash, variantOf, variantShape } from "../src/report/study-data.js";
import type { PointParams } from "../src/study/results.js";

const SHAPE = { label: "1 vcpu", vcpus: 1, threadsPerVcore: 4 as const };
const study = (policies: unknown[]) => ({ name: "t", sweeps: [{ name: "s", cores: [2], shapes: [SHAPE], policies }] });

describe("the registry", () => {
  it("ids are positions, names unique, one baseline, every parameter listed once", () => {
    expect(POLICIES.map((p) => p.id)).toEqual(POLICIES.map((_, i) => i));
    expect(new Set(POLICIES.map((p) => p.name)).size).toBe(POLICIES.length);
    expect(POLICIES.filter((p) => p.family === "baseline")).toEqual([baselinePolicy()]);
    const used = POLICIES.flatMap((p) => p.params);
    expect(new Set(used)).toEqual(new Set(POLICY_PARAMS));
    expect(new Set(POLICY_PARAMS.map((q) => q.key)).size).toBe(POLICY_PARAMS.length);
    // the broken variants are never expected safe
    for (const p of POLICIES) if (p.broken) expect(p.safe).toBe(false);
  });

  it("every policy has its own color and a source", () => {
    expect(new Set(POLICIES.map((p) => p.draw.color)).size).toBe(POLICIES.length);
    for (const p of POLICIES) expect(p.source.length).toBeGreaterThan(10);
  });

  it("no file under src/report/ names a policy", () => {
    const dir = join(__dirname, "../src/report");
    const names = POLICIES.map((p) => p.name);
    const found: string[] = [];
    for (const f of readdirSync(dir)) {
      const text = readFileSync(join(dir, f), "utf8");
      for (const n of names) if (text.includes(n)) found.push(`${f}: ${n}`);
    }
    expect(found).toEqual([]);
  });
});

describe("parameters live with their policy", () => {
  it("guest options take each parameter's default from the registry", () => {
    const g = resolveGuestOptions({}, resolveMachineConfig({}));
    for (const q of POLICY_PARAMS) expect((g as unknown as Record<string, unknown>)[q.key]).toBe(q.default);
    expect(GuestOptionsSchema.safeParse({ deferredCap: 0 }).success).toBe(false);
    expect(GuestOptionsSchema.safeParse({ deferredOverflow: "nope" }).success).toBe(false);
  });

  it("a study expands a parameterised policy into every combination, the others with null", () => {
    const pts = expandStudy(resolveStudy(study([{ policy: "need-tlb-flush" }, { policy: "deferred-va", deferredCaps: [8, 2], deferredOverflow: "tlbie" }, { policy: "deferred-va" }])));
    expect(pts.map((p) => [p.params.policy, p.params.deferredCap, p.params.deferredOverflow])).toEqual([
      ["need-tlb-flush", null, null], ["deferred-va", 8, "tlbie"], ["deferred-va", 2, "tlbie"], ["deferred-va", 64, "flush"],
    ]);
    // results.json's field order: policy, then every parameter in registry order
    const keys = Object.keys(pts[0]!.params);
    expect(keys.slice(keys.indexOf("policy"), keys.indexOf("policy") + 1 + POLICY_PARAMS.length)).toEqual(["policy", ...POLICY_PARAMS.map((q) => q.key)]);
    expect(pts[1]!.run.deferredCap).toBe(8);
  });

  it("a parameter given to a policy that does not take it is refused, naming the field", () => {
    for (const q of POLICY_PARAMS) {
      const value = q.studyList ? [q.default] : q.default;
      const err = (() => { try { resolveStudy(study([{ policy: "last-vcpu", [q.studyKey]: value }])); } catch (e) { return e; } })();
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).path).toBe(`study.sweeps.0.policies.0.${q.studyKey}`);
    }
  });

  it("the CLI option of a parameter is its key in camelCase (commander's flag → property rule)", () => {
    for (const q of POLICY_PARAMS) {
      const camel = q.flag.split(" ")[0]!.replace(/^--/, "").replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      expect(camel).toBe(q.key);
    }
  });
});

describe("reports label, order and draw variants from the registry", () => {
  const params = (over: Partial<PointParams>): PointParams => ({
    sweep: "s", cores: 1, smt: 4, tlbSets: 128, tlbWays: 4, policy: "need-tlb-flush", deferredCap: null, deferredOverflow: null,
    shape: "x", vcpus: 1, threadsPerVcore: 4, guests: 2, hLocal: "honest", pageOutsPerMop: 0, migrationRate: 0, workload: "w", ops: 1, seed: 1, ...over,
  });

  it("labels name the non-default parameter values", () => {
    expect(variantLabel("deferred-va", { deferredCap: 64, deferredOverflow: "flush" })).toBe("deferred-va (cap 64)");
    expect(variantLabel("deferred-va", { deferredCap: 8, deferredOverflow: "drain" })).toBe("deferred-va (cap 8, drain overflow)");
    expect(variantOf(params({ policy: "last-vcpu" })).label).toBe("last-vcpu");
    expect(paramValues(policyByName("last-vcpu")!, { deferredCap: 8 })).toEqual({ deferredCap: null, deferredOverflow: null });
  });

  it("order: registry order, then cap, then overflow rule in registry order", () => {
    const vs = [
      params({ policy: "deferred-va", deferredCap: 64, deferredOverflow: "drain" }), params({ policy: "deferred-va", deferredCap: 64, deferredOverflow: "flush" }),
      params({ policy: "deferred-va", deferredCap: 8, deferredOverflow: "tlbie" }), params({ policy: "last-vcpu" }), params({}),
    ].map(variantOf).sort(compareVariants);
    expect(vs.map((v) => v.label)).toEqual(["need-tlb-flush", "last-vcpu", "deferred-va (cap 8, tlbie overflow)", "deferred-va (cap 64)", "deferred-va (cap 64, drain overflow)"]);
  });

  it("colors, dashes and shapes are the registry's; a swept policy's variants take its shades", () => {
    const one = [variantOf(params({})), variantOf(params({ policy: "deferred-va", deferredCap: 64, deferredOverflow: "flush" }))];
    const c1 = variantColors(one);
    expect(c1.get("need-tlb-flush")).toBe(baselinePolicy().draw.color);
    expect(c1.get("deferred-va (cap 64)")).toBe(policyByName("deferred-va")!.draw.color);
    const caps = [1, 64, 4096].map((k) => variantOf(params({ policy: "deferred-va", deferredCap: k, deferredOverflow: "flush" })));
    const shades = policyByName("deferred-va")!.draw.shades!;
    expect(caps.map((v) => variantColors(caps).get(v.key))).toEqual([shades[0], shades[Math.round((shades.length - 1) / 2)], shades[shades.length - 1]]);
    for (const p of POLICIES) {
      const v = variantOf(params({ policy: p.name, ...paramValues(p) }));
      expect([variantDash(v), variantShape(v)]).toEqual([[...p.draw.dash], p.draw.shape]);
    }
  });

  it("the families the findings compare exist: the local candidates, one full-flush policy that pins memory", () => {
    expect(policiesOf("local").length).toBeGreaterThan(0);
    expect(policiesOf("full-flush").map((p) => p.pinsMemory)).toEqual([true]);
  });
});
