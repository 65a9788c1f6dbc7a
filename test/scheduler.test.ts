// The seeded vcore scheduler: valid for the engine, deterministic, and honest about its rates.
import { describe, expect, it } from "vitest";
import { test, fc } from "@fast-check/vitest";
import { Machine } from "../src/engine/machine.js";
import { Scheduler, mulberry32, mulberry32Fill, Draws } from "../src/workload/scheduler.js";

function world(cores: number, shapes: { vcpus: number; tpv: 1 | 2 | 4 }[]) {
  const m = new Machine({ cores, smt: 4, hostMemoryBytes: 2 ** 28 });
  const guests = shapes.map((s) => m.createGuest({ ramBytes: 2 ** 22, vcpus: s.vcpus, threadsPerVcore: s.tpv }));
  return { m, guests };
}

describe("Scheduler", () => {
  test.prop([
    fc.integer({ min: 1, max: 8 }),
    fc.array(fc.record({ vcpus: fc.integer({ min: 1, max: 9 }), tpv: fc.constantFrom(1 as const, 2 as const, 4 as const) }), { minLength: 1, maxLength: 4 }),
    fc.double({ min: 0, max: 0.6, noNaN: true }), fc.double({ min: 0, max: 0.4, noNaN: true }), fc.nat(),
  ], { numRuns: 40 })("its picture matches the engine's after every tick; the engine refuses nothing", (cores, shapes, mig, pre, seed) => {
    const { m, guests } = world(cores, shapes);
    const s = new Scheduler(m, guests, { seed, migrationRate: mig, preemptRate: pre });
    const b = m.batch();
    for (let t = 0; t < 20; t++) {
      b.clear();
      s.tick(b);
      b.run();
      for (let i = 0; i < b.length; i++) expect(b.result(i)).toBe(0n);
      const onCores = new Set(s.placements().map((p) => p.core));
      expect(onCores.size).toBe(s.placements().length); // no core twice
      for (const g of guests) {
        const cpus = s.cpusOf(g);
        for (let cpu = 0; cpu < cores * 4; cpu++) expect([cpu, m.cpuState(cpu).lpid === g.lpid]).toEqual([cpu, cpus.includes(cpu)]);
        for (let vc = 0; vc < g.vcores; vc++) expect(g.vcoreState(vc).running).toBe(s.coreOf(g, vc) !== null);
      }
    }
  });

  it("same seed, same schedule; rate 0 never migrates, rate 1 moves every vcore that can move", () => {
    const run = (seed: number, rate: number) => {
      const { m, guests } = world(8, [{ vcpus: 4, tpv: 4 }, { vcpus: 2, tpv: 1 }]);
      const s = new Scheduler(m, guests, { seed, migrationRate: rate });
      const b = m.batch();
      const trace: string[] = [];
      for (let t = 0; t < 10; t++) {
        b.clear();
        s.tick(b);
        b.run();
        trace.push(s.placements().map((p) => `${p.guest.lpid}/${p.vcore}@${p.core}`).join(" "));
      }
      return { trace, s };
    };
    expect(run(5, 0.3).trace).toEqual(run(5, 0.3).trace);
    expect(run(5, 0.3).trace).not.toEqual(run(6, 0.3).trace);
    const still = run(1, 0);
    expect(still.s.migrations).toBe(0);
    expect(new Set(still.trace).size).toBe(1);
    const moving = run(1, 1);
    expect(moving.s.migrations).toBe(9 * 3); // 3 vcores, 8 cores: always a free core, ticks 2..10
  });

  it("explicit placements, and refusals", () => {
    const { m, guests } = world(2, [{ vcpus: 1, tpv: 4 }, { vcpus: 1, tpv: 4 }]);
    const s = new Scheduler(m, guests, { seed: 1, migrationRate: 0 });
    const b = m.batch();
    s.place(b, guests[0]!, 0, 1);
    expect(() => s.place(b, guests[1]!, 0, 1)).toThrow(/core 1 runs LPID 1/);
    s.place(b, guests[0]!, 0, 0); // moves
    b.run();
    expect([m.cpuState(0).lpid, m.cpuState(4).lpid]).toEqual([1, null]);
    expect(() => new Scheduler(m, guests, { seed: 1, migrationRate: 1.5 })).toThrow(RangeError);
  });

  it("mulberry32 is the published generator", () => {
    const r = mulberry32(0);
    expect(Math.round(r() * 4294967296)).toBe(1144304738);
  });

  it("mulberry32's unboxed state gives the textbook sequence for any seed", () => {
    const textbook = (seed: number) => {
      let a = seed >>> 0;
      return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    };
    fc.assert(fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }), (seed) => {
      const r = mulberry32(seed);
      const t = textbook(seed);
      for (let i = 0; i < 200; i++) if (r() !== t()) return false;
      return true;
    }), { numRuns: 300 });
  });

  it("Draws gives mulberry32's stream however next(), ensure(k) and inline reads are mixed", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 1024 })), { maxLength: 60 }), (seed, steps) => {
      const r = mulberry32(seed);
      const d = new Draws(seed);
      for (const [inline, k] of steps) {
        if (inline) {
          d.ensure(k);
          for (let i = 0; i < k; i++) if (d.buf[d.pos++] !== r()) return false;
        } else if (d.next() !== r()) return false;
      }
      return true;
    }), { numRuns: 200 });
  });

  it("mulberry32Fill continues mulberry32's stream, buffer after buffer", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.array(fc.integer({ min: 0, max: 64 }), { minLength: 1, maxLength: 20 }), (seed, froms) => {
      const r = mulberry32(seed);
      const state = new Int32Array([seed]);
      const out = new Float64Array(64);
      for (const from of froms) {
        mulberry32Fill(state, out, from);
        for (let k = from; k < out.length; k++) if (out[k] !== r()) return false;
      }
      return true;
    }), { numRuns: 200 });
  });
});
