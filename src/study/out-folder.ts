/**
 * A study's output folder is the user's data: what a folder already holds (a finished study's
 * results.json, a checkpoint's study.json and points/) is never thrown away unasked. A different
 * study there is refused (`force` overwrites it); the same study's unfinished checkpoint is kept
 * for `--resume` (`force` starts over).
 */
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

/** The files a study writes into its folder (besides points/). */
export const STUDY_OUTPUT_FILES = ["study.json", "results.json", "results.csv", "summary.md", "report.html", "timing.json"] as const;

/** What an output folder already holds. */
export interface HeldStudy {
  /** The file that tells: DIR/study.json (a checkpoint) or DIR/results.json. */
  file: string;
  /** The study's name, when the file is an hptlab study's. */
  name: string | null;
  /** Same config and point count (and trace digests, when the checkpoint names them) as the study at hand. */
  same: boolean;
  /** Finished points in DIR/points/. */
  points: number;
  /** DIR/results.json holds this study's results, of the same shard (a finished run). */
  finished: boolean;
}

/** Why the folder cannot be used as it is. */
export class OutFolderError extends Error {
  constructor(readonly dir: string, readonly held: HeldStudy, readonly kind: "different" | "unfinished", readonly totalPoints: number) {
    super(kind === "different"
      ? `${held.file}: ${held.name === null ? "not an hptlab study's file" : `a different study (${JSON.stringify(held.name)}: config, point count or traces differ)`}; choose another folder, or force to overwrite it`
      : `${dir} holds ${held.points} of ${totalPoints} points of this study from an interrupted run; resume to run only the missing points, or force to start over`);
    this.name = "OutFolderError";
  }
}

function readJson(file: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(readFileSync(file, "utf8"));
    return v !== null && typeof v === "object" ? v as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

/** The finished points in DIR/points/ (file names `<id>.json`). */
export function checkpointPointFiles(dir: string): string[] {
  const pointsDir = join(dir, "points");
  return existsSync(pointsDir) ? readdirSync(pointsDir).filter((f) => /^\d+\.json$/.test(f)) : [];
}

/**
 * What study `dir` holds, compared with the study at hand (its resolved config and point count; the
 * traces' digests when known), or null when it holds none.
 */
export function heldStudy(dir: string, config: unknown, totalPoints: number, traces?: readonly string[], shard: { k: number; n: number } = { k: 1, n: 1 }): HeldStudy | null {
  const stampFile = join(dir, "study.json");
  const resultsFile = join(dir, "results.json");
  const hasStamp = existsSync(stampFile);
  const hasResults = existsSync(resultsFile);
  if (!hasStamp && !hasResults) return null;
  const key = JSON.stringify(config);
  const results = hasResults ? readJson(resultsFile) : null;
  const resultsSame = results !== null && results.format === "hptlab-results" && JSON.stringify(results.config) === key && results.totalPoints === totalPoints;
  const sameShard = resultsSame && (results.shard as { k?: number; n?: number } | undefined)?.k === shard.k && (results.shard as { n?: number } | undefined)?.n === shard.n;
  const points = checkpointPointFiles(dir).length;
  if (hasStamp) {
    const stamp = readJson(stampFile);
    const ok = stamp !== null && stamp.format === "hptlab-checkpoint";
    const same = ok && JSON.stringify(stamp.config) === key && stamp.totalPoints === totalPoints &&
      (traces === undefined || JSON.stringify(stamp.traces ?? []) === JSON.stringify(traces));
    const name = ok && stamp.config && typeof (stamp.config as { name?: unknown }).name === "string" ? (stamp.config as { name: string }).name : null;
    return { file: stampFile, name, same, points, finished: same && sameShard };
  }
  const name = results !== null && results.format === "hptlab-results" && typeof results.study === "string" ? results.study : null;
  return { file: resultsFile, name, same: resultsSame, points, finished: sameShard };
}

/**
 * Decide what to do with the folder before anything runs: throw OutFolderError (a different study
 * without `force`; this study's unfinished checkpoint without `resume` or `force`), or clear what
 * must go (everything of a different study under `force`). Returns what the folder held.
 */
export function claimOutFolder(dir: string, config: unknown, totalPoints: number, opts: { resume?: boolean; force?: boolean; traces?: readonly string[]; shard?: { k: number; n: number } } = {}): HeldStudy | null {
  const held = heldStudy(dir, config, totalPoints, opts.traces, opts.shard);
  if (held === null) return null;
  if (!held.same) {
    if (!opts.force) throw new OutFolderError(dir, held, "different", totalPoints);
    for (const f of STUDY_OUTPUT_FILES) rmSync(join(dir, f), { force: true });
    rmSync(join(dir, "points"), { recursive: true, force: true });
    return held;
  }
  if (!opts.resume && !opts.force && !held.finished && held.points > 0) throw new OutFolderError(dir, held, "unfinished", totalPoints);
  return held;
}
