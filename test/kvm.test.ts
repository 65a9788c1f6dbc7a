// The KVM invalidation model (docs/kvm-model.md): each policy's bookkeeping step by step against
// docs/model/kvm.md and docs/model/policies.md, the cost model's arithmetic on hand-computed timelines (docs/model/costs.md §3), the detector, host
// paging and the HV fault path.
import { describe, expect, it } from "vitest";
import { Machine } from "../src/engine/machine.js";
import { type Guest } from "../src/engine/guest.js";
import { KvmOpError } from "../src/engine/index.js";
import { makeHpte, slbVsidWord, H_LOCAL } from "../src/hpte.js";
import type { MachineConfigInput, GuestOptionsInput } from "../src/config.js";
import { ConfigError } from "../src/config.js";

const VSID = 0x1000n;
const SLB = slbVsidWord(VSID);
/** Page k: EA k·4K in VSID 0x1000's segment → gpa k·64K (gfn k with 64K host pages). */
const page = (k: number) => makeHpte({ vsid: VSID, ea: BigInt(k) << 12n, gpa: BigInt(k) << 16n });
const ea = (k: number) => BigInt(k) << 12n;

function setup(cfg: MachineConfigInput = {}, guest: GuestOptionsInput = {}): { m: Machine; g: Guest } {
  const m = new Machine({ cores: 4, smt: 4, hostMemoryBytes: 2 ** 26, ...cfg });
  const g = m.createGuest({ ramBytes: 2 ** 24, ...guest });
  return { m, g };
}

function enter(g: Guest, k: number, cpu = 0): bigint {
  const h = page(k);
  const r = g.hEnter(0n, h.ptex(g.hptOrder), h.v, h.r, { cpu });
  expect(r.ret).toBe(0);
  return r.out[0]!;
}

function bulk(g: Guest, ptexes: bigint[], cpu: number) {
  const words = ptexes.flatMap((p) => [0x4000000000000000n | p, 0n]);
  if (words.length < 8) words.push(0xc000000000000000n);
  return g.hBulkRemove(words, { cpu });
}

describe("need-tlb-flush (docs/model/kvm.md §4 as later kernels apply it)", () => {
  it("VM start sets every core's bit; entry tests and clears it with one LPID flush", () => {
    const { m, g } = setup();
    expect(g.needTlbFlush()).toEqual([0, 1, 2, 3]);
    g.runVcore(0, 2);
    expect(g.needTlbFlush()).toEqual([0, 1, 3]);
    expect(g.kvmCounters().entryFlushes).toBe(1n);
    g.exitVcore(0);
    g.runVcore(0, 2);
    expect(g.kvmCounters().entryFlushes).toBe(1n); // bit already clear
    expect(m.cpuState(8)).toEqual({ lpid: 1, vcpu: 0, kvmVcore: { lpid: 1, vcore: 0 } });
    expect(g.vcoreState(0)).toEqual({ pcpu: 8, running: true, vcpuMask: 0xffffffff, runs: 2 });
  });

  it("one vcore running here: tlbiel, then need_tlb_flush = all but this core", () => {
    const { m, g } = setup();
    const p = enter(g, 5, 4);
    g.runVcore(0, 1);
    m.translate(4, 1, SLB, ea(5));
    m.translate(0, 1, SLB, ea(5)); // core 0 holds it too (as if left from an earlier run)
    g.hRemove(0n, p, 0n, { cpu: 4 });
    expect(g.needTlbFlush()).toEqual([0, 2, 3]);
    const k = g.kvmCounters();
    expect([k.localInvalidations, k.globalInvalidations]).toEqual([1n, 0n]);
    expect(m.tlbEntries(1)).toEqual([]);
    expect(m.staleEntries(0).map((e) => [e.vpn4k, e.leftBy.cause, e.leftBy.cpu])).toEqual([[0x10000005n, "local-invalidation", 4]]);
  });

  it("H_LOCAL is ignored; not running here, or two vcores: a global tlbie", () => {
    const { m, g } = setup();
    const p = enter(g, 5);
    m.translate(0, 1, SLB, ea(5));
    g.hRemove(H_LOCAL, p, 0n, { cpu: 0 }); // no vcpu runs on cpu 0
    expect(g.kvmCounters().globalInvalidations).toBe(1n);
    expect(m.tlbEntries(0)).toEqual([]);
    const two = m.createGuest({ ramBytes: 2 ** 24, vcpus: 8, threadsPerVcore: 4 });
    expect(two.vcores).toBe(2);
    const q = enter(two, 6, 12);
    two.runVcore(1, 3);
    two.hRemove(H_LOCAL, q, 0n, { cpu: 12 });
    expect([two.kvmCounters().localInvalidations, two.kvmCounters().globalInvalidations]).toEqual([0n, 1n]);
  });

  it("H_BULK_REMOVE decides once, at the top, even when it removes nothing (v3.12+)", () => {
    const { g } = setup();
    g.runVcore(0, 1);
    expect(g.needTlbFlush()).toEqual([0, 2, 3]);
    const r = bulk(g, [0x100n], 4); // empty slot: not found
    expect(r.ret).toBe(0);
    expect(g.needTlbFlush()).toEqual([0, 2, 3]); // set-all, then this core cleared
    expect(g.kvmCounters().needFlushSets).toBe(2n); // VM start + this hcall
  });

  it("HPT reset sets every bit again and is refused while a vcore runs", () => {
    const { g } = setup();
    g.runVcore(0, 0);
    expect(() => g.resetHpt()).toThrow(KvmOpError);
    g.exitVcore(0);
    g.resetHpt();
    expect(g.needTlbFlush()).toEqual([0, 1, 2, 3]);
    expect(g.kvmCounters().hptResets).toBe(1n);
  });
});

describe("need-tlb-flush-3.8 (commit 1b400ba0 as merged)", () => {
  it("the stale paca kvm_vcore: local on a cpu that once ran any vcore; the bit cleared is that vcore's pcpu", () => {
    const { m, g } = setup({}, { policy: "need-tlb-flush-3.8" });
    const p = enter(g, 5);
    const other = m.createGuest({ ramBytes: 2 ** 24, policy: "need-tlb-flush-3.8" });
    other.runVcore(0, 0); // cpu 0 gets kvm_vcore = other's vcore 0
    other.exitVcore(0);
    other.runVcore(0, 3); // that vcore now has pcpu 12
    expect(m.cpuState(0).kvmVcore).toEqual({ lpid: 2, vcore: 0 });
    g.hRemove(0n, p, 0n, { cpu: 0 }); // host context on cpu 0, nothing of g runs
    expect(g.kvmCounters().localInvalidations).toBe(1n);
    expect(g.needTlbFlush()).toEqual([0, 1, 2]); // core 3 (the stale vcore's pcpu) cleared
    const q = enter(g, 6);
    g.hRemove(0n, q, 0n, { cpu: 4 }); // cpu 4 never started a vcore: global
    expect(g.kvmCounters().globalInvalidations).toBe(1n);
  });

  it("H_BULK_REMOVE: tlbiel iff online_vcpus == 1, need_tlb_flush untouched", () => {
    const { m, g } = setup({}, { policy: "need-tlb-flush-3.8" });
    const p = enter(g, 5);
    g.runVcore(0, 1);
    const before = g.needTlbFlush();
    bulk(g, [p], 4);
    expect(g.needTlbFlush()).toEqual(before);
    expect(g.kvmCounters().localInvalidations).toBe(1n);
    const two = m.createGuest({ ramBytes: 2 ** 24, vcpus: 2, policy: "need-tlb-flush-3.8" }); // 1 vcore, 2 vcpus
    const q = enter(two, 5);
    two.runVcore(0, 2);
    bulk(two, [q], 8);
    expect([two.kvmCounters().localInvalidations, two.kvmCounters().globalInvalidations]).toEqual([0n, 1n]);
  });
});

describe("last-vcpu (Linux 3.6/3.7, docs/model/kvm.md §3)", () => {
  it("slot = (cpu & ~3) | (vcpu & 3); a mismatch of last_cpu or last_vcpu[slot] flushes that thread's core", () => {
    const { g } = setup({}, { policy: "last-vcpu", vcpus: 4 });
    expect(g.vcpuState(1)).toEqual({ lastCpu: 0xffff, runningOn: null });
    g.runVcore(0, 1, 0b0010); // vcpu 1 alone: ptid 0 = cpu 4, slot (4 & ~3) | 1 = 5
    expect(g.vcpuState(1)).toEqual({ lastCpu: 5, runningOn: 4 });
    expect(g.lastVcpu(5)).toBe(1);
    expect(g.kvmCounters().entryFlushes).toBe(1n);
    g.exitVcore(0);
    g.runVcore(0, 1, 0b0010);
    expect(g.kvmCounters().entryFlushes).toBe(1n); // same slot, same vcpu: no flush
    g.exitVcore(0);
    g.runVcore(0, 1); // all four: vcpu 0, 2, 3 are new to their slots, vcpu 1 is not
    expect(g.kvmCounters().entryFlushes).toBe(4n);
    g.exitVcore(0);
    g.resetHpt();
    expect(g.lastVcpu(5)).toBe(0xffff);
    g.runVcore(0, 1);
    expect(g.kvmCounters().entryFlushes).toBe(8n); // each thread flushes (per-thread defect)
  });

  it("local iff H_LOCAL or online_vcpus == 1; H_BULK_REMOVE local iff online_vcpus == 1", () => {
    const { m, g } = setup({}, { policy: "last-vcpu", vcpus: 2 });
    g.runVcore(0, 0);
    const [a, b, c] = [enter(g, 1), enter(g, 2), enter(g, 3)];
    g.hRemove(0n, a, 0n, { cpu: 0 });
    g.hRemove(H_LOCAL, b, 0n, { cpu: 0 });
    bulk(g, [c], 0);
    expect([g.kvmCounters().globalInvalidations, g.kvmCounters().localInvalidations]).toEqual([2n, 1n]);
    const one = m.createGuest({ ramBytes: 2 ** 24, policy: "last-vcpu" });
    const d = enter(one, 1);
    one.hProtect(0n, d, 0n, { cpu: 4 });
    bulk(one, [d], 4);
    expect([one.kvmCounters().globalInvalidations, one.kvmCounters().localInvalidations]).toEqual([0n, 2n]);
  });
});

describe("flush-always (PPC970, docs/model/kvm.md §5)", () => {
  it("the whole TLB of the core, every LPID, at entry and exit; host paging refused", () => {
    const { m, g } = setup({}, { policy: "flush-always" });
    const other = m.createGuest({ ramBytes: 2 ** 24 });
    enter(other, 2);
    m.translate(0, 2, SLB, ea(2));
    expect(m.tlbEntries(0)).toHaveLength(1);
    g.runVcore(0, 0);
    expect(m.tlbEntries(0)).toEqual([]);
    enter(g, 3, 0);
    m.translate(0, 1, SLB, ea(3));
    g.exitVcore(0);
    expect(m.tlbEntries(0)).toEqual([]);
    expect(g.kvmCounters().fullFlushes).toBe(2n);
    expect(() => g.pageOut(3)).toThrow(/pinned/);
  });
});

describe("deferred-va (Graf's list, docs/model/policies.md §6)", () => {
  function two(cap: number, overflow: "flush" | "tlbie" | "drain" = "flush") {
    return setup({}, { policy: "deferred-va", vcpus: 8, threadsPerVcore: 4, deferredCap: cap, deferredOverflow: overflow });
  }

  it("H_LOCAL on a multi-vcore VM: tlbiel + a record; host paging tlbies the record and frees the frame", () => {
    const { m, g } = two(4);
    const p = enter(g, 5);
    g.runVcore(0, 0);
    g.runVcore(1, 1);
    m.translate(4, 1, SLB, ea(5)); // core 1 holds it
    g.hRemove(H_LOCAL, p, 0n, { cpu: 0 });
    expect(g.deferred()).toEqual([{ set: 5, vpn4k: 0x10000005n, gfn: 5 }]);
    expect(m.tlbEntries(1)).toHaveLength(1); // still there, stale
    const frame = g.frame(5);
    expect(g.pageOut(5, 8)).toBe(0); // the ring is empty …
    expect(m.tlbEntries(1)).toEqual([]); // … but the record's tlbie reached core 1
    expect(g.deferred()).toEqual([]);
    expect(g.kvmCounters().deferredTlbies).toBe(1n);
    expect(m.frameOwner(frame)).toBe(0);
    const q = enter(g, 6);
    g.hRemove(0n, q, 0n, { cpu: 0 }); // no H_LOCAL: tlbie, no record
    expect(g.deferred()).toEqual([]);
  });

  it("overflow (c): need_tlb_flush = all, every running vcore kicked (IPI, exit, re-entry with a flush), list emptied", () => {
    const { m, g } = two(1);
    const [a, b] = [enter(g, 1), enter(g, 2)];
    g.runVcore(0, 0);
    g.runVcore(1, 2);
    g.hRemove(H_LOCAL, a, 0n, { cpu: 0 });
    const before = g.kvmCounters();
    g.hRemove(H_LOCAL, b, 0n, { cpu: 0 });
    const k = g.kvmCounters();
    expect(k.deferredOverflows).toBe(1n);
    expect(k.ipis - before.ipis).toBe(2n);
    expect(k.entryFlushes - before.entryFlushes).toBe(2n); // cores 0 and 2 flushed on re-entry
    expect(g.needTlbFlush()).toEqual([1, 3]);
    expect(g.deferred()).toEqual([]);
    expect(m.cpuCycles(8).cycles.ipi).toBe(8000n);
  });

  it("overflow (a) tlbie and (b) drain", () => {
    const t = two(1, "tlbie");
    const [a, b] = [enter(t.g, 1), enter(t.g, 2)];
    t.g.hRemove(H_LOCAL, a, 0n, { cpu: 0 });
    t.g.hRemove(H_LOCAL, b, 0n, { cpu: 0 });
    expect(t.g.deferred().map((d) => d.gfn)).toEqual([1]);
    expect(t.m.counters().globalTlbies).toBe(1n);
    const d = two(1, "drain");
    const [c, e] = [enter(d.g, 1), enter(d.g, 2)];
    d.g.hRemove(H_LOCAL, c, 0n, { cpu: 0 });
    d.g.hRemove(H_LOCAL, e, 0n, { cpu: 0 });
    expect(d.g.deferred().map((x) => x.gfn)).toEqual([2]);
    expect(d.g.kvmCounters().deferredTlbies).toBe(1n);
  });
});

describe("host paging and the HV fault path (docs/model/kvm.md §8)", () => {
  it("kvm_unmap_rmapp: every HPTE of the ring ABSENT with a tlbie and R/C harvested; a later access re-validates", () => {
    const { m, g } = setup();
    const p = enter(g, 5);
    expect(m.translate(0, 1, SLB, ea(5), "store").kind).toBe("miss");
    const old = g.frame(5);
    expect(g.pageOut(5)).toBe(1);
    expect(g.hpte(Number(p)).v & 0x21n).toBe(0x20n); // ABSENT, not VALID
    expect(g.rmap(5) & 0x18000000000n).toBe(0x18000000000n); // R and C harvested into the rmap
    expect(g.rmapChain(5)).toEqual([]);
    expect(g.frame(5)).toBe(-1);
    expect(m.tlbEntries(0)).toEqual([]);
    expect(() => g.pageOut(5)).toThrow(/no host frame/);
    const r = m.access(0, 1, SLB, ea(5));
    expect(r.kind).toBe("miss");
    expect(g.frame(5)).toBe(old); // lowest free frame: the one just freed
    expect(g.rmapChain(5)).toEqual([Number(p)]);
    expect(g.kvmCounters().hvFaults).toBe(1n);
  });

  it("an HPTE in the secondary group: paged out ABSENT, the HV fault finds it in the secondary PTEG and re-validates it", () => {
    // VSID 0x1000, EA 5·4K, order 18 (htab_mask 0x7ff): hash = 0x1000 ^ 5 → primary PTEG 0x005 (ptex 0x28),
    // secondary ~hash & 0x7ff = 0x7fa (ptex 0x3fd0). Eight other pages (VSID 0x2000) fill the primary.
    const { m, g } = setup();
    expect(g.hptOrder).toBe(18);
    for (let i = 0n; i < 8n; i++) expect(g.hEnter(0n, 0x28n + i, (0x2000n << 12n) | (i << 7n) | 1n, ((0x20n + i) << 16n) | 0x12n).ret).toBe(0);
    const h = page(5);
    expect(g.hEnter(0n, 0x28n, h.v, h.r).ret).toBe(-6); // H_PTEG_FULL
    const r = g.hEnter(0n, 0x3fd0n, h.v | 0x2n, h.r);
    expect([r.ret, r.out[0]]).toEqual([0, 0x3fd0n]);
    expect(m.translate(0, 1, SLB, ea(5)).kind).toBe("miss");
    expect(g.pageOut(5)).toBe(1);
    expect(g.hpte(0x3fd0).v & 0x23n).toBe(0x22n); // ABSENT and H, not VALID
    expect(m.tlbEntries(0)).toEqual([]);
    expect(m.access(0, 1, SLB, ea(5)).kind).toBe("miss"); // not a guest fault: found ABSENT in the secondary group
    expect(g.kvmCounters().hvFaults).toBe(1n);
    expect(g.hpte(0x3fd0).v & 0x23n).toBe(0x3n); // VALID and H again
    expect(g.rmapChain(5)).toEqual([0x3fd0]);
  });
});

describe("the stale-translation detector", () => {
  it("a stale hit on a page the guest still owns is harmless; on a page it lost, a violation with its history", () => {
    const { m, g } = setup({}, { policy: "last-vcpu", vcpus: 2, threadsPerVcore: 1 });
    const other = m.createGuest({ ramBytes: 2 ** 24 });
    const p = enter(g, 0);
    g.runVcore(1, 1);
    m.translate(4, 1, SLB, ea(0));
    g.exitVcore(1);
    g.runVcore(0, 0);
    g.hRemove(H_LOCAL, p, 0n, { cpu: 0 });
    g.exitVcore(0);
    g.runVcore(1, 1);
    expect(m.access(4, 1, SLB, ea(0)).verdict).toBe("stale-harmless");
    g.exitVcore(1);
    const frame = g.frame(0);
    g.pageOut(0);
    other.pageOut(0);
    expect(other.pageIn(0)).toBe(frame);
    g.runVcore(1, 1);
    expect(m.access(4, 1, SLB, ea(0)).verdict).toBe("violation");
    const k = m.kvmCounters();
    expect([k.violations, k.staleHarmless, k.staleHits]).toEqual([1n, 1n, 2n]);
    const [v] = m.violations();
    expect(v).toMatchObject({ cpu: 4, lpid: 1, guest: g.instance, owner: other.instance, ea: 0n, frame, rpn: BigInt(frame) << 4n });
    expect(v!.leftBy).toMatchObject({ cause: "local-invalidation", cpu: 0 });
  });

  it("destroying a guest leaves its entries stale (no flush, docs/model/kvm.md §1.4), marked lpid-freed", () => {
    const { m, g } = setup();
    enter(g, 3);
    m.translate(0, 1, SLB, ea(3));
    m.destroyGuest(1);
    expect(m.staleEntries(0).map((e) => e.leftBy.cause)).toEqual(["lpid-freed"]);
  });
});

describe("cost model (docs/model/costs.md §3)", () => {
  it("tlbie = 800 + 60·S per sequence (S = chips of 8 cores), +100 per extra; the fabric is reserved in 128-cycle slots", () => {
    const { m, g } = setup({ cores: 16 }); // S = 2: 920
    const [a, b, c, d] = [enter(g, 1), enter(g, 2), enter(g, 3), enter(g, 4)];
    const c0 = m.cpuCycles(0).clock; // four H_ENTERs: 4 × 1000
    expect(c0).toBe(4000n);
    g.hRemove(0n, a, 0n, { cpu: 0 }); // tlbie at 5000: slots 39..46 (4992..6015)
    expect(m.cpuCycles(0).clock).toBe(4000n + 1000n + 920n);
    expect(m.fabricFreeAt).toBe(5920n);
    m.work(4, 3500); // cpu 4 reaches the fabric at 4500: slots 35..42 collide; first free run starts at slot 47
    g.hRemove(0n, b, 0n, { cpu: 4 });
    expect(m.cpuCycles(4)).toMatchObject({ clock: 47n * 128n + 920n, cycles: { tlbieWait: 47n * 128n - 4500n, tlbie: 920n, hcall: 1000n } });
    expect(m.kvmCounters().tlbieWaits).toBe(1n);
    bulk(g, [c, d], 8); // cpu 8 at 1000 (earlier in time, later in op order): slots 7..14 are free, no wait
    expect(m.cpuCycles(8)).toMatchObject({ clock: 1000n + 1020n, cycles: { tlbieWait: 0n, tlbie: 1020n } });
    expect(m.fabricFreeAt).toBe(47n * 128n + 920n);
  });

  it("Power 795 scale: 256 cores, S = 32 → 2720 per tlbie sequence", () => {
    const { m, g } = setup({ cores: 256, hostMemoryBytes: 2 ** 26 });
    const a = enter(g, 1);
    g.hRemove(0n, a, 0n, { cpu: 0 });
    expect(m.cpuCycles(0).cycles.tlbie).toBe(2720n);
  });

  it("translate: 12 per hit, +40 per PTEG probed; entry flush 200 + 10·sets; 6000 per thread at exit; tlbiel 220 + 10 per extra", () => {
    const { m, g } = setup({}, { vcpus: 1 });
    enter(g, 1, 1);
    m.translate(1, 1, SLB, ea(1)); // miss, primary PTEG
    m.translate(1, 1, SLB, ea(1)); // hit
    expect(m.cpuCycles(1).cycles).toMatchObject({ translate: 24n, walk: 40n, hcall: 1000n });
    const [x, y] = [enter(g, 2, 4), enter(g, 3, 4)];
    g.runVcore(0, 1); // cpu 4: flush 1480 at entry (rendezvous at 2000)
    expect(m.cpuCycles(4)).toMatchObject({ clock: 2000n + 1480n, cycles: { flush: 1480n } });
    bulk(g, [x, y], 4); // one vcore running here: local, one sequence of 2 tlbiels
    expect(m.cpuCycles(4).cycles.tlbiel).toBe(230n);
    g.exitVcore(0);
    expect(m.cpuCycles(4).cycles.entryExit).toBe(6000n);
    expect(m.cpuCycles(5).cycles.entryExit).toBe(0n); // no vcpu on thread 1
  });

  it("cost overrides come from the machine config and are validated", () => {
    const { m, g } = setup({ costs: { tlbieBase: 100, tlbiePerChip: 0, hcall: 0 } });
    const a = enter(g, 1);
    g.hRemove(0n, a, 0n, { cpu: 0 });
    expect(m.cpuCycles(0).clock).toBe(100n);
    expect(() => new Machine({ costs: { tlbie: 5 } as never })).toThrow(ConfigError);
    expect(() => new Machine({ costs: { coresPerChip: 0 } })).toThrow(/coresPerChip/);
  });

  it("every cycle is counted once: per-cpu breakdowns add up to the machine's", () => {
    const { m, g } = setup({}, { vcpus: 8, threadsPerVcore: 4 });
    const ps = [1, 2, 3, 4].map((k) => enter(g, k));
    g.runVcore(0, 0);
    g.runVcore(1, 2);
    for (const k of [1, 2, 3, 4]) m.translate(8, 1, SLB, ea(k));
    g.hRemove(H_LOCAL, ps[0]!, 0n, { cpu: 8 });
    bulk(g, ps.slice(1), 0);
    g.exitVcore(0);
    const machine = m.kvmCounters().cycles;
    const sum: Record<string, bigint> = {};
    for (let cpu = 0; cpu < 16; cpu++) for (const [k, v] of Object.entries(m.cpuCycles(cpu).cycles)) sum[k] = (sum[k] ?? 0n) + v;
    expect(sum).toEqual(machine);
    expect(g.kvmCounters().cycles).toEqual(machine);
  });
});

describe("global_invalidates() for every combination (docs/model/kvm.md §4.2)", () => {
  // online_vcores ∈ {1, 2} × a vcpu of the VM running on the calling cpu ∈ {yes, no} × H_LOCAL ∈ {0, 1};
  // POWER7 policies have MMU notifiers (H_LOCAL ignored); flush-always is the PPC970 without them.
  type Row = { vcores: 1 | 2; runningHere: boolean; hLocal: boolean };
  const rows: Row[] = [];
  for (const vcores of [1, 2] as const) for (const runningHere of [true, false]) for (const hLocal of [false, true]) rows.push({ vcores, runningHere, hLocal });

  function decide(policy: "need-tlb-flush" | "need-tlb-flush-3.8" | "flush-always" | "deferred-va", r: Row, everRan: boolean) {
    const m = new Machine({ cores: 4, smt: 4, hostMemoryBytes: 2 ** 26 });
    const g = m.createGuest({ ramBytes: 2 ** 24, vcpus: r.vcores * 4, threadsPerVcore: 4, policy });
    const p = enter(g, 5);
    if (everRan) { g.runVcore(0, 3); g.exitVcore(0); } // cpu 12 gets a (stale) paca kvm_vcore
    if (r.runningHere) g.runVcore(0, 1);
    const cpu = r.runningHere ? 4 : everRan ? 12 : 8;
    const before = g.needTlbFlush();
    g.hRemove(r.hLocal ? H_LOCAL : 0n, p, 0n, { cpu });
    const k = g.kvmCounters();
    return { mode: k.localInvalidations ? "local" : "global", record: g.deferred().length > 0, mask: g.needTlbFlush(), before };
  }

  it.each(rows)("need-tlb-flush: %o", (r) => {
    const d = decide("need-tlb-flush", r, false);
    const local = r.vcores === 1 && r.runningHere;
    expect(d.mode).toBe(local ? "local" : "global");
    expect(d.mask).toEqual(local ? [0, 2, 3] : d.before);
  });

  it.each(rows)("need-tlb-flush-3.8 (cpu that once ran a vcore when not running here): %o", (r) => {
    const d = decide("need-tlb-flush-3.8", r, !r.runningHere);
    expect(d.mode).toBe(r.vcores === 1 ? "local" : "global"); // kvm_vcore non-NULL on both cpus used
    if (r.vcores === 1) expect(d.mask).toEqual(r.runningHere ? [0, 2, 3] : [0, 1, 2]); // the vcore's pcpu: core 1 or 3
  });

  it.each(rows)("flush-always (no MMU notifiers: H_LOCAL honoured): %o", (r) => {
    const d = decide("flush-always", r, false);
    expect(d.mode).toBe((r.vcores === 1 && r.runningHere) || r.hLocal ? "local" : "global");
  });

  it.each(rows)("deferred-va: %o", (r) => {
    const d = decide("deferred-va", r, false);
    const oneVcore = r.vcores === 1 && r.runningHere;
    expect(d.mode).toBe(oneVcore || r.hLocal ? "local" : "global");
    expect(d.record).toBe(!oneVcore && r.hLocal);
  });
});

describe("machine TLB ops are charged too", () => {
  it("tlbiel 220, congruence-class tlbiel 220 (flush), LPID flush 1480, tlbie 800 + 60·S", () => {
    const { m } = setup();
    m.tlbiel(1, 1, SLB, 0n);
    m.tlbielSet(1, 3, "all");
    m.flushLpid(1, 1);
    expect(m.cpuCycles(1).cycles).toMatchObject({ tlbiel: 220n, flush: 220n + 1480n });
    m.tlbie(1, SLB, 0n);
    expect(m.cpuCycles(0).cycles.tlbie).toBe(860n);
  });
});

describe("host reclaim with aging (kvm_age_rmapp)", () => {
  it("pages out the first candidate not referenced since the last look, and ages every candidate", () => {
    const { m, g } = setup();
    [1, 2, 3].map((k) => enter(g, k));
    m.translate(0, 1, SLB, ea(1)); // walks set R on pages 1 and 2
    m.translate(0, 1, SLB, ea(2));
    expect(g.reclaim([1, 2, 3])).toBe(3); // 3 was never walked
    expect(g.frame(3)).toBe(-1);
    expect(g.reclaim([1, 2])).toBe(1); // both referenced: the first; and now both are aged
    expect(g.reclaim([2, 4])).toBe(2); // 2 was aged and not touched since (4 has no HPTE: cold too, but later)
    expect(() => g.reclaim([])).toThrow(RangeError);
  });

  it("a page reached only through a stale TLB entry looks cold: that is how the breach happens", () => {
    const { m, g } = setup({}, { policy: "last-vcpu", vcpus: 2, threadsPerVcore: 1 });
    const p = enter(g, 7);
    g.runVcore(1, 1);
    m.translate(4, 1, SLB, ea(7)); // core 1 holds it; R set by the walk
    g.runVcore(0, 0);
    g.hRemove(H_LOCAL, p, 0n, { cpu: 0 }); // tlbiel on core 0 only
    enter(g, 7, 0); // the guest maps the page again: a fresh HPTE, R clear
    m.translate(4, 1, SLB, ea(7)); // hit on core 1's stale entry: no walk, no R
    expect(g.reclaim([7, 5])).toBe(5); // the removal harvested R into the rmap: 7 still looks used once …
    m.translate(4, 1, SLB, ea(7)); // … but the guest keeps using it only through the stale entry
    expect(g.reclaim([7, 6])).toBe(7); // so at the next look it is cold and goes
    expect(m.kvmCounters().violations).toBe(0n); // (the frame is free, not yet reached again)
  });
});
