// The scripted scenarios (hptlab scenario): the expectations issue 3 states, the finding on Linux 3.8's
// candidate gap (docs/model/kvm.md §9.2), and the JSON shape of docs/formats.md §3.
import { describe, expect, it } from "vitest";
import { SCENARIOS, runScenario } from "../src/kvm/scenarios.js";
import { POLICIES, type PolicyName } from "../src/model/policies.js";
import { cli } from "./cli-run.js";

const NAMES = SCENARIOS.map((s) => s.name);

describe("scenarios under each policy", () => {
  it("lists the five scenarios the issue names", () => {
    expect(NAMES).toEqual(["stale-tlb", "lpid-reuse", "hpt-reset", "vcore-migration", "bulk-remove-1vcpu", "cpu-offline-missed-ipi", "need-flush-cleared-by-wrong-thread", "batch-reuse-before-flush"]);
  });

  it("last-vcpu: stale-tlb leaks (docs/model/kvm.md §9.1 timeline), the entry left by vcpu 0's tlbiel on core A", () => {
    const r = runScenario("stale-tlb", { policy: "last-vcpu" });
    expect(r.violations).toBeGreaterThanOrEqual(1);
    expect(r.violationRecords[0]).toMatchObject({ cpu: 4, lpid: 1, ea: "0x5000", frame: 1, leftBy: { cause: "local-invalidation", cpu: 0 } });
    expect(r.tlbiel).toBe(1);
    expect(r.tlbie).toBe(0);
  });

  for (const policy of ["flush-always", "need-tlb-flush"] as const) {
    it(`${policy}: no scenario yields a violation`, () => {
      for (const name of NAMES) expect([name, runScenario(name, { policy }).violations]).toEqual([name, 0]);
    });
  }

  for (const cap of [1, 2, 64, 4096]) {
    for (const deferredOverflow of ["flush", "tlbie", "drain"] as const) {
      it(`deferred-va cap ${cap}, overflow ${deferredOverflow}: no scenario yields a violation`, () => {
        for (const name of NAMES) expect([name, runScenario(name, { policy: "deferred-va", deferredCap: cap, deferredOverflow }).violations]).toEqual([name, 0]);
      });
    }
  }

  it("deferred-va keeps stale-tlb local and still safe: the page-out tlbies the recorded VA", () => {
    const r = runScenario("stale-tlb", { policy: "deferred-va", deferredCap: 1 });
    expect([r.tlbiel, r.violations]).toEqual([1, 0]);
    expect(r.timeline.some((e) => /1 deferred VA\(s\) tlbie'd/.test(e.result))).toBe(true);
  });

  it("the broken need-tlb-flush without set-all at VM start leaks in lpid-reuse (the detector sees it)", () => {
    expect(runScenario("lpid-reuse", { policy: "need-tlb-flush-no-init" }).violations).toBeGreaterThanOrEqual(1);
    const r = runScenario("lpid-reuse", { policy: "need-tlb-flush-no-init" });
    expect(r.violationRecords[0]!.leftBy).toMatchObject({ cause: "lpid-freed" });
    expect(runScenario("lpid-reuse", { policy: "need-tlb-flush" }).violations).toBe(0);
  });

  it("the broken need-tlb-flush without set-all at HPT reset leaks in hpt-reset, the entry left by the reset", () => {
    const r = runScenario("hpt-reset", { policy: "need-tlb-flush-no-reset" });
    expect(r.violations).toBe(1);
    expect(r.violationRecords[0]).toMatchObject({ cpu: 0, lpid: 1, ea: "0x5000", leftBy: { cause: "hpt-reset" } });
    expect(r.finding).toMatch(/leaks: the entry survived the HPT reset/);
    // it keeps the set-all at VM start, so lpid-reuse stays safe; no other scenario changes
    for (const name of NAMES.filter((n) => n !== "hpt-reset")) expect([name, runScenario(name, { policy: "need-tlb-flush-no-reset" }).violations]).toEqual([name, 0]);
  });

  it("hpt-reset: every other policy's verdict is unchanged (none leaks)", () => {
    for (const p of POLICIES.filter((q) => q.name !== "need-tlb-flush-no-reset")) {
      expect([p.name, runScenario("hpt-reset", { policy: p.name as PolicyName }).violations]).toEqual([p.name, 0]);
    }
  });

  it("finding: need-tlb-flush-3.8 leaks in bulk-remove-1vcpu (docs/model/kvm.md §9.2 candidate gap); v3.12+ behaviour does not", () => {
    const r = runScenario("bulk-remove-1vcpu", { policy: "need-tlb-flush-3.8" });
    expect(r.violations).toBe(1);
    expect(r.violationRecords[0]).toMatchObject({ cpu: 0, leftBy: { cause: "local-invalidation", cpu: 4 } });
    expect(r.finding).toMatch(/gap is real/);
    expect(runScenario("bulk-remove-1vcpu", { policy: "need-tlb-flush" }).violations).toBe(0);
    expect(runScenario("bulk-remove-1vcpu", { policy: "last-vcpu" }).violations).toBe(0); // 3.7 flushed on the core change
  });

  it("last-vcpu leaks in vcore-migration: the per-thread check misses the vcpu that returns alone", () => {
    expect(runScenario("vcore-migration", { policy: "last-vcpu" }).violations).toBe(1);
  });

  // issue 16: each failure mode of the IPI / batched schemes leaks under its buggy variant only
  const IPI_SCENARIOS = ["cpu-offline-missed-ipi", "need-flush-cleared-by-wrong-thread", "batch-reuse-before-flush"] as const;
  const LEAKS: Record<(typeof IPI_SCENARIOS)[number], string[]> = {
    "cpu-offline-missed-ipi": ["ipi-tlbiel-offline-kept"],
    "need-flush-cleared-by-wrong-thread": ["ipi-tlbiel-wrong-clear", "batched-reclaim-early-reuse"],
    "batch-reuse-before-flush": ["batched-reclaim-early-reuse"],
  };
  it.each(IPI_SCENARIOS)("%s: the verdict of every policy (leaks only under its buggy variants)", (name) => {
    const got = Object.fromEntries(POLICIES.map((p) => [p.name, runScenario(name, { policy: p.name as PolicyName }).violations]));
    expect(got).toEqual(Object.fromEntries(POLICIES.map((p) => [p.name, LEAKS[name].includes(p.name) ? 1 : 0])));
  });

  it("cpu-offline-missed-ipi: the offline core kept the entry; ipi-tlbiel flushed it when the core went offline", () => {
    const bad = runScenario("cpu-offline-missed-ipi", { policy: "ipi-tlbiel-offline-kept" });
    expect(bad.violationRecords[0]).toMatchObject({ cpu: 4, lpid: 1, ea: "0x5000", frame: 1, owner: 2, leftBy: { cause: "local-invalidation", cpu: 0 } });
    expect(bad.timeline.find((e) => e.what === "core 1 goes offline")!.result).toBe("no flush: its TLB keeps what it held");
    expect(bad.timeline.find((e) => /host pages out/.test(e.what))!.result).toMatch(/tlbiel on the host's core only/);
    const good = runScenario("cpu-offline-missed-ipi", { policy: "ipi-tlbiel" });
    expect(good.timeline.find((e) => e.what === "core 1 goes offline")!.result).toBe("1 LPID flush there; the core leaves the IPI masks");
    expect(good.finding).toMatch(/safe here/);
  });

  it("need-flush-cleared-by-wrong-thread: core 1's deferred flush is lost at core 3's entry; ipi-tlbiel flushes core 1 in the shootdown", () => {
    const bad = runScenario("need-flush-cleared-by-wrong-thread", { policy: "ipi-tlbiel-wrong-clear" });
    expect(bad.violationRecords[0]).toMatchObject({ cpu: 4, lpid: 1, frame: 1, leftBy: { cause: "local-invalidation", cpu: 0 } });
    const entries = bad.timeline.filter((e) => /vcore 0 enters core 1/.test(e.what));
    expect(entries.map((e) => e.result)).toEqual(["1 LPID flush on entry", "no flush"]);
    const good = runScenario("need-flush-cleared-by-wrong-thread", { policy: "ipi-tlbiel" });
    expect(good.timeline.find((e) => /host pages out/.test(e.what))!.result).toMatch(/IPI shootdown \(2 IPIs/);
  });

  it("batch-reuse-before-flush: the frame is held by batched-reclaim, reused at once by the broken variant", () => {
    const good = runScenario("batch-reuse-before-flush", { policy: "batched-reclaim" });
    expect(good.timeline.find((e) => /host pages out/.test(e.what))!.result).toMatch(/frame 1 held until the batch is flushed/);
    expect([good.violations, good.tlbie]).toEqual([0, 0]);
    const bad = runScenario("batch-reuse-before-flush", { policy: "batched-reclaim-early-reuse" });
    expect(bad.timeline.find((e) => /host pages out/.test(e.what))!.result).toMatch(/frame 1 freed at once/);
    expect(bad.violationRecords[0]).toMatchObject({ cpu: 4, frame: 1, owner: 2, leftBy: null });
  });

  it("results are deterministic", () => {
    for (const p of POLICIES) {
      const a = JSON.stringify(runScenario("stale-tlb", { policy: p.name as PolicyName }));
      expect(JSON.stringify(runScenario("stale-tlb", { policy: p.name as PolicyName }))).toBe(a);
    }
  });
});


describe("hptlab scenario / policies", () => {
  it("--json prints the docs/formats.md §3 object", async () => {
    const r = await cli(["scenario", "stale-tlb", "--policy", "last-vcpu", "--json"]);
    expect(r.code).toBe(0);
    const o = JSON.parse(r.stdout);
    for (const k of ["scenario", "policy", "violations", "staleHarmless", "tlbie", "tlbiel", "flushes", "cycles", "violationRecords"]) expect(o).toHaveProperty(k);
    expect([o.scenario, o.policy, o.violations]).toEqual(["stale-tlb", "last-vcpu", 1]);
    expect(o.cycles).toBe(Object.values(o.cyclesByCategory as Record<string, number>).reduce((a, b) => a + b, 0));
  });

  it("text output shows the timeline and the verdict; --deferred-cap is passed on", async () => {
    const r = await cli(["scenario", "stale-tlb", "--policy", "deferred-va", "--deferred-cap", "3"]);
    expect(r.stdout).toContain("scenario stale-tlb under deferred-va (cap 3, overflow flush)");
    expect(r.stdout).toContain("violations 0");
    const j = JSON.parse((await cli(["scenario", "stale-tlb", "--policy", "deferred-va", "--deferred-cap", "3", "--json"])).stdout);
    expect(j.deferredCap).toBe(3);
  });

  it("--list names every scenario; bad names and policies are one-line errors with exit 2", async () => {
    const l = await cli(["scenario", "--list"]);
    expect(l.code).toBe(0);
    for (const n of NAMES) expect(l.stdout).toContain(n);
    const bad = await cli(["scenario", "nope"]);
    expect([bad.code, bad.stderr.trim().split("\n").length]).toEqual([2, 1]);
    expect(bad.stderr).toContain('unknown scenario "nope"');
    const badPolicy = await cli(["scenario", "stale-tlb", "--policy", "foo"]);
    expect(badPolicy.code).toBe(2);
    expect(badPolicy.stderr).toContain("--policy");
    const badCap = await cli(["scenario", "stale-tlb", "--deferred-cap", "0"]);
    expect(badCap.code).toBe(2);
  });

  it("policies --json lists every policy and the cost table", async () => {
    const o = JSON.parse((await cli(["policies", "--json"])).stdout);
    expect(o.policies.map((p: { name: string }) => p.name)).toEqual(POLICIES.map((p) => p.name));
    expect(o.costs.find((c: { key: string }) => c.key === "tlbieBase").cycles).toBe(800);
  });
});
