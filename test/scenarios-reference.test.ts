// Every scenario under every policy (deferred-va: caps 1, 2, 64 × every overflow rule) gives the same
// result on the reference model of the KVM layer (src/reference/kvm/) as on the engine — the same
// JSON `hptlab scenario --json` prints: verdicts, counters, cycles by category, violation records
// with their provenance, the whole timeline and its clocks. And the CLI's --engine reference prints
// the same bytes as --engine wasm.
import { describe, expect, test } from "vitest";
import { SCENARIOS, runScenario } from "../src/kvm/scenarios.js";
import { POLICIES, policyByName, type PolicyName } from "../src/index.js";
import { createReferenceKvmMachine, REFERENCE_POLICIES, referencePolicy } from "../src/reference/index.js";
import { cli } from "./cli-run.js";

type Case = { policy: PolicyName; deferredCap?: number; deferredOverflow?: "flush" | "tlbie" | "drain" };
const CASES: Case[] = POLICIES.flatMap((p): Case[] => p.params.some((x) => x.key === "deferredCap")
  ? [1, 2, 64].flatMap((deferredCap) => (["flush", "tlbie", "drain"] as const).map((deferredOverflow) => ({ policy: p.name as PolicyName, deferredCap, deferredOverflow })))
  : [{ policy: p.name as PolicyName }]);

describe("scenarios: reference = engine", () => {
  for (const s of SCENARIOS) {
    test.each(CASES)(`${s.name} under %o`, (c) => {
      const engine = runScenario(s.name, c);
      const reference = runScenario(s.name, { ...c, machine: createReferenceKvmMachine });
      expect(reference).toEqual(engine);
    });
  }

  // need-tlb-flush-no-reset (broken on purpose: no set-all at HPT reset) runs once the engine has it.
  test.runIf(policyByName("need-tlb-flush-no-reset") !== undefined)("need-tlb-flush-no-reset: every scenario agrees, and hpt-reset leaks", () => {
    for (const s of SCENARIOS) {
      const c = { policy: "need-tlb-flush-no-reset" as PolicyName };
      expect(runScenario(s.name, { ...c, machine: createReferenceKvmMachine })).toEqual(runScenario(s.name, c));
    }
    expect(runScenario("hpt-reset", { policy: "need-tlb-flush-no-reset" as PolicyName, machine: createReferenceKvmMachine }).violations).toBeGreaterThan(0);
  });
});

describe("the reference's own policy table", () => {
  test("one file per policy, at the engine's id, under the registry's name (need-tlb-flush-no-reset: id 6)", () => {
    expect(REFERENCE_POLICIES.map((p, i) => [p.id, i])).toEqual(REFERENCE_POLICIES.map((_, i) => [i, i]));
    for (const p of POLICIES) expect([p.name, referencePolicy(p.name)?.id]).toEqual([p.name, p.id]);
    expect(referencePolicy("need-tlb-flush-no-reset")?.id).toBe(6);
    expect(REFERENCE_POLICIES.filter((p) => p.pinned).map((p) => p.name)).toEqual(["flush-always"]);
  });

  test("need-tlb-flush-no-reset leaks in hpt-reset on the reference (and, outside its generations, in smt8-split-tlb); need-tlb-flush does not", () => {
    const verdicts = SCENARIOS.map((s) => runScenario(s.name, { policy: "need-tlb-flush-no-reset" as PolicyName, machine: createReferenceKvmMachine }).violations);
    expect(Object.fromEntries(SCENARIOS.map((s, i) => [s.name, verdicts[i]! > 0]))).toEqual({
      "stale-tlb": false, "lpid-reuse": false, "hpt-reset": true, "vcore-migration": false, "bulk-remove-1vcpu": false,
      "lazy-reuse-early-epoch": false, "lazy-core-skipped": false, "flush-pending-reuse": false,
      "smt8-split-tlb": true, // per-core bookkeeping on a split SMT8 core, as need-tlb-flush
      "cpu-offline-missed-ipi": false, "need-flush-cleared-by-wrong-thread": false, "batch-reuse-before-flush": false,
    });
    expect(runScenario("hpt-reset", { policy: "need-tlb-flush", machine: createReferenceKvmMachine }).violations).toBe(0);
  });
});

describe("lazy-reuse (docs/model/policies.md §9) on the reference", () => {
  test("lazy-reuse-early leaks in lazy-reuse-early-epoch, lazy-reuse-running in lazy-core-skipped, lazy-free-first in flush-pending-reuse; lazy-reuse in none; each equal to the engine byte for byte", () => {
    const verdict = (name: string, policy: string) => {
      const ref = runScenario(name, { policy: policy as PolicyName, machine: createReferenceKvmMachine });
      expect(JSON.stringify(ref)).toBe(JSON.stringify(runScenario(name, { policy: policy as PolicyName })));
      return ref.violations;
    };
    expect(["lazy-reuse", "lazy-reuse-early", "lazy-reuse-running", "lazy-free-first"].map((p) => [p, verdict("lazy-reuse-early-epoch", p), verdict("lazy-core-skipped", p), verdict("flush-pending-reuse", p)]))
      .toEqual([["lazy-reuse", 0, 0, 0], ["lazy-reuse-early", 1, 0, 0], ["lazy-reuse-running", 0, 1, 0], ["lazy-free-first", 0, 0, 1]]);
    const r = runScenario("lazy-reuse-early-epoch", { policy: "lazy-reuse-early" as PolicyName, machine: createReferenceKvmMachine });
    expect(r.violationRecords[0]).toMatchObject({ cpu: 0, lpid: 1, ea: "0x6000", frame: 2, owner: 2, leftBy: { cause: "lazy-page-out", cpu: 0 } });
  });
});

describe("smt8-split-tlb on the reference (issue 19)", () => {
  test("verdicts per policy: p9-hash, last-vcpu and flush-always are safe, every per-core bookkeeping leaks — as on the engine", () => {
    const ref = Object.fromEntries(POLICIES.map((p) => [p.name, runScenario("smt8-split-tlb", { policy: p.name as PolicyName, machine: createReferenceKvmMachine }).violations]));
    expect(ref).toEqual({
      "need-tlb-flush": 1, "need-tlb-flush-3.8": 1, "last-vcpu": 0, "flush-always": 0, "deferred-va": 1,
      "need-tlb-flush-no-init": 1, "need-tlb-flush-no-reset": 1, "lazy-reuse": 0, "lazy-reuse-early": 0, "lazy-reuse-running": 1,
      "lazy-free-first": 0, "p9-hash": 0, "p9-hash-core-tlb": 1,
      "ipi-tlbiel": 1, "batched-reclaim": 0, "ipi-tlbiel-offline-kept": 1, "ipi-tlbiel-wrong-clear": 1, "batched-reclaim-early-reuse": 1,
    });
    expect(REFERENCE_POLICIES.filter((p) => p.tlbieFixups).map((p) => p.name)).toEqual(["p9-hash", "p9-hash-core-tlb"]);
  });
});

describe("the IPI and batched schemes' failure modes on the reference (issue 16)", () => {
  test("each leaks under its buggy variant, and under the broken lazy variants whose bug it also shows, as on the engine", () => {
    const leaks = (name: string) => POLICIES.filter((p) => runScenario(name, { policy: p.name as PolicyName, machine: createReferenceKvmMachine }).violations > 0).map((p) => p.name);
    expect(leaks("cpu-offline-missed-ipi")).toEqual(["lazy-reuse-running", "ipi-tlbiel-offline-kept"]);
    expect(leaks("need-flush-cleared-by-wrong-thread")).toEqual(["lazy-reuse-running", "ipi-tlbiel-wrong-clear", "batched-reclaim-early-reuse"]);
    expect(leaks("batch-reuse-before-flush")).toEqual(["lazy-free-first", "batched-reclaim-early-reuse"]);
  });
});

describe("hptlab scenario --engine reference", () => {
  test.each([["stale-tlb", "last-vcpu"], ["bulk-remove-1vcpu", "need-tlb-flush-3.8"], ["lpid-reuse", "deferred-va"], ["lazy-reuse-early-epoch", "lazy-reuse-early"], ["lazy-core-skipped", "lazy-reuse"], ["smt8-split-tlb", "p9-hash-core-tlb"], ["smt8-split-tlb", "p9-hash"], ["cpu-offline-missed-ipi", "ipi-tlbiel-offline-kept"], ["need-flush-cleared-by-wrong-thread", "ipi-tlbiel-wrong-clear"], ["batch-reuse-before-flush", "batched-reclaim-early-reuse"]])("%s --policy %s prints the same JSON and text as --engine wasm", async (name, policy) => {
    for (const json of [["--json"], []]) {
      const wasm = await cli(["scenario", name, "--policy", policy, "--engine", "wasm", ...json]);
      const ref = await cli(["scenario", name, "--policy", policy, "--engine", "reference", ...json]);
      expect(ref.code).toBe(0);
      expect(ref.stdout).toBe(wasm.stdout);
    }
  });

  test("a bad --engine is one line naming the flag, exit 2", async () => {
    const r = await cli(["scenario", "stale-tlb", "--engine", "native"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/--engine/);
  });
});
