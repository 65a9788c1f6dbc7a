export { Machine, Guest, createMachine, createMachineSync } from "./machine.js";
export { planLayout, formatBytes, type LayoutPlan } from "./layout.js";
export { EngineAbort, engineModule } from "./wasm.js";
export { OpBatch } from "./batch.js";
