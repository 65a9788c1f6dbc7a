// Real guests as study workloads: the compiled trace, the trace-driven workload, the H_LOCAL
// transforms, trace sweeps in studies and their report section.
import { tempDir } from "./tmp.js";
import { describe, expect, it, beforeAll } from "vitest";
import { fc, test as fcTest } from "@fast-check/vitest";
import { writeFileSync, readFileSync, readdirSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join, dirname } from "node:path";
import { loadHcallProgram, hpteTouch, HC, type HcallProgram } from "../src/trace/hcall-program.js";
import { runTraceWorkload, runTraceWorkloads, slotIds, DEFAULT_TRACE_WORKLOAD, type TraceWorkloadParams } from "../src/workload/trace-driven.js";
import { runPoint, runPoints } from "../src/study/point.js";
import { DEFAULT_WORKLOAD, type PointRun } from "../src/workload/synthetic.js";
import { readHcallTrace } from "../src/trace/hcall-trace.js";
import { replayHcalls } from "../src/trace/replay.js";
import { Machine } from "../src/engine/machine.js";
import { type Guest } from "../src/engine/guest.js";
import { resolveStudy, expandStudy, pointSeed } from "../src/study/config.js";
import { runStudy, taskGroups, attachTracePrograms } from "../src/study/run.js";
import { ConfigError } from "../src/config.js";
import { TraceError } from "../src/trace/hcall-trace.js";
import { realGuestSections, traceLabel } from "../src/report/real-guest.js";
import { summaryMarkdown, findings } from "../src/report/study-report.js";
import { makeHpte, hptHash, type PageShift, type SegmentSize } from "../src/hpte.js";
import { SCALAR_COUNTERS } from "../src/types.js";
import { KVM_COUNTERS } from "../src/engine/records.js";

const TRACE = join(import.meta.dirname, "..", "data", "traces", "linux-6.1-guest-boot-wl20.jsonl.gz");
const SLICE = 100_000; // the first H_BULK_REMOVE is call 84,358; H_REMOVE starts at 16,402

let slice: HcallProgram;
beforeAll(async () => {
  slice = await loadHcallProgram(TRACE, { maxCalls: SLICE });
});

const point = (over: Partial<PointRun> = {}, tw: Partial<TraceWorkloadParams> = {}): PointRun => ({
  cores: 4, smt: 4, tlbSets: 128, tlbWays: 4, policy: "need-tlb-flush", deferredCap: null, deferredOverflow: null,
  vcpus: 2, threadsPerVcore: 1, guests: 2, hLocal: "never", pageOutsPerMop: 20000, migrationRate: 0.05, ops: SLICE, seed: 11,
  workload: DEFAULT_WORKLOAD, traceWorkload: { ...DEFAULT_TRACE_WORKLOAD, ...tw }, trace: { file: TRACE, maxCalls: null }, ...over,
});

/** Every counter of a finished run, as plain numbers (engine, KVM model and the generator's tally). */
function snapshot(run: PointRun, p: HcallProgram): Record<string, unknown> {
  const { machine: m, tally } = runTraceWorkload(run, p);
  const c = m.counters();
  const k = m.kvmCounters();
  const out: Record<string, unknown> = { ...tally, engineOps: undefined };
  for (const n of SCALAR_COUNTERS) out[n] = Number(c[n]);
  for (const n of KVM_COUNTERS) out[`kvm.${n}`] = Number(k[n]);
  out.hcalls = JSON.stringify(c.hcalls, (_, v) => (typeof v === "bigint" ? Number(v) : v));
  out.cycles = JSON.stringify(k.cycles, (_, v) => (typeof v === "bigint" ? Number(v) : v));
  out.makespan = Number(m.makespan());
  return out;
}

describe("compiled trace (loadHcallProgram)", () => {
  it("holds the calls in order, with the KVM-HV results equal to those QEMU recorded", async () => {
    expect(slice.calls).toBe(SLICE);
    expect(slice.vcpus).toBe(2);
    expect(slice.ramBytes).toBe(2 ** 30);
    expect(slice.hptOrder).toBe(23);
    let i = 0;
    for await (const item of readHcallTrace(TRACE)) {
      if (item.kind !== "call") continue;
      if (i === SLICE) break;
      expect(slice.line[i]).toBe(item.line);
      expect(slice.vcpu[i]).toBe(item.cpu);
      // the trace's ret is QEMU's; the differences of docs/model/hcalls.md §4 never touch ret or the slot H_ENTER uses
      expect(slice.ret[i]).toBe(item.ret);
      if (item.hcall === "H_ENTER" && item.ret === 0) expect(slice.slot[i]).toBe(Number(item.out![0]));
      if (item.hcall === "H_REMOVE") expect(slice.hit[i]).toBe(item.ret === 0 ? 1 : 0);
      i++;
    }
    expect(i).toBe(SLICE);
  });

  it("reads the same calls from the gzip file and a plain copy (streamed either way)", async () => {
    const dir = tempDir("trace");
    const lines = gunzipSync(readFileSync(TRACE)).toString("utf8").split("\n").slice(0, 2001).join("\n") + "\n";
    writeFileSync(join(dir, "plain.jsonl"), lines);
    const plain = await loadHcallProgram(join(dir, "plain.jsonl"));
    const gz = await loadHcallProgram(TRACE, { maxCalls: 2000 });
    expect(plain.calls).toBe(2000);
    expect(plain.digest).toBe(gz.digest);
    expect(Buffer.from(plain.words.buffer).equals(Buffer.from(gz.words.buffer))).toBe(true);
  });

  it("a bad line is refused with file, line and field", async () => {
    const dir = tempDir("trace");
    const f = join(dir, "bad.jsonl");
    writeFileSync(f, '{"hcall":"H_ENTER","flags":"0x0","args":["0x0","0x1","0x2"]}\n{"hcall":"H_REMOVE","flags":"0x0","args":["0x0","0xZZ"]}\n');
    await expect(loadHcallProgram(f)).rejects.toThrow(`${f}:2: args[1]: "0xZZ" is not a hex value of at most 16 digits`);
    writeFileSync(f, "");
    await expect(loadHcallProgram(f)).rejects.toThrow(TraceError);
  });

  fcTest.prop([
    fc.bigInt({ min: 1n, max: (1n << 37n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 30n) - 1n }),
    fc.constantFrom<PageShift>(12, 16, 24), fc.constantFrom<SegmentSize>("256M", "1T"), fc.boolean(), fc.integer({ min: 18, max: 28 }),
  ], { numRuns: 300 })("hpteTouch recovers the segment and page an HPTE maps (VA from AVPN + PTEG)", (vsid, ea0, gpa0, pageShift, segment, secondary, order) => {
    const ea = segment === "256M" ? ea0 & 0x0fffffffn : ea0;
    const h = makeHpte({ vsid, ea, gpa: gpa0 << 12n, pageShift, segment, secondary });
    const slot = h.ptex(order) + 5n;
    const t = hpteTouch(h.v, h.r, slot, order);
    expect(t.pageShift).toBe(pageShift);
    expect(t.slbV).toBe(h.slbV);
    const page = (x: bigint) => x >> BigInt(pageShift);
    const off = segment === "256M" ? 0x0fffffffn : 0xffffffffffn;
    // same page of the segment when the HPT's hash bits determine it (order ≥ 23 − page shift + 7 always holds here)
    expect(page(t.ea)).toBe(page(ea & off));
    expect(hptHash(vsid, t.ea, pageShift, segment) & ((1n << BigInt(order - 7)) - 1n)).toBe(hptHash(vsid, ea & off, pageShift, segment) & ((1n << BigInt(order - 7)) - 1n));
    expect(t.gpa).toBe((gpa0 << 12n) & ~((1n << BigInt(pageShift)) - 1n));
  });
});

describe("trace-driven workload", () => {
  // slotIds caches by the program's digest: every generated program gets its own (fast-check draws
  // small numbers often, so a drawn tag made two different programs share one — a flaky failure)
  let programs = 0;
  fcTest.prop([
    fc.integer({ min: 8, max: 12 }),
    fc.array(fc.tuple(fc.integer({ min: -1, max: 5000 }), fc.array(fc.integer({ min: -1, max: 5000 }), { minLength: 4, maxLength: 4 })), { minLength: 1, maxLength: 300 }),
  ], { numRuns: 60 })("the generator's dense slot numbers: one per slot in the HPT, -1 for none, one shared number past it", (order, calls) => {
    const npte = 2 ** (order - 4);
    const p = {
      file: "t", digest: `prop-${++programs}`, calls: calls.length, hptOrder: order,
      slot: Int32Array.from(calls, (c) => c[0]), bulkSlot: Int32Array.from(calls.flatMap((c) => c[1])),
    };
    const ids = slotIds(p);
    const raw = [...p.slot, ...p.bulkSlot];
    const got = [...ids.call, ...ids.bulk];
    const valid = new Set(raw.filter((s) => s >= 0 && s < npte));
    expect(ids.invalid).toBe(valid.size);
    expect(ids.count).toBe(valid.size + 1);
    const idOf = new Map<number, number>();
    raw.forEach((s, k) => {
      const d = got[k]!;
      if (s < 0) expect(d).toBe(-1);
      else if (s >= npte) expect(d).toBe(ids.invalid);
      else {
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(ids.invalid);
        if (idOf.has(s)) expect(d).toBe(idOf.get(s)); else idOf.set(s, d);
      }
    });
    expect(new Set(idOf.values()).size).toBe(idOf.size); // distinct slots, distinct numbers
  });

  it("every access derived from the trace finds its HPTE: no fault without after-unmap accesses", () => {
    const run = point({ pageOutsPerMop: 0 }, { afterUnmap: 0 });
    const { machine: m, guest, tally } = runTraceWorkload(run, slice);
    const c = m.counters();
    expect(tally.traceCalls).toBe(SLICE);
    expect(Number(c.hptFaults)).toBe(0);
    expect(Number(c.tlbHits) + Number(c.tlbMisses)).toBe(Number(c.translations));
    expect(Number(c.translations)).toBe(tally.translations);
    // each H_ENTER that installed an entry is touched at once by its vcpu
    let entered = 0;
    for (let i = 0; i < SLICE; i++) if (slice.kind[i] === HC.ENTER && slice.slot[i]! >= 0) entered++;
    expect(tally.touches).toBeGreaterThanOrEqual(entered);
    expect(tally.guestOps).toBe(tally.traceCalls + tally.translations);
    // "never" replays the trace's calls as they are
    expect(tally.hcalls).toBe(SLICE);
    const hc = guest.counters().hcalls as Record<string, Record<string, bigint>>;
    const calls = (name: string) => Object.values(hc[name] ?? {}).reduce((s, x) => s + Number(x), 0);
    expect(calls("H_ENTER")).toBe([...slice.kind].filter((k) => k === HC.ENTER).length);
    expect(calls("H_BULK_REMOVE")).toBe([...slice.kind].filter((k) => k === HC.BULK).length);
  });

  it("identical counters across runs and batch sizes", () => {
    const base = snapshot(point({ policy: "deferred-va", deferredCap: 8, deferredOverflow: "flush", hLocal: "honest" }), slice);
    expect(snapshot(point({ policy: "deferred-va", deferredCap: 8, deferredOverflow: "flush", hLocal: "honest" }), slice)).toEqual(base);
    for (const batchOps of [1, 7, 300]) {
      expect(snapshot(point({ policy: "deferred-va", deferredCap: 8, deferredOverflow: "flush", hLocal: "honest", batchOps }), slice)).toEqual(base);
    }
  });

  it("H_LOCAL transforms: never marks nothing, honest exactly the eligible ones, lying more; same accesses and schedule", () => {
    const never = runTraceWorkload(point({ hLocal: "never" }), slice);
    const honest = runTraceWorkload(point({ hLocal: "honest" }), slice);
    const lying = runTraceWorkload(point({ hLocal: "lying" }), slice);
    const allLies = runTraceWorkload(point({ hLocal: "lying" }, { lieShare: 1 }), slice);
    expect(never.tally.markedLocal).toBe(0);
    expect(honest.tally.markedLocal).toBe(honest.tally.localEligible);
    expect(honest.tally.localEligible).toBeGreaterThan(0);
    expect(honest.tally.localEligible).toBeLessThan(honest.tally.invalidations);
    expect(lying.tally.markedLocal).toBeGreaterThan(honest.tally.markedLocal);
    expect(allLies.tally.markedLocal).toBe(allLies.tally.invalidations);
    // the access stream and schedule do not depend on the mode
    for (const t of [honest.tally, lying.tally]) {
      expect(t.touches).toBe(never.tally.touches);
      expect(t.localEligible).toBe(never.tally.localEligible);
      expect(t.invalidations).toBe(never.tally.invalidations);
      expect(t.forcedPlacements).toBe(never.tally.forcedPlacements);
    }
    // H_BULK_REMOVE has no flags word: its local requests became H_REMOVE + H_LOCAL calls
    const calls = (g: Guest, name: string) => Object.values((g.counters().hcalls as Record<string, Record<string, bigint>>)[name] ?? {}).reduce((s, x) => s + Number(x), 0);
    expect(honest.tally.splitRemoves).toBeGreaterThan(0);
    expect(calls(honest.guest, "H_REMOVE")).toBe(calls(never.guest, "H_REMOVE") + honest.tally.splitRemoves);
    expect(honest.tally.hcalls).toBe(["H_REMOVE", "H_ENTER", "H_PROTECT", "H_READ", "H_BULK_REMOVE"].reduce((s, h) => s + calls(honest.guest, h), 0));
    // policies that honour H_LOCAL use tlbiel for the marked removals
    const lv = runTraceWorkload(point({ policy: "last-vcpu", hLocal: "honest" }), slice);
    expect(Number(lv.machine.kvmCounters().localInvalidations)).toBeGreaterThan(0);
    const lvNever = runTraceWorkload(point({ policy: "last-vcpu", hLocal: "never" }), slice);
    expect(Number(lvNever.machine.kvmCounters().localInvalidations)).toBe(0);
  });

  it("safe policies never violate with any H_LOCAL mode; last-vcpu with lying H_LOCAL does (whole trace)", async () => {
    const whole = await loadHcallProgram(TRACE);
    expect(whole.calls).toBe(206_185);
    for (const policy of ["need-tlb-flush", "deferred-va"]) {
      for (const hLocal of ["honest", "lying"] as const) {
        const { machine } = runTraceWorkload(point({ cores: 2, policy, hLocal, deferredCap: policy === "deferred-va" ? 64 : null, deferredOverflow: policy === "deferred-va" ? "flush" : null, seed: pointSeed(2012, 0) }), whole);
        expect(Number(machine.kvmCounters().violations)).toBe(0);
      }
    }
    // the default study's real-guest point on 2 cores, 2 vcores (seed of its first configuration + 1)
    let leaks = 0;
    for (const seed of [1, 2, 3, 4]) {
      const { machine } = runTraceWorkload(point({ cores: 2, policy: "last-vcpu", hLocal: "lying", seed }), whole);
      leaks += Number(machine.kvmCounters().violations);
    }
    expect(leaks).toBeGreaterThan(0);
  });
});

describe("trace sweeps in studies", () => {
  const configFile = join(tempDir("tstudy"), "study.json");
  const config = (over: Record<string, unknown> = {}) => resolveStudy({
    name: "real", seed: 5,
    sweeps: [{
      name: "rg", trace: TRACE, traceCalls: 90_000, cores: [1, 4], shapes: [{ label: "2 vcores", vcpus: 2, threadsPerVcore: 1 }],
      policies: [{ policy: "need-tlb-flush" }, { policy: "last-vcpu" }, { policy: "deferred-va", deferredCaps: [64] }],
      hLocal: ["never", "honest", "lying"], pageOutsPerMop: [20000], ...over,
    }],
  });

  it("expands with one seed per configuration, shared by every H_LOCAL mode and policy", () => {
    const pts = expandStudy(config());
    expect(pts).toHaveLength(2 * 3 * 3);
    expect(pts.slice(0, 9).every((p) => p.params.seed === pointSeed(5, 0))).toBe(true);
    expect(pts[9]!.params.seed).toBe(pointSeed(5, 1));
    expect(pts.slice(0, 4).map((p) => [p.params.hLocal, p.params.policy])).toEqual([["never", "need-tlb-flush"], ["never", "last-vcpu"], ["never", "deferred-va"], ["honest", "need-tlb-flush"]]);
    expect(pts[0]!.params.workload).toBe("hcall-trace");
    expect(pts[0]!.params.trace).toBe(TRACE);
  });

  it("results are byte-identical with 1 or 2 workers; the report has a Real guest section", async () => {
    const one = await runStudy(config(), { workers: 1 });
    const two = await runStudy(config(), { workers: 2 });
    expect(JSON.stringify(two.results)).toBe(JSON.stringify(one.results));
    const p0 = one.results.points[0]!;
    expect(p0.params.ops).toBe(90_000);
    expect(p0.counters.traceCalls).toBe(90_000);
    expect(p0.trace).toEqual({ calls: 90_000, vcpus: 2, digest: expect.stringMatching(/^[0-9a-f]{16}$/) });
    const [sec] = realGuestSections(one.results);
    expect(sec!.title).toBe("Real guest (Linux 6.1)");
    expect(sec!.tables).toHaveLength(1);
    expect(sec!.tables[0]!.rows).toHaveLength(2 * 3);
    // the honest-saving finding restates the table's numbers
    const pts = one.results.points;
    const inv = (h: string) => pts.find((p) => p.params.cores === 4 && p.params.policy === "deferred-va" && p.params.hLocal === h)!.invalidationCyclesPerGuestOp;
    const s = 1 - inv("honest") / inv("never");
    const f = sec!.findings.find((x) => x.includes("under deferred-va (cap 64)."));
    expect(f).toContain(`${(Math.abs(s) * 100).toFixed(1)}%`);
    expect(findings(one.results).some((x) => x.startsWith("Real guest (Linux 6.1) (sweep "))).toBe(true);
    expect(summaryMarkdown(one.results)).toContain("## Real guest (Linux 6.1)");
    const safe = pts.filter((p) => p.params.policy !== "last-vcpu");
    expect(safe.every((p) => p.violations === 0)).toBe(true);
  });

  it("points sharing a generator (same configuration and H_LOCAL mode, every policy) give what each gives alone", async () => {
    const all = expandStudy(config({ traceCalls: 30_000, cores: [4] }));
    await attachTracePrograms(all, process.cwd());
    // a task per configuration and H_LOCAL mode: its 3 policies together
    const tasks = taskGroups(all, all.map((_, i) => i));
    expect(tasks.map((t) => t.map((i) => all[i]!.params.policy))).toEqual(Array.from({ length: 3 }, () => ["need-tlb-flush", "last-vcpu", "deferred-va"]));
    expect(new Set(tasks.map((t) => all[t[0]!]!.params.hLocal))).toEqual(new Set(["never", "honest", "lying"]));
    const lying = tasks.find((t) => all[t[0]!]!.params.hLocal === "lying")!.map((i) => all[i]!);
    const together = runPoints(lying);
    const alone = lying.map((p) => runPoint(p));
    expect(together).toEqual(alone.map((result) => ({ result })));
    // the machines really ran different policies on the same ops
    expect(new Set(alone.map((r) => r.invalidationCycles)).size).toBe(3);
    expect(new Set(alone.map((r) => r.counters.translations)).size).toBe(1);
    // a point that fails (HPTLAB_FAIL_POINTS) fails alone; the others of its group still run
    process.env.HPTLAB_FAIL_POINTS = String(lying[1]!.id);
    try {
      const r = runPoints(lying);
      expect(r[1]).toEqual({ error: "injected failure (HPTLAB_FAIL_POINTS)" });
      expect([r[0], r[2]]).toEqual([{ result: alone[0] }, { result: alone[2] }]);
    } finally {
      delete process.env.HPTLAB_FAIL_POINTS;
    }
    // points that differ in more than their policies cannot share a generator
    expect(() => runTraceWorkloads([lying[0]!.run, { ...lying[0]!.run, seed: 6 }], lying[0]!.run.program!)).toThrow("study: points that share a generator must differ only in their policies, costs and fabric");
  });

  it("with workers, synthetic tasks run while the trace loads: the same results and checkpoint as one worker; a bad trace still stops the study first", async () => {
    const mixed = (trace: string) => resolveStudy({
      name: "mixed", seed: 9, opsPerPoint: 20_000,
      sweeps: [
        { name: "syn", cores: [1, 2, 4, 8], shapes: [{ label: "1 vcore", vcpus: 4, threadsPerVcore: 4 }], policies: [{ policy: "need-tlb-flush" }, { policy: "flush-always" }], hLocal: ["honest", "lying"], pageOutsPerMop: [0, 2000] },
        { name: "rg", trace, traceCalls: 40_000, cores: [1, 4], shapes: [{ label: "2 vcores", vcpus: 2, threadsPerVcore: 1 }], policies: [{ policy: "need-tlb-flush" }, { policy: "last-vcpu" }], hLocal: ["never", "honest"], pageOutsPerMop: [20000] },
      ],
    });
    const one = await runStudy(mixed(TRACE), { workers: 1 });
    const dir = tempDir("overlap");
    const two = await runStudy(mixed(TRACE), { workers: 2, checkpointDir: dir });
    expect(JSON.stringify(two.results)).toBe(JSON.stringify(one.results));
    expect(two.timing.points).toBe(32 + 8);
    expect(readdirSync(join(dir, "points")).length).toBe(32 + 8);
    const bad = tempDir("overlap-bad");
    await expect(runStudy(mixed("nope.jsonl.gz"), { workers: 2, checkpointDir: bad, baseDir: bad })).rejects.toThrow(/^nope\.jsonl\.gz: cannot read: no such file$/);
    expect(readdirSync(bad)).toEqual([]); // nothing written: the folder is claimed once the traces are loaded
  });

  it("relative trace paths come from the config's folder; bad traces and shapes are named", async () => {
    writeFileSync(configFile, "{}");
    const rel = resolveStudy({ name: "r", sweeps: [{ name: "rg", trace: "nope.jsonl.gz", cores: [1], shapes: [{ label: "x", vcpus: 2, threadsPerVcore: 1 }], policies: [{ policy: "need-tlb-flush" }] }] });
    await expect(runStudy(rel, { workers: 1, baseDir: dirname(configFile) })).rejects.toThrow(/^nope\.jsonl\.gz: cannot read: no such file$/);
    await expect(runStudy(config({ shapes: [{ label: "1 vcpu", vcpus: 1, threadsPerVcore: 1 }] }), { workers: 1 })).rejects.toThrow(ConfigError);
    await expect(runStudy(config({ shapes: [{ label: "1 vcpu", vcpus: 1, threadsPerVcore: 1 }] }), { workers: 1 })).rejects.toThrow(/"1 vcpu": vcpus: 1 is fewer than the 2 vcpus of/);
    expect(() => resolveStudy({ name: "r", sweeps: [{ name: "s", traceCalls: 5, cores: [1], shapes: [{ label: "x", vcpus: 1, threadsPerVcore: 1 }], policies: [{ policy: "need-tlb-flush" }] }] }))
      .toThrow("study.sweeps.0.traceCalls: applies to a sweep with a trace only");
  });

  it("traceLabel", () => {
    expect(traceLabel("../data/traces/linux-6.1-guest-boot-wl20.jsonl.gz")).toBe("Linux 6.1");
    expect(traceLabel("/x/y/my-guest.jsonl.gz")).toBe("my-guest");
  });
});

// keep the replay import honest: the qemu-semantics check of the slice (the whole trace: test/hcalls-real.test.ts)
describe("qemu semantics on the slice", () => {
  it("reproduces every recorded result", async () => {
    let checked = 0;
    const mismatches: string[] = [];
    await replayHcalls({
      file: TRACE, check: true, semantics: "qemu", makeMachine: (cfg) => new Machine(cfg),
      onResult: (_r, _call, mismatch) => {
        if (mismatch) mismatches.push(mismatch);
        if (++checked === SLICE) throw Object.assign(new Error("done"), { done: true });
      },
    }).catch((e: { done?: boolean }) => (e.done ? undefined : Promise.reject(e)));
    expect(checked).toBe(SLICE);
    expect(mismatches).toEqual([]);
  });
});
