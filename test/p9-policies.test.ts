// The POWER9/POWER10 policies (docs/model/policies.md §10–§11) step by step, on the engine and on the
// reference KVM model alike: the forced-global decision of the P9 path's virtual-mode hcalls, the
// entry check per TLB thread group vs per core, and the POWER9 tlbie errata — exact tlbie counts and
// cycles per global sequence derived from do_tlbies()/fixup_tlbie_lpid() (book3s_hv_rm_mmu.c) and
// update_tlbie_feature_flag() (dt_cpu_ftrs.c).
import { describe, expect, it } from "vitest";
import { Machine } from "../src/engine/machine.js";
import { createReferenceKvmMachine } from "../src/reference/index.js";
import { makeHpte, H_LOCAL } from "../src/hpte.js";
import { resolveMachineConfig, ConfigError, type MachineConfigInput, type GuestOptionsInput } from "../src/config.js";

const VSID = 0x1000n;
const page = (k: number) => makeHpte({ vsid: VSID, ea: BigInt(k) << 12n, gpa: BigInt(k) << 16n });

// one chip (coresPerChip 12 ≥ 2 cores): a sequence is tlbieBase + tlbiePerChip·1 + tlbieExtra·(n − 1) + tlbieErrata·e
const COSTS = { tlbieBase: 720, tlbiePerChip: 60, tlbieExtra: 100, tlbieErrata: 200, coresPerChip: 12 };
const SEQ = (n: number, errata: number) => 720 + 60 + 100 * (n - 1) + 200 * errata;

type AnyGuest = ReturnType<Machine["createGuest"]>;
type AnyMachine = { createGuest(o: GuestOptionsInput): AnyGuest; kvmCounters(): ReturnType<Machine["kvmCounters"]>; counters(): ReturnType<Machine["counters"]>; dispose(): void };

function both(cfg: MachineConfigInput, body: (m: AnyMachine) => void): void {
  const config = { cores: 2, smt: 8 as const, hostMemoryBytes: 2 ** 26, costs: COSTS, ...cfg };
  for (const make of [(c: MachineConfigInput) => new Machine(c), createReferenceKvmMachine] as ((c: MachineConfigInput) => AnyMachine)[]) {
    const m = make(config);
    try { body(m); } finally { m.dispose(); }
  }
}

function enter(g: AnyGuest, k: number, cpu = 0): bigint {
  const h = page(k);
  const r = g.hEnter(0n, h.ptex(g.hptOrder), h.v, h.r, { cpu });
  expect(r.ret).toBe(0);
  return r.out[0]!;
}

/** The counters of one hcall: tlbie sequences, tlbies, errata tlbies, tlbiels, tlbie cycles. */
function delta(m: AnyMachine, call: () => void) {
  const a = m.kvmCounters(), ca = m.counters();
  call();
  const b = m.kvmCounters(), cb = m.counters();
  return {
    sequences: Number(b.tlbieSequences - a.tlbieSequences), tlbies: Number(cb.globalTlbies - ca.globalTlbies),
    errata: Number(b.errataTlbies - a.errataTlbies), tlbiels: Number(cb.localTlbiels - ca.localTlbiels), cycles: Number(b.cycles.tlbie - a.cycles.tlbie),
  };
}

describe("machines: the POWER9 tlbie errata (dt_cpu_ftrs.c update_tlbie_feature_flag)", () => {
  it("power9 has both by default (a part below Nimbus DD2.3 / Cumulus DD1.3); power7, power8, power10 none; a config may name them", () => {
    expect(resolveMachineConfig({ generation: "power9" }).tlbieErrata).toEqual(["stq", "erat"]);
    expect(resolveMachineConfig({ preset: "power9-e980" }).tlbieErrata).toEqual(["stq", "erat"]);
    for (const generation of ["power7", "power8", "power10"] as const) expect(resolveMachineConfig({ generation }).tlbieErrata).toBeUndefined();
    expect(resolveMachineConfig({ generation: "power9", tlbieErrata: ["erat"] }).tlbieErrata).toEqual(["erat"]); // Nimbus DD2.3
    expect(resolveMachineConfig({ generation: "power9", tlbieErrata: [] }).tlbieErrata).toBeUndefined();
    expect(() => resolveMachineConfig({ tlbieErrata: ["erat", "erat"] })).toThrow(ConfigError);
    expect(() => resolveMachineConfig({ tlbieErrata: ["nope" as never] })).toThrow(/machine\.tlbieErrata/);
  });
});

describe("p9-hash: every hcall invalidation is one global sequence, with one ptesync;tlbie per erratum", () => {
  for (const [errata, e] of [[["stq", "erat"], 2], [["erat"], 1], [[], 0]] as const) {
    it(`H_REMOVE on a machine with errata [${errata.join(", ")}]: 1 sequence, 1 + ${e} tlbies, ${SEQ(1, e)} cycles (engine and reference)`, () => {
      both({ generation: "power9", tlbieErrata: [...errata] }, (m) => {
        const g = m.createGuest({ ramBytes: 2 ** 24, policy: "p9-hash" });
        g.runVcore(0, 0); // one vcore running here, and H_LOCAL: need-tlb-flush would tlbiel
        const ptex = enter(g, 1, 0);
        expect(delta(m, () => g.hRemove(H_LOCAL, ptex, 0n, { cpu: 0 }))).toEqual({ sequences: 1, tlbies: 1, errata: e, tlbiels: 0, cycles: SEQ(1, e) });
      });
    });
  }

  it("H_BULK_REMOVE of four entries: one sequence of 4 tlbies + 2 errata tlbies (the STQ one repeats the last VA)", () => {
    both({ generation: "power9" }, (m) => {
      const g = m.createGuest({ ramBytes: 2 ** 24, policy: "p9-hash" });
      const ptexes = [1, 2, 3, 4].map((k) => enter(g, k, 0));
      const words = ptexes.flatMap((p) => [0x4000000000000000n | p, 0n]);
      expect(delta(m, () => g.hBulkRemove(words, { cpu: 0 }))).toEqual({ sequences: 1, tlbies: 4, errata: 2, tlbiels: 0, cycles: SEQ(4, 2) });
    });
  });

  it("the host's page-out of a p9-hash guest's page carries the workarounds too (do_tlbies via kvmppc_invalidate_hpte)", () => {
    both({ generation: "power9" }, (m) => {
      const g = m.createGuest({ ramBytes: 2 ** 24, policy: "p9-hash" });
      enter(g, 1, 0);
      expect(delta(m, () => g.pageOut(1, 0))).toEqual({ sequences: 1, tlbies: 1, errata: 2, tlbiels: 0, cycles: SEQ(1, 2) });
    });
  });

  it("need-tlb-flush (3.x kernels: no workarounds) on the same POWER9 pays none; a qemu guest none either", () => {
    both({ generation: "power9" }, (m) => {
      const g = m.createGuest({ ramBytes: 2 ** 24, policy: "need-tlb-flush", vcpus: 16, threadsPerVcore: 8 }); // two vcores: global
      const ptex = enter(g, 1, 0);
      expect(delta(m, () => g.hRemove(0n, ptex, 0n, { cpu: 0 }))).toEqual({ sequences: 1, tlbies: 1, errata: 0, tlbiels: 0, cycles: SEQ(1, 0) });
      const q = m.createGuest({ ramBytes: 2 ** 24, policy: "p9-hash", semantics: "qemu" });
      const qp = enter(q, 1, 0);
      expect(delta(m, () => q.hRemove(0n, qp, 0n, { cpu: 0 })).errata).toBe(0);
    });
  });

  it("p9-hash on POWER10 (no errata): sequences without extra tlbies", () => {
    both({ generation: "power10" }, (m) => {
      const g = m.createGuest({ ramBytes: 2 ** 24, policy: "p9-hash" });
      const ptex = enter(g, 1, 0);
      expect(delta(m, () => g.hRemove(0n, ptex, 0n, { cpu: 0 }))).toEqual({ sequences: 1, tlbies: 1, errata: 0, tlbiels: 0, cycles: SEQ(1, 0) });
    });
  });
});

describe("the entry check: per TLB group (p9-hash) vs per core (p9-hash-core-tlb)", () => {
  const entryFlushes = (m: AnyMachine) => Number(m.kvmCounters().entryFlushes);
  it("VM start marks every TLB (p9-hash: 4 bits on 2 split cores) or every core (p9-hash-core-tlb: 2)", () => {
    both({ generation: "power9" }, (m) => {
      expect(m.createGuest({ ramBytes: 2 ** 24, policy: "p9-hash" }).needTlbFlush()).toEqual([0, 1, 2, 3]);
      expect(m.createGuest({ ramBytes: 2 ** 24, policy: "p9-hash-core-tlb" }).needTlbFlush()).toEqual([0, 1]);
    });
  });

  it("an 8-vcpu vcore entering a split core: p9-hash flushes both TLBs (threads 0 and 4 first of their groups), the pre-fix rule one", () => {
    both({ generation: "power9" }, (m) => {
      const g = m.createGuest({ ramBytes: 2 ** 24, policy: "p9-hash", vcpus: 8, threadsPerVcore: 8 });
      g.runVcore(0, 1);
      expect(entryFlushes(m)).toBe(2);
      expect(g.needTlbFlush()).toEqual([0, 1]); // core 1's TLBs 2 and 3 cleared
      const h = m.createGuest({ ramBytes: 2 ** 24, policy: "p9-hash-core-tlb", vcpus: 8, threadsPerVcore: 8 });
      h.runVcore(0, 0);
      expect(entryFlushes(m)).toBe(3);
      expect(h.needTlbFlush()).toEqual([1]);
    });
  });

  it("on a core that shares one TLB (tlbThreadsPerGroup 8, POWER8-like) both rules flush once per core", () => {
    both({ generation: "power9", tlbThreadsPerGroup: 8 }, (m) => {
      const g = m.createGuest({ ramBytes: 2 ** 24, policy: "p9-hash", vcpus: 8, threadsPerVcore: 8 });
      g.runVcore(0, 0);
      const h = m.createGuest({ ramBytes: 2 ** 24, policy: "p9-hash-core-tlb", vcpus: 8, threadsPerVcore: 8 });
      h.runVcore(0, 1);
      expect(entryFlushes(m)).toBe(2);
      expect([g.needTlbFlush(), h.needTlbFlush()]).toEqual([[1], [0]]);
    });
  });
});
