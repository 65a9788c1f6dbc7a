/**
 * `hptlab study` and `hptlab merge` (docs/study.md). Registered in src/cli.ts's COMMANDS.
 */
import { readFileSync, existsSync, mkdirSync, writeFileSync, readdirSync, rmSync } from "node:fs";
import { resolve, join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { parse as parseJsonc, printParseErrorCode, type ParseError } from "jsonc-parser";
import type { RegisterCommand, CliContext } from "./cli.js";
import { ConfigError } from "./config.js";
import { integerOption } from "./cli-options.js";
import type { StudyResults } from "./study/results.js";
import type { Progress } from "./study/run.js";
import { hugePagesUnavailable } from "./engine/hugepages.js";
import { makeOutDir, writeError } from "./out-dir.js";
import { OutFolderError, claimOutFolder, checkpointPointFiles } from "./study/out-folder.js";

/** A word of a shell command, quoted when it needs to be. */
const shellWord = (s: string) => /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;

const pointsWord = (n: number) => `${n} finished point${n === 1 ? "" : "s"}`;

/** The one line for an output folder that holds something else (OutFolderError), with the command that goes on. */
function outFolderMessage(e: OutFolderError, out: string, resumeCommand: string | null): ConfigError {
  if (e.kind === "different") {
    const what = e.held.name === null ? "files that are not an hptlab study's" : `a different study (${JSON.stringify(e.held.name)}: config, point count or traces differ)`;
    return new ConfigError(`--out ${out}`, `holds ${what} (${e.held.file}); choose another --out, or add --force to overwrite it`);
  }
  return new ConfigError(`--out ${out}`, `holds ${pointsWord(e.held.points)} of this study from an interrupted run; run \`${resumeCommand}\` to run only the missing ones, or add --force to start over`);
}

/** The default study shipped with the package. */
export function defaultStudyPath(): string {
  for (const rel of ["../studies/default.json", "../../studies/default.json"]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new ConfigError("study", "the default study (studies/default.json) is missing from this installation");
}

/**
 * Read a JSON file (comments allowed: the annotated example of docs/study.md works as is); a syntax
 * error names the file, line and column.
 */
export function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(what, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const errors: ParseError[] = [];
  const value: unknown = parseJsonc(text, errors, { allowTrailingComma: false, disallowComments: false, allowEmptyContent: false });
  if (errors.length > 0) {
    const e = errors[0]!;
    const before = text.slice(0, e.offset);
    const line = before.split("\n").length;
    const col = e.offset - before.lastIndexOf("\n");
    const words = printParseErrorCode(e.error).replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
    throw new ConfigError(`${file}:${line}:${col}`, `invalid JSON: ${words}`);
  }
  return value;
}

const fmtM = (x: number) => `${(x / 1e6).toFixed(1)}M`;

/** Seconds left, from the estimated work done so far (tasks run longest first: points done would overrate what is left). */
export function etaSeconds(p: Progress): number {
  return p.work > 0 ? (p.seconds / p.work) * Math.max(0, p.totalWork - p.work) : 0;
}

/** A progress reporter: a live bar on a TTY, a line per 10% otherwise; `log` writes a line above the bar. */
function progressReporter(ctx: CliContext, quiet: boolean): { update: (p: Progress) => void; stop: () => void; log: (line: string) => void } {
  const err = ctx.stderr as NodeJS.WriteStream;
  const log = (line: string) => void err.write(line + "\n");
  if (quiet) return { update: () => {}, stop: () => {}, log };
  if (err.isTTY) {
    // cli-progress is CommonJS; loaded lazily so the CLI starts fast
    let bar: import("cli-progress").SingleBar | null = null;
    return {
      update: (p) => {
        if (!bar) {
          const { SingleBar, Presets } = requireCliProgress();
          bar = new SingleBar({ stream: err, format: "study |{bar}| {value}/{total} points | {ops} guest ops | {rate} ops/s | ETA {etaEst}", hideCursor: true }, Presets.shades_classic);
          bar.start(p.total, 0, { ops: "0", rate: "-", etaEst: "-" });
        }
        bar.update(p.done, { ops: fmtM(p.guestOps), rate: fmtM(p.guestOps / Math.max(p.seconds, 1e-3)), etaEst: `${etaSeconds(p).toFixed(0)} s` });
      },
      stop: () => bar?.stop(),
      log: (line) => {
        // the bar so far stays above the line; the next update starts a new one below
        bar?.stop();
        bar = null;
        log(line);
      },
    };
  }
  let next = 0.1;
  return {
    update: (p) => {
      if (p.done / p.total + 1e-9 < next && p.done !== p.total) return;
      while (next <= p.done / p.total + 1e-9) next += 0.1;
      const eta = etaSeconds(p);
      err.write(`study: ${p.done}/${p.total} points, ${fmtM(p.guestOps)} guest ops, ${fmtM(p.guestOps / Math.max(p.seconds, 1e-3))} ops/s, ETA ${eta.toFixed(0)} s\n`);
    },
    stop: () => {},
    log,
  };
}

function requireCliProgress(): typeof import("cli-progress") {
  return createRequire(import.meta.url)("cli-progress") as typeof import("cli-progress");
}

/**
 * The headline table: each guest shape at the largest core count of the first finding's slice
 * (src/report/findings.ts headlineSlice), every policy variant run there; its title names the slice.
 */
export async function headlineTable(results: StudyResults): Promise<string> {
  const Table = (await import("cli-table3")).default;
  const { headlineCells, policySafety } = await import("./report/study-report.js");
  const verdicts = new Map(policySafety(results).map((s) => [s.policy, s.verdict]));
  const head = headlineCells(results);
  if (!head) return results.points.length === 0 ? "(no points)" : "(no synthetic points: see the findings)";
  const t = new Table({
    head: ["guest", "policy", "cycles / guest op", "invalidation / op", "tlbie wait / op", "TLB hit rate", "violations", "verdict (all evidence)"],
    style: { head: [], border: [] },
    // no rule between rows: the table and the verdicts under it fit a terminal's first screen
    chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
  });
  for (const c of head.cells) {
    t.push([c.context.shape, c.variant.label, c.cyclesPerGuestOp.toFixed(1), c.invalidationCyclesPerGuestOp.toFixed(1), c.tlbieWaitCyclesPerGuestOp.toFixed(1), `${(c.tlbHitRate * 100).toFixed(1)}%`, String(c.violations), verdicts.get(c.variant.policy) ?? "untested"]);
  }
  return `${head.title}\n${t.toString()}`;
}

/** Write every output of a study into `out` and print its table and findings. `timing` may be computed once the files are written. */
async function writeOutputs(ctx: CliContext, results: StudyResults, out: string, timingOf: object | null | (() => object), json: boolean): Promise<void> {
  const { writeStudyOutputs, findings } = await import("./report/study-report.js");
  let files: string[];
  let timing: object | null;
  try {
    ({ files } = await writeStudyOutputs(results, out));
    // computed once the files are written (study --slurm times the merge)
    timing = typeof timingOf === "function" ? timingOf() : timingOf;
    if (timing) writeFileSync(join(out, "timing.json"), JSON.stringify(timing, null, 1) + "\n");
  } catch (e) {
    throw writeError(e, "--out", out) ?? e;
  }
  const found = findings(results);
  if (json) {
    ctx.stdout.write(JSON.stringify({ out, files, points: results.points.length, timing, findings: found }) + "\n");
    return;
  }
  const { safetyLines } = await import("./report/study-report.js");
  // the newer schemes against the baseline with their robustness to the cost table (their report sections say the rest)
  const { schemeRobustnessLines } = await import("./report/sensitivity.js");
  const schemes = schemeRobustnessLines(results);
  ctx.stdout.write(`${await headlineTable(results)}\n\nSafety (every scenario and run):\n${safetyLines(results).map((f) => `- ${f}`).join("\n")}`
    + `\n\nFindings:\n${found.map((f) => `- ${f}`).join("\n")}`
    + (schemes.length > 0 ? `\n\nNewer schemes (their robustness to the cost table):\n${schemes.map((f) => `- ${f}`).join("\n")}` : "")
    + `\n\nReport: ${resolve(out, "report.html")}\n`);
}

const STUDY_HELP = `
With no CONFIG, runs the default study (studies/default.json): the thread's question on 1 to 256
cores, SMT4 — every policy, guests of 1 vcpu, 1 vcore, 4 and 64 vcores, honest and lying H_LOCAL,
with and without host paging, the deferred-va cap from 1 to 4096 (over 100 million guest
operations), and a real Linux 6.1 guest's hypercall trace (data/traces/, 2 vcpus) replayed under
every policy with H_LOCAL never, honest and lying. The config format is documented in
docs/study.md; a sweep with "trace": FILE (JSON Lines, plain or .gz, relative to the config's
folder) replays that trace instead of the synthetic workload. A trace is compiled once and the
program kept in a cache (HPTLAB_TRACE_CACHE, else $XDG_CACHE_HOME/hptlab, else
node_modules/.cache/hptlab), keyed by the trace's bytes and hptlab's build; a cache file that
fails its checks is said and not used (docs/study.md, "The compiled-trace cache").

Every study also replays the scenario catalogue (hptlab scenario --list) under each policy; a
policy's safety verdict comes from the scenarios and every run. The terminal shows the first
finding's slice as a table, each policy's verdict, the findings, and (with "sensitivity") each
newer scheme's ratio to need-tlb-flush with its robustness to the cost table.

Output (DIR, default ./hptlab-results): results.json (every point, every counter and cost
category, the scenario outcomes; identical whatever --workers is), results.csv, summary.md,
report.html (a verdict panel, the findings, plots, the safety evidence), and
timing.json (wall-clock, the only non-deterministic file). A config with "sensitivity" also
re-runs the points of its headline findings with each cost value scaled (results.json
"sensitivity", a tornado plot per finding in report.html, one per newer scheme); "costProfile" or --costs FILE picks the
cost table (hptlab costs; docs/study.md); machine.fabric "concurrent" swaps the exclusive tlbie
fabric for a per-VM (or machine, or no) tlbie lock and a shared fabric, and the report splits the
wait into lock and fabric (docs/model/costs.md §8). A sweep may name its own "machine" (a
preset such as "power9-e980") and "costProfile" (default: its machine's generation's); each
policy's verdict counts only the runs and scenarios on its generations (hptlab policies;
docs/study.md, "A sweep's own machine"). With --shard K/N only results.json and
timing.json are written; join the shards with hptlab merge.

Every finished point is saved at once in DIR/points/ (written to a temporary file, then renamed):
after an interrupt (Ctrl-C, kill, a failed point) run the same command with --resume and only the
missing points run; the results equal an uninterrupted run's (Ctrl-C prints that command). A
point that fails is reported (which point, why) and the others still finish; the exit status is
then 1. What DIR holds is kept: a different study there is refused (--force overwrites it), and
this study's unfinished points there are refused without --resume (--force starts over); a
finished run of the same study is simply run again.

On a Slurm cluster, --slurm N writes DIR/slurm/study.sbatch, a job array of N tasks (task K runs
--shard K/N --resume into DIR/shard-K with a worker per CPU it gets), submits it with sbatch,
shows the progress as points finish, resubmits the shards that failed once, and merges them into
DIR as hptlab merge does. DIR must be on a filesystem every node sees (a shared home or scratch
folder). Ctrl-C cancels the array (scancel); run the same command with --resume to continue
(finished shards and points are kept). --slurm-script-only writes the script and prints the
commands to submit it and merge, for a site that needs its own headers.

Examples:
  hptlab study
  hptlab study my-study.json --out results/ --workers 2
  hptlab study my-study.json --shard 3/8 --out shard-3   # on 8 machines, then: hptlab merge shard-*/results.json
  hptlab study my-study.json --slurm 16 --slurm-opt "--partition=long --cpus-per-task=8" --out /shared/run1`;

interface StudyFlags {
  out: string; workers?: number; shard?: string; ops?: number; resume?: boolean; force?: boolean; quiet?: boolean; json?: boolean; costs?: string;
  /** false with --no-trace-cache. */
  traceCache?: boolean;
  slurm?: number; slurmOpt?: string; slurmScriptOnly?: boolean;
}

/**
 * `hptlab study CONFIG --slurm N --out DIR` (src/study/slurm.ts): write the job array's script,
 * submit it, follow the points as they finish, resubmit failed shards once, merge into DIR.
 */
async function studyOnSlurm(ctx: CliContext, config: string, study: import("./study/config.js").StudyConfig, flags: StudyFlags): Promise<void> {
  const slurm = await import("./study/slurm.js");
  const { expandStudy } = await import("./study/config.js");
  const n = flags.slurm!;
  for (const [flag, given] of [["--shard", flags.shard !== undefined], ["--workers", flags.workers !== undefined]] as const) {
    if (given) throw new ConfigError(flag, `does not go with --slurm (each task runs its shard with a worker per CPU it gets: ask for CPUs with --slurm-opt "--cpus-per-task=N")`);
  }
  const dir = resolve(flags.out);
  const quiet = !!flags.quiet || !!flags.json;
  const progress = progressReporter(ctx, quiet);
  const say = (line: string) => { if (!quiet) progress.log(line); };
  const spec = {
    dir, config, shards: n, sbatchOptions: slurm.parseSlurmOptions(flags.slurmOpt ?? ""), name: study.name,
    node: process.execPath, hptlab: fileURLToPath(new URL("../bin/hptlab.js", import.meta.url)),
    ...(flags.ops ? { ops: flags.ops } : {}),
  };
  const script = slurm.scriptPath(dir);
  if (!flags.slurmScriptOnly) {
    const missing = slurm.missingCommands();
    if (missing.length) throw new ConfigError("--slurm", `Slurm's ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not on PATH (a Slurm login node has them; --slurm-script-only writes the script without them)`);
  }
  // a different study's outputs in DIR are refused (--force overwrites them), as a local run does
  makeOutDir(flags.out);
  try {
    claimOutFolder(flags.out, study, expandStudy(study).length, { resume: true, force: !!flags.force });
  } catch (e) {
    if (e instanceof OutFolderError) throw outFolderMessage(e, flags.out, null);
    throw e;
  }
  mkdirSync(dirname(script), { recursive: true });
  writeFileSync(script, slurm.sbatchScript(spec), { mode: 0o755 });
  if (flags.slurmScriptOnly) {
    ctx.stdout.write(`${script}\nsubmit: sbatch ${slurm.shellQuote(script)}\nthen:   ${slurm.mergeCommand(dir)}\n`);
    return;
  }
  const studyPoints = expandStudy(study);
  const studyTotal = studyPoints.length;
  // the progress counts the sensitivity re-runs too (they are points of the shards)
  const { sensitivityPoints } = await import("./study/run.js");
  const total = studyTotal + (sensitivityPoints(study, studyPoints)?.points.length ?? 0);
  const shardResults = (k: number) => join(slurm.shardDir(dir, k), "results.json");
  let todo = Array.from({ length: n }, (_, i) => i + 1);
  if (flags.resume) {
    // a shard whose results.json is this study's is done
    const key = JSON.stringify(study);
    todo = todo.filter((k) => {
      try {
        const r = JSON.parse(readFileSync(shardResults(k), "utf8")) as StudyResults;
        return !(JSON.stringify(r.config) === key && r.totalPoints === studyTotal && r.shard.n === n && r.shard.k === k);
      } catch {
        return true;
      }
    });
  } else {
    // a fresh run: an earlier run's shards in DIR go, as a local run's points do
    for (const f of existsSync(dir) ? readdirSync(dir) : []) if (/^shard-\d+$/.test(f)) rmSync(join(dir, f), { recursive: true, force: true });
  }
  for (const k of todo) rmSync(shardResults(k), { force: true });
  const points = new slurm.ShardPoints(dir, n);
  const t0 = performance.now();
  // points of an earlier run (--resume) count as done, their guest ops not in the rate
  points.scan();
  const earlierOps = points.guestOps;
  const earlier = points.done;
  // the ETA by points (shards run at once: no longest-first order to correct for)
  const update = () => progress.update({ done: points.done, total, guestOps: points.guestOps - earlierOps, seconds: (performance.now() - t0) / 1000, work: points.done - earlier, totalWork: total - earlier });
  if (points.done > 0 && todo.length > 0) update();
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.on("SIGINT", onSigint);
  let outcome: Awaited<ReturnType<typeof slurm.runArray>> | undefined;
  const range = (ks: readonly number[]) => ks.length === n ? `1-${n}` : ks.join(",");
  try {
    if (todo.length > 0) {
      outcome = await slurm.runArray({
        dir, script, shards: n, todo, signal: abort.signal,
        onSubmit: (job, ks, attempt) => say(`slurm: ${attempt > 1 ? "resubmitted" : "submitted"} job ${job}: shard${ks.length > 1 ? "s" : ""} ${range(ks)} of ${n} (${script})`),
        onShard: (e) => {
          if (e.ok) return;
          const why = e.lastLine.replace(/^hptlab: /, "") || (existsSync(e.log) ? "no output" : `no log: is ${dir} on a filesystem every node sees?`);
          progress.log(`hptlab: shard ${e.k}/${n} failed (job ${e.job}${e.attempt > 1 ? ", resubmitted" : ""}): ${why} [${e.log}]${e.attempt === 1 ? "; resubmitting it" : ""}`);
        },
        onTick: () => {
          const before = points.done;
          points.scan();
          if (points.done > before) update();
        },
      });
    }
  } catch (e) {
    progress.stop();
    if (e instanceof slurm.SubmitError) throw new ConfigError("--slurm", `sbatch refused the job array: ${e.detail}`);
    throw e;
  } finally {
    process.off("SIGINT", onSigint);
  }
  progress.stop();
  if (outcome?.cancelled) {
    const jobs = outcome.jobs.join(", ");
    ctx.stderr.write(`hptlab: cancelled Slurm job ${jobs}${outcome.cancelError ? ` (scancel: ${outcome.cancelError})` : ""}; the finished points are kept in ${join(dir, "shard-*", "points")}: run the same command with --resume to continue\n`);
    ctx.exitCode = 130;
    return;
  }
  if (outcome && outcome.failed.length > 0) {
    ctx.stderr.write(`hptlab: shard${outcome.failed.length > 1 ? "s" : ""} ${outcome.failed.map((f) => f.k).join(", ")} of ${n} failed twice; the finished points are kept in ${join(dir, "shard-*", "points")}: fix the cause and run the same command with --resume\n`);
    ctx.exitCode = 1;
    return;
  }
  const arraySeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const files = Array.from({ length: n }, (_, i) => shardResults(i + 1));
  await mergeInto(ctx, files, dir, false, () => {
    const mergeSeconds = (performance.now() - t1) / 1000;
    const timing = { slurm: { shards: n, jobs: outcome?.jobs ?? [], resubmitted: outcome?.resubmitted ?? [], arraySeconds, mergeSeconds } };
    say(`study: ${total} points in ${n} Slurm shards (job${(outcome?.jobs.length ?? 0) > 1 ? "s" : ""} ${(outcome?.jobs ?? []).join(", ") || "none: every shard had finished"}${outcome?.resubmitted.length ? `; shard ${outcome.resubmitted.join(", ")} resubmitted` : ""}) in ${arraySeconds.toFixed(1)} s, merged in ${mergeSeconds.toFixed(1)} s`);
    return timing;
  }, !!flags.json);
}

export const registerStudy: RegisterCommand = (program, ctx) => {
  program
    .command("study")
    .summary("run a sweep of simulated machines and write results and a report")
    .argument("[config]", "study config (JSON); default: the built-in default study")
    .option("--out <dir>", "output folder", "hptlab-results")
    .option("--workers <n>", "worker threads (default: available parallelism)", integerOption("--workers", 1, 256))
    .option("--shard <k/n>", "run only points with id % N = K − 1")
    .option("--ops <n>", "guest operations per point of synthetic sweeps (overrides the config; trace sweeps replay their trace)", integerOption("--ops", 1, 1e9))
    .option("--costs <file>", "run with the cost profile in FILE (JSON, docs/model/costs.md §7) instead of the config's costProfile")
    .option("--resume", "continue an interrupted study in --out: run only the points not finished there")
    .option("--force", "overwrite a different study in --out, or start this study over there")
    .option("--slurm <n>", "run as a Slurm job array of N shards, then merge into --out (which every node must see)", integerOption("--slurm", 1, 100000))
    .option("--slurm-opt <options>", "with --slurm: sbatch options for every task, e.g. \"--partition=long --time=2:00:00 --cpus-per-task=8\"")
    .option("--slurm-script-only", "with --slurm: write the sbatch script into --out and print how to submit and merge; submit nothing")
    .option("--no-trace-cache", "compile trace sweeps' traces afresh, without reading or writing the compiled-trace cache (HPTLAB_TRACE_CACHE=off does the same)")
    .option("--quiet", "no progress output")
    .option("--json", "print one JSON object {out, files, points, timing, findings}")
    .addHelpText("after", STUDY_HELP)
    .action(async (file: string | undefined, flags: StudyFlags) => {
      const { resolveStudy, parseShard, expandStudy } = await import("./study/config.js");
      const { runStudy, StudyError, writeFileDurably } = await import("./study/run.js");
      const path = file ?? defaultStudyPath();
      const raw = readJsonFile(path, "study") as Record<string, unknown>;
      if (flags.ops && raw && typeof raw === "object") {
        raw.opsPerPoint = flags.ops;
        for (const sw of (raw.sweeps as Record<string, unknown>[] | undefined) ?? []) delete sw.opsPerPoint;
      }
      if (flags.costs !== undefined && raw && typeof raw === "object") {
        // the file's profile goes into the config itself, so results.json, shards and --resume carry it
        const { loadCostProfile } = await import("./cost-profile.js");
        loadCostProfile(flags.costs);
        raw.costProfile = JSON.parse(readFileSync(flags.costs, "utf8")) as unknown;
      }
      const config = resolveStudy(raw, file ? path : undefined);
      if (flags.slurm !== undefined && flags.costs !== undefined) throw new ConfigError("--costs", "does not go with --slurm: put the profile in the config's costProfile (docs/study.md)");
      if (flags.slurm !== undefined) return studyOnSlurm(ctx, resolve(path), config, flags);
      if (flags.slurmOpt !== undefined || flags.slurmScriptOnly) throw new ConfigError(flags.slurmOpt !== undefined ? "--slurm-opt" : "--slurm-script-only", "needs --slurm N");
      const shard = flags.shard ? parseShard(flags.shard) : undefined;
      // the command that finishes this study after an interrupt
      const resumeCommand = ["hptlab", "study", ...(file ? [file] : []), "--out", flags.out, ...(flags.shard ? ["--shard", flags.shard] : []), ...(flags.ops ? ["--ops", String(flags.ops)] : []), "--resume"].map(shellWord).join(" ");
      // the folder is checked (and made) before anything runs: a bad --out is one line, never a hang
      makeOutDir(flags.out);
      try {
        // what the folder holds, before any trace is loaded (runStudy checks again, with the traces' digests)
        claimOutFolder(flags.out, config, expandStudy(config).length, { resume: !!flags.resume, force: !!flags.force, ...(shard ? { shard } : {}) });
      } catch (e) {
        if (e instanceof OutFolderError) throw outFolderMessage(e, flags.out, resumeCommand);
        throw e;
      }
      const progress = progressReporter(ctx, !!flags.quiet || !!flags.json);
      // Ctrl-C: every finished point is already saved (temp file + rename); say how to go on
      const onInterrupt = () => {
        progress.stop();
        ctx.stderr.write(`\nhptlab: interrupted; ${pointsWord(checkpointPointFiles(flags.out).length)} saved in ${join(flags.out, "points")}; run \`${resumeCommand}\` to run only the missing ones\n`);
        process.exit(130);
      };
      process.once("SIGINT", onInterrupt);
      let run;
      try {
        run = await runStudy(config, {
          ...(flags.workers ? { workers: flags.workers } : {}), ...(shard ? { shard } : {}), onProgress: progress.update,
          checkpointDir: flags.out, resume: !!flags.resume, force: !!flags.force, baseDir: dirname(path),
          onTraceLoad: (f, n) => { if (n === 0 && !flags.quiet && !flags.json) ctx.stderr.write(`study: loading trace ${f}\n`); },
          ...(flags.traceCache === false ? { traceCache: null } : {}),
          onNote: (line) => ctx.stderr.write(`hptlab: ${line}\n`),
          onPointError: (f) => ctx.stderr.write(`hptlab: point ${f.id} failed (${f.what}): ${f.message}\n`),
        });
      } catch (e) {
        progress.stop();
        if (e instanceof StudyError) {
          ctx.stderr.write(`hptlab: ${e.failures.length} point(s) failed, ${e.finished} finished and saved in ${join(flags.out, "points")}; fix the cause and run \`${resumeCommand}\`\n`);
          ctx.exitCode = 1;
          return;
        }
        if (e instanceof OutFolderError) throw outFolderMessage(e, flags.out, resumeCommand);
        if (e instanceof RangeError) throw new ConfigError("study", e.message);
        throw writeError(e, "--out", flags.out) ?? e;
      } finally {
        process.off("SIGINT", onInterrupt);
      }
      progress.stop();
      // the pages the engine's memory had: the speed of memory-bound points depends on it (docs/memory.md)
      const timing = { ...run.timing, shard: shard ?? null, hugePages: hugePagesUnavailable() === "" };
      if (shard && shard.n > 1) {
        try {
          writeFileDurably(join(flags.out, "results.json"), JSON.stringify(run.results, null, 1) + "\n");
          writeFileDurably(join(flags.out, "timing.json"), JSON.stringify(timing, null, 1) + "\n");
        } catch (e) {
          throw writeError(e, "--out", flags.out) ?? e;
        }
        const msg = { out: flags.out, files: [join(flags.out, "results.json"), join(flags.out, "timing.json")], points: run.results.points.length, timing };
        ctx.stdout.write(flags.json ? JSON.stringify(msg) + "\n" : `shard ${shard.k}/${shard.n}: ${msg.points} of ${run.results.totalPoints} points in ${run.timing.seconds.toFixed(1)} s → ${msg.files[0]}\n`);
        return;
      }
      if (!flags.json && !flags.quiet) {
        ctx.stderr.write(`study: ${run.timing.points} points${run.timing.resumed ? ` (${run.timing.resumed} from an earlier run)` : ""}, ${fmtM(run.timing.guestOps)} guest operations in ${run.timing.seconds.toFixed(1)} s (${fmtM(run.timing.guestOpsPerSecond)}/s, ${run.timing.workers} worker${run.timing.workers > 1 ? "s" : ""})\n`);
      }
      await writeOutputs(ctx, run.results, flags.out, timing, !!flags.json);
    });
};

export const registerMerge: RegisterCommand = (program, ctx) => {
  program
    .command("merge")
    .summary("join the results.json of study shards and write the full outputs")
    .argument("<files...>", "results.json of each shard")
    .option("--out <dir>", "output folder", "hptlab-results")
    .option("--partial", "write the outputs even if some points are missing")
    .option("--force", "overwrite a different study in --out")
    .option("--json", "print one JSON object {out, files, points, findings}")
    .action(async (files: string[], flags: { out: string; partial?: boolean; force?: boolean; json?: boolean }) => {
      await mergeInto(ctx, files, flags.out, !!flags.partial, null, !!flags.json, !!flags.force);
    });
};

/** `hptlab merge FILES --out DIR`: join shards' results.json and write every output (also the end of `study --slurm`). */
export async function mergeInto(ctx: CliContext, files: string[], out: string, partial: boolean, timing: object | null | (() => object), json: boolean, force = false): Promise<void> {
  const { mergeResults } = await import("./study/run.js");
  const parts = files.map((f) => ({ file: f, results: readJsonFile(f, "merge") as StudyResults }));
  let merged: StudyResults;
  try {
    merged = mergeResults(parts, partial);
  } catch (e) {
    if (e instanceof RangeError) throw new ConfigError("merge", e.message);
    throw e;
  }
  makeOutDir(out);
  try {
    // a checkpoint of this study there is fine (merge writes its outputs beside it); another study is not
    claimOutFolder(out, merged.config, merged.totalPoints, { resume: true, force });
  } catch (e) {
    if (e instanceof OutFolderError) throw outFolderMessage(e, out, null);
    throw e;
  }
  await writeOutputs(ctx, merged, out, timing, json);
}
