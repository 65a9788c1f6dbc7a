// The same hand-derived contract the reference model passes (test/contract.ts), run on the WASM
// engine: once on the release build and once on the debug build, whose every `unchecked` access
// is bounds-checked, so an out-of-range load in the engine traps here instead of reading garbage.
import { describe, expect, test } from "vitest";
import { Machine, createMachineSync, engineModule } from "../src/engine/index.js";
import { setEngineClock } from "../src/engine/wasm.js";
import { machineContract } from "./contract.js";

machineContract("wasm", (c) => createMachineSync(c));

const debug = engineModule(true);
machineContract("wasm-debug", (c) => new Machine(c, debug));

describe("HPTLAB_LOOKAHEAD (how the engine reads ops ahead: speed only)", () => {
  test.each(["measured", "always", "never", ""])("%j is accepted", (v) => {
    process.env.HPTLAB_LOOKAHEAD = v;
    try {
      expect(new Machine({ cores: 2 }).config.cores).toBe(2);
    } finally {
      delete process.env.HPTLAB_LOOKAHEAD;
    }
  });
  test("a bad value is refused, naming the variable and the choices", () => {
    process.env.HPTLAB_LOOKAHEAD = "sometimes";
    try {
      expect(() => new Machine({ cores: 2 })).toThrow('HPTLAB_LOOKAHEAD="sometimes": expected measured, always or never');
    } finally {
      delete process.env.HPTLAB_LOOKAHEAD;
    }
  });
});

describe("the measured lookahead keeps the cheaper way (a fake clock)", () => {
  // In a probe each chunk reads the clock twice (start, end), chunks alternating with the lookahead
  // (even) and without (odd). The fake clock makes one of the two ways 10× slower per chunk, and
  // swaps which one when `flip` is set.
  const CHUNK_OPS = 128;
  function machine(slow: { way: "with" | "without" }): Machine {
    let calls = 0;
    let t = 0;
    setEngineClock(() => {
      const chunk = calls >> 1;
      const end = (calls & 1) === 1;
      calls++;
      if (end) t += (chunk % 2 === 0) === (slow.way === "with") ? 10 : 1;
      return t;
    });
    try {
      return new Machine({ cores: 4 });
    } finally {
      setEngineClock(null);
    }
  }
  const run = (m: Machine, chunks: number) => {
    for (let left = chunks * CHUNK_OPS; left > 0; left -= 4096) {
      const b = m.batch();
      for (let i = 0; i < Math.min(4096, left); i++) b.work(i & 15, 1);
      b.run();
    }
  };

  test.each([["with", false], ["without", true]] as const)("the lookahead slow %s: on = %s after a probe, and again after the next when the costs swap", (way, on) => {
    const slow = { way: way as "with" | "without" };
    const m = machine(slow);
    expect(m._lookahead).toBe(true); // before any probe
    run(m, 16); // the first probe: 16 chunks
    expect(m._lookahead).toBe(on);
    run(m, 2048 - 16 - 1);
    expect(m._lookahead).toBe(on); // kept until the next probe
    slow.way = way === "with" ? "without" : "with";
    run(m, 1 + 16);
    expect(m._lookahead).toBe(!on);
  });

  test("HPTLAB_LOOKAHEAD=always and never fix it, whatever the clock says", () => {
    for (const [mode, on] of [["always", true], ["never", false]] as const) {
      process.env.HPTLAB_LOOKAHEAD = mode;
      try {
        const m = machine({ way: on ? "with" : "without" });
        run(m, 40);
        expect(m._lookahead).toBe(on);
      } finally {
        delete process.env.HPTLAB_LOOKAHEAD;
      }
    }
  });
});
