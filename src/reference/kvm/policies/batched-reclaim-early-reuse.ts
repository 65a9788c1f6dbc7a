/**
 * `batched-reclaim-early-reuse` (id 17), BROKEN on purpose: batched-reclaim whose page-out frees the
 * frame at once, before its batch's flush (scenario batch-reuse-before-flush).
 */
import type { KvmPolicy } from "../policy.js";
import { batchedReclaim } from "./batched-reclaim.js";

export const batchedReclaimEarlyReuse: KvmPolicy = {
  ...batchedReclaim,
  id: 17,
  name: "batched-reclaim-early-reuse",
  pageOut: "batch-free-early",
};
