/** Worker-thread entry of the study pool (piscina): one task = the points of one task group (runPoints). */
import { runPoints, type PointOutcome } from "./point.js";
import type { StudyPoint } from "./config.js";

export default function task(points: StudyPoint[]): PointOutcome[] {
  return runPoints(points);
}
