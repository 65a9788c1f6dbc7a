// `hptlab study --slurm N`: the sbatch script (exact lines, everywhere), and the whole command on a
// REAL one-node Slurm (scripts/slurm-one-node.sh: Debian's slurmctld, slurmd, slurm-client, munge;
// needs root): byte-identical results to a local run, a failed shard resubmitted, a refused
// submission, Ctrl-C. Where Slurm is missing those tests are skipped with one line saying why;
// HPTLAB_SLURM_TEST=1 (.ci/run) makes a missing Slurm a failure instead.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { tempDir } from "./tmp.js";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cli } from "./cli-run.js";
import { sbatchScript, parseSlurmOptions, parseTaskIds, sbatchErrorLine, shellQuote, missingCommands, mergeCommand } from "../src/study/slurm.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const bin = join(repo, "bin", "hptlab.js");
const oneNode = join(repo, "scripts", "slurm-one-node.sh");

// 9 points (3 core counts × 3 policy variants): shard 1 of 4 holds points 0, 4 and 8
const study = {
  name: "slurm", seed: 11, opsPerPoint: 3000,
  sweeps: [{ name: "s", cores: [1, 2, 4], shapes: [{ label: "4 vcores", vcpus: 16, threadsPerVcore: 4 }], policies: [{ policy: "need-tlb-flush" }, { policy: "last-vcpu" }, { policy: "deferred-va", deferredCaps: [2] }], hLocal: ["lying"], pageOutsPerMop: [20000] }],
};

function writeStudy(dir: string, over: Record<string, unknown> = {}, name = "study.json"): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ ...study, ...over }));
  return file;
}

describe("the sbatch script", () => {
  it("one array task per shard, each resuming its shard with a worker per CPU it gets", () => {
    const text = sbatchScript({
      dir: "/shared/run 1", config: "/home/u/my study.json", shards: 8, name: "my study",
      sbatchOptions: ["--partition=long", "--time 2:00:00"], node: "/usr/bin/node", hptlab: "/opt/hptlab/bin/hptlab.js", ops: 5000,
    });
    expect(text.split("\n")).toEqual([
      "#!/bin/bash",
      "# hptlab study on Slurm, written by `hptlab study --slurm 8`: task K runs shard K/8 into",
      "# /shared/run 1/shard-K (a retried task resumes: finished points are kept). /shared/run 1 must be on a",
      "# filesystem every node sees. Submit: sbatch THIS (failed shards again: sbatch --array=K,... THIS).",
      "#SBATCH --job-name=hptlab-my-study",
      "#SBATCH --array=1-8",
      "#SBATCH --output=\"/shared/run 1/slurm/shard-%a.%A.out\"",
      "#SBATCH --partition=long",
      "#SBATCH --time 2:00:00",
      "set -euo pipefail",
      "k=$SLURM_ARRAY_TASK_ID",
      "# a worker thread per CPU the task was given",
      "workers=${SLURM_CPUS_PER_TASK:-${SLURM_CPUS_ON_NODE:-1}}",
      `exec /usr/bin/node /opt/hptlab/bin/hptlab.js study '/home/u/my study.json' --shard "$k/8" --out '/shared/run 1'/shard-"$k" --resume --workers "$workers" --ops 5000`,
      "",
    ]);
  });

  it("the script runs: task 3 of 4 is `hptlab study --shard 3/4 --resume` into shard-3", () => {
    const dir = tempDir("sbatch");
    const fake = join(dir, "fake-node");
    // a stand-in for node that prints its arguments: the script's shell expansions, as a task sees them
    writeFileSync(fake, "#!/bin/sh\nprintf '%s\\n' \"$@\"\n");
    chmodSync(fake, 0o755);
    const script = join(dir, "s.sbatch");
    writeFileSync(script, sbatchScript({ dir: "/d", config: "/c.json", shards: 4, name: "x", sbatchOptions: [], node: fake, hptlab: "/h.js" }));
    const run = (env: Record<string, string>) => spawnSync("bash", [script], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });
    expect(run({ SLURM_ARRAY_TASK_ID: "3", SLURM_CPUS_PER_TASK: "8", SLURM_CPUS_ON_NODE: "16" }).stdout.split("\n"))
      .toEqual(["/h.js", "study", "/c.json", "--shard", "3/4", "--out", "/d/shard-3", "--resume", "--workers", "8", ""]);
    // no --cpus-per-task: the CPUs Slurm gave the task on its node
    expect(run({ SLURM_ARRAY_TASK_ID: "1", SLURM_CPUS_ON_NODE: "2" }).stdout).toContain("--workers\n2\n");
    // outside Slurm the script refuses to run
    expect(run({}).status).not.toBe(0);
  });

  it("options, task ids, sbatch's errors, quoting", () => {
    expect(parseSlurmOptions("  --partition=long --time 2:00:00 -c 8 --exclusive ")).toEqual(["--partition=long", "--time 2:00:00", "-c 8", "--exclusive"]);
    expect(parseSlurmOptions("")).toEqual([]);
    expect(parseTaskIds("3")).toEqual([3]);
    expect(parseTaskIds("[1-4%2]")).toEqual([1, 2, 3, 4]);
    expect(parseTaskIds("1,3-5,9-13:2")).toEqual([1, 3, 4, 5, 9, 11, 13]);
    expect(sbatchErrorLine("sbatch: error: invalid partition specified: x\nsbatch: error: Batch job submission failed: Invalid partition name specified\n", 1))
      .toBe("invalid partition specified: x; Batch job submission failed: Invalid partition name specified");
    expect(sbatchErrorLine("", 1)).toBe("sbatch exited with status 1");
    expect(shellQuote("/a/b-c_d.json")).toBe("/a/b-c_d.json");
    expect(shellQuote("it's here")).toBe(`'it'\\''s here'`);
    expect(mergeCommand("/shared/run 1")).toBe("hptlab merge '/shared/run 1'/shard-*/results.json --out '/shared/run 1'");
  });

  it("--slurm-script-only writes the script and prints how to submit and merge", async () => {
    const dir = tempDir("sbatch");
    const cfg = writeStudy(dir);
    const out = join(dir, "out");
    const r = await cli(["study", cfg, "--slurm", "4", "--slurm-script-only", "--slurm-opt", "--partition=long", "--out", out]);
    expect(r.code).toBe(0);
    const script = join(out, "slurm", "study.sbatch");
    expect(r.stdout).toBe(`${script}\nsubmit: sbatch ${script}\nthen:   hptlab merge ${out}/shard-*/results.json --out ${out}\n`);
    const text = readFileSync(script, "utf8");
    expect(text).toContain("#SBATCH --array=1-4\n");
    expect(text).toContain("#SBATCH --partition=long\n");
    expect(text).toContain(`exec ${process.execPath} ${bin} study ${cfg} --shard "$k/4" --out ${out}/shard-"$k" --resume --workers "$workers"\n`);
  });

  it("without Slurm's commands, or with flags that do not go with it: one line, exit 2, nothing submitted", async () => {
    const dir = tempDir("sbatch");
    const cfg = writeStudy(dir);
    const empty = tempDir("nopath");
    expect(missingCommands(empty)).toEqual(["sbatch", "squeue", "scancel"]);
    const saved = process.env.PATH;
    process.env.PATH = empty;
    let r;
    try {
      r = await cli(["study", cfg, "--slurm", "4", "--out", join(dir, "o")]);
    } finally {
      process.env.PATH = saved;
    }
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("hptlab: --slurm: Slurm's sbatch, squeue, scancel are not on PATH (a Slurm login node has them; --slurm-script-only writes the script without them)\n");
    expect(existsSync(join(dir, "o"))).toBe(false);
    const w = await cli(["study", cfg, "--slurm", "4", "--workers", "2", "--out", join(dir, "o")]);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(/^hptlab: --workers: does not go with --slurm [^\n]*\n$/);
    const o = await cli(["study", cfg, "--slurm-opt", "--time=1", "--out", join(dir, "o")]);
    expect(o.stderr).toBe("hptlab: --slurm-opt: needs --slurm N\n");
  });
});

describe("the failure a retry passes (HPTLAB_FAIL_ONCE_DIR)", () => {
  it("a listed point fails the first time only; the retry resumes and gives the uninterrupted results", async () => {
    const { resolveStudy } = await import("../src/study/config.js");
    const { runStudy, StudyError } = await import("../src/study/run.js");
    const config = resolveStudy(study);
    const whole = JSON.stringify((await runStudy(config, { workers: 1 })).results);
    const dir = tempDir("once");
    const once = join(dir, "once");
    mkdirSync(once);
    Object.assign(process.env, { HPTLAB_FAIL_POINTS: "4", HPTLAB_FAIL_ONCE_DIR: once });
    try {
      const first = await runStudy(config, { workers: 1, checkpointDir: dir }).catch((e: unknown) => e);
      expect(first).toBeInstanceOf(StudyError);
      expect((first as InstanceType<typeof StudyError>).failures.map((f) => f.id)).toEqual([4]);
      expect(readdirSync(once)).toEqual(["fail-4"]);
      const retry = await runStudy(config, { workers: 1, checkpointDir: dir, resume: true });
      expect(retry.timing.resumed).toBe(8);
      expect(JSON.stringify(retry.results)).toBe(whole);
    } finally {
      delete process.env.HPTLAB_FAIL_POINTS;
      delete process.env.HPTLAB_FAIL_ONCE_DIR;
    }
  });
});

// ---- on a real one-node Slurm ----

const needed = ["munged", "slurmctld", "slurmd", "sinfo", "setpriv", "sbatch", "squeue", "scancel"];
const missing = missingCommands(process.env.PATH ?? "", needed);
const slurmSkip = missing.length > 0 ? `${missing.join(", ")} not installed (apt-get install slurmctld slurmd slurm-client munge)`
  : process.getuid?.() !== 0 ? "the one-node cluster needs root" : "";
if (slurmSkip && process.env.HPTLAB_SLURM_TEST) throw new Error(`HPTLAB_SLURM_TEST is set but Slurm cannot run here: ${slurmSkip}`);
if (slurmSkip) console.log(`slurm.test.ts: the real-Slurm tests are skipped: ${slurmSkip}`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** `hptlab study ...` in a child process (its own signals), with its stderr. */
function hptlab(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [bin, "study", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
  child.stdout.resume();
  const exit = new Promise<number>((r) => child.on("close", (code, signal) => r(code ?? (signal ? 128 : 1))));
  return { child, exit, stderr: () => stderr };
}

describe.skipIf(slurmSkip !== "")("hptlab study --slurm on a real one-node Slurm", () => {
  // made in beforeAll: a skipped or filtered-out describe still runs its body
  let cluster = "";
  let work = "";
  const times: string[] = [];
  let cfg = "";
  let localResults = "";

  beforeAll(async () => {
    cluster = mkdtempSync(join(tmpdir(), "hptlab-slurm-"));
    work = mkdtempSync(join(tmpdir(), "hptlab-slurm-work-"));
    const env = { ...process.env, SLURMCTLD_PORT: String(await freePort()), SLURMD_PORT: String(await freePort()) };
    const t0 = performance.now();
    const r = spawnSync("bash", [oneNode, "start", cluster], { env, encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) throw new Error(`scripts/slurm-one-node.sh start failed: ${r.stderr.trim()}`);
    times.push(`cluster start ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    process.env.SLURM_CONF = join(cluster, "slurm.conf");
    cfg = writeStudy(work);
    const local = await cli(["study", cfg, "--workers", "1", "--quiet", "--out", join(work, "local")]);
    expect(local.code).toBe(0);
    localResults = readFileSync(join(work, "local", "results.json"), "utf8");
  });

  afterAll(() => {
    if (!cluster) return;
    spawnSync("bash", [oneNode, "stop", cluster], { timeout: 30_000 });
    delete process.env.SLURM_CONF;
    rmSync(cluster, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
    if (times.length) console.log(`slurm.test.ts (one-node Slurm, 9 points, --slurm 4): ${times.join("; ")}`);
  });

  const timingOf = (out: string) => (JSON.parse(readFileSync(join(out, "timing.json"), "utf8")) as { slurm: { jobs: string[]; resubmitted: number[]; arraySeconds: number; mergeSeconds: number } }).slurm;

  it("--slurm 4: results.json byte-identical to the local run's", async () => {
    const out = join(work, "a");
    const r = await cli(["study", cfg, "--slurm", "4", "--out", out]);
    expect(r.stderr).toMatch(/^slurm: submitted job \d+: shards 1-4 of 4 /);
    expect(r.code).toBe(0);
    expect(readFileSync(join(out, "results.json"), "utf8")).toBe(localResults);
    // every output, as the local run wrote it
    for (const f of ["results.csv", "summary.md", "report.html"]) expect(readFileSync(join(out, f), "utf8"), f).toBe(readFileSync(join(work, "local", f), "utf8"));
    const t = timingOf(out);
    expect(t.jobs).toHaveLength(1);
    expect(t.resubmitted).toEqual([]);
    for (let k = 1; k <= 4; k++) expect(existsSync(join(out, `shard-${k}`, "results.json"))).toBe(true);
    times.push(`array ${t.arraySeconds.toFixed(1)} s, merge ${t.mergeSeconds.toFixed(1)} s`);
  });

  it("a shard that fails is resubmitted once, keeps its finished points, and the results are still identical", async () => {
    const out = join(work, "b");
    const once = join(work, "fail-once");
    mkdirSync(once);
    // point 4 (in shard 1 of 4, with points 0 and 8) fails the first time it runs
    Object.assign(process.env, { HPTLAB_FAIL_POINTS: "4", HPTLAB_FAIL_ONCE_DIR: once });
    let r;
    try {
      r = await cli(["study", cfg, "--slurm", "4", "--out", out]);
    } finally {
      delete process.env.HPTLAB_FAIL_POINTS;
      delete process.env.HPTLAB_FAIL_ONCE_DIR;
    }
    expect(r.stderr).toMatch(/\nhptlab: shard 1\/4 failed \(job \d+\): 1 point\(s\) failed, 2 finished and saved in [^\n]*shard-1\/points; [^\n]*\]; resubmitting it\nslurm: resubmitted job \d+: shard 1 of 4 /);
    expect(r.code).toBe(0);
    expect(readdirSync(once)).toEqual(["fail-4"]);
    expect(readFileSync(join(out, "results.json"), "utf8")).toBe(localResults);
    const t = timingOf(out);
    expect(t.jobs).toHaveLength(2);
    expect(t.resubmitted).toEqual([1]);
    // the retry ran point 4 only: points 0 and 8 came from the first attempt
    expect(JSON.parse(readFileSync(join(out, "shard-1", "timing.json"), "utf8")).resumed).toBe(2);
    times.push(`with a shard resubmitted: array ${t.arraySeconds.toFixed(1)} s, merge ${t.mergeSeconds.toFixed(1)} s`);
  });

  it("a submission sbatch refuses: one line with sbatch's error, exit 2", async () => {
    const r = await cli(["study", cfg, "--slurm", "4", "--slurm-opt", "--partition=nonexistent", "--out", join(work, "c")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("hptlab: --slurm: sbatch refused the job array: invalid partition specified: nonexistent; Batch job submission failed: Invalid partition name specified\n");
  });

  it("Ctrl-C cancels the array (scancel) and says how to resume; --resume then finishes with the same results", async () => {
    const out = join(work, "d");
    // points long enough (60,000 ops) that the array is still running when SIGINT comes
    const long = writeStudy(work, { opsPerPoint: 60000 }, "long.json");
    const p = hptlab([long, "--slurm", "4", "--out", out]);
    await new Promise<void>((resolve, reject) => {
      const t0 = Date.now();
      const poll = setInterval(() => {
        if (/submitted job \d+/.test(p.stderr())) { clearInterval(poll); p.child.kill("SIGINT"); resolve(); }
        else if (Date.now() - t0 > 30_000) { clearInterval(poll); reject(new Error(`not submitted in 30 s: ${p.stderr()}`)); }
      }, 20);
    });
    expect(await p.exit).toBe(130);
    const job = /submitted job (\d+)/.exec(p.stderr())![1]!;
    expect(p.stderr()).toContain(`\nhptlab: cancelled Slurm job ${job}; the finished points are kept in ${out}/shard-*/points: run the same command with --resume to continue\n`);
    // nothing of the job is pending or running any more
    const q = spawnSync("squeue", ["-h", "-r", "-j", job, "-t", "PD,R", "-o", "%K"], { encoding: "utf8" });
    expect(q.stdout.trim()).toBe("");
    const resumed = hptlab([long, "--slurm", "4", "--out", out, "--resume"]);
    expect(await resumed.exit).toBe(0);
    const local = await cli(["study", long, "--workers", "2", "--quiet", "--out", join(work, "d-local")]);
    expect(local.code).toBe(0);
    expect(readFileSync(join(out, "results.json"), "utf8")).toBe(readFileSync(join(work, "d-local", "results.json"), "utf8"));
  });
});
