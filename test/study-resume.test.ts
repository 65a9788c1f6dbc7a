// Nothing computed is lost: every finished point is saved as it finishes; a failed point is reported
// while the others finish; an interrupted study (a failure, or SIGKILL) resumes to the same results.
import { tempDir } from "./tmp.js";
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { resolveStudy } from "../src/study/config.js";
import { runStudy, StudyError } from "../src/study/run.js";
import { OutFolderError } from "../src/study/out-folder.js";

const config = resolveStudy({
  name: "resume", seed: 11, opsPerPoint: 3000,
  sweeps: [{ name: "s", cores: [1, 2, 4], shapes: [{ label: "4 vcores", vcpus: 16, threadsPerVcore: 4 }], policies: [{ policy: "need-tlb-flush" }, { policy: "last-vcpu" }, { policy: "deferred-va", deferredCaps: [2] }], hLocal: ["lying"], pageOutsPerMop: [20000] }],
});

describe("checkpoints and --resume", () => {
  it("a failed point is reported, the others finish and are saved; resume runs only what is missing", async () => {
    const dir = tempDir("resume");
    const whole = JSON.stringify((await runStudy(config, { workers: 1 })).results);
    process.env.HPTLAB_FAIL_POINTS = "2,5";
    const seen: number[] = [];
    let err: unknown;
    try {
      await runStudy(config, { workers: 2, checkpointDir: dir, onPointError: (f) => seen.push(f.id) });
    } catch (e) {
      err = e;
    } finally {
      delete process.env.HPTLAB_FAIL_POINTS;
    }
    expect(err).toBeInstanceOf(StudyError);
    expect((err as StudyError).failures.map((f) => f.id)).toEqual([2, 5]);
    expect((err as StudyError).message).toMatch(/point 2 \(s: 1 cores, 4 vcores, deferred-va cap 2, H_LOCAL lying, 20000 page-outs\/Mop\): injected failure/);
    expect(seen.sort()).toEqual([2, 5]);
    expect(readdirSync(join(dir, "points")).sort()).toEqual(["0.json", "1.json", "3.json", "4.json", "6.json", "7.json", "8.json"]);
    let ran = 0;
    const resumed = await runStudy(config, { workers: 1, checkpointDir: dir, resume: true, onProgress: () => ran++ });
    expect(resumed.timing.resumed).toBe(7);
    expect(ran).toBe(1 + 2); // one report for the resumed points, then one per point run
    expect(JSON.stringify(resumed.results)).toBe(whole);
  });

  it("another study's folder is refused, with or without resume; force overwrites it", async () => {
    const dir = tempDir("resume");
    await runStudy(config, { workers: 1, checkpointDir: dir });
    const other = resolveStudy({ ...config, seed: 12 });
    await expect(runStudy(other, { workers: 1, checkpointDir: dir, resume: true })).rejects.toThrow(/different study/);
    await expect(runStudy(other, { workers: 1, checkpointDir: dir })).rejects.toThrow(OutFolderError);
    expect(readdirSync(join(dir, "points"))).toHaveLength(9); // nothing of the first study lost
    const fresh = await runStudy(other, { workers: 1, checkpointDir: dir, force: true });
    expect(fresh.timing.resumed).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "points", "0.json"), "utf8")).params.seed).toBe(fresh.results.points[0]!.params.seed);
  });

  it("SIGKILL in the middle of `hptlab study`, then --resume: the same results.json as an uninterrupted run", async () => {
    const dir = tempDir("kill");
    const cfg = join(dir, "study.json");
    // points long enough (60,000 ops) that the kill lands while the study runs, however fast the engine gets
    writeFileSync(cfg, JSON.stringify({ ...JSON.parse(JSON.stringify(config)), opsPerPoint: 60000, sweeps: [{ ...config.sweeps[0], cores: [1, 2, 4, 8, 16, 32, 64] }] }));
    const bin = new URL("../bin/hptlab.js", import.meta.url).pathname;
    const runCli = (out: string, extra: string[] = []) => spawn(process.execPath, [bin, "study", cfg, "--out", out, "--workers", "1", "--quiet", ...extra], { stdio: "ignore" });
    const full = join(dir, "full");
    await new Promise((r) => runCli(full).on("exit", r));
    const cut = join(dir, "cut");
    const child = runCli(cut);
    const pointsDir = join(cut, "points");
    await new Promise<void>((resolveWait, reject) => {
      const t0 = Date.now();
      const poll = setInterval(() => {
        const n = existsSync(pointsDir) ? readdirSync(pointsDir).filter((f) => f.endsWith(".json")).length : 0;
        if (n >= 4) { clearInterval(poll); child.kill("SIGKILL"); resolveWait(); }
        else if (Date.now() - t0 > 30000) { clearInterval(poll); reject(new Error("no points saved in 30 s")); }
      }, 5);
    });
    await new Promise((r) => child.on("exit", r));
    const saved = readdirSync(pointsDir).filter((f) => f.endsWith(".json")).length;
    expect(saved).toBeLessThan(21);
    expect(existsSync(join(cut, "results.json"))).toBe(false);
    const code = await new Promise((r) => runCli(cut, ["--resume"]).on("exit", r));
    expect(code).toBe(0);
    expect(readFileSync(join(cut, "results.json"), "utf8")).toBe(readFileSync(join(full, "results.json"), "utf8"));
  }, 60000);

  it("Ctrl-C (SIGINT) in the middle of `hptlab study` prints the exact command that finishes it; that command gives the full results", async () => {
    const dir = tempDir("int");
    const cfg = join(dir, "study.json");
    writeFileSync(cfg, JSON.stringify({ ...JSON.parse(JSON.stringify(config)), opsPerPoint: 60000, sweeps: [{ ...config.sweeps[0], cores: [1, 2, 4, 8, 16, 32, 64] }] }));
    const bin = new URL("../bin/hptlab.js", import.meta.url).pathname;
    const go = (args: string[]) => {
      const child = spawn(process.execPath, [bin, ...args], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr!.on("data", (d: Buffer) => { stderr += d.toString(); });
      return { child, done: new Promise<{ code: number | null; stderr: string }>((r) => child.on("close", (code) => r({ code, stderr }))) };
    };
    const full = await go(["study", "study.json", "--out", "full", "--workers", "1", "--quiet"]).done;
    expect(full.code).toBe(0);
    const cut = go(["study", "study.json", "--out", "cut", "--workers", "2", "--quiet"]);
    const pointsDir = join(dir, "cut", "points");
    await new Promise<void>((resolveWait, reject) => {
      const t0 = Date.now();
      const poll = setInterval(() => {
        const n = existsSync(pointsDir) ? readdirSync(pointsDir).filter((f) => f.endsWith(".json")).length : 0;
        if (n >= 3) { clearInterval(poll); cut.child.kill("SIGINT"); resolveWait(); }
        else if (Date.now() - t0 > 30000) { clearInterval(poll); reject(new Error("no points saved in 30 s")); }
      }, 5);
    });
    const stopped = await cut.done;
    expect(stopped.code).toBe(130);
    const line = stopped.stderr.trim();
    expect(line.split("\n")).toHaveLength(1);
    const saved = readdirSync(pointsDir).filter((f) => /^\d+\.json$/.test(f)).length;
    expect(line).toBe(`hptlab: interrupted; ${saved} finished point${saved === 1 ? "" : "s"} saved in cut/points; run \`hptlab study study.json --out cut --resume\` to run only the missing ones`);
    // the same command without --resume keeps the points and says how to go on
    const again = await go(["study", "study.json", "--out", "cut", "--quiet"]).done;
    expect([again.code, again.stderr]).toEqual([2, `hptlab: --out cut: holds ${saved} finished point${saved === 1 ? "" : "s"} of this study from an interrupted run; run \`hptlab study study.json --out cut --resume\` to run only the missing ones, or add --force to start over\n`]);
    // the printed command, as printed
    const command = /`hptlab (.*)`/.exec(line)![1]!.split(" ");
    const resumed = await go([...command, "--quiet"]).done;
    expect(resumed.code).toBe(0);
    expect(readFileSync(join(dir, "cut", "results.json"), "utf8")).toBe(readFileSync(join(dir, "full", "results.json"), "utf8"));
  }, 90000);
});

import { cli } from "./cli-run.js";

describe("hptlab study: a failed point", () => {
  it("names the point and the cause, keeps the rest, exits 1; --resume finishes the job", async () => {
    const dir = tempDir("fail");
    const cfg = join(dir, "s.json");
    writeFileSync(cfg, JSON.stringify(config));
    const go = (args: string[]) => cli(["study", cfg, "--out", join(dir, "o"), "--workers", "1", "--quiet", ...args]);
    process.env.HPTLAB_FAIL_POINTS = "4";
    const first = await go([]);
    delete process.env.HPTLAB_FAIL_POINTS;
    expect(first.code).toBe(1);
    expect(first.stderr).toContain("hptlab: point 4 failed (s: 2 cores, 4 vcores, last-vcpu, H_LOCAL lying, 20000 page-outs/Mop): injected failure");
    expect(first.stderr).toContain("1 point(s) failed, 8 finished and saved in");
    const second = await go(["--resume"]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("Report:");
  });
});
