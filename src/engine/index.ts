export { Machine, Guest, createMachine, createMachineSync, releaseMachineMemory, KvmOpError, KVM_COUNTERS, type KvmCounters, type ViolationRecord, type StaleCause, type Verdict } from "./machine.js";
export { planLayout, formatBytes, type LayoutPlan } from "./layout.js";
export { EngineAbort, engineModule } from "./wasm.js";
export { OpBatch } from "./batch.js";
