/** Worker-thread entry of the study pool (piscina): one task = one point. */
import { runPoint } from "./point.js";
import type { StudyPoint } from "./config.js";
import type { PointResult } from "./results.js";

export default function task(point: StudyPoint): PointResult {
  return runPoint(point);
}
