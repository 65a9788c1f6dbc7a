/**
 * `need-tlb-flush-no-init` (id 5): BROKEN on purpose — need-tlb-flush without the set-all at VM
 * start, so a guest on a recycled LPID can hit its predecessor's entries (`lpid-reuse` scenario).
 */
import type { KvmPolicy } from "../policy.js";
import { needTlbFlush } from "./need-tlb-flush.js";

export const needTlbFlushNoInit: KvmPolicy = {
  ...needTlbFlush,
  id: 5,
  name: "need-tlb-flush-no-init",
  vmStart: () => {},
};
