/**
 * Running a study: expand the config into points, keep this shard's, run them on a worker-thread
 * pool (piscina; workers share nothing but results) or inline, and gather the results in point
 * order — so results.json is byte-identical whatever --workers is. `mergeResults` joins shards.
 */
import { existsSync, readFileSync, mkdirSync, openSync, writeSync, fsyncSync, closeSync, renameSync, rmSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { resolve, join, isAbsolute } from "node:path";
import { availableParallelism } from "node:os";
import { expandStudy, studyCosts, type StudyConfig, type StudyPoint } from "./config.js";
import { runPoints, type PointOutcome } from "./point.js";
import { scenarioEvidence } from "./scenarios.js";
import { COST_CATEGORIES, type CostCategory, type CostName } from "../model/costs.js";
import { generationRow, type Generation } from "../model/machines.js";
import { costOverrides, runCosts } from "./config.js";
import { COST_NAMES, sensitivityFindings, sensitivityPlan, sensitivityTargets, type SensitivityResults, type SensitivityRun } from "../report/sensitivity.js";
import { hptlabVersion } from "../version.js";
export { hptlabVersion };
import { pointMemoryBytes, generatorKey } from "../workload/synthetic.js";
import { MAX_BYTES, PAGE_BYTES, formatBytes } from "../engine/layout.js";
import type { PointResult, StudyResults } from "./results.js";
import { loadHcallProgram, type HcallProgram, type LoadProgramOptions } from "../trace/hcall-program.js";
import { defaultTraceCacheDir } from "../trace/program-cache.js";
import { TraceError } from "../trace/hcall-trace.js";
import { ConfigError } from "../config.js";
import { claimOutFolder, checkpointPointFiles } from "./out-folder.js";

export interface Progress {
  done: number;
  total: number;
  guestOps: number;
  seconds: number;
  /**
   * Estimated work done and in all (taskCostOf: synthetic guest ops, a trace call as 4.8, plus per core),
   * for an ETA: tasks run longest first, so points done underrate what is done early.
   */
  work: number;
  totalWork: number;
}

export interface RunStudyOptions {
  /** Worker threads; 1 runs inline. Default: available parallelism. */
  workers?: number;
  shard?: { k: number; n: number };
  onProgress?: (p: Progress) => void;
  /**
   * Write each finished point durably to `<checkpointDir>/points/<id>.json` (temp file, then rename)
   * as the study goes, so an interrupted study loses nothing that finished.
   */
  checkpointDir?: string;
  /** With checkpointDir: reuse the points already there (same study only) and run only the rest. */
  resume?: boolean;
  /**
   * With checkpointDir: overwrite a different study's files there, or start this study over
   * (without it both are refused: OutFolderError).
   */
  force?: boolean;
  /** A point failed (its error); the others still run. */
  onPointError?: (e: PointFailure) => void;
  /** Folder that relative trace paths of the config are taken from (the config file's; default: the working directory). */
  baseDir?: string;
  /** A trace is being loaded (`calls` so far), before any point runs. */
  onTraceLoad?: (file: string, calls: number) => void;
  /**
   * The compiled-trace cache's folder (src/trace/program-cache.ts), or null for none. Default:
   * defaultTraceCacheDir() (HPTLAB_TRACE_CACHE, $XDG_CACHE_HOME/hptlab, node_modules/.cache/hptlab).
   */
  traceCache?: string | null;
  /** One line about the trace cache: a cache file not used (why), or a folder that cannot be written. */
  onNote?: (line: string) => void;
}

export interface PointFailure {
  id: number;
  /** The point's parameters in words. */
  what: string;
  message: string;
}

/** Some points failed: the others finished (and are checkpointed, if asked). */
export class StudyError extends Error {
  constructor(readonly failures: PointFailure[], readonly finished: number) {
    super(`${failures.length} point${failures.length > 1 ? "s" : ""} failed (${finished} finished): ` +
      failures.slice(0, 3).map((f) => `point ${f.id} (${f.what}): ${f.message}`).join("; ") + (failures.length > 3 ? "; …" : ""));
    this.name = "StudyError";
  }
}

export interface StudyRun {
  results: StudyResults;
  /** Wall-clock facts (not part of the results). */
  timing: { seconds: number; workers: number; points: number; resumed: number; guestOps: number; engineOps: number; guestOpsPerSecond: number };
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

/** Write a file so that readers see the old content or the new, never a part: temp file, fsync, rename. */
export function writeFileDurably(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

function describePoint(p: StudyPoint): string {
  const q = p.params;
  return `${q.sweep}: ${q.cores} cores, ${q.shape}, ${q.policy}${q.deferredCap !== null ? ` cap ${q.deferredCap}` : ""}, H_LOCAL ${q.hLocal}, ${q.pageOutsPerMop} page-outs/Mop`;
}

/**
 * The checkpoint folder: study.json names the study; points/<id>.json hold finished points. What the
 * folder holds is claimed first (claimOutFolder): another study's files or this study's unfinished
 * points are never dropped unasked.
 */
function openCheckpoint(dir: string, config: StudyConfig, totalPoints: number, resume: boolean, force: boolean, traces: string[], shard?: { k: number; n: number }): Map<number, PointResult> {
  const pointsDir = join(dir, "points");
  claimOutFolder(dir, config, totalPoints, { resume, force, traces, ...(shard ? { shard } : {}) });
  mkdirSync(pointsDir, { recursive: true });
  // the traces' digests too: points of a trace that changed since are not reused
  const stamp = JSON.stringify({ format: "hptlab-checkpoint", version: 1, totalPoints, config, ...(traces.length ? { traces } : {}) });
  const stampFile = join(dir, "study.json");
  const done = new Map<number, PointResult>();
  const files = checkpointPointFiles(dir);
  if (!resume) {
    // a fresh run of this study (a finished one, or --force): its earlier points go
    for (const f of files) rmSync(join(pointsDir, f), { force: true });
    writeFileDurably(stampFile, stamp + "\n");
    return done;
  }
  if (!existsSync(stampFile)) writeFileDurably(stampFile, stamp + "\n");
  for (const f of files) {
    try {
      const r = JSON.parse(readFileSync(join(pointsDir, f), "utf8")) as PointResult;
      if (r.id === Number(f.slice(0, -5))) done.set(r.id, r);
    } catch {
      // a point file that does not parse is simply run again
    }
  }
  return done;
}

/** Refuse, before anything runs, a point whose machine would not fit one WASM32 memory. */
export function checkStudyLimits(points: StudyPoint[], limit = MAX_BYTES - PAGE_BYTES): void {
  const seen = new Set<string>();
  for (const p of points) {
    const r = p.run;
    const key = `${r.cores}/${r.smt}/${r.tlbSets}/${r.tlbWays}/${r.vcpus}/${r.threadsPerVcore}/${r.guests}/${r.deferredCap}/${r.program?.ramBytes}/${r.program?.hptOrder}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const bytes = pointMemoryBytes(r);
    if (bytes > limit) {
      throw new RangeError(`point ${p.id} (${describePoint(p)}) needs ${formatBytes(bytes)} of memory; ${limit === MAX_BYTES - PAGE_BYTES ? `one WASM32 memory holds ${formatBytes(MAX_BYTES)}` : `the limit is ${formatBytes(limit)}`}`);
    }
  }
}

/** Compiled traces, by absolute path, size, mtime and cache folder: a process loads each trace once. */
const programs = new Map<string, Promise<HcallProgram>>();

/**
 * Load the trace of every trace-driven point (each file once, streamed, gzip or plain) and attach it
 * to the point: the program, and the calls the point replays (params.ops). Throws TraceError for a
 * bad trace (file, line, field) and ConfigError for a shape with fewer vcpus than the trace.
 */
export async function attachTracePrograms(points: StudyPoint[], baseDir = process.cwd(), onLoad?: (file: string, calls: number) => void, cache?: LoadProgramOptions["cache"]): Promise<void> {
  for (const p of points) {
    const t = p.run.trace;
    if (!t) continue;
    const abs = isAbsolute(t.file) ? t.file : resolve(baseDir, t.file);
    let key = abs;
    try {
      const st = statSync(abs);
      key = `${abs}|${st.size}|${st.mtimeMs}|${cache?.dir ?? ""}`;
    } catch {
      // the loader names the file in its error
    }
    let pending = programs.get(key);
    if (!pending) {
      onLoad?.(t.file, 0);
      pending = loadHcallProgram(abs, { onProgress: (n) => onLoad?.(t.file, n), ...(cache ? { cache } : {}) }).catch((e: unknown) => {
        programs.delete(key);
        // name the trace as the config does
        if (e instanceof TraceError) throw new TraceError(t.file, e.line, e.field, e.detail);
        throw e;
      });
      programs.set(key, pending);
    }
    const program = await pending;
    if (p.run.vcpus < program.vcpus) {
      throw new ConfigError(`study: sweep ${JSON.stringify(p.params.sweep)}, shape ${JSON.stringify(p.params.shape)}: vcpus`, `${p.run.vcpus} is fewer than the ${program.vcpus} vcpus of ${t.file}`);
    }
    p.run.program = program;
    p.params.ops = p.run.ops = Math.min(program.calls, t.maxCalls ?? Infinity);
  }
}

/**
 * A point's expected time, for ordering tasks (longest first) and for the ETA, in units of a
 * synthetic guest op's time. Measured on the default study (each task timed alone, one
 * thread, 2026-11-25; a unit is ~64 ns there): a synthetic point takes 1 per op + 250 per core
 * (machine set-up and per-core work), a trace point 4.8 per call + 1500 per core (a call brings
 * ~3.5 guest ops). The ETA is only as right as these.
 */
function taskCostOf(p: StudyPoint): number {
  return p.run.trace ? 4.8 * p.run.ops + 1500 * p.run.cores : p.run.ops + 250 * p.run.cores;
}

/** Memory the machines of one task may take together (they run at once). */
export const TASK_MEMORY_BYTES = 2 ** 29;

/**
 * The study's tasks over the points to run (indices, in order): points that differ only in what the
 * engine sees (generatorKey: a configuration's policy variants, synthetic or trace) share one task —
 * one generator drives their machines (runPoints) — as many as fit TASK_MEMORY_BYTES together; the
 * others are tasks of their own.
 */
export function taskGroups(points: readonly StudyPoint[], todo: readonly number[], memoryBytes = TASK_MEMORY_BYTES): number[][] {
  const tasks: number[][] = [];
  const open = new Map<string, number[]>();
  for (const i of todo) {
    const p = points[i]!;
    const key = generatorKey(p.run);
    const per = pointMemoryBytes(p.run);
    const g = open.get(key);
    if (g && (g.length + 1) * per <= memoryBytes) { g.push(i); continue; }
    const ng = [i];
    open.set(key, ng);
    tasks.push(ng);
  }
  return tasks;
}

/**
 * The cost values the target points can charge (the default `sensitivity.params`): every one but
 * tlbieErrata where no target runs on a machine with tlbie errata (docs/model/policies.md §10.3) —
 * scaling it would re-run the points for nothing.
 */
function chargeableCosts(targets: readonly { ids: number[] }[], all: readonly StudyPoint[]): CostName[] {
  const errata = targets.some((t) => t.ids.some((id) => {
    const gen = (all[id]?.params as { generation?: Generation } | undefined)?.generation;
    return gen !== undefined && generationRow(gen).tlbieErrata.length > 0;
  }));
  return COST_NAMES.filter((n) => errata || n !== "tlbieErrata");
}

/**
 * The sensitivity re-runs a study asks for (config.sensitivity, docs/study.md "Sensitivity"): points
 * with ids after the study's, each a target point with one cost value scaled; their plan.
 */
export function sensitivityPoints(config: StudyConfig, all: readonly StudyPoint[]): { points: StudyPoint[]; targets: SensitivityResults["targets"]; plan: ReturnType<typeof sensitivityPlan> } | undefined {
  const sens = config.sensitivity;
  if (!sens) return undefined;
  const targets = sensitivityTargets(all);
  // each target's own table: a sweep with a cost profile of its own scales that profile's values
  const plan = sensitivityPlan(targets, (id) => runCosts(all[id]!.run), sens.params ?? chargeableCosts(targets, all), sens.factors);
  const points = plan.map((q, j) => {
    const base = all[q.base]!;
    const overrides = costOverrides({ ...runCosts(base.run), [q.param]: q.value }, base.run.generation);
    const { costs: _old, ...run } = base.run;
    return { id: all.length + j, params: base.params, run: { ...run, ...(Object.keys(overrides).length ? { costs: overrides } : {}) } };
  });
  return { points, targets, plan };
}

/** A re-run's record (src/report/sensitivity.ts) from its result. */
function sensitivityRun(r: PointResult, q: { base: number; param: SensitivityRun["param"]; factor: number; value: number }): SensitivityRun {
  return { id: r.id, base: q.base, param: q.param, factor: q.factor, value: q.value, cycles: Object.fromEntries(COST_CATEGORIES.map((c) => [c, r.cycles[c]])) as Record<CostCategory, number>, violations: r.violations, staleHarmless: r.staleHarmless };
}

export async function runStudy(config: StudyConfig, opts: RunStudyOptions = {}): Promise<StudyRun> {
  const studyPoints = expandStudy(config);
  const sens = sensitivityPoints(config, studyPoints);
  // the re-runs are points like the others (ids after the study's): sharded, checkpointed, and run
  // in the same tasks as the points they re-run (one generator drives both)
  const all = sens ? [...studyPoints, ...sens.points] : studyPoints;
  const points = shardPoints(all, opts.shard);
  const t0 = performance.now();
  const synthetic: number[] = [];
  const traced: number[] = [];
  points.forEach((p, i) => (p.run.trace ? traced : synthetic).push(i));
  const wanted = Math.max(1, Math.min(opts.workers ?? availableParallelism(), points.length || 1));
  // The traces load (parse, compile replay) on this thread while the workers run synthetic tasks: a
  // fresh run with workers only (a resumed one reads the checkpoint, which names the traces'
  // digests, before it knows what to run). Nothing is written before the traces are loaded and the
  // folder claimed; finished tasks wait for that.
  const overlap = wanted > 1 && !opts.resume && traced.length > 0 && synthetic.length > 0;
  const cacheDir = opts.traceCache === undefined ? defaultTraceCacheDir() : opts.traceCache;
  const loading = attachTracePrograms(points, opts.baseDir, opts.onTraceLoad, cacheDir ? { dir: cacheDir, ...(opts.onNote ? { onNote: opts.onNote } : {}) } : undefined);
  let pool: import("piscina").Piscina | undefined;
  const early: { group: number[]; outcome: PointOutcome[] | { error: unknown } }[] = [];
  let deliver = (group: number[], outcome: PointOutcome[] | { error: unknown }) => { early.push({ group, outcome }); };
  let feeders: Promise<void>[] = [];
  let synTasks: number[][] = [];
  let fed = 0;
  if (overlap) {
    try {
      checkStudyLimits(synthetic.map((i) => points[i]!));
    } catch (e) {
      await loading; // a bad trace is named first, as when the traces load before anything
      throw e;
    }
    const { Piscina } = await import("piscina");
    pool = new Piscina({ filename: workerFile(), minThreads: wanted, maxThreads: wanted, idleTimeout: 1000 });
    const started = pool;
    synTasks = taskGroups(points, synthetic).map((g) => ({ g, c: g.reduce((a, i) => a + taskCostOf(points[i]!), 0) })).sort((a, b) => b.c - a.c || a.g[0]! - b.g[0]!).map((t) => t.g);
    let loaded = false;
    void loading.then(() => { loaded = true; }, () => { loaded = true; });
    const feed = async () => {
      while (!loaded && fed < synTasks.length) {
        const group = synTasks[fed++]!;
        // the outcome first, then deliver: deliver changes once the folder is claimed, and a call
        // reads its callee before it evaluates (awaits) its arguments
        let outcome: PointOutcome[] | { error: unknown };
        try {
          outcome = (await started.run(group.map((i) => points[i]!))) as PointOutcome[];
        } catch (error) {
          outcome = { error };
        }
        deliver(group, outcome);
      }
    };
    feeders = Array.from({ length: wanted }, feed);
    try {
      await loading;
    } catch (e) {
      await Promise.allSettled(feeders);
      await started.destroy();
      throw e;
    }
  } else {
    await loading;
  }
  try {
    checkStudyLimits(points);
  } catch (e) {
    await Promise.allSettled(feeders);
    await pool?.destroy();
    throw e;
  }
  const results: (PointResult | undefined)[] = new Array(points.length);
  const traces = [...new Set(points.filter((p) => p.run.program).map((p) => `${p.run.trace!.file} ${p.run.program!.digest}`))];
  let saved: Map<number, PointResult>;
  try {
    saved = opts.checkpointDir ? openCheckpoint(opts.checkpointDir, config, studyPoints.length, !!opts.resume, !!opts.force, traces, opts.shard) : new Map<number, PointResult>();
  } catch (e) {
    await Promise.allSettled(feeders);
    await pool?.destroy();
    throw e;
  }
  const todo: number[] = [];
  points.forEach((p, i) => {
    const r = saved.get(p.id);
    if (r) results[i] = r;
    else todo.push(i);
  });
  const resumed = points.length - todo.length;
  const workers = overlap ? wanted : Math.max(1, Math.min(opts.workers ?? availableParallelism(), todo.length || 1));
  let done = resumed;
  const workOf = (idx: readonly number[]) => idx.reduce((a, i) => a + taskCostOf(points[i]!), 0);
  let work = 0;
  const totalWork = workOf(todo);
  let guestOps = 0;
  let engineOps = 0;
  const failures: PointFailure[] = [];
  const finish = (i: number, r: PointResult) => {
    results[i] = r;
    if (opts.checkpointDir) writeFileDurably(join(opts.checkpointDir, "points", `${r.id}.json`), JSON.stringify(r) + "\n");
    done++;
    work += taskCostOf(points[i]!);
    guestOps += r.guestOps;
    engineOps += r.engineOps;
    opts.onProgress?.({ done, total: points.length, guestOps, seconds: (performance.now() - t0) / 1000, work, totalWork });
  };
  const fail = (i: number, e: unknown) => {
    const f = { id: points[i]!.id, what: describePoint(points[i]!), message: typeof e === "string" ? e : (e as Error)?.message ?? String(e) };
    failures.push(f);
    opts.onPointError?.(f);
  };
  const settle = (group: number[], outcomes: PointOutcome[]) => {
    group.forEach((i, k) => {
      const o = outcomes[k]!;
      if ("result" in o) finish(i, o.result);
      else fail(i, o.error);
    });
  };
  if (resumed && opts.onProgress) opts.onProgress({ done, total: points.length, guestOps, seconds: 0, work, totalWork });
  // what the workers finished while the traces loaded, then what they finish from now on
  deliver = (group, outcome) => {
    if (Array.isArray(outcome)) settle(group, outcome);
    else for (const i of group) fail(i, outcome.error);
  };
  for (const x of early.splice(0)) deliver(x.group, x.outcome);
  // the tasks: a point, or points that share their generator (runPoints); the longest first (by
  // an estimate), so that no long task starts last and the short ones fill the end
  const left = overlap ? [...synTasks.slice(fed), ...taskGroups(points, traced)] : taskGroups(points, todo);
  const tasks = left.map((g) => ({ g, c: workOf(g) })).sort((a, b) => b.c - a.c || a.g[0]! - b.g[0]!).map((t) => t.g);
  if (workers === 1) {
    for (const group of tasks) {
      settle(group, runPoints(group.map((i) => points[i]!)));
      // let timers (progress bars) run between tasks
      if (opts.onProgress) await new Promise((r) => setImmediate(r));
    }
  } else {
    if (!pool) {
      const { Piscina } = await import("piscina");
      pool = new Piscina({ filename: workerFile(), minThreads: workers, maxThreads: workers, idleTimeout: 1000 });
    }
    const running = pool;
    try {
      await Promise.all([...feeders, ...tasks.map(async (group) => {
        let outcome: PointOutcome[] | { error: unknown };
        try {
          outcome = (await running.run(group.map((i) => points[i]!))) as PointOutcome[];
        } catch (error) {
          outcome = { error };
        }
        deliver(group, outcome);
      })]);
    } finally {
      await running.destroy();
    }
  }
  if (failures.length > 0) throw new StudyError(failures.sort((a, b) => a.id - b.id), done);
  // the scenario catalogue (deterministic, well under a second): every shard holds the same
  const scenarios = scenarioEvidence(config);
  const seconds = (performance.now() - t0) / 1000;
  const done_ = results as PointResult[];
  const mine = done_.filter((r) => r.id < studyPoints.length);
  const out: StudyResults = {
    format: "hptlab-results", version: 1, hptlab: hptlabVersion(), study: config.name, config,
    totalPoints: studyPoints.length, shard: opts.shard ?? { k: 1, n: 1 }, scenarios, costs: studyCosts(config), points: mine,
  };
  if (sens) {
    const runs = done_.filter((r) => r.id >= studyPoints.length).map((r) => sensitivityRun(r, sens.plan[r.id - studyPoints.length]!));
    out.sensitivity = { factors: config.sensitivity!.factors, params: config.sensitivity!.params ?? chargeableCosts(sens.targets, studyPoints), targets: sens.targets, runs } satisfies SensitivityResults;
    if (!opts.shard || opts.shard.n === 1) (out.sensitivity as SensitivityResults).findings = sensitivityFindings(out);
  }
  return {
    results: out,
    timing: { seconds, workers, points: points.length, resumed, guestOps, engineOps, guestOpsPerSecond: guestOps / Math.max(seconds, 1e-9) },
  };
}

/** Join shards of one study into one results object (points by id). Throws on mismatched studies. */
export function mergeResults(parts: { file: string; results: StudyResults }[], allowPartial = false): StudyResults {
  if (parts.length === 0) throw new RangeError("no results files given");
  const first = parts[0]!;
  const key = JSON.stringify(first.results.config);
  const byId = new Map<number, { file: string; point: PointResult }>();
  const shards = new Map<string, string>();
  for (const { file, results } of parts) {
    if (results.format !== "hptlab-results" || results.version !== 1) throw new RangeError(`${file}: not an hptlab results.json (format ${String(results.format)}, version ${String(results.version)})`);
    if (JSON.stringify(results.config) !== key || results.totalPoints !== first.results.totalPoints) {
      throw new RangeError(`${file}: a different study than ${first.file} (config or point count differ)`);
    }
    // a shard given twice (the same file, or a copy): a slip of the command line, never meant
    const shard = `${results.shard?.k}/${results.shard?.n}`;
    const twin = shards.get(shard);
    if (twin !== undefined) throw new RangeError(twin === file ? `${file} is given twice` : `${twin} and ${file} are both shard ${shard}`);
    shards.set(shard, file);
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
    throw new RangeError(`${total - byId.size} of ${total} points are missing (e.g. ${missing.join(", ")}); pass every shard, or --partial`);
  }
  const points = [...byId.values()].map((x) => x.point).sort((a, b) => a.id - b.id);
  // the catalogue again, from the config: the same as every shard's (deterministic), and there for shards written without it
  const r = first.results;
  const merged: StudyResults = {
    format: r.format, version: r.version, hptlab: r.hptlab, study: r.study, config: r.config, totalPoints: r.totalPoints,
    shard: { k: 1, n: 1 }, scenarios: scenarioEvidence(r.config as StudyConfig), costs: studyCosts(r.config as StudyConfig), points,
  };
  const sens = r.sensitivity as SensitivityResults | undefined;
  if (sens) {
    const runs = new Map<number, SensitivityRun>();
    for (const { results } of parts) for (const x of (results.sensitivity as SensitivityResults | undefined)?.runs ?? []) runs.set(x.id, x);
    const all = [...runs.values()].sort((a, b) => a.id - b.id);
    const expected = sensitivityPoints(r.config as StudyConfig, expandStudy(r.config as StudyConfig))?.plan.length ?? 0;
    if (all.length !== expected && !allowPartial) throw new RangeError(`merge: ${expected - all.length} of ${expected} sensitivity re-runs are missing; pass every shard, or --partial`);
    merged.sensitivity = { factors: sens.factors, params: sens.params, targets: sens.targets, runs: all } satisfies SensitivityResults;
    if (all.length === expected && byId.size === total) (merged.sensitivity as SensitivityResults).findings = sensitivityFindings(merged);
  }
  return merged;
}
