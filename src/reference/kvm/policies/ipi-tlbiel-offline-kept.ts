/**
 * `ipi-tlbiel-offline-kept` (id 15), BROKEN on purpose: ipi-tlbiel before commit 01b0f0eae081 — an
 * offlined core stays in the masks unflushed and gets no IPI (scenario cpu-offline-missed-ipi).
 */
import type { KvmPolicy } from "../policy.js";
import { ipiTlbiel } from "./ipi-tlbiel.js";

export const ipiTlbielOfflineKept: KvmPolicy = {
  ...ipiTlbiel,
  id: 15,
  name: "ipi-tlbiel-offline-kept",
  coreOffline: () => {}, // the bug: the core keeps its bit and its entries
};
