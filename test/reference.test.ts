import { createReferenceMachine, createReferenceKvmMachine } from "../src/reference/index.js";
import { machineContract } from "./contract.js";

machineContract("reference", (c) => createReferenceMachine(c));
// the reference model of the KVM layer is built on the same HPT, TLB and hcall code: the same contract
machineContract("reference KVM layer", (c) => createReferenceKvmMachine(c));
