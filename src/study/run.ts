/**
 * Running a study: expand the config into points, keep this shard's, run them on a worker-thread
 * pool (piscina; workers share nothing but results) or inline, and gather the results in point
 * order — so results.json is byte-identical whatever --workers is. `mergeResults` joins shards.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { availableParallelism } from "node:os";
import { expandStudy, type StudyConfig, type StudyPoint } from "./config.js";
import { runPoint } from "./point.js";
import type { PointResult, StudyResults } from "./results.js";

export function hptlabVersion(): string {
  for (const rel of ["../../package.json", "../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "hptlab") return pkg.version ?? "0.0.0";
    } catch {
      // try the next
    }
  }
  return "0.0.0";
}

export interface Progress {
  done: number;
  total: number;
  guestOps: number;
  seconds: number;
}

export interface RunStudyOptions {
  /** Worker threads; 1 runs inline. Default: available parallelism. */
  workers?: number;
  shard?: { k: number; n: number };
  onProgress?: (p: Progress) => void;
}

export interface StudyRun {
  results: StudyResults;
  /** Wall-clock facts (not part of the results). */
  timing: { seconds: number; workers: number; points: number; guestOps: number; engineOps: number; guestOpsPerSecond: number };
}

/** The compiled worker: next to this module when running from dist/, else dist/study/worker.js. */
function workerFile(): string {
  const here = fileURLToPath(new URL("./worker.js", import.meta.url));
  if (existsSync(here)) return here;
  const built = resolve(fileURLToPath(new URL("../../", import.meta.url)), "dist/study/worker.js");
  if (existsSync(built)) return built;
  throw new Error("study workers need the built worker (dist/study/worker.js): run `npm run build`, or use --workers 1");
}

export function shardPoints(points: StudyPoint[], shard?: { k: number; n: number }): StudyPoint[] {
  return shard ? points.filter((p) => p.id % shard.n === shard.k - 1) : points;
}

export async function runStudy(config: StudyConfig, opts: RunStudyOptions = {}): Promise<StudyRun> {
  const all = expandStudy(config);
  const points = shardPoints(all, opts.shard);
  const workers = Math.max(1, Math.min(opts.workers ?? availableParallelism(), points.length || 1));
  const t0 = performance.now();
  const results: PointResult[] = new Array(points.length);
  let done = 0;
  let guestOps = 0;
  let engineOps = 0;
  const report = (r: PointResult) => {
    done++;
    guestOps += r.guestOps;
    engineOps += r.engineOps;
    opts.onProgress?.({ done, total: points.length, guestOps, seconds: (performance.now() - t0) / 1000 });
  };
  if (workers === 1) {
    for (const [i, p] of points.entries()) {
      results[i] = runPoint(p);
      report(results[i]!);
      // let timers (progress bars) run between points
      if (opts.onProgress) await new Promise((r) => setImmediate(r));
    }
  } else {
    const { Piscina } = await import("piscina");
    const pool = new Piscina({ filename: workerFile(), minThreads: workers, maxThreads: workers, idleTimeout: 1000 });
    try {
      // the biggest machines first, so that no long point starts last
      const order = points.map((p, i) => i).sort((a, b) => points[b]!.params.cores - points[a]!.params.cores || a - b);
      await Promise.all(order.map(async (i) => {
        const r = (await pool.run(points[i]!)) as PointResult;
        results[i] = r;
        report(r);
      }));
    } finally {
      await pool.destroy();
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    results: {
      format: "hptlab-results", version: 1, hptlab: hptlabVersion(), study: config.name, config,
      totalPoints: all.length, shard: opts.shard ?? { k: 1, n: 1 }, points: results,
    },
    timing: { seconds, workers, points: points.length, guestOps, engineOps, guestOpsPerSecond: guestOps / seconds },
  };
}

/** Join shards of one study into one results object (points by id). Throws on mismatched studies. */
export function mergeResults(parts: { file: string; results: StudyResults }[], allowPartial = false): StudyResults {
  if (parts.length === 0) throw new RangeError("merge: no results files given");
  const first = parts[0]!;
  const key = JSON.stringify(first.results.config);
  const byId = new Map<number, { file: string; point: PointResult }>();
  for (const { file, results } of parts) {
    if (results.format !== "hptlab-results" || results.version !== 1) throw new RangeError(`${file}: not an hptlab results.json (format ${String(results.format)}, version ${String(results.version)})`);
    if (JSON.stringify(results.config) !== key || results.totalPoints !== first.results.totalPoints) {
      throw new RangeError(`${file}: a different study than ${first.file} (config or point count differ)`);
    }
    for (const p of results.points) {
      const seen = byId.get(p.id);
      if (seen && JSON.stringify(seen.point) !== JSON.stringify(p)) throw new RangeError(`${file}: point ${p.id} differs from the one in ${seen.file}`);
      byId.set(p.id, { file, point: p });
    }
  }
  const total = first.results.totalPoints;
  if (byId.size !== total && !allowPartial) {
    const missing: number[] = [];
    for (let i = 0; i < total && missing.length < 10; i++) if (!byId.has(i)) missing.push(i);
    throw new RangeError(`merge: ${total - byId.size} of ${total} points are missing (e.g. ${missing.join(", ")}); pass every shard, or --partial`);
  }
  const points = [...byId.values()].map((x) => x.point).sort((a, b) => a.id - b.id);
  return { ...first.results, shard: { k: 1, n: 1 }, points };
}
