export { Machine, createMachine, createMachineSync } from "./machine.js";
export { Guest } from "./guest.js";
export { releaseMachineMemory } from "./memory-pool.js";
export { KvmOpError } from "./ops.js";
export { KVM_COUNTERS, QUARANTINE_COUNTERS, type KvmCounters, type ViolationRecord, type StaleCause, type Verdict } from "./records.js";
export { planLayout, formatBytes, type LayoutPlan } from "./layout.js";
export { EngineAbort, engineModule } from "./wasm.js";
export { OpBatch } from "./batch.js";
