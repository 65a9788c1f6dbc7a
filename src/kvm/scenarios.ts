/**
 * Scripted timelines on a small machine (docs/kvm-model.md, "Scenarios"): each reproduces one way
 * a TLB entry can outlive the translation it came from, under a chosen policy, and reports what the
 * detector saw. `runScenario` returns the object of docs/formats.md §3 plus the timeline.
 */
import { Machine } from "../engine/index.js";
import type { KvmCounters, ViolationRecord, Verdict } from "../engine/index.js";
import type { GuestOptionsInput, MachineConfigInput } from "../config.js";
import type { CounterBlock, HcallOptions, HcallResult, TranslateResult, AccessKind } from "../types.js";
import { makeHpte, slbVsidWord, H_LOCAL, H_SUCCESS } from "../hpte.js";
import { POLICIES, paramValues, policyByName, type PolicyName, type DeferredOverflow } from "../model/policies.js";
import { COST_CATEGORIES, type CostCategory } from "../model/costs.js";
import type { Generation } from "../model/machines.js";

/** What a scenario needs of a guest: the engine's Guest, or the reference model's (src/reference/kvm). */
export interface ScenarioGuest {
  readonly lpid: number;
  readonly instance: number;
  readonly vcpus: number;
  readonly vcores: number;
  readonly hptOrder: number;
  frame(gfn: number): number;
  runVcore(vcore: number, core: number, vcpuMask?: number): void;
  exitVcore(vcore: number): void;
  vcoreState(vcore: number): { pcpu: number | null };
  hEnter(flags: bigint, ptex: bigint, pteh: bigint, ptel: bigint, opts?: HcallOptions): HcallResult;
  hRemove(flags: bigint, ptex: bigint, avpn: bigint, opts?: HcallOptions): HcallResult;
  hBulkRemove(words: readonly bigint[], opts?: HcallOptions): HcallResult;
  pageOut(gfn: number, cpu?: number): number;
  pageIn(gfn: number): number;
  resetHpt(cpu?: number): void;
}

/** What a scenario needs of a machine: the engine's Machine, or the reference model's. */
export interface ScenarioMachine {
  readonly config: { readonly smt: number; readonly tlbThreadsPerGroup: number };
  createGuest(opts: GuestOptionsInput): ScenarioGuest;
  destroyGuest(lpid: number): void;
  kvmCounters(): KvmCounters;
  counters(): CounterBlock;
  cpuCycles(cpu: number): { clock: bigint; cycles: Record<CostCategory, bigint> };
  cpuState(cpu: number): { lpid: number | null; vcpu: number | null };
  access(cpu: number, lpid: number, slbV: bigint, ea: bigint, access?: AccessKind): TranslateResult & { verdict: Verdict };
  frameOwner(frame: number): number;
  violations(): ViolationRecord[];
  /** CPU hotplug of a whole core (offline: no IPI reaches it, no vcore runs there). */
  setCoreOnline(core: number, online: boolean): void;
  /** Gives the machine's memory back (the engine pools it for the next machine). */
  dispose(): void;
}

export interface ScenarioOptions {
  policy: PolicyName;
  deferredCap?: number;
  deferredOverflow?: DeferredOverflow;
  /** Makes the machine the scenario runs on (default: the WASM engine's `Machine`). */
  machine?: (config: MachineConfigInput) => ScenarioMachine;
}

export interface TimelineEvent {
  /** Clock of the cpu that acted, after the step. */
  t: number;
  cpu: number | null;
  core: number | null;
  what: string;
  /** What the model did in response (flushes, tlbie vs tlbiel, verdicts). */
  result: string;
}

export interface ScenarioResult {
  scenario: string;
  policy: PolicyName;
  deferredCap: number | null;
  violations: number;
  staleHarmless: number;
  tlbie: number;
  tlbiel: number;
  flushes: number;
  cycles: number;
  cyclesByCategory: Record<CostCategory, number>;
  violationRecords: JsonViolation[];
  timeline: TimelineEvent[];
  /** What the scenario shows, in one sentence, given the result. */
  finding: string;
}

export interface JsonViolation {
  cpu: number;
  lpid: number;
  guest: number;
  owner: number;
  ea: string;
  vpn: string;
  rpn: string;
  frame: number;
  time: number;
  leftBy: { cause: string; cpu: number; time: number } | null;
}

/** The machine a scenario runs on: its generation, SMT mode and threads per TLB (docs/model/tlb.md §7). */
export interface ScenarioMachineSpec {
  generation: Generation;
  cores: number;
  smt: 1 | 2 | 4 | 8;
  tlbThreadsPerGroup: 1 | 2 | 4 | 8;
}

interface ScenarioDef {
  name: string;
  summary: string;
  /** Its machine (default: 4 POWER7 SMT4 cores). */
  machine?: ScenarioMachineSpec;
  /** Section of docs/model/ the timeline follows. */
  source: string;
  run(s: Script): void;
  /** The sentence for the result. */
  finding(r: { violations: number; policy: PolicyName }): string;
}

// The page every scenario plays with: EA 0x5000 in the 256 MB segment of VSID 0x1000, 4K page,
// guest real address 0 (gfn 0: the guest's first host page, so that it is the lowest frame freed).
const VSID = 0x1000n;
const SLB = slbVsidWord(VSID);
const EA = 0x5000n;
const X = makeHpte({ vsid: VSID, ea: EA, gpa: 0n });
const GFN = 0;
// A second page (the lazy-reuse scenarios need two): EA 0x6000 → gpa 0x10000, the guest's gfn 1.
const PAGES = [
  { ea: EA, hpte: X, gfn: GFN },
  { ea: 0x6000n, hpte: makeHpte({ vsid: VSID, ea: 0x6000n, gpa: 0x10000n }), gfn: 1 },
] as const;

/** The machine of the 2012 thread's timelines: 4 POWER7 SMT4 cores, one TLB each. */
export const POWER7_SCENARIO_MACHINE: ScenarioMachineSpec = { generation: "power7", cores: 4, smt: 4, tlbThreadsPerGroup: 4 };
const HOST_MEMORY = 2 ** 28;
const RAM = 16 * 2 ** 20;

/** A small scripting layer over the engine that logs each step and what the model did. */
class Script {
  readonly m: ScenarioMachine;
  readonly timeline: TimelineEvent[] = [];
  readonly opts: ScenarioOptions;
  #names = new Map<number, string>();

  constructor(opts: ScenarioOptions, spec: ScenarioMachineSpec) {
    this.opts = opts;
    const config: MachineConfigInput = { ...spec, hostMemoryBytes: HOST_MEMORY };
    this.m = opts.machine ? opts.machine(config) : new Machine(config);
  }

  guest(name: string, o: { vcpus?: number; threadsPerVcore?: 1 | 2 | 4 | 8 } = {}): ScenarioGuest {
    const before = this.#kvm();
    const g = this.m.createGuest({
      ramBytes: RAM, vcpus: o.vcpus ?? 1, threadsPerVcore: o.threadsPerVcore ?? 4, policy: this.opts.policy,
      ...(this.opts.deferredCap !== undefined ? { deferredCap: this.opts.deferredCap } : {}),
      ...(this.opts.deferredOverflow ? { deferredOverflow: this.opts.deferredOverflow } : {}),
    });
    this.#names.set(g.instance, name);
    const after = this.#kvm();
    this.#log(null, `host creates guest ${name}: LPID ${g.lpid}, ${g.vcpus} vcpu(s) in ${g.vcores} vcore(s), frames ${g.frame(0)}…`,
      after.needFlushSets > before.needFlushSets ? `need_tlb_flush = all cores (VM start)` : `need_tlb_flush untouched`);
    return g;
  }

  name(g: ScenarioGuest): string {
    return `${this.#names.get(g.instance)} (LPID ${g.lpid})`;
  }

  #kvm(): KvmCounters {
    return this.m.kvmCounters();
  }

  #log(cpu: number | null, what: string, result: string): void {
    const t = cpu === null ? 0 : Number(this.m.cpuCycles(cpu).clock);
    this.timeline.push({ t, cpu, core: cpu === null ? null : Math.floor(cpu / this.m.config.smt), what, result });
  }

  #flushes(a: KvmCounters, b: KvmCounters): string {
    const lpid = Number(b.entryFlushes - a.entryFlushes);
    const full = Number(b.fullFlushes - a.fullFlushes);
    const epoch = Number(b.epochFlushes - a.epochFlushes);
    const released = Number(b.quarantineReleased - a.quarantineReleased);
    if (lpid + full + epoch === 0) return "no flush";
    return [
      lpid ? `${lpid} LPID flush${lpid > 1 ? "es" : ""} on entry` : "", full ? `${full} whole-TLB flush${full > 1 ? "es" : ""}` : "",
      epoch ? `${epoch} LPID flush${epoch > 1 ? "es" : ""} at the epoch's flush point` : "",
      released ? `epoch ends: ${released} quarantined frame${released > 1 ? "s" : ""} released` : "",
    ].filter(Boolean).join(", ");
  }

  /** Which TLBs of `core` flushed during `step` (only said on cores with more than one TLB). */
  #whereFlushed(core: number, step: () => void): string {
    const T = this.m.config.smt;
    const per = this.m.config.tlbThreadsPerGroup;
    const before = Array.from({ length: T }, (_, t) => this.m.cpuCycles(core * T + t).cycles.flush);
    step();
    if (per >= T) return "";
    const tlbs = new Set<number>();
    for (let t = 0; t < T; t++) if (this.m.cpuCycles(core * T + t).cycles.flush > before[t]!) tlbs.add(Math.floor((core * T + t) / per));
    const all = Array.from({ length: T / per }, (_, i) => core * (T / per) + i);
    return ` (flushed: ${tlbs.size ? [...tlbs].map((x) => this.tlbName(x)).join(", ") : "none"}; not flushed: ${all.filter((x) => !tlbs.has(x)).map((x) => this.tlbName(x)).join(", ") || "none"})`;
  }

  /** "TLB 1 (threads 4–7)": a TLB and the cpus of its thread group. */
  tlbName(tlb: number): string {
    const per = this.m.config.tlbThreadsPerGroup;
    return per === 1 ? `TLB ${tlb} (cpu ${tlb})` : `TLB ${tlb} (cpus ${tlb * per}–${tlb * per + per - 1})`;
  }

  run(g: ScenarioGuest, vcore: number, core: number, vcpuMask = 0): void {
    const a = this.#kvm();
    const where = this.#whereFlushed(core, () => g.runVcore(vcore, core, vcpuMask));
    const b = this.#kvm();
    const cpus = [];
    for (let t = 0; t < this.m.config.smt; t++) {
      const st = this.m.cpuState(core * this.m.config.smt + t);
      if (st.lpid === g.lpid) cpus.push(`vcpu ${st.vcpu} on cpu ${core * this.m.config.smt + t}`);
    }
    this.#log(core * this.m.config.smt, `${this.name(g)} vcore ${vcore} enters core ${core}: ${cpus.join(", ")}`, this.#flushes(a, b) + where);
  }

  exit(g: ScenarioGuest, vcore: number): void {
    const pcpu = g.vcoreState(vcore).pcpu!;
    const a = this.#kvm();
    g.exitVcore(vcore);
    const b = this.#kvm();
    this.#log(pcpu, `${this.name(g)} vcore ${vcore} exits core ${Math.floor(pcpu / this.m.config.smt)}`, this.#flushes(a, b));
  }

  enter(g: ScenarioGuest, cpu: number, page = 0): bigint {
    const { ea, hpte, gfn } = PAGES[page]!;
    const r = g.hEnter(0n, hpte.ptex(g.hptOrder), hpte.v, hpte.r, { cpu });
    if (r.ret !== H_SUCCESS) throw new Error(`scenario: H_ENTER failed with ${r.ret}`);
    this.#log(cpu, `${this.name(g)} H_ENTER EA 0x${ea.toString(16)} → gpa ${gfn === 0 ? "0" : `0x${(BigInt(gfn) << 16n).toString(16)}`} (slot 0x${r.out[0]!.toString(16)})`, `frame ${g.frame(gfn)}`);
    return r.out[0]!;
  }

  touch(g: ScenarioGuest, cpu: number, page = 0): Verdict {
    const { ea } = PAGES[page]!;
    const r = this.m.access(cpu, g.lpid, SLB, ea, "load");
    const detail = r.kind === "fault" ? "no translation: guest fault" :
      `${r.kind === "hit" ? "TLB hit" : "TLB miss, HPT walk"} → real 0x${r.ra.toString(16)} (frame ${Number(r.ra >> 16n)})` +
      (r.verdict === "violation" ? ` — VIOLATION: frame owned by ${this.#ownerName(Number(r.ra >> 16n))}` : r.verdict === "stale-harmless" ? " — stale but still the guest's page" : "");
    const split = this.m.config.tlbThreadsPerGroup < this.m.config.smt;
    this.#log(cpu, `${this.name(g)} loads EA 0x${ea.toString(16)}${split ? ` through ${this.tlbName(Math.floor(cpu / this.m.config.tlbThreadsPerGroup))}` : ""}`, detail);
    return r.verdict;
  }

  #ownerName(frame: number): string {
    const o = this.m.frameOwner(frame);
    if (o === 0) return "nobody (free)";
    if (o === 0xffffffff) return "the host";
    return `guest ${this.#names.get(o) ?? `#${o}`}`;
  }

  #mode(a: KvmCounters, b: KvmCounters, what: string): string {
    const local = Number(b.localInvalidations - a.localInvalidations);
    const global = Number(b.globalInvalidations - a.globalInvalidations);
    const rec = Number(b.deferredRecords - a.deferredRecords);
    const ovf = Number(b.deferredOverflows - a.deferredOverflows);
    const ipis = Number(b.ipis - a.ipis);
    const parts: string[] = [];
    if (local && ipis) parts.push(`IPI shootdown: ${ipis} IPI${ipis === 1 ? "" : "s"}, tlbiel on each core of the mask`);
    else if (local) parts.push(`tlbiel on this core only`);
    if (global) parts.push(`tlbie to every core`);
    if (rec) parts.push(`VA recorded in the deferred list`);
    if (ovf) parts.push(`deferred list full → overflow rule`);
    if (b.needFlushSets > a.needFlushSets) parts.push(`need_tlb_flush = all but this core`);
    return parts.length ? parts.join("; ") : `${what}: nothing to invalidate`;
  }

  remove(g: ScenarioGuest, cpu: number, ptex: bigint, local: boolean): void {
    const a = this.#kvm();
    const r = g.hRemove(local ? H_LOCAL : 0n, ptex, 0n, { cpu });
    const b = this.#kvm();
    this.#log(cpu, `${this.name(g)} H_REMOVE${local ? "(H_LOCAL)" : ""} slot 0x${ptex.toString(16)} → ${r.ret}`, this.#mode(a, b, "H_REMOVE"));
  }

  bulkRemove(g: ScenarioGuest, cpu: number, ptex: bigint): void {
    const a = this.#kvm();
    const r = g.hBulkRemove([0x4000000000000000n | ptex, 0n, 0xc000000000000000n], { cpu });
    const b = this.#kvm();
    this.#log(cpu, `${this.name(g)} H_BULK_REMOVE slot 0x${ptex.toString(16)} → ${r.ret}`, this.#mode(a, b, "H_BULK_REMOVE"));
  }

  /** The host takes the page away and gives its frame to `to`. False when the policy pins memory. */
  reclaim(g: ScenarioGuest, to: ScenarioGuest): boolean {
    const frame = g.frame(GFN);
    if (!this.pageOut(g, GFN)) return false;
    this.give(to, frame, this.name(g));
    return true;
  }

  /** The host takes page `gfn` of g away (and keeps its frame for now). */
  pageOut(g: ScenarioGuest, gfn: number): boolean {
    const frame = g.frame(gfn);
    const a = this.#kvm();
    try {
      g.pageOut(gfn, 0);
    } catch (e) {
      this.#log(0, `host tries to page out ${this.name(g)} gfn ${gfn} (frame ${frame})`, (e as Error).message.replace(/^pageOut\(gfn \d+\): /, "refused: "));
      return false;
    }
    this.#pagedOut(g, gfn, frame, a);
    return true;
  }

  #pagedOut(g: ScenarioGuest, gfn: number, frame: number, a: KvmCounters): void {
    const b = this.#kvm();
    const n = Number(b.pageOutHptes - a.pageOutHptes);
    const d = Number(b.deferredTlbies - a.deferredTlbies);
    const held = b.quarantined > a.quarantined;
    const released = Number(b.quarantineReleased - a.quarantineReleased);
    const batchHeld = b.batchHeld > a.batchHeld;
    const ipis = Number(b.ipis - a.ipis);
    const fate = batchHeld
      ? (this.m.frameOwner(frame) === 0 ? `frame ${frame} freed at once (not held for the batch)` : `frame ${frame} held until the batch is flushed`)
      : !held ? `frame ${frame} freed` : this.m.frameOwner(frame) !== g.instance
      ? `frame ${frame} freed at once; its flush waits for the epoch`
      : released > 0
      ? `frame ${frame} quarantined and freed at once (no core may hold the VM's entries)`
      : `frame ${frame} quarantined until its epoch ends (${Number(b.quarantined - b.quarantineReleased)} held)`;
    const flush = batchHeld ? "no flush until the batch's" : b.tlbieSequences > a.tlbieSequences ? "tlbie"
      : ipis === 0 ? "tlbiel on the host's core only (no other online core in the IPI mask)" : `IPI shootdown (${ipis} IPI${ipis === 1 ? "" : "s"}, tlbiel on each core of the mask)`;
    const how = n === 0 ? "rmap ring empty → no tlbie" : held ? `${n} HPTE(s) on the rmap ring → ABSENT, no tlbie (lazy)` : `${n} HPTE(s) on the rmap ring → ABSENT + ${flush}`;
    this.#log(0, `host pages out ${this.name(g)} gfn ${gfn} (frame ${frame})`, `${how}${d ? `; ${d} deferred VA(s) tlbie'd` : ""}; ${fate}`);
  }

  /** The host hands every frame it can to guest `to`: `to` gives up its pages 0 … n − 1 and takes them back (lowest free frames first). */
  hostReuse(to: ScenarioGuest, n: number, from: ScenarioGuest, fromFrames: readonly number[]): void {
    try {
      for (let gfn = 0; gfn < n; gfn++) to.pageOut(gfn, 0);
    } catch {
      this.#log(0, `host tries to give free frames to ${this.name(to)}`, `refused: ${this.name(to)}'s memory is pinned; the frames stay free`);
      return;
    }
    const got: string[] = [];
    for (let gfn = 0; gfn < n; gfn++) {
      const f = to.pageIn(gfn);
      got.push(fromFrames.includes(f) ? `frame ${f} (${this.name(from)}'s until it was paged out)` : `frame ${f}`);
    }
    this.#log(0, `host reuses free frames: ${this.name(to)} gets ${n}`, got.join(", "));
  }

  /** Core `core` goes offline or comes back. */
  online(core: number, on: boolean): void {
    const before = this.m.counters().lpidFlushes;
    this.m.setCoreOnline(core, on);
    const flushed = Number(this.m.counters().lpidFlushes - before);
    this.#log(core * this.m.config.smt, `core ${core} goes ${on ? "online" : "offline"}`,
      on ? "it may run vcores again" : flushed > 0 ? `${flushed} LPID flush${flushed > 1 ? "es" : ""} there; the core leaves the IPI masks` : "no flush: its TLB keeps what it held");
  }

  /** The host hands the lowest free frame (`frame`, freed by `from`) to guest `to`: `to` gives up one of its pages and takes it back. */
  give(to: ScenarioGuest, frame: number, from: string): void {
    try {
      to.pageOut(0, 0);
    } catch (e) {
      this.#log(0, `host tries to give frame ${frame} to ${this.name(to)}`, `refused: ${this.name(to)}'s memory is pinned; frame ${frame} stays free`);
      return;
    }
    const f = to.pageIn(0);
    this.#log(0, `host gives frame ${f} to ${this.name(to)}`, f === frame ? `the frame ${from} used now belongs to ${this.name(to)}` : `frame ${f}`);
  }

  reset(g: ScenarioGuest): void {
    const a = this.#kvm();
    g.resetHpt(0);
    const b = this.#kvm();
    this.#log(0, `${this.name(g)} resets its HPT (KVM_PPC_ALLOCATE_HTAB)`, `HPT zeroed, rmap chains emptied, no tlbie${b.needFlushSets > a.needFlushSets ? "; need_tlb_flush = all cores" : ""}`);
  }

  destroy(g: ScenarioGuest): void {
    const name = this.name(g);
    this.m.destroyGuest(g.lpid);
    this.#log(null, `host destroys ${name}`, `LPID ${g.lpid} and frames freed; no TLB flush (docs/model/kvm.md §1.4)`);
  }
}

export const SCENARIOS: readonly ScenarioDef[] = [
  {
    name: "stale-tlb",
    summary: "the thread's attack: an SMP guest removes an HPTE with H_LOCAL while another core still holds the translation; the host reuses the page",
    source: "docs/model/kvm.md §9.1 timeline (pre-patch 3.7)",
    run(s) {
      const g = s.guest("G", { vcpus: 5, threadsPerVcore: 4 }); // vcpus 0–3: vcore 0, vcpu 4: vcore 1
      const other = s.guest("H");
      s.run(g, 0, 0, 0b0001); // vcpu 0 on core A
      const ptex = s.enter(g, 0);
      s.run(g, 1, 1); // vcpu 4 on core B
      s.touch(g, 4);
      s.exit(g, 1);
      s.remove(g, 0, ptex, true);
      s.exit(g, 0);
      s.reclaim(g, other);
      s.run(g, 1, 1);
      s.touch(g, 4);
      s.exit(g, 1);
    },
    finding: ({ violations, policy }) => violations
      ? `${policy} leaks: vcpu 4 re-entered core B without a flush and read a frame the guest no longer owns (${violations} violation${violations > 1 ? "s" : ""})`
      : `${policy} is safe here: the entry on core B was gone before the frame changed hands`,
  },
  {
    name: "lpid-reuse",
    summary: "a guest is destroyed without a flush; a new guest gets its LPID and runs on the same core",
    source: "docs/model/kvm.md §1.4 (LPID recycling), §4.1 (set-all at VM start)",
    run(s) {
      const g1 = s.guest("G1");
      const other = s.guest("H");
      s.run(g1, 0, 0);
      s.enter(g1, 0);
      s.touch(g1, 0);
      s.exit(g1, 0);
      const frame = g1.frame(GFN);
      s.destroy(g1);
      s.give(other, frame, "G1");
      const g2 = s.guest("G2");
      s.run(g2, 0, 0);
      s.touch(g2, 0);
      s.exit(g2, 0);
    },
    finding: ({ violations, policy }) => violations
      ? `${policy} leaks: G2 inherited LPID ${1} and hit G1's entry, reaching a frame that now belongs to another guest`
      : `${policy} is safe here: core 0 flushed the recycled LPID before G2 ran`,
  },
  {
    name: "hpt-reset",
    summary: "a guest resets its HPT (no tlbie) and re-enters on a core that holds old entries; the host reuses the page",
    source: "docs/model/kvm.md §3.1 (last_vcpu fill), §4.1 (set-all at HPT reset)",
    run(s) {
      const g = s.guest("G");
      const other = s.guest("H");
      s.run(g, 0, 0);
      s.enter(g, 0);
      s.touch(g, 0);
      s.exit(g, 0);
      s.reset(g);
      s.reclaim(g, other);
      s.run(g, 0, 0);
      s.touch(g, 0);
      s.exit(g, 0);
    },
    finding: ({ violations, policy }) => violations
      ? `${policy} leaks: the entry survived the HPT reset and reached a frame the guest no longer owns`
      : `${policy} is safe here: the core flushed before the guest ran after the reset`,
  },
  {
    name: "vcore-migration",
    summary: "a one-vcore guest (4 vcpus) invalidates with H_LOCAL after migrating; the vcpu that used the entry returns alone",
    source: "docs/model/kvm.md §3.4 defects (per-thread flush, 1 vcpu vs 1 vcore), §4",
    run(s) {
      const g = s.guest("G", { vcpus: 4, threadsPerVcore: 4 });
      const other = s.guest("H");
      s.run(g, 0, 0); // vcpus 0–3 on core A
      const ptex = s.enter(g, 0);
      s.touch(g, 1); // vcpu 1 loads X on core A
      s.exit(g, 0);
      s.run(g, 0, 1, 0b0001); // only vcpu 0 is runnable: it goes to core B
      s.remove(g, 4, ptex, true);
      s.exit(g, 0);
      s.reclaim(g, other);
      s.run(g, 0, 0, 0b0010); // only vcpu 1 is runnable: back on core A, on thread 0
      s.touch(g, 0);
      s.exit(g, 0);
    },
    finding: ({ violations, policy }) => violations
      ? `${policy} leaks: vcpu 1 came back to core A with matching last_cpu/last_vcpu, so nothing flushed the entry vcpu 0 invalidated locally on core B`
      : `${policy} is safe here: core A flushed before the guest ran there again`,
  },
  {
    name: "bulk-remove-1vcpu",
    summary: "Linux 3.8's candidate gap (docs/model/kvm.md §9.2): a 1-vcpu VM moves A → B, H_BULK_REMOVE goes local on B, the host reclaims the page, the vcpu returns to A",
    source: "docs/model/kvm.md §4.4 caveat, §9.2 post-patch gap (v3.8–v3.11)",
    run(s) {
      const g = s.guest("G");
      const other = s.guest("H");
      s.run(g, 0, 0);
      const ptex = s.enter(g, 0);
      s.touch(g, 0);
      s.exit(g, 0);
      s.run(g, 0, 1);
      s.bulkRemove(g, 4, ptex);
      s.exit(g, 0);
      s.reclaim(g, other);
      s.run(g, 0, 0);
      s.touch(g, 0);
      s.exit(g, 0);
    },
    finding: ({ violations, policy }) => violations
      ? `${policy} leaks: H_BULK_REMOVE used tlbiel on core B without setting need_tlb_flush, so core A kept the entry and the vcpu read a frame the guest no longer owns — the gap is real in this model`
      : `${policy} is safe here: core A flushed before the vcpu returned`,
  },
  {
    name: "lazy-reuse-early-epoch",
    summary: "lazy page-outs (LATR epochs): a frame paged out while an epoch closes is handed out when that epoch ends, before the core that holds its entry has flushed",
    source: "docs/model/policies.md §9.4 (LATR's reclaim rule: Kumar et al., ASPLOS 2018)",
    run(s) {
      const g = s.guest("G", { vcpus: 5, threadsPerVcore: 4 }); // vcpus 0–3: vcore 0, vcpu 4: vcore 1
      const other = s.guest("H");
      const frames = [g.frame(0), g.frame(1)];
      s.run(g, 0, 0, 0b0001); // vcpu 0 on core A
      s.enter(g, 0, 0);
      s.enter(g, 0, 1);
      s.touch(g, 0, 0);
      s.run(g, 1, 1); // vcpu 4 on core B
      s.touch(g, 4, 0);
      s.pageOut(g, 0); // epoch 1: cores A and B must flush
      s.exit(g, 0); // A's flush point
      s.run(g, 0, 0, 0b0001);
      s.touch(g, 0, 1); // A now holds page 1's entry, after its flush
      s.exit(g, 0); // A owes epoch 1 nothing: no flush
      s.pageOut(g, 1); // joins the next epoch, which needs A
      s.exit(g, 1); // B's flush point: epoch 1 ends
      s.hostReuse(other, 2, g, frames);
      s.run(g, 0, 0, 0b0001); // A: the next epoch's flush point (if there is one)
      s.touch(g, 0, 1);
      s.exit(g, 0);
    },
    finding: ({ violations, policy }) => violations
      ? `${policy} leaks: page 1's frame went out when the epoch it did not belong to ended; core A still held its entry and vcpu 0 read a frame that now belongs to another guest`
      : policyByName(policy)?.quarantine
        ? `${policy} is safe here: page 1's frame waited for an epoch that began after it was paged out, so core A flushed before anyone else got it`
        : `${policy} is safe here: its page-outs tlbie every core before the frame is freed`,
  },
  {
    name: "lazy-core-skipped",
    summary: "lazy page-out whose epoch waits only for the cores running the VM: a core the VM left (still holding its entry) is skipped, as x86's lazy TLB mode skipped lazy CPUs",
    source: "docs/model/policies.md §9.5 (Linux commit 2ff6ddf19c0e \"x86/mm/tlb: Leave lazy TLB mode at page table free time\", v4.19)",
    run(s) {
      const g = s.guest("G", { vcpus: 5, threadsPerVcore: 4 });
      const other = s.guest("H");
      const frames = [g.frame(0)];
      s.run(g, 0, 0, 0b0001); // vcpu 0 on core A
      s.enter(g, 0, 0);
      s.run(g, 1, 1); // vcpu 4 on core B
      s.touch(g, 4, 0);
      s.exit(g, 1); // B leaves the VM, its entry stays: B is "lazy"
      s.pageOut(g, 0);
      s.exit(g, 0); // A's flush point
      s.hostReuse(other, 1, g, frames);
      s.run(g, 1, 1); // vcpu 4 back on B
      s.touch(g, 4, 0);
      s.exit(g, 1);
    },
    finding: ({ violations, policy }) => violations
      ? `${policy} leaks: the epoch ended without core B, which the VM had left with the entry still in its TLB; vcpu 4 came back and read a frame that now belongs to another guest`
      : policyByName(policy)?.quarantine
        ? `${policy} is safe here: core B was in the epoch's mask although the VM had left it, so the frame waited for B's flush`
        : `${policy} is safe here: its page-outs tlbie every core before the frame is freed`,
  },
  {
    name: "flush-pending-reuse",
    summary: "a lazy page-out while the VM runs: its frame is given away with the flush still pending, and the running vcpu keeps using its TLB entry",
    source: "docs/model/policies.md §9.6 (Linux commits 20841405940e, NUMA migration with a TLB flush pending, and eb66ae030829, mremap, CVE-2018-18281)",
    run(s) {
      const g = s.guest("G");
      const other = s.guest("H");
      const frames = [g.frame(0)];
      s.run(g, 0, 0); // vcpu 0 on core A, and it stays there
      s.enter(g, 0, 0);
      s.touch(g, 0, 0);
      s.pageOut(g, 0); // the MMU notifier runs while the vcpu runs: A is the epoch's, it flushes at its exit
      s.hostReuse(other, 1, g, frames);
      s.touch(g, 0, 0); // before A's flush point
      s.exit(g, 0);
    },
    finding: ({ violations, policy }) => violations
      ? `${policy} leaks: the frame went to another guest while core A still held the entry (its flush was pending until the vcpu's exit), and the running vcpu read it`
      : policyByName(policy)?.quarantine
        ? `${policy} is safe here: the frame stays the guest's until core A's flush, so the running vcpu's stale hit reaches only its own old page`
        : `${policy} is safe here: its page-outs tlbie every core before the frame is freed`,
  },
  {
    name: "smt8-split-tlb",
    summary: "an SMT8 POWER9 core has two TLBs (threads 0–3, 4–7); a vcpu on the second caches a translation, the HPT is reset, the host reuses the page, and the entry flush of the core's first thread does not reach the second TLB",
    source: "docs/model/policies.md §10.2, §11 (commit 77bbbc0cf848); docs/model/tlb.md §7.2",
    machine: { generation: "power9", cores: 2, smt: 8, tlbThreadsPerGroup: 4 },
    run(s) {
      const g = s.guest("G", { vcpus: 8, threadsPerVcore: 8 }); // one vcore of 8 vcpus: vcpu k on thread k
      const other = s.guest("H");
      s.run(g, 0, 0); // vcpus 0–3 on TLB 0, vcpus 4–7 on TLB 1
      s.enter(g, 0);
      s.touch(g, 5); // vcpu 5 caches the translation in TLB 1
      s.exit(g, 0);
      s.reset(g); // no tlbie: TLB 1 keeps the entry; need_tlb_flush = all
      s.reclaim(g, other); // the rmap ring is empty after the reset: no tlbie
      s.run(g, 0, 0, 0b0000_0001); // only vcpu 0 is runnable: thread 0 enters alone (TLB 0)
      s.exit(g, 0);
      s.run(g, 0, 0); // all eight again: the threads of TLB 1 enter
      s.touch(g, 5); // vcpu 5 through TLB 1
      s.exit(g, 0);
    },
    finding: ({ violations, policy }) => violations
      ? `${policy} leaks: TLB 1 (cpus 4–7) kept the entry vcpu 5 cached, the core's flush ran on TLB 0 only (thread 0 entered first and cleared the core's bit), and vcpu 5 read through TLB 1 a frame the guest no longer owns (${violations} violation${violations > 1 ? "s" : ""})`
      : `${policy} is safe here: TLB 1 (cpus 4–7) was flushed before a vcpu used it after the reset, or the page was never reused`,
  },
  {
    name: "cpu-offline-missed-ipi",
    summary: "a core that held a guest's entry goes offline; the host's IPI shootdown skips it (online cpus only); back online, the guest re-enters there",
    source: "commit 01b0f0eae081 \"powerpc/64s: Trim offlined CPUs from mm_cpumasks\" (Linux 5.10); docs/model/policies.md §13.3",
    run(s) {
      const g = s.guest("G", { vcpus: 2, threadsPerVcore: 1 }); // two vcores of one vcpu
      const other = s.guest("H");
      s.run(g, 0, 1); // vcpu 0 on core 1
      s.enter(g, 4);
      s.touch(g, 4); // core 1's TLB holds the entry
      s.exit(g, 0);
      s.run(g, 0, 0); // vcpu 0 moves to core 0: both cores are in the mask
      s.online(1, false);
      s.reclaim(g, other);
      s.exit(g, 0);
      s.online(1, true);
      s.run(g, 0, 1); // back on core 1: need_tlb_flush was cleared at its first entry
      s.touch(g, 4);
      s.exit(g, 0);
    },
    finding: ({ violations, policy }) => violations
      ? `${policy} leaks: the offline core kept the guest's entry through the shootdown and the vcpu read a frame the guest no longer owns after it came back`
      : `${policy} is safe here: core 1 had no copy left when the vcpu returned (flushed when it went offline, or by the tlbie, or never reused)`,
  },
  {
    name: "need-flush-cleared-by-wrong-thread",
    summary: "a shootdown defers the flush of a core the guest left to its next entry there; a vcore entering another core clears that request (CVE-2019-3016 in POWER form)",
    source: "CVE-2019-3016, commits 8c6de56a42e0 and b043138246a4 (x86 KVM_VCPU_FLUSH_TLB); docs/model/policies.md §13.3",
    run(s) {
      const g = s.guest("G", { vcpus: 2, threadsPerVcore: 1 });
      const other = s.guest("H");
      s.run(g, 0, 1); // vcpu 0 on core 1
      s.enter(g, 4);
      s.touch(g, 4);
      s.exit(g, 0);
      s.run(g, 0, 0); // vcpu 0 on core 0
      s.run(g, 1, 2); // vcpu 1 on core 2: the mask holds cores 0, 1, 2
      s.reclaim(g, other); // core 1 runs no vcore of G: its flush is deferred (or done now)
      s.exit(g, 1);
      s.run(g, 1, 3); // vcpu 1 enters core 3: the entry check there
      s.exit(g, 0);
      s.run(g, 0, 1); // vcpu 0 back on core 1
      s.touch(g, 4);
      s.exit(g, 0);
    },
    finding: ({ violations, policy }) => violations
      ? `${policy} leaks: core 1's flush request was cleared by the thread entering core 3, so vcpu 0 re-entered core 1 without a flush and read a frame the guest no longer owns`
      : `${policy} is safe here: core 1's copy was gone before the vcpu returned`,
  },
  {
    name: "batch-reuse-before-flush",
    summary: "the host pages out a running guest's page and batches the flush; the frame is reused before the batch is flushed",
    source: "the 2024 powerpc batched unmap TLB flush RFC (frames held until try_to_unmap_flush()); docs/model/policies.md §14",
    run(s) {
      const g = s.guest("G", { vcpus: 2, threadsPerVcore: 1 });
      const other = s.guest("H");
      s.run(g, 0, 1);
      s.enter(g, 4);
      s.touch(g, 4); // core 1's TLB holds the entry; the vcpu keeps running
      s.reclaim(g, other);
      s.touch(g, 4);
      s.exit(g, 0);
    },
    finding: ({ violations, policy }) => violations
      ? `${policy} leaks: the frame went to another guest while the running vcpu's TLB still mapped it (the batch not yet flushed)`
      : `${policy} is safe here: the running vcpu's entry was flushed, or its frame was still the guest's`,
  },
];

/** The machine scenario `name` runs on. */
export function scenarioMachine(name: string): ScenarioMachineSpec {
  return scenarioByName(name)?.machine ?? POWER7_SCENARIO_MACHINE;
}

export function scenarioByName(name: string): ScenarioDef | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

function jsonViolation(v: ViolationRecord): JsonViolation {
  return {
    cpu: v.cpu, lpid: v.lpid, guest: v.guest, owner: v.owner, ea: `0x${v.ea.toString(16)}`,
    vpn: `0x${v.vpn4k.toString(16)}`, rpn: `0x${v.rpn.toString(16)}`, frame: v.frame, time: Number(v.time),
    leftBy: v.leftBy ? { cause: v.leftBy.cause, cpu: v.leftBy.cpu, time: Number(v.leftBy.time) } : null,
  };
}

/** Run scenario `name` under `opts.policy`. Throws RangeError for an unknown name. */
export function runScenario(name: string, opts: ScenarioOptions): ScenarioResult {
  const def = scenarioByName(name);
  if (!def) throw new RangeError(`unknown scenario "${name}" (hptlab scenario --list)`);
  const s = new Script(opts, def.machine ?? POWER7_SCENARIO_MACHINE);
  try {
    def.run(s);
    return result(def, s, opts);
  } finally {
    s.m.dispose(); // its memory goes to the next machine (a study runs the whole catalogue)
  }
}

function result(def: ScenarioDef, s: Script, opts: ScenarioOptions): ScenarioResult {
  const k = s.m.kvmCounters();
  const c = s.m.counters();
  const cyclesByCategory = Object.fromEntries(COST_CATEGORIES.map((cat) => [cat, Number(k.cycles[cat])])) as Record<CostCategory, number>;
  const violations = Number(k.violations);
  const policy = POLICIES.find((p) => p.name === opts.policy)!;
  return {
    scenario: def.name,
    policy: opts.policy,
    deferredCap: paramValues(policy, { deferredCap: opts.deferredCap }).deferredCap,
    violations,
    staleHarmless: Number(k.staleHarmless),
    tlbie: Number(c.globalTlbies),
    tlbiel: Number(c.localTlbiels),
    flushes: Number(k.entryFlushes + k.fullFlushes + k.epochFlushes),
    cycles: Object.values(cyclesByCategory).reduce((a, b) => a + b, 0),
    cyclesByCategory,
    violationRecords: s.m.violations().map(jsonViolation),
    timeline: s.timeline,
    finding: def.finding({ violations, policy: opts.policy }),
  };
}
