// The same hand-derived contract the reference model passes (test/contract.ts), run on the WASM
// engine: once on the release build and once on the debug build, whose every `unchecked` access
// is bounds-checked, so an out-of-range load in the engine traps here instead of reading garbage.
import { describe, expect, test } from "vitest";
import { Machine, createMachineSync, engineModule } from "../src/engine/index.js";
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
