// The same hand-derived contract the reference model passes (test/contract.ts), run on the WASM
// engine: once on the release build and once on the debug build, whose every `unchecked` access
// is bounds-checked, so an out-of-range load in the engine traps here instead of reading garbage.
import { Machine, createMachineSync, engineModule } from "../src/engine/index.js";
import { machineContract } from "./contract.js";

machineContract("wasm", (c) => createMachineSync(c));

const debug = engineModule(true);
machineContract("wasm-debug", (c) => new Machine(c, debug));
