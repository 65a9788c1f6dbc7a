// The scripted scenarios (hptlab scenario): the expectations issue 3 states, the finding on Linux 3.8's
// candidate gap (docs/model/kvm.md §9.2), and the JSON shape of docs/formats.md §3.
import { describe, expect, it } from "vitest";
import { SCENARIOS, runScenario, scenarioMachine } from "../src/kvm/scenarios.js";
import { POLICIES, policyByName, type PolicyName } from "../src/model/policies.js";
import { cli } from "./cli-run.js";

const NAMES = SCENARIOS.map((s) => s.name);
/** The scenarios on a policy's own generations (docs/model/policies.md §12). */
const ownNames = (policy: string) => NAMES.filter((n) => policyByName(policy)!.generations.includes(scenarioMachine(n).generation));

describe("scenarios under each policy", () => {
  it("lists the five scenarios issue 3 names, issue 16's lazy-reuse failure modes, issue 19's SMT8 one, then issue 16's IPI and batched failure modes; each declares its machine", () => {
    expect(NAMES).toEqual(["stale-tlb", "lpid-reuse", "hpt-reset", "vcore-migration", "bulk-remove-1vcpu", "lazy-reuse-early-epoch", "lazy-core-skipped", "flush-pending-reuse", "smt8-split-tlb",
      "cpu-offline-missed-ipi", "need-flush-cleared-by-wrong-thread", "batch-reuse-before-flush"]);
    expect(NAMES.map((n) => scenarioMachine(n))).toEqual([
      ...Array(8).fill({ generation: "power7", cores: 4, smt: 4, tlbThreadsPerGroup: 4 }),
      { generation: "power9", cores: 2, smt: 8, tlbThreadsPerGroup: 4 },
      ...Array(3).fill({ generation: "power7", cores: 4, smt: 4, tlbThreadsPerGroup: 4 }),
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
    "need-tlb-flush-no-init": 1, "need-tlb-flush-no-reset": 1, "lazy-reuse": 0, "lazy-reuse-early": 0,
    "lazy-reuse-running": 1, "lazy-free-first": 0, "p9-hash": 0, "p9-hash-core-tlb": 1,
    "ipi-tlbiel": 1, "batched-reclaim": 0, "ipi-tlbiel-offline-kept": 1, "ipi-tlbiel-wrong-clear": 1, "batched-reclaim-early-reuse": 1,
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
    // global only: the P9 path's hcalls run in virtual mode (docs/model/policies.md §10.1); none here
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

  it("lazy-reuse-early leaks in lazy-reuse-early-epoch: page 1's frame is freed with the epoch before it, core A's entry still there", () => {
    const r = runScenario("lazy-reuse-early-epoch", { policy: "lazy-reuse-early" });
    expect(r.violations).toBe(1);
    // vcpu 0 on cpu 0 reads EA 0x6000 through the entry the lazy page-out of gfn 1 left (marked on cpu 0, the host's); frame 2 is now guest H's (instance 2)
    expect(r.violationRecords[0]).toMatchObject({ cpu: 0, lpid: 1, guest: 1, owner: 2, ea: "0x6000", frame: 2, leftBy: { cause: "lazy-page-out", cpu: 0 } });
    expect(r.tlbie).toBe(0);
    const ends = r.timeline.filter((e) => /epoch ends:/.test(e.result)).map((e) => e.result);
    expect(ends).toEqual(["1 LPID flush at the epoch's flush point, epoch ends: 2 quarantined frames released"]);
    expect(r.timeline.some((e) => /frame 2 \(G \(LPID 1\)'s until it was paged out\)/.test(e.result))).toBe(true);
    expect(r.finding).toMatch(/^lazy-reuse-early leaks/);
  });

  it("lazy-reuse keeps page 1's frame for the next epoch: freed only after core A's flush at its re-entry, never handed to H", () => {
    const r = runScenario("lazy-reuse-early-epoch", { policy: "lazy-reuse" });
    expect([r.violations, r.tlbie, r.staleHarmless]).toEqual([0, 0, 0]);
    expect(r.timeline.filter((e) => /epoch ends:/.test(e.result)).map((e) => e.result)).toEqual([
      "1 LPID flush at the epoch's flush point, epoch ends: 1 quarantined frame released", // B's exit: frame 1 (page 0)
      "1 LPID flush at the epoch's flush point, epoch ends: 1 quarantined frame released", // A's re-entry: frame 2 (page 1)
    ]);
    const reuse = r.timeline.find((e) => /host reuses free frames/.test(e.what))!;
    expect(reuse.result).toBe("frame 1 (G (LPID 1)'s until it was paged out), frame 257");
    // the page-outs charged no tlbie, two LPID flushes at flush points (A's exit, B's exit) and one at A's re-entry: 3 × (200 + 128 × 20) cycles
    expect(r.cyclesByCategory.tlbie).toBe(0);
  });

  it("lazy-reuse-running leaks in lazy-core-skipped (the x86 lazy-TLB form, commit 2ff6ddf19c0e); lazy-reuse waits for core B", () => {
    const bad = runScenario("lazy-core-skipped", { policy: "lazy-reuse-running" });
    expect(bad.violations).toBe(1);
    expect(bad.violationRecords[0]).toMatchObject({ cpu: 4, lpid: 1, ea: "0x5000", frame: 1, owner: 2, leftBy: { cause: "lazy-page-out", cpu: 0 } });
    const good = runScenario("lazy-core-skipped", { policy: "lazy-reuse" });
    expect(good.violations).toBe(0);
    expect(good.timeline.find((e) => /host reuses free frames/.test(e.what))!.result).toBe("frame 257");
    // the other broken variant is right about the mask: it does not leak here
    expect(runScenario("lazy-core-skipped", { policy: "lazy-reuse-early" }).violations).toBe(0);
  });

  it("the lazy scenarios leak under their broken variant, and under batched-reclaim-early-reuse (a frame freed before its flush): every other policy is safe in all three", () => {
    const leaks: Record<string, number[]> = { "lazy-reuse-early": [1, 0, 0], "lazy-reuse-running": [0, 1, 0], "lazy-free-first": [0, 0, 1], "batched-reclaim-early-reuse": [1, 1, 1] };
    for (const p of POLICIES) {
      const v = ["lazy-reuse-early-epoch", "lazy-core-skipped", "flush-pending-reuse"].map((n) => runScenario(n, { policy: p.name as PolicyName }).violations);
      expect([p.name, v]).toEqual([p.name, leaks[p.name] ?? [0, 0, 0]]);
    }
  });

  it("lazy-free-first leaks in flush-pending-reuse (the form of 20841405940e / CVE-2018-18281): the running vcpu hits its entry after the frame went to H; lazy-reuse's hit is harmless", () => {
    const bad = runScenario("flush-pending-reuse", { policy: "lazy-free-first" });
    expect(bad.violations).toBe(1);
    expect(bad.violationRecords[0]).toMatchObject({ cpu: 0, lpid: 1, ea: "0x5000", frame: 1, owner: 2, leftBy: { cause: "lazy-page-out", cpu: 0 } });
    expect(bad.timeline.find((e) => /host pages out/.test(e.what))!.result).toBe("1 HPTE(s) on the rmap ring → ABSENT, no tlbie (lazy); frame 1 freed at once; its flush waits for the epoch");
    const good = runScenario("flush-pending-reuse", { policy: "lazy-reuse" });
    expect([good.violations, good.staleHarmless]).toEqual([0, 1]);
    expect(good.timeline.find((e) => /host reuses free frames/.test(e.what))!.result).toBe("frame 257");
    const eager = runScenario("flush-pending-reuse", { policy: "need-tlb-flush" });
    expect([eager.violations, eager.staleHarmless, eager.tlbie]).toEqual([0, 0, 1]);
  });

  it("lazy-reuse passes the five 2012 scenarios (its hcalls are need-tlb-flush's; its page-outs hold the frame)", () => {
    for (const name of NAMES.slice(0, 5)) expect([name, runScenario(name, { policy: "lazy-reuse" }).violations]).toEqual([name, 0]);
  });

  it("last-vcpu leaks in vcore-migration: the per-thread check misses the vcpu that returns alone", () => {
    expect(runScenario("vcore-migration", { policy: "last-vcpu" }).violations).toBe(1);
  });

  // issue 16: each failure mode of the IPI / batched schemes leaks under its buggy variant only
  const IPI_SCENARIOS = ["cpu-offline-missed-ipi", "need-flush-cleared-by-wrong-thread", "batch-reuse-before-flush"] as const;
  const LEAKS: Record<(typeof IPI_SCENARIOS)[number], string[]> = {
    // lazy-reuse-running's epoch skips the core the guest left, as the buggy IPI variants skip it
    "cpu-offline-missed-ipi": ["lazy-reuse-running", "ipi-tlbiel-offline-kept"],
    "need-flush-cleared-by-wrong-thread": ["lazy-reuse-running", "ipi-tlbiel-wrong-clear", "batched-reclaim-early-reuse"],
    // lazy-free-first frees the frame before its flush, as batched-reclaim-early-reuse does
    "batch-reuse-before-flush": ["lazy-free-first", "batched-reclaim-early-reuse"],
  };
  it.each(IPI_SCENARIOS)("%s: the verdict of every policy (leaks only under broken variants)", (name) => {
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
