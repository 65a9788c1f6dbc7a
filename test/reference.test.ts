import { createReferenceMachine } from "../src/reference/index.js";
import { machineContract } from "./contract.js";

machineContract("reference", (c) => createReferenceMachine(c));
