/** The reference model of the KVM layer: plain TypeScript, written to be read (docs/kvm-model.md). */
export { RefKvmMachine, createReferenceKvmMachine } from "./machine.js";
export { RefKvmGuest } from "./guest.js";
export { REFERENCE_POLICIES, referencePolicy } from "./policies/index.js";
export type { KvmPolicy, Decision, InvalidationRequest, Thread } from "./policy.js";
export { TlbieFabric } from "./fabric.js";
