/**
 * A study as a Slurm job array (`hptlab study CONFIG --slurm N`, docs/study.md "Running on a
 * cluster"): one array task per shard, each running `hptlab study CONFIG --shard K/N --resume` into
 * DIR/shard-K (so a retried task keeps the points its first attempt finished), watched with
 * `squeue`, failed shards resubmitted once, then merged. Slurm is driven through its commands
 * (sbatch --parsable, squeue, scancel), so any site's Slurm works; DIR must be on a filesystem
 * every node sees.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** What the sbatch script runs: the study, its shards, where. Paths are absolute. */
export interface SlurmScriptSpec {
  /** The output folder: shards in DIR/shard-K, the script and logs in DIR/slurm. */
  dir: string;
  /** The study config. */
  config: string;
  shards: number;
  /** Extra sbatch options (--slurm-opt), one header line each. */
  sbatchOptions: readonly string[];
  /** The node binary and bin/hptlab.js the tasks run (this installation's, by default). */
  node: string;
  hptlab: string;
  /** --ops, passed on to every task. */
  ops?: number;
  /** The study's name, for the job name. */
  name: string;
}

/** The Slurm commands `--slurm` drives. */
export const SLURM_COMMANDS = ["sbatch", "squeue", "scancel"] as const;

/** A shell word: single-quoted unless it is plainly safe. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * --slurm-opt "--partition=long --time 2:00:00 -c 8" as sbatch options, one per header line: a word
 * that does not start with "-" is the value of the option before it.
 */
export function parseSlurmOptions(text: string): string[] {
  const out: string[] = [];
  for (const word of text.trim().split(/\s+/).filter((w) => w !== "")) {
    if (word.startsWith("-") || out.length === 0) out.push(word);
    else out[out.length - 1] += ` ${word}`;
  }
  return out;
}

export const shardDir = (dir: string, k: number) => join(dir, `shard-${k}`);
export const scriptPath = (dir: string) => join(dir, "slurm", "study.sbatch");
/** A task's log: %a the shard, %A the array job (an attempt). */
export const logPath = (dir: string, k: number, job: string) => join(dir, "slurm", `shard-${k}.${job}.out`);

/** A path in an #SBATCH line: double-quoted if it has blanks (sbatch reads the quotes; % is escaped before). */
const sbatchPath = (p: string) => (/\s/.test(p) ? `"${p}"` : p);

/** The sbatch script of a study: a job array of `spec.shards` tasks, task K running shard K/N. */
export function sbatchScript(spec: SlurmScriptSpec): string {
  const q = shellQuote;
  const job = `hptlab-${spec.name.replace(/[^A-Za-z0-9_.-]+/g, "-")}`;
  return [
    "#!/bin/bash",
    `# hptlab study on Slurm, written by \`hptlab study --slurm ${spec.shards}\`: task K runs shard K/${spec.shards} into`,
    `# ${spec.dir}/shard-K (a retried task resumes: finished points are kept). ${spec.dir} must be on a`,
    "# filesystem every node sees. Submit: sbatch THIS (failed shards again: sbatch --array=K,... THIS).",
    `#SBATCH --job-name=${job}`,
    `#SBATCH --array=1-${spec.shards}`,
    `#SBATCH --output=${sbatchPath(join(spec.dir.replaceAll("%", "%%"), "slurm", "shard-%a.%A.out"))}`,
    ...spec.sbatchOptions.map((o) => `#SBATCH ${o}`),
    "set -euo pipefail",
    "k=$SLURM_ARRAY_TASK_ID",
    "# a worker thread per CPU the task was given",
    "workers=${SLURM_CPUS_PER_TASK:-${SLURM_CPUS_ON_NODE:-1}}",
    `exec ${q(spec.node)} ${q(spec.hptlab)} study ${q(spec.config)} --shard "$k/${spec.shards}" --out ${q(spec.dir)}/shard-"$k" --resume --workers "$workers"${spec.ops ? ` --ops ${spec.ops}` : ""}`,
    "",
  ].join("\n");
}

/** The command that joins the shards into DIR (what `--slurm` runs at the end). */
export function mergeCommand(dir: string): string {
  return `hptlab merge ${shellQuote(dir)}/shard-*/results.json --out ${shellQuote(dir)}`;
}

/** The Slurm commands missing from PATH. */
export function missingCommands(path = process.env.PATH ?? "", names: readonly string[] = SLURM_COMMANDS): string[] {
  const dirs = path.split(delimiter).filter((d) => d !== "");
  return names.filter((name) => !dirs.some((d) => {
    try {
      const f = join(d, name);
      accessSync(f, constants.X_OK);
      return statSync(f).isFile();
    } catch {
      return false;
    }
  }));
}

/** A command's exit code and output. */
export function runCommand(cmd: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    child.on("error", (e) => resolve({ code: 127, stdout, stderr: `${cmd}: ${e.message}` }));
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** sbatch refused a submission: its error, in one line. */
export class SubmitError extends Error {
  constructor(readonly detail: string) {
    super(detail);
    this.name = "SubmitError";
  }
}

/** sbatch's error lines in one: "sbatch: error: " prefixes dropped, lines joined with "; ". */
export function sbatchErrorLine(stderr: string, code: number): string {
  const lines = stderr.split("\n").map((l) => l.trim().replace(/^sbatch: (error|fatal): /, "")).filter((l) => l !== "");
  return lines.length ? lines.join("; ") : `sbatch exited with status ${code}`;
}

/** Submit the script (all its tasks, or `tasks` only); the array job's id. */
export async function submit(script: string, tasks?: readonly number[]): Promise<string> {
  const args = ["--parsable", ...(tasks ? [`--array=${tasks.join(",")}`] : []), script];
  const r = await runCommand("sbatch", args);
  // --parsable prints "jobid" or "jobid;cluster"
  const id = r.stdout.trim().split(";")[0] ?? "";
  if (r.code !== 0 || !/^\d+$/.test(id)) throw new SubmitError(sbatchErrorLine(r.stderr, r.code));
  return id;
}

/** Expand squeue's %K (a task, or for pending tasks possibly "1-4,7" or "[1-4%2]"). */
export function parseTaskIds(text: string): number[] {
  const out: number[] = [];
  for (const part of text.replace(/[[\]]/g, "").replace(/%\d+$/, "").split(",")) {
    const m = /^(\d+)(?:-(\d+))?(?::(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    const step = m[3] !== undefined ? Number(m[3]) : 1;
    for (let i = a; i <= b; i += step) out.push(i);
  }
  return out;
}

/**
 * The array tasks of `jobs` still pending or running ("job/task" keys), or null when squeue could
 * not answer (a busy controller: ask again later). A job Slurm has forgotten has none left.
 */
export async function activeTasks(jobs: readonly string[]): Promise<Set<string> | null> {
  const active = new Set<string>();
  if (jobs.length === 0) return active;
  const r = await runCommand("squeue", ["-h", "-r", "-j", jobs.join(","), "-o", "%F %K %T"]);
  if (r.code !== 0) return /Invalid job id/i.test(r.stderr) ? active : null;
  for (const line of r.stdout.split("\n")) {
    const [job, tasks] = line.trim().split(/\s+/);
    if (!job || !tasks) continue;
    for (const k of parseTaskIds(tasks)) active.add(`${job}/${k}`);
  }
  return active;
}

export async function cancel(jobs: readonly string[]): Promise<string> {
  if (jobs.length === 0) return "";
  const r = await runCommand("scancel", [...jobs]);
  return r.code === 0 ? "" : r.stderr.trim().split("\n")[0] ?? `scancel exited with status ${r.code}`;
}

/** The last non-empty line of a task's log ("" if none: on another node's filesystem?). */
export function lastLogLine(file: string): string {
  try {
    const lines = readFileSync(file, "utf8").split("\n").map((l) => l.trim()).filter((l) => l !== "");
    return lines.at(-1) ?? "";
  } catch {
    return "";
  }
}

/** Finished points under DIR/shard-*: point files seen so far, with their guest ops. */
export class ShardPoints {
  readonly #seen = new Map<string, number>();
  guestOps = 0;
  constructor(readonly dir: string, readonly shards: number) {}
  get done(): number {
    return this.#seen.size;
  }
  /** Look for new point files (a point is written to a temporary file, then renamed). */
  scan(): void {
    for (let k = 1; k <= this.shards; k++) {
      const pointsDir = join(shardDir(this.dir, k), "points");
      let files: string[];
      try {
        files = readdirSync(pointsDir);
      } catch {
        continue;
      }
      for (const f of files) {
        if (!/^\d+\.json$/.test(f) || this.#seen.has(f)) continue;
        try {
          const ops = (JSON.parse(readFileSync(join(pointsDir, f), "utf8")) as { guestOps?: number }).guestOps ?? 0;
          this.#seen.set(f, ops);
          this.guestOps += ops;
        } catch {
          // not readable yet: next scan
        }
      }
    }
  }
}

export interface SlurmShardEvent {
  k: number;
  job: string;
  /** 1, or 2 for the resubmission. */
  attempt: number;
  ok: boolean;
  /** The task's log and its last line. */
  log: string;
  lastLine: string;
}

export interface RunArrayOptions {
  dir: string;
  script: string;
  shards: number;
  /** The shards to run (default all: 1..shards). */
  todo?: readonly number[];
  onSubmit?: (job: string, tasks: readonly number[], attempt: number) => void;
  onShard?: (e: SlurmShardEvent) => void;
  /** Called every poll. */
  onTick?: () => void;
  /** Aborted (Ctrl-C): the array's jobs are cancelled (scancel) and runArray returns. */
  signal?: AbortSignal;
  /** Poll interval in ms as a function of seconds waited (default 0.25 s, growing to 5 s). */
  pollMs?: (seconds: number) => number;
}

export interface ArrayOutcome {
  jobs: string[];
  /** Shards that failed twice (their last event). */
  failed: SlurmShardEvent[];
  /** Shards resubmitted. */
  resubmitted: number[];
  cancelled: boolean;
  /** scancel's error, if it had one. */
  cancelError: string;
  seconds: number;
}

/** Wait `ms`, or less if `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Submit the array, wait for its tasks, resubmit the failed ones once, wait again. A task succeeded
 * when its shard's results.json exists after it left the queue (hptlab writes it last); a shared
 * filesystem may show it a moment late, so a missing one is looked for again for 2 s, unless the
 * task's log ends with hptlab's error line.
 */
export async function runArray(o: RunArrayOptions): Promise<ArrayOutcome> {
  const t0 = performance.now();
  const pollMs = o.pollMs ?? ((s: number) => Math.min(5000, 250 + s * 30));
  const jobs: string[] = [];
  const pending = new Map<number, { job: string; attempt: number; goneAt?: number }>();
  const failed: SlurmShardEvent[] = [];
  const resubmitted: number[] = [];
  const first = o.todo ?? Array.from({ length: o.shards }, (_, i) => i + 1);
  const all = first.length === o.shards && first.every((k, i) => k === i + 1);
  const job = await submit(o.script, all ? undefined : first);
  jobs.push(job);
  o.onSubmit?.(job, first, 1);
  for (const k of first) pending.set(k, { job, attempt: 1 });
  while (pending.size > 0) {
    const waited = (performance.now() - t0) / 1000;
    if (o.signal?.aborted) {
      const cancelError = await cancel(jobs);
      return { jobs, failed, resubmitted, cancelled: true, cancelError, seconds: (performance.now() - t0) / 1000 };
    }
    const active = await activeTasks([...new Set([...pending.values()].map((p) => p.job))]);
    o.onTick?.();
    if (active) {
      const retry: number[] = [];
      const now = performance.now();
      for (const [k, p] of pending) {
        if (active.has(`${p.job}/${k}`)) continue;
        const ok = existsSync(join(shardDir(o.dir, k), "results.json"));
        const log = logPath(o.dir, k, p.job);
        const lastLine = ok ? "" : lastLogLine(log);
        // hptlab's own error line says it failed; without one, give the filesystem a moment
        if (!ok && !lastLine.startsWith("hptlab: ") && (p.goneAt === undefined || now - p.goneAt < 2000)) {
          p.goneAt ??= now;
          continue;
        }
        pending.delete(k);
        const e: SlurmShardEvent = { k, job: p.job, attempt: p.attempt, ok, log, lastLine };
        o.onShard?.(e);
        if (ok) continue;
        if (p.attempt === 1) retry.push(k);
        else failed.push(e);
      }
      if (retry.length > 0 && !o.signal?.aborted) {
        retry.sort((a, b) => a - b);
        const again = await submit(o.script, retry);
        jobs.push(again);
        resubmitted.push(...retry);
        o.onSubmit?.(again, retry, 2);
        for (const k of retry) pending.set(k, { job: again, attempt: 2 });
      }
    }
    if (pending.size > 0) await sleep(pollMs(waited), o.signal);
  }
  return { jobs, failed: failed.sort((a, b) => a.k - b.k), resubmitted, cancelled: false, cancelError: "", seconds: (performance.now() - t0) / 1000 };
}
