// A sweep's own machine and cost profile (docs/study.md, "A sweep's own machine"): its points run on
// it with its generation's profile and fabric defaults, results record what each sweep ran with, and
// bad values are one error naming the sweep's field.
import { describe, expect, it } from "vitest";
import { expandStudy, resolveStudy, studyCosts } from "../src/study/config.js";
import { ConfigError } from "../src/config.js";
import { profileTable, costProfileByName } from "../src/model/costs.js";
import { Machine } from "../src/engine/machine.js";
import { pointMachine } from "../src/workload/synthetic.js";

const base = {
  name: "t", seed: 3, opsPerPoint: 1000,
  machine: { smt: 4, fabric: { model: "concurrent" } },
  sweeps: [
    { name: "p7", cores: [4], shapes: [{ label: "1 vcore", vcpus: 4, threadsPerVcore: 4 }], policies: [{ policy: "need-tlb-flush" }] },
    {
      name: "p10", machine: { preset: "power10-e1080", fabric: { model: "concurrent" } }, cores: [4, 240],
      shapes: [{ label: "1 vcore (SMT8)", vcpus: 8, threadsPerVcore: 8 }], policies: [{ policy: "p9-hash" }],
    },
  ],
};

describe("a sweep's own machine", () => {
  it("its points run on it (generation, SMT8, two TLBs per core) with its generation's costs and fabric; the study's sweep as before", () => {
    const s = resolveStudy(base);
    const pts = expandStudy(s);
    expect(pts.map((p) => [p.params.sweep, p.params.cores, p.params.smt, (p.params as { generation?: string }).generation ?? null])).toEqual([
      ["p7", 4, 4, null], ["p10", 4, 8, "power10"], ["p10", 240, 8, "power10"],
    ]);
    expect(pts[1]!.run).toMatchObject({ generation: "power10", tlbThreadsPerGroup: 4, tlbFlushSets: 1 });
    const p10 = profileTable(costProfileByName("power10")!);
    expect(pts[1]!.run.costs).toMatchObject({ tlbieBase: p10.tlbieBase, tlbieExtra: p10.tlbieExtra, coresPerChip: 15 });
    expect(pts[0]!.run.costs).toBeUndefined(); // power7: the default table
    // power10's fabric defaults: no tlbie lock (docs/model/costs.md §8.2); the study's power7 one: per VM
    expect(pts[1]!.run.fabric).toMatchObject({ model: "concurrent", lockScope: "none" });
    expect(pts[0]!.run.fabric).toMatchObject({ model: "concurrent", lockScope: "vm" });
    const c = studyCosts(s);
    expect(c.profile).toBe("power7");
    expect(c.sweeps!.p10).toMatchObject({ profile: "power10", values: { tlbieExtra: 980 }, fabric: { lockScope: "none" }, machine: { preset: "power10-e1080", smt: 8 } });
    expect(Object.keys(c.sweeps!)).toEqual(["p10"]);
  });

  it("a sweep's costProfile overrides its machine's generation's, coresPerChip included: the engine runs with what results record", () => {
    const s = resolveStudy({ ...base, sweeps: [{ ...base.sweeps[1], costProfile: "power7" }] });
    const run = expandStudy(s)[0]!.run;
    // the power7 table: its values are the defaults but for coresPerChip, which a POWER10 machine would
    // otherwise take from its generation (15) while results record the profile's 8
    expect(run.costs).toEqual({ coresPerChip: 8 });
    expect(studyCosts(s).sweeps!.p10!.profile).toBe("power7");
    expect(studyCosts(s).sweeps!.p10!.values.coresPerChip).toBe(8);
    const m = new Machine({ ...pointMachine(run), costs: run.costs });
    try {
      expect(m.config.costs.coresPerChip).toBe(8);
    } finally {
      m.dispose();
    }
    // a POWER10 machine without a profile of its own keeps its generation's 15
    const own = expandStudy(resolveStudy(base))[1]!.run;
    const m10 = new Machine({ ...pointMachine(own), costs: own.costs });
    try {
      expect(m10.config.costs.coresPerChip).toBe(15);
    } finally {
      m10.dispose();
    }
  });

  it("bad values are one error naming the sweep's field", () => {
    const bad = (sw: object, path: RegExp) => expect(() => resolveStudy({ ...base, sweeps: [base.sweeps[0], { ...base.sweeps[1], ...sw }] }, "s.json")).toThrow(path);
    bad({ machine: "power11" }, /^s\.json: study\.sweeps\.1\.machine: unknown preset "power11"/);
    bad({ cores: [4, 241] }, /study\.sweeps\.1\.cores\.1: 241 cores: power10-e1080 has at most 240/);
    bad({ machine: { generation: "power9", smt: 4 }, shapes: [{ label: "x", vcpus: 8, threadsPerVcore: 8 }] }, /study\.sweeps\.1\.shapes\.0\.threadsPerVcore: 8 does not fit a core of SMT4 \(the sweep's machine\)/);
    bad({ machine: { preset: "power9-e980", generation: "power10" } }, /study\.sweeps\.1\.machine\.generation: power10 contradicts preset power9-e980/);
    bad({ costProfile: "power11" }, /study\.sweeps\.1\.costProfile/);
    expect(() => resolveStudy({ ...base, sweeps: [{ ...base.sweeps[1], machine: "power11" }] })).toThrow(ConfigError);
  });
});

describe("a study with a POWER9 sweep: the generations finding and the verdicts", async () => {
  const { runStudy } = await import("../src/study/run.js");
  const { findings } = await import("../src/report/findings.js");
  const { policySafety } = await import("../src/report/safety.js");
  it("the thread's findings read the POWER7 sweep only; power9's finding says p9-hash invalidates nothing locally, with 2 errata tlbies per sequence; each verdict counts its own generations", async () => {
    const s = resolveStudy({
      name: "gen", seed: 5, opsPerPoint: 4000, machine: { smt: 4 },
      sweeps: [
        { name: "p7", cores: [4], shapes: [{ label: "1 vcore", vcpus: 4, threadsPerVcore: 4 }], policies: [{ policy: "need-tlb-flush" }, { policy: "deferred-va", deferredCaps: [64] }], pageOutsPerMop: [2000] },
        { name: "p9", machine: "power9-e980", cores: [4], shapes: [{ label: "1 vcore (SMT8)", vcpus: 8, threadsPerVcore: 8 }], policies: [{ policy: "need-tlb-flush" }, { policy: "p9-hash" }], pageOutsPerMop: [2000] },
      ],
    });
    const r = (await runStudy(s, { workers: 1 })).results;
    const p9 = r.points.filter((p) => p.params.sweep === "p9");
    const hash = p9.find((p) => p.params.policy === "p9-hash")!;
    expect(hash.counters.localInvalidations).toBe(0);
    expect(hash.counters.errataTlbies).toBe(2 * hash.counters.tlbieSequences!);
    expect(p9.find((p) => p.params.policy === "need-tlb-flush")!.counters.errataTlbies).toBeUndefined();
    const f = findings(r);
    const gen = f.filter((x) => x.startsWith("On power9 ("));
    expect(gen).toHaveLength(1);
    expect(gen[0]).toMatch(/^On power9 \(sweep p9, .*4 cores × SMT8, 2 TLBs per core\): p9-hash, the rule for power9, spends [\d.,]+ invalidation cycles .* it invalidates 0\.0% locally .* carry 2\.0 errata tlbies each \(need-tlb-flush: 0\.0\)/);
    // no other finding reads the power9 sweep
    expect(f.filter((x) => /sweep p9\b/.test(x) && !x.startsWith("On power9"))).toEqual([]);
    const safety = Object.fromEntries(policySafety(r).map((x) => [x.policy, x]));
    expect(safety["p9-hash"]!.runs.runs).toBe(1);
    expect(safety["need-tlb-flush"]!.runs.runs).toBe(1); // its POWER7 run; the POWER9 one is outside
    expect(safety["need-tlb-flush"]!.outside.runs.runs).toBe(1);
    expect(safety["need-tlb-flush"]!.outside.generations).toEqual(["power9"]);
  });
});
