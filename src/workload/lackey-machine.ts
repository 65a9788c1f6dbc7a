/**
 * A valgrind lackey trace as one guest's memory accesses on a full simulated machine: every
 * virtual page the program touches is a 4 KiB page of the guest (segment = VA >> 28, one VSID per
 * segment), mapped by the guest (H_ENTER) on first touch, its translations made by the guest's
 * vcpus (round-robin over the running ones) through the per-core TLBs and the HPT, with the KVM
 * model, costs and detector as in a study. When the guest's RAM is full, the oldest mapping is
 * removed (H_REMOVE) first, as a guest kernel reclaiming memory would.
 */
import { Machine } from "../engine/machine.js";
import { type KvmCounters } from "../engine/records.js";
import { OP } from "../engine/layout.js";
import { OpWriter } from "./op-writer.js";
import { makeHpte } from "../hpte.js";
import { Scheduler } from "./scheduler.js";
import { lackeyBatches, ACCESS_I, ACCESS_S, ACCESS_M } from "../trace/lackey.js";
import type { PolicyName } from "../model/policies.js";
import type { CounterBlock } from "../types.js";

export interface LackeyMachineOptions {
  file?: string;
  cores?: number;
  smt?: 1 | 2 | 4 | 8;
  vcpus?: number;
  policy?: PolicyName;
  /** Guest RAM (default 1 GiB): bounds the pages mapped at once. */
  ramBytes?: number;
  hptOrder?: number;
  /** Guest work before each access, in cycles (default 0). */
  workCycles?: number;
  seed?: number;
}

export interface LackeyMachineResult {
  lines: number;
  accesses: number;
  /** Distinct pages touched, and mappings removed to make room. */
  pages: number;
  evictions: number;
  counters: CounterBlock;
  kvm: KvmCounters;
}

const H_EXACT_HI = 0x80;

export async function runLackeyOnMachine(source: string | AsyncIterable<Uint8Array>, opts: LackeyMachineOptions = {}): Promise<LackeyMachineResult> {
  const smt = opts.smt ?? 4;
  const m = new Machine({ cores: opts.cores ?? 4, smt, hostMemoryBytes: 2 ** 32, seed: opts.seed ?? 1 });
  const ram = opts.ramBytes ?? 2 ** 30;
  const g = m.createGuest({ ramBytes: ram, hptOrder: opts.hptOrder ?? 22, vcpus: opts.vcpus ?? 1, threadsPerVcore: smt, ...(opts.policy ? { policy: opts.policy } : {}) });
  const sched = new Scheduler(m, [g], { seed: opts.seed ?? 1, migrationRate: 0 });
  const b = m.batch();
  sched.tick(b);
  b.run();
  const cpus = sched.cpusOf(g);
  const ow = new OpWriter(m, b.capacity - 2);
  const u32 = ow.u32;
  const op = (opcode: number, cpu: number, slot = g.slot): number => ow.op(opcode, cpu, slot);

  const ramPages = ram / 4096;
  const slotOf = new Map<number, number>(); // virtual page → ptex
  const gpaPage = new Float64Array(ramPages).fill(-1); // guest page → virtual page mapped there
  const used = new Uint8Array(2 ** ((opts.hptOrder ?? 22) - 7));
  const words = new Map<number, [number, number, number, number, number]>(); // vpage → v lo/hi, r lo/hi, pteg
  let nextGpa = 0;
  let pages = 0;
  let evictions = 0;
  let rr = 0;
  const slbOf = new Map<number, [number, number]>();

  const map = (vpage: number, cpu: number) => {
    // make room: the guest page at nextGpa (FIFO over guest RAM) is reused
    const old = gpaPage[nextGpa]!;
    if (old >= 0) {
      const p = slotOf.get(old)!;
      const o = op(OP.H_REMOVE, cpu);
      u32[o + 4] = 0; u32[o + 5] = 0; u32[o + 6] = p; u32[o + 7] = 0; u32[o + 8] = 0; u32[o + 9] = 0;
      used[p >>> 3] = used[p >>> 3]! & ~(1 << (p & 7));
      slotOf.delete(old);
      evictions++;
    }
    let w = words.get(vpage);
    if (!w) {
      const seg = Math.floor(vpage / 65536);
      const vsid = BigInt(0x10000 + seg);
      const h = makeHpte({ vsid, ea: BigInt((vpage % 65536) * 4096), gpa: BigInt(nextGpa) << 12n });
      w = [Number(h.v & 0xffffffffn), Number(h.v >> 32n), 0, 0, Number(h.pteg(g.hptOrder))];
      words.set(vpage, w);
      if (!slbOf.has(seg)) slbOf.set(seg, [Number(h.slbV & 0xffffffffn), Number(h.slbV >> 32n)]);
      pages++;
    }
    const r = BigInt(nextGpa) * 4096n | 0x12n; // M, PP = 2
    const pg = w[4];
    const u = used[pg]!;
    if (u === 0xff) return; // PTEG full: the page stays unmapped (its accesses fault)
    const s = 31 - Math.clz32(~u & (u + 1));
    used[pg] = u | (1 << s);
    const ptex = pg * 8 + s;
    const o = op(OP.H_ENTER, cpu);
    u32[o + 4] = 0; u32[o + 5] = H_EXACT_HI; u32[o + 6] = ptex; u32[o + 7] = 0;
    u32[o + 8] = w[0]; u32[o + 9] = w[1]; u32[o + 10] = Number(r & 0xffffffffn); u32[o + 11] = Number(r >> 32n);
    slotOf.set(vpage, ptex);
    gpaPage[nextGpa] = vpage;
    nextGpa = (nextGpa + 1) % ramPages;
  };

  const touch = (vpage: number, kind: number) => {
    const cpu = cpus[rr++ % cpus.length]!;
    if (!slotOf.has(vpage)) map(vpage, cpu);
    const seg = Math.floor(vpage / 65536);
    const slb = slbOf.get(seg)!;
    const o = op(OP.TRANSLATE, cpu, 0); // machine op: no guest slot
    u32[o + 4] = slb[0]; u32[o + 5] = slb[1];
    u32[o + 6] = (vpage % 65536) * 4096; u32[o + 7] = 0;
    u32[o + 8] = kind === ACCESS_I ? 2 : kind === ACCESS_S || kind === ACCESS_M ? 1 : 0; u32[o + 9] = 0;
    u32[o + 14] = opts.workCycles ?? 0; u32[o + 15] = 0;
    u32[o + 20] = g.lpid; u32[o + 21] = 0;
  };

  let accesses = 0;
  const it = lackeyBatches(source, { file: opts.file ?? (typeof source === "string" ? source : "lackey"), pageSize: 4096 });
  let lines = 0;
  for (;;) {
    const r = await it.next();
    if (r.done) { lines = r.value.lines; break; }
    const batch = r.value;
    for (let i = 0; i < batch.length; i++) {
      const first = batch.page[i]!;
      for (let k = 0; k < batch.pages[i]!; k++) touch(first + k, batch.kind[i]!);
      accesses++;
    }
  }
  ow.flush();
  return { lines, accesses, pages, evictions, counters: m.counters(), kvm: m.kvmCounters() };
}
