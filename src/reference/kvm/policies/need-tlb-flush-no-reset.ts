/**
 * `need-tlb-flush-no-reset` (id 6): BROKEN on purpose — need-tlb-flush without the set-all at HPT
 * reset, so entries the reset left behind survive the guest's next entry (`hpt-reset` scenario).
 */
import type { KvmPolicy } from "../policy.js";
import { needTlbFlush } from "./need-tlb-flush.js";

export const needTlbFlushNoReset: KvmPolicy = {
  ...needTlbFlush,
  id: 6,
  name: "need-tlb-flush-no-reset",
  hptReset: () => {},
};
