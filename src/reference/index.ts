/** hptlab reference model: plain TypeScript, bigint everywhere, written to be read. */
export * from "./constants.js";
export { hptHash, hptHash1T, hptHash256M, htabMask, primaryPteg, secondaryPteg, compareWord, recoverVa, HASH_MASK } from "./hash.js";
export type { RecoveredVa } from "./hash.js";
export { decodeSlb, vaPageOf, segmentOffsetBits } from "./slb.js";
export type { Segment, VaPage } from "./slb.js";
export { kvmHvPageShift, qemuPageShift } from "./pagesize.js";
export { CoreTlb, Xorshift32, tlbSetIndex } from "./tlb.js";
export type { TlbEntry } from "./tlb.js";
export { FRAME_HOST, HostFrames } from "./frames.js";
export { Hpt } from "./hpt.js";
export { newCounterBlock, copyCounterBlock, retBucket } from "./counters.js";
export { protectBits } from "./hcalls-kvmhv.js";
export { RefMachine, RefGuest, createReferenceMachine } from "./machine.js";
export { RefKvmMachine, RefKvmGuest, createReferenceKvmMachine, REFERENCE_POLICIES, referencePolicy, TlbieFabric } from "./kvm/index.js";
export type { KvmPolicy, Decision, InvalidationRequest, Thread } from "./kvm/index.js";
