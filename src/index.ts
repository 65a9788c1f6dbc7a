/** hptlab: the public API. */
export { Machine, Guest, createMachine, createMachineSync, OpBatch, planLayout, formatBytes, EngineAbort, KvmOpError } from "./engine/index.js";
export type { LayoutPlan, KvmCounters, ViolationRecord, StaleCause, Verdict } from "./engine/index.js";
export { POLICIES, POLICY_NAMES, DEFERRED_OVERFLOW, policyByName, type PolicyInfo, type PolicyName, type DeferredOverflow } from "./kvm/policies.js";
export { COST_ROWS, DEFAULT_COSTS, COST_CATEGORIES, INVALIDATION_CATEGORIES, type CostName, type CostTable, type CostCategory } from "./kvm/costs.js";
export { SCENARIOS, runScenario, type ScenarioOptions, type ScenarioResult, type TimelineEvent } from "./kvm/scenarios.js";
export { replayLackey, LackeyReplayer, LackeyParser, parseLackeyChunk, lackeyBatches } from "./trace/lackey.js";
export * from "./hpte.js";
export * from "./types.js";
export { ConfigError, resolveMachineConfig, resolveGuestOptions, qemuHptOrder } from "./config.js";
export type { MachineConfig, MachineConfigInput, GuestOptions, GuestOptionsInput } from "./config.js";
export { runDemo, type DemoOptions, type DemoResult } from "./demo.js";
