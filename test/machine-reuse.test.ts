// Machines reuse the memory of disposed ones (src/engine/machine.ts, dispose): a machine made on a
// reused memory must see exactly what a fresh memory shows — every byte it takes is zero until it
// writes it — whatever the last machine was (larger or smaller, guests or not), and a disposed
// machine must refuse to run or read.
import { describe, expect } from "vitest";
import { test, fc } from "@fast-check/vitest";
import { Machine } from "../src/engine/machine.js";
import { pooledMemories, releaseMachineMemory } from "../src/engine/memory-pool.js";
import { HDR } from "../src/engine/layout.js";
import { engineModule } from "../src/engine/wasm.js";
import { runPoint } from "../src/study/point.js";
import { DEFAULT_WORKLOAD, type PointRun } from "../src/workload/synthetic.js";
import type { StudyPoint } from "../src/study/config.js";

const point = (id: number, over: Partial<PointRun>): StudyPoint => ({
  id,
  params: { sweep: "reuse" } as never,
  run: {
    cores: 4, smt: 4, tlbSets: 128, tlbWays: 4, policy: "need-tlb-flush", deferredCap: null, deferredOverflow: null,
    vcpus: 4, threadsPerVcore: 4, guests: 2, hLocal: "honest", pageOutsPerMop: 20000, migrationRate: 0.05,
    ops: 6000, seed: 77, workload: DEFAULT_WORKLOAD, ...over,
  },
});

/** Machines that hold on to every memory the pool has, so that the next machine starts fresh. */
function drainPool(): Machine[] {
  const held: Machine[] = [];
  while (pooledMemories(engineModule()) > 0) held.push(new Machine({ cores: 1, smt: 1 }));
  return held;
}

const shapeArb = fc.record({
  cores: fc.constantFrom(1, 2, 8, 32),
  vcpus: fc.constantFrom(1, 4, 16),
  guests: fc.integer({ min: 1, max: 3 }),
  policy: fc.constantFrom("need-tlb-flush", "last-vcpu", "deferred-va", "flush-always"),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
});

describe("machines on reused memory", () => {
  test.prop([shapeArb, shapeArb], { numRuns: 12 })(
    "a study point gives the same results after any other point as on a fresh memory",
    (before, shape) => {
      const mk = (id: number, s: typeof shape) => point(id, { ...s, vcpus: Math.min(s.vcpus, s.cores * 4), deferredCap: s.policy === "deferred-va" ? 16 : null });
      const keep = drainPool();
      const fresh = runPoint(mk(2, shape)); // fresh memory; disposed into the pool
      drainPool(); // take it, so that the "before" point starts fresh too
      runPoint(mk(1, before)); // leaves its memory, full of its state, in the pool
      const reused = runPoint(mk(2, shape));
      expect(reused).toEqual(fresh);
      for (const m of keep) m.dispose();
    },
  );

  test.prop([fc.constantFrom(1, 16, 64), fc.constantFrom(1, 16, 64), fc.integer({ min: 18, max: 22 })], { numRuns: 9 })(
    "every byte a machine has taken equals a fresh machine's after the same work",
    (coresA, coresB, order) => {
      drainPool();
      // the lookahead pinned: in its default "measured" mode the engine times both ways and keeps the
      // cheaper, and what it chose (wall-clock, so load-dependent) lies in its scratch bytes — two
      // machines that chose differently differ there, though every simulated byte is the same
      process.env.HPTLAB_LOOKAHEAD = "always";
      try {
        sameBytes(coresA, coresB, order);
      } finally {
        delete process.env.HPTLAB_LOOKAHEAD;
      }
    },
  );

  test("a machine's lookahead choice is pinned by HPTLAB_LOOKAHEAD (the byte comparison above relies on it)", () => {
    for (const [mode, on] of [["always", true], ["never", false]] as const) {
      process.env.HPTLAB_LOOKAHEAD = mode;
      try {
        const m = new Machine({ cores: 4, smt: 4 });
        const g = m.createGuest({ ramBytes: 2 ** 24, hptOrder: 18, vcpus: 4, policy: "need-tlb-flush" });
        for (let i = 0n; i < 16n; i++) g.hEnter(0n, i * 8n, ((0x300n + i) << 12n) | 1n, (i << 12n) | 0x10n);
        expect(m._lookahead, mode).toBe(on);
        m.dispose();
      } finally {
        delete process.env.HPTLAB_LOOKAHEAD;
      }
    }
  });

  function sameBytes(coresA: number, coresB: number, order: number): void {
    {
      const a = new Machine({ cores: coresA, smt: 4, hostMemoryBytes: 2 ** 28 });
      const ga = a.createGuest({ ramBytes: 2 ** 24, hptOrder: 20, vcpus: 4, policy: "need-tlb-flush" });
      for (let i = 0n; i < 64n; i++) ga.hEnter(0n, i * 8n, ((0x100n + i) << 12n) | 1n, (i << 12n) | 0x10n);
      a.dispose();
      const work = (m: Machine) => {
        const g = m.createGuest({ ramBytes: 2 ** 24, hptOrder: order, vcpus: 2, policy: "last-vcpu" });
        for (let i = 0n; i < 16n; i++) g.hEnter(0n, i * 8n, ((0x200n + i) << 12n) | 1n, (i << 12n) | 0x10n);
        g.hRemove(0n, 8n, 0n);
      };
      const b = new Machine({ cores: coresB, smt: 4, hostMemoryBytes: 2 ** 28 }); // on a's memory
      work(b);
      const c = new Machine({ cores: coresB, smt: 4, hostMemoryBytes: 2 ** 28 }); // fresh: the pool is empty
      work(c);
      expect(b.memory).toBe(a.memory);
      expect(c.memory).not.toBe(a.memory);
      expect(b.memoryBytes).toBe(c.memoryBytes); // what b took, not what a grew the memory to
      // the bytes the machine took (beyond the arena's end lies memory it never uses)
      const n = c._u32[(c.plan.header + HDR.ARENA_END) / 4]!;
      expect(b._u32[(b.plan.header + HDR.ARENA_END) / 4]).toBe(n);
      const same = Buffer.compare(Buffer.from(new Uint8Array(b.memory.buffer, 0, n)), Buffer.from(new Uint8Array(c.memory.buffer, 0, n)));
      expect(same).toBe(0);
    }
  }

  test("each engine build reuses only its own machines' memories (their static data differ)", () => {
    drainPool();
    const release = new Machine({ cores: 2, smt: 1 }, engineModule(false));
    release.dispose();
    const debug = new Machine({ cores: 2, smt: 1 }, engineModule(true));
    expect(debug.memory).not.toBe(release.memory);
    const g = debug.createGuest({ ramBytes: 2 ** 24, hptOrder: 18 });
    expect(g.hEnter(0n, 0n, (0x1001n << 12n) | 1n, 0x10n).ret).toBe(0);
    debug.dispose();
    expect(new Machine({ cores: 2, smt: 1 }, engineModule(false)).memory).toBe(release.memory);
    expect(new Machine({ cores: 2, smt: 1 }, engineModule(true)).memory).toBe(debug.memory);
  });

  test("releaseMachineMemory lets go of the kept memories: the next machine starts on a fresh one", () => {
    for (const m of drainPool()) m.dispose(); // the pool now holds these
    const kept = new Machine({ cores: 2, smt: 1 });
    const old = kept.memory;
    const bytes = kept.memoryBytes;
    kept.dispose();
    expect(releaseMachineMemory()).toBeGreaterThanOrEqual(bytes);
    expect(releaseMachineMemory()).toBe(0);
    const next = new Machine({ cores: 2, smt: 1 });
    expect(next.memory).not.toBe(old);
    next.dispose();
    expect(new Machine({ cores: 2, smt: 1 }).memory).toBe(next.memory); // and reuse goes on
  });

  test("a new machine takes the largest memory kept, whatever order they were left in", () => {
    const held = drainPool();
    const big = new Machine({ cores: 64, smt: 4 });
    const small = new Machine({ cores: 1, smt: 1 });
    big.dispose();
    small.dispose(); // the last left: a stack would hand it out first
    expect(big.memory.buffer.byteLength).toBeGreaterThan(small.memory.buffer.byteLength);
    const next = new Machine({ cores: 1, smt: 1 });
    expect(next.memory).toBe(big.memory);
    expect(new Machine({ cores: 1, smt: 1 }).memory).toBe(small.memory);
    expect(pooledMemories(engineModule())).toBe(0);
    for (const m of held) m.dispose();
  });

  test("a disposed machine refuses to run or read", () => {
    const m = new Machine({ cores: 2, smt: 1 });
    m.dispose();
    expect(m.disposed).toBe(true);
    expect(() => m.counters()).toThrow(/used after dispose/);
    expect(() => m.runOps(0)).toThrow(/used after dispose/);
    expect(() => m.batch().work(0, 10)).toThrow(/used after dispose/);
    m.dispose(); // twice is harmless
  });
});
