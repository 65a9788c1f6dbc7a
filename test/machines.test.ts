// Machine generations and presets (src/model/machines.ts, docs/model/tlb.md §7): the defaults each
// generation gives, the presets' core counts, the study's "machine": "NAME", `hptlab machines`, and a
// 1024-core SMT8 machine's memory.
import { describe, expect, test } from "vitest";
import { ConfigError, resolveMachineConfig, tlbGroupCount } from "../src/config.js";
import { createMachineSync } from "../src/engine/index.js";
import { planLayout, MAX_BYTES } from "../src/engine/layout.js";
import { resolveStudy, expandStudy } from "../src/study/config.js";
import { cli } from "./cli-run.js";

describe("generations set the machine's defaults (docs/model/tlb.md §7.1)", () => {
  test("no generation: POWER7, as before (4 cores, SMT4, 128 × 4, one TLB per core, 10-bit LPID, 8 cores per chip)", () => {
    const c = resolveMachineConfig({});
    expect([c.generation, c.cores, c.smt, c.tlbThreadsPerGroup, c.tlbSets, c.tlbWays, c.tlbFlushSets, c.lpidBits, c.costs.coresPerChip])
      .toEqual(["power7", 4, 4, 4, 128, 4, 128, 10, 8]);
    expect(c.preset).toBeUndefined();
  });

  test("each generation: the kernel's *_TLB_SETS as the flush length, SMT8 split on POWER9/POWER10 only", () => {
    const row = (generation: "power7" | "power8" | "power9" | "power10") => {
      const c = resolveMachineConfig({ generation });
      return [c.smt, c.tlbThreadsPerGroup, c.tlbSets, c.tlbFlushSets, c.lpidBits, c.costs.coresPerChip, tlbGroupCount(c)];
    };
    expect(row("power7")).toEqual([4, 4, 128, 128, 10, 8, 4]);
    expect(row("power8")).toEqual([8, 8, 512, 512, 12, 12, 4]);
    expect(row("power9")).toEqual([8, 4, 256, 256, 12, 12, 8]);
    expect(row("power10")).toEqual([8, 4, 256, 1, 12, 15, 8]);
  });

  test("below SMT8 a core shares one TLB; SMT8 on POWER7 too; explicit fields win", () => {
    expect(resolveMachineConfig({ generation: "power9", smt: 4 }).tlbThreadsPerGroup).toBe(4);
    expect(resolveMachineConfig({ smt: 8 }).tlbThreadsPerGroup).toBe(8);
    expect(resolveMachineConfig({ generation: "power9", tlbThreadsPerGroup: 8 }).tlbThreadsPerGroup).toBe(8);
    expect(resolveMachineConfig({ generation: "power10", tlbSets: 64 }).tlbFlushSets).toBe(64);
    expect(resolveMachineConfig({ generation: "power10", costs: { coresPerChip: 4 } }).costs.coresPerChip).toBe(4);
  });

  test("presets: the largest system of each generation with its core count", () => {
    const p = (preset: string) => {
      const c = resolveMachineConfig({ preset: preset as never });
      return [c.generation, c.cores, c.smt, tlbGroupCount(c)];
    };
    expect(p("power7-795")).toEqual(["power7", 256, 4, 256]);
    expect(p("power8-e880")).toEqual(["power8", 192, 8, 192]);
    expect(p("power9-e980")).toEqual(["power9", 192, 8, 384]);
    expect(p("power10-e1080")).toEqual(["power10", 240, 8, 480]);
    expect(resolveMachineConfig({ preset: "power10-e1080", cores: 16 }).cores).toBe(16);
  });

  test("refused, naming the field", () => {
    const err = (input: object) => {
      try {
        resolveMachineConfig(input as never);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).message;
      }
      return "accepted";
    };
    expect(err({ generation: "power11" })).toMatch(/^machine\.generation: /);
    expect(err({ preset: "power9-e980", generation: "power10" })).toBe("machine.generation: power10 contradicts preset power9-e980 (power9)");
    expect(err({ preset: "power9-e980", cores: 193 })).toBe("machine.cores: 193 cores: power9-e980 has at most 192");
    expect(err({ smt: 4, tlbThreadsPerGroup: 8 })).toBe("machine.tlbThreadsPerGroup: 8 threads per TLB do not fit a core of SMT4");
    expect(err({ cores: 1024, smt: 8, tlbThreadsPerGroup: 2 })).toMatch(/^machine\.tlbThreadsPerGroup: 4096 TLBs: at most 2048/);
  });
});

describe("a 1024-core SMT8 machine of 2048 TLBs stays within memory", () => {
  test("planLayout's sizes: TLB regions per TLB, not per thread", () => {
    const c = resolveMachineConfig({ generation: "power10", cores: 1024 });
    const plan = planLayout(c, 65536);
    const size = (name: string) => plan.regions.find((r) => r.name === name)!.bytes;
    expect(tlbGroupCount(c)).toBe(2048);
    expect(size("tlb")).toBe(256 * 2048 * 4 * 16); // 32 MiB
    expect(size("prov")).toBe(256 * 2048 * 4 * 8);
    expect(size("tlbFp")).toBe(256 * 2048 * 4);
    expect(size("lpidCount")).toBe(4096 * 2048 * 4); // 12-bit LPIDs × TLBs × u32
    expect(plan.maskWords).toBe(32);
    expect(plan.fixedBytes).toBeLessThan(128 * 2 ** 20);
    expect(plan.fixedBytes).toBeLessThan(MAX_BYTES);
  });

  test("it is made, fills TLB 2047 from cpu 8191, and one tlbie empties it", () => {
    const m = createMachineSync({ generation: "power10", cores: 1024, hostMemoryBytes: 2 ** 26 });
    try {
      const g = m.createGuest({ semantics: "qemu", ramBytes: 16 * 2 ** 20 });
      g.hEnter(0x0000008000000000n, BigInt(0x11 * 8), 0x10001n, (0x101n << 12n) | 0x10n);
      expect(m.translate(8191, g.lpid, 0x10000n, 0x1000n).kind).toBe("miss");
      expect(m.translate(8188, g.lpid, 0x10000n, 0x1000n).kind).toBe("hit");
      expect(m.lpidHolders(g.lpid)).toEqual([2047]);
      expect(m.tlbie(g.lpid, 0x10000n, 0x1000n)).toBe(1);
      expect(m.tlbEntries(2047)).toEqual([]);
    } finally {
      m.dispose();
    }
  });
});

describe("2048 TLBs: 1024 SMT8 cores of two vs 2048 SMT4 cores of one (issue 19: memory and work for the same TLBs)", () => {
  // the same POWER10 geometry (256 × 4 TLBs, 12-bit LPIDs), 8192 cpus on both; cpu c uses TLB c >> 2 on both
  const SMT8 = { generation: "power10", cores: 1024 } as const;
  const SMT4 = { generation: "power10", cores: 2048, smt: 4 } as const;

  test("2048 SMT4 cores are accepted (2048 TLBs), 2049 are not; 2048 SMT8 cores of two TLBs are not (4096 TLBs)", () => {
    const c = resolveMachineConfig(SMT4);
    expect([c.cores, c.smt, c.tlbThreadsPerGroup, tlbGroupCount(c)]).toEqual([2048, 4, 4, 2048]);
    expect(() => resolveMachineConfig({ cores: 2049 })).toThrow(/^machine\.cores: /);
    expect(() => resolveMachineConfig({ generation: "power10", cores: 2048 })).toThrow("machine.tlbThreadsPerGroup: 4096 TLBs: at most 2048 (2048 cores of one TLB, 1024 SMT8 cores of 2)");
  });

  test("planLayout: every region the same size but the core table (8 B a core); the TLB-indexed regions 41,984 B a TLB", () => {
    const a = planLayout(resolveMachineConfig(SMT8), 65536);
    const b = planLayout(resolveMachineConfig(SMT4), 65536);
    const sizes = (p: typeof a) => Object.fromEntries(p.regions.map((r) => [r.name, r.bytes]));
    expect({ ...sizes(a), coreTab: 0 }).toEqual({ ...sizes(b), coreTab: 0 });
    expect([sizes(a).coreTab, sizes(b).coreTab]).toEqual([1024 * 8, 2048 * 8]);
    expect(b.fixedBytes - a.fixedBytes).toBe(1024 * 8);
    // per TLB: 256 sets × 4 ways × (16 B entry + 8 B provenance + 1 B fingerprint) + 4096 LPIDs × u32 holder count
    const perTlb = 256 * 4 * (16 + 8 + 1) + 4096 * 4;
    expect(perTlb).toBe(41984);
    const sa = sizes(a) as Record<string, number>;
    expect(sa.tlb! + sa.prov! + sa.tlbFp! + sa.lpidCount!).toBe(2048 * perTlb);
    expect(a.maskWords).toBe(b.maskWords);
  });

  test("the same ops leave the same TLBs, holders and counters on both machines", () => {
    const run = (cfg: typeof SMT8 | typeof SMT4) => {
      const m = createMachineSync({ ...cfg, hostMemoryBytes: 2 ** 26 });
      try {
        const g = m.createGuest({ semantics: "qemu", ramBytes: 16 * 2 ** 20 }); // order 18: 2048 PTEGs
        const vsid = 0x10n;
        for (let k = 0n; k < 64n; k++) {
          const r = g.hEnter(0n, ((vsid ^ k) & 0x7ffn) * 8n, (vsid << 12n) | 1n, ((0x100n + k) << 12n) | 0x10n);
          expect(r.ret).toBe(0);
        }
        let x = 12345;
        const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8;
        const kinds: string[] = [];
        for (let i = 0; i < 3000; i++) kinds.push(m.translate(next() % 8192, g.lpid, vsid << 12n, BigInt(next() % 64) << 12n).kind);
        const removed: number[] = [];
        for (let i = 0; i < 16; i++) removed.push(m.tlbie(g.lpid, vsid << 12n, BigInt(next() % 64) << 12n));
        for (let i = 0; i < 1000; i++) kinds.push(m.translate(next() % 8192, g.lpid, vsid << 12n, BigInt(next() % 64) << 12n).kind);
        const holders = m.lpidHolders(g.lpid);
        const c = m.counters();
        return {
          kinds, removed, holders,
          entries: holders.map((t) => m.tlbEntries(t)),
          counters: [c.translations, c.tlbHits, c.tlbMisses, c.hptWalks, c.tlbFills],
        };
      } finally {
        m.dispose();
      }
    };
    const a = run(SMT8), b = run(SMT4);
    expect(a.holders.length).toBeGreaterThan(1000); // spread over most of the 2048 TLBs
    expect(a.kinds.filter((k) => k === "hit").length).toBeGreaterThan(0);
    expect(a.removed.some((n) => n > 0)).toBe(true);
    expect(b).toEqual(a);
  });
});

describe("studies and the CLI name presets", () => {
  test('"machine": "power10-e1080" fills the geometry; POWER7 studies read as before', () => {
    const base = { name: "x", sweeps: [{ name: "s", cores: [4], shapes: [{ label: "1", vcpus: 1, threadsPerVcore: 1 }], policies: [{ policy: "need-tlb-flush" }] }] };
    expect(resolveStudy(base).machine).toEqual({ smt: 4, tlbSets: 128, tlbWays: 4, costs: {} });
    const s = resolveStudy({ ...base, machine: "power10-e1080" });
    expect(s.machine).toEqual({ preset: "power10-e1080", generation: "power10", smt: 8, tlbThreadsPerGroup: 4, tlbSets: 256, tlbWays: 4, tlbFlushSets: 1, costs: {} });
    const p = expandStudy(s)[0]!;
    expect([p.params.generation, p.run.generation, p.run.tlbThreadsPerGroup, p.run.tlbFlushSets]).toEqual(["power10", "power10", 4, 1]);
    expect(() => resolveStudy({ ...base, machine: "power9-e980", sweeps: [{ ...base.sweeps[0], cores: [4, 256] }] })).toThrow("study.sweeps.0.cores.1: 256 cores: power9-e980 has at most 192");
    expect(() => resolveStudy({ ...base, machine: { generation: "power9", smt: 4, tlbThreadsPerGroup: 8 } })).toThrow("study.machine.tlbThreadsPerGroup: 8 threads per TLB do not fit a core of SMT4");
    expect(() => resolveStudy({ ...base, machine: "power11" }, "s.json")).toThrow('s.json: study.machine: unknown preset "power11" (`hptlab machines` lists power7-795, power8-e880, power9-e980, power10-e1080)');
  });

  test("hptlab machines [--json]", async () => {
    const r = await cli(["machines", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { generations: { generation: string; tlbFlushSets: number }[]; presets: { name: string; cores: number; tlbs: number }[] };
    expect(j.generations.map((g) => [g.generation, g.tlbFlushSets])).toEqual([["power7", 128], ["power8", 512], ["power9", 256], ["power10", 1]]);
    expect(j.presets.map((p) => [p.name, p.cores, p.tlbs])).toEqual([["power7-795", 256, 256], ["power8-e880", 192, 192], ["power9-e980", 192, 384], ["power10-e1080", 240, 480]]);
    const t = await cli(["machines"]);
    expect(t.stdout).toContain("power10-e1080   240 cores, 480 TLBs");
  });
});

describe("two TLBs per core under KVM's per-core bookkeeping (docs/model/tlb.md §7.2)", () => {
  // need-tlb-flush as the 2012 patch left it keeps one need_tlb_flush bit per core and flushes from the
  // vcore's first thread: on a POWER9 SMT8 core that flushes one of its two TLBs (the bug commit
  // 77bbbc0cf848 fixed). The same seeded points with one TLB per core are the control.
  const study = (tlbThreadsPerGroup: 4 | 8) => resolveStudy({
    name: "split", opsPerPoint: 40000, machine: { preset: "power9-e980", tlbThreadsPerGroup },
    sweeps: [{
      name: "s", cores: [4], shapes: [{ label: "1 vcore", vcpus: 8, threadsPerVcore: 8 }], policies: [{ policy: "need-tlb-flush" }],
      hLocal: ["honest"], pageOutsPerMop: [20000], migrationRate: [0.05],
    }],
  });

  test("random runs leak on split TLBs and not on whole-core TLBs", async () => {
    const { runStudy } = await import("../src/study/run.js");
    const split = (await runStudy(study(4), { workers: 1 })).results.points.map((p) => p.violations);
    const whole = (await runStudy(study(8), { workers: 1 })).results.points.map((p) => p.violations);
    expect(split).toEqual([1]);
    expect(whole).toEqual([0]);
  }, 60_000);
});
