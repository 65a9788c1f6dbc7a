// Outputs are a user's data: an --out that cannot be made or written is one line naming the path and
// the reason (exit 2, never a hang); a folder holding another study is refused (--force overwrites);
// merge names a shard given twice; error lines never repeat their prefix.
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli } from "./cli-run.js";
import { oneLine } from "../src/cli.js";
import { outDirProblem } from "../src/out-dir.js";
import { tempDir } from "./tmp.js";

const study = (seed: number) => JSON.stringify({
  name: `out-${seed}`, seed, opsPerPoint: 2000,
  sweeps: [{ name: "s", cores: [1, 2], shapes: [{ label: "1 vcpu", vcpus: 1, threadsPerVcore: 1 }], policies: [{ policy: "need-tlb-flush" }], hLocal: ["honest"], pageOutsPerMop: [0] }],
});

const bin = new URL("../bin/hptlab.js", import.meta.url).pathname;

/** `hptlab ARGS` in a child process, killed after 20 s (a hang is a failure, not a stuck suite). */
function spawnCli(args: string[], cwd: string): Promise<{ code: number | null; stderr: string; hung: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    let hung = false;
    child.stderr!.on("data", (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => { hung = true; child.kill("SIGKILL"); }, 20000);
    child.on("close", (code) => { clearTimeout(timer); resolve({ code, stderr, hung }); });
  });
}

describe("--out that cannot be made or written", () => {
  const dir = tempDir("out");
  writeFileSync(join(dir, "s.json"), study(1));
  writeFileSync(join(dir, "a-file"), "not a folder\n");
  const shard = join(dir, "shard");

  const file = join(dir, "a-file");
  const cases: [string, string, string][] = [
    ["a file", file, `${file} is a file, not a folder`],
    ["a path under a file", join(file, "sub", "dir"), `${file} is a file, not a folder`],
    ["a device", "/dev/null", "/dev/null is a device or special file, not a folder"],
  ];
  for (const [what, out, why] of cases) {
    it(`${what}: study and merge say so in one line, exit 2`, async () => {
      const s = await cli(["study", join(dir, "s.json"), "--out", out, "--workers", "1", "--quiet"]);
      expect([s.code, s.stderr]).toEqual([2, `hptlab: --out ${out}: ${why}\n`]);
      if (!existsSync(join(shard, "results.json"))) expect((await cli(["study", join(dir, "s.json"), "--out", shard, "--shard", "1/2", "--quiet", "--workers", "1"])).code).toBe(0);
      const m = await cli(["merge", join(shard, "results.json"), "--partial", "--out", out]);
      expect([m.code, m.stderr]).toEqual([2, `hptlab: --out ${out}: ${why}\n`]);
    });
  }

  const linux = process.platform === "linux";
  it.skipIf(!linux)("kernel filesystems (/proc, /sys): one line naming the path, exit 2, no hang (mkdir -p loops forever under /proc)", async () => {
    for (const [out, fs] of [["/proc/hptlab-out", "proc"], ["/proc/self/hptlab/x", "proc"], ["/sys/hptlab-out", "sysfs"]] as const) {
      const top = out.split("/").slice(0, out.startsWith("/proc/self") ? 3 : 2).join("/");
      for (const args of [["study", "s.json", "--workers", "1", "--quiet"], ["merge", join(shard, "results.json"), "--partial"]]) {
        if (args[0] === "merge" && !existsSync(join(shard, "results.json"))) continue;
        const r = await spawnCli([...args, "--out", out], dir);
        expect(r.hung, `hptlab ${args[0]} --out ${out} hung`).toBe(false);
        expect([r.code, r.stderr]).toEqual([2, `hptlab: --out ${out}: ${top} is on ${fs}, a kernel filesystem that holds no files\n`]);
      }
    }
  }, 90000);
  if (!linux) it("kernel filesystems: skipped, not Linux (no /proc or /sys)", () => {});

  const root = process.getuid?.() === 0;
  it.skipIf(root)("a folder without write permission: one line, exit 2", async () => {
    const ro = join(dir, "read-only");
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    try {
      const r = await cli(["study", join(dir, "s.json"), "--out", join(ro, "x"), "--quiet", "--workers", "1"]);
      expect([r.code, r.stderr]).toEqual([2, `hptlab: --out ${join(ro, "x")}: ${ro} is not writable: EACCES (permission denied)\n`]);
    } finally {
      chmodSync(ro, 0o755);
    }
  });
  if (root) it("a folder without write permission: skipped, running as root (permission bits do not stop root)", () => {});

  it("a file that cannot be written at the end: one line naming it, exit 2; the points and results.json are kept", async () => {
    const out = join(dir, "blocked");
    mkdirSync(join(out, "report.html"), { recursive: true }); // a folder where the report goes
    const r = await cli(["study", join(dir, "s.json"), "--out", out, "--workers", "1", "--quiet"]);
    expect([r.code, r.stderr]).toEqual([2, `hptlab: --out ${out}: cannot open ${join(out, "report.html")}: EISDIR (is a folder)\n`]);
    expect(readdirSync(join(out, "points")).sort()).toEqual(["0.json", "1.json"]);
    expect(JSON.parse(readFileSync(join(out, "results.json"), "utf8")).points).toHaveLength(2);
  });

  it("the check walks up to the first existing ancestor and creates nothing", () => {
    const deep = join(dir, "a-file", "x", "y");
    expect(outDirProblem(deep)).toBe(`${join(dir, "a-file")} is a file, not a folder`);
    expect(outDirProblem(join(dir, "new", "deeper"))).toBeNull();
    expect(existsSync(join(dir, "new"))).toBe(false);
  });
});

describe("a folder that holds a study", () => {
  const dir = tempDir("held");
  writeFileSync(join(dir, "a.json"), study(1));
  writeFileSync(join(dir, "b.json"), study(2));
  const go = (args: string[]) => cli([...args, "--workers", "1", "--quiet"]);

  it("another study is refused in one line and nothing of the first is touched; --force overwrites it", async () => {
    const out = join(dir, "o");
    expect((await go(["study", join(dir, "a.json"), "--out", out])).code).toBe(0);
    const before = readFileSync(join(out, "results.json"), "utf8");
    const r = await go(["study", join(dir, "b.json"), "--out", out]);
    expect([r.code, r.stderr]).toEqual([2, `hptlab: --out ${out}: holds a different study ("out-1": config, point count or traces differ) (${join(out, "study.json")}); choose another --out, or add --force to overwrite it\n`]);
    expect((await go(["study", join(dir, "b.json"), "--out", out, "--resume"])).code).toBe(2);
    expect(readFileSync(join(out, "results.json"), "utf8")).toBe(before);
    expect(readdirSync(join(out, "points"))).toHaveLength(2);
    const forced = await go(["study", join(dir, "b.json"), "--out", out, "--force"]);
    expect(forced.code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, "results.json"), "utf8")).study).toBe("out-2");
    // the same finished study again: simply run again (reruns are identical)
    expect((await go(["study", join(dir, "b.json"), "--out", out])).code).toBe(0);
  });

  it("another shard of the same study in the folder: its points are kept (refused without --resume)", async () => {
    const out = join(dir, "shards");
    expect((await go(["study", join(dir, "a.json"), "--out", out, "--shard", "1/2"])).code).toBe(0);
    const r = await go(["study", join(dir, "a.json"), "--out", out, "--shard", "2/2"]);
    expect([r.code, r.stderr]).toEqual([2, `hptlab: --out ${out}: holds 1 finished point of this study from an interrupted run; run \`hptlab study ${join(dir, "a.json")} --out ${out} --shard 2/2 --resume\` to run only the missing ones, or add --force to start over\n`]);
    expect(readdirSync(join(out, "points"))).toEqual(["0.json"]);
    expect((await go(["study", join(dir, "a.json"), "--out", out, "--shard", "2/2", "--resume"])).code).toBe(0);
    expect(readdirSync(join(out, "points")).sort()).toEqual(["0.json", "1.json"]);
    // the same shard again: a finished run, simply run again
    expect((await go(["study", join(dir, "a.json"), "--out", out, "--shard", "2/2"])).code).toBe(0);
  });

  it("merge into a folder of another study is refused; --force overwrites", async () => {
    const [s1, s2, out] = ["m1", "m2", "mo"].map((x) => join(dir, x));
    expect((await go(["study", join(dir, "a.json"), "--out", s1!, "--shard", "1/2"])).code).toBe(0);
    expect((await go(["study", join(dir, "a.json"), "--out", s2!, "--shard", "2/2"])).code).toBe(0);
    expect((await go(["study", join(dir, "b.json"), "--out", out!])).code).toBe(0);
    const files = [join(s1!, "results.json"), join(s2!, "results.json")];
    const r = await cli(["merge", ...files, "--out", out!]);
    expect([r.code, r.stderr]).toEqual([2, `hptlab: --out ${out}: holds a different study ("out-2": config, point count or traces differ) (${join(out!, "study.json")}); choose another --out, or add --force to overwrite it\n`]);
    expect((await cli(["merge", ...files, "--out", out!, "--force"])).code).toBe(0);
    expect(JSON.parse(readFileSync(join(out!, "results.json"), "utf8")).study).toBe("out-1");
    expect(existsSync(join(out!, "study.json"))).toBe(false); // the other study's checkpoint went with it
    // a results.json that is not hptlab's is not overwritten either
    const foreign = join(dir, "foreign");
    expect((await cli(["merge", ...files, "--out", foreign])).code).toBe(0);
    writeFileSync(join(foreign, "results.json"), "[1, 2, 3]\n");
    const f = await cli(["merge", ...files, "--out", foreign]);
    expect([f.code, f.stderr]).toEqual([2, `hptlab: --out ${foreign}: holds files that are not an hptlab study's (${join(foreign, "results.json")}); choose another --out, or add --force to overwrite it\n`]);
  });
});

describe("merge and error lines", () => {
  const dir = tempDir("merge");
  writeFileSync(join(dir, "a.json"), study(3));

  it("a shard given twice is named", async () => {
    const [s1, s2] = ["s1", "s2"].map((x) => join(dir, x));
    expect((await cli(["study", join(dir, "a.json"), "--out", s1!, "--shard", "1/2", "--quiet", "--workers", "1"])).code).toBe(0);
    expect((await cli(["study", join(dir, "a.json"), "--out", s2!, "--shard", "2/2", "--quiet", "--workers", "1"])).code).toBe(0);
    const f1 = join(s1!, "results.json");
    const twice = await cli(["merge", f1, join(s2!, "results.json"), f1, "--out", join(dir, "m")]);
    expect([twice.code, twice.stderr]).toEqual([2, `hptlab: merge: ${f1} is given twice\n`]);
    const copy = join(dir, "copy.json");
    writeFileSync(copy, readFileSync(f1));
    const copied = await cli(["merge", f1, copy, join(s2!, "results.json"), "--out", join(dir, "m")]);
    expect([copied.code, copied.stderr]).toEqual([2, `hptlab: merge: ${f1} and ${copy} are both shard 1/2\n`]);
    const missing = await cli(["merge", f1, "--out", join(dir, "m")]);
    expect([missing.code, missing.stderr]).toEqual([2, "hptlab: merge: 1 of 2 points are missing (e.g. 1); pass every shard, or --partial\n"]);
  });

  it("no error line repeats its prefix", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, '{"format": "x"}\n');
    const lines: string[] = [];
    for (const args of [
      ["merge", bad], ["merge", join(dir, "none.json")], ["study", join(dir, "none.json")], ["study", join(dir, "a.json"), "--shard", "3/2"],
      ["scenario", "no-such", "--policy", "need-tlb-flush"], ["study", join(dir, "a.json"), "--workers", "0"], ["merge", join(dir, "s1", "results.json"), "--out", join(dir, "m2")],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(" ")).toBe(2);
      lines.push(r.stderr);
    }
    for (const l of lines) {
      expect(l.split("\n").filter(Boolean), l).toHaveLength(1);
      expect(l, l).not.toMatch(/^hptlab: (?:hptlab: |error: )|^hptlab: ([^\s:]+: )\1/);
    }
  });

  it("oneLine drops a prefix said twice, keeps everything else", () => {
    expect(oneLine("merge: merge: 1 of 2 points are missing")).toBe("merge: 1 of 2 points are missing");
    expect(oneLine("hptlab: hptlab: study: x: y")).toBe("study: x: y");
    expect(oneLine("error: unknown option '--x'\nmore")).toBe("unknown option '--x'");
    expect(oneLine("a.json:3:15: invalid JSON: value expected")).toBe("a.json:3:15: invalid JSON: value expected");
    expect(oneLine("--out o: --out o: is a file")).toBe("--out o: is a file");
  });
});
