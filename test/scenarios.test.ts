// The scripted scenarios (hptlab scenario): the expectations issue 3 states, the finding on Linux 3.8's
// candidate gap (docs/model/kvm.md §9.2), and the JSON shape of docs/formats.md §3.
import { describe, expect, it } from "vitest";
import { SCENARIOS, runScenario, scenarioMachine } from "../src/kvm/scenarios.js";
import { POLICIES, policyByName, type PolicyName } from "../src/model/policies.js";
import { cli } from "./cli-run.js";

const NAMES = SCENARIOS.map((s) => s.name);
/** The scenarios on a policy's own generations (docs/model/policies.md §11). */
const ownNames = (policy: string) => NAMES.filter((n) => policyByName(policy)!.generations.includes(scenarioMachine(n).generation));

describe("scenarios under each policy", () => {
  it("lists the five scenarios issue 3 names, then issue 19's SMT8 one; each declares its machine", () => {
    expect(NAMES).toEqual(["stale-tlb", "lpid-reuse", "hpt-reset", "vcore-migration", "bulk-remove-1vcpu", "smt8-split-tlb"]);
    expect(NAMES.map((n) => scenarioMachine(n))).toEqual([
      ...Array(5).fill({ generation: "power7", cores: 4, smt: 4, tlbThreadsPerGroup: 4 }),
      { generation: "power9", cores: 2, smt: 8, tlbThreadsPerGroup: 4 },
    ]);
  });

  it("last-vcpu: stale-tlb leaks (docs/model/kvm.md §9.1 timeline), the entry left by vcpu 0's tlbiel on core A", () => {
    const r = runScenario("stale-tlb", { policy: "last-vcpu" });
    expect(r.violations).toBeGreaterThanOrEqual(1);
    expect(r.violationRecords[0]).toMatchObject({ cpu: 4, lpid: 1, ea: "0x5000", frame: 1, leftBy: { cause: "local-invalidation", cpu: 0 } });
    expect(r.tlbiel).toBe(1);
    expect(r.tlbie).toBe(0);
  });

  for (const policy of ["flush-always", "need-tlb-flush", "p9-hash"] as const) {
    it(`${policy}: no scenario of its generations yields a violation`, () => {
      expect(ownNames(policy).length).toBeGreaterThan(0);
      for (const name of ownNames(policy)) expect([name, runScenario(name, { policy }).violations]).toEqual([name, 0]);
    });
  }

  for (const cap of [1, 2, 64, 4096]) {
    for (const deferredOverflow of ["flush", "tlbie", "drain"] as const) {
      it(`deferred-va cap ${cap}, overflow ${deferredOverflow}: no scenario of its generations yields a violation`, () => {
        for (const name of ownNames("deferred-va")) expect([name, runScenario(name, { policy: "deferred-va", deferredCap: cap, deferredOverflow }).violations]).toEqual([name, 0]);
      });
    }
  }

  // issue 19: the TLB of an SMT8 POWER9 core is split in two thread groups (commit 77bbbc0cf848)
  const SMT8_LEAKS: Record<PolicyName, number> = {
    "need-tlb-flush": 1, "need-tlb-flush-3.8": 1, "last-vcpu": 0, "flush-always": 0, "deferred-va": 1,
    "need-tlb-flush-no-init": 1, "need-tlb-flush-no-reset": 1, "p9-hash": 0, "p9-hash-core-tlb": 1,
  };
  it("smt8-split-tlb: violations per policy — every per-core bookkeeping leaks, p9-hash (per TLB group), last-vcpu (per thread) and the pinned flush-always do not", () => {
    expect(Object.fromEntries(POLICIES.map((p) => [p.name, runScenario("smt8-split-tlb", { policy: p.name as PolicyName }).violations]))).toEqual(SMT8_LEAKS);
  });

  it("smt8-split-tlb under p9-hash-core-tlb: TLB 1 kept the entry, the core's flush ran on TLB 0 only, vcpu 5 read through TLB 1", () => {
    const r = runScenario("smt8-split-tlb", { policy: "p9-hash-core-tlb" });
    expect(r.violationRecords).toHaveLength(1);
    expect(r.violationRecords[0]).toMatchObject({ cpu: 5, lpid: 1, ea: "0x5000", frame: 1, leftBy: { cause: "hpt-reset", cpu: 0 } });
    const enters = r.timeline.filter((e) => / enters core 0/.test(e.what)).map((e) => e.result);
    expect(enters).toEqual([
      "1 LPID flush on entry (flushed: TLB 0 (cpus 0–3); not flushed: TLB 1 (cpus 4–7))", // VM start: bit per core
      "1 LPID flush on entry (flushed: TLB 0 (cpus 0–3); not flushed: TLB 1 (cpus 4–7))", // after the reset: thread 0 alone
      "no flush (flushed: none; not flushed: TLB 0 (cpus 0–3), TLB 1 (cpus 4–7))", // the core's bit is clear
    ]);
    const loads = r.timeline.filter((e) => /loads EA/.test(e.what));
    expect(loads.map((e) => [e.cpu, e.what.replace(/^.* through /, "")])).toEqual([[5, "TLB 1 (cpus 4–7)"], [5, "TLB 1 (cpus 4–7)"]]);
    expect(loads[1]!.result).toMatch(/^TLB hit → real 0x10000 \(frame 1\) — VIOLATION: frame owned by guest H/);
    expect(r.finding).toMatch(/^p9-hash-core-tlb leaks: TLB 1 \(cpus 4–7\) kept the entry/);
    // global only: the P9 path's hcalls run in virtual mode (docs/model/policies.md §9.1); none here
    expect([r.tlbie, r.tlbiel]).toEqual([0, 0]);
  });

  it("smt8-split-tlb under p9-hash: each TLB group's first thread flushes, vcpu 5 faults on the empty HPT", () => {
    const r = runScenario("smt8-split-tlb", { policy: "p9-hash" });
    expect(r.violations).toBe(0);
    const enters = r.timeline.filter((e) => / enters core 0/.test(e.what)).map((e) => e.result);
    expect(enters).toEqual([
      "2 LPID flushes on entry (flushed: TLB 0 (cpus 0–3), TLB 1 (cpus 4–7); not flushed: none)",
      "1 LPID flush on entry (flushed: TLB 0 (cpus 0–3); not flushed: TLB 1 (cpus 4–7))",
      "1 LPID flush on entry (flushed: TLB 1 (cpus 4–7); not flushed: TLB 0 (cpus 0–3))",
    ]);
    expect(r.timeline.filter((e) => /loads EA/.test(e.what)).at(-1)!.result).toBe("no translation: guest fault");
    expect(r.flushes).toBe(4);
  });

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
    // it keeps the set-all at VM start, so lpid-reuse stays safe; no other scenario of its generations changes
    for (const name of ownNames("need-tlb-flush-no-reset").filter((n) => n !== "hpt-reset")) expect([name, runScenario(name, { policy: "need-tlb-flush-no-reset" }).violations]).toEqual([name, 0]);
  });

  it("hpt-reset: every other policy's verdict is unchanged (none leaks; the P9 policies on its POWER7 machine too)", () => {
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
    expect(o.policies.map((p: { name: string; generations: string[] }) => [p.name, p.generations])).toEqual(POLICIES.map((p) => [p.name, [...p.generations]]));
    const text = (await cli(["policies"])).stdout;
    expect(text).toMatch(/^p9-hash-core-tlb\s+leaks\s+power9, power10 /m);
    expect(text).toMatch(/^need-tlb-flush\s+safe\s+power7, power8 /m);
  });

  it("scenario --list names each scenario's machine", async () => {
    const l = (await cli(["scenario", "--list"])).stdout;
    expect(l).toMatch(/^smt8-split-tlb\s+power9, 2 cores × SMT8, 4 threads per TLB: /m);
    expect(l).toMatch(/^stale-tlb\s+power7, 4 cores × SMT4, 4 threads per TLB: /m);
    const j = JSON.parse((await cli(["scenario", "--list", "--json"])).stdout);
    expect(j.find((x: { name: string }) => x.name === "smt8-split-tlb").machine).toEqual({ generation: "power9", cores: 2, smt: 8, tlbThreadsPerGroup: 4 });
  });
});
