/** hptlab: the public API. */
export { Machine, Guest, createMachine, createMachineSync, OpBatch, planLayout, formatBytes, EngineAbort } from "./engine/index.js";
export type { LayoutPlan } from "./engine/index.js";
export * from "./hpte.js";
export * from "./types.js";
export { ConfigError, resolveMachineConfig, resolveGuestOptions, qemuHptOrder } from "./config.js";
export type { MachineConfig, MachineConfigInput, GuestOptions, GuestOptionsInput } from "./config.js";
export { runDemo, type DemoOptions, type DemoResult } from "./demo.js";
