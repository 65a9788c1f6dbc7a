// The compiled-trace cache (src/trace/program-cache.ts): a program read from the cache equals the
// compiled one in every field; a cache file that fails any check (damaged, truncated, another format,
// another build's, a tampered header) is never used — the trace is compiled again, the caller is told
// in one line, and the file is written anew; a folder that cannot be written costs a note, not the study.
import { tempDir } from "./tmp.js";
import { describe, expect, it, beforeAll } from "vitest";
import { writeFileSync, readFileSync, readdirSync, statSync, truncateSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { loadHcallProgram, type HcallProgram } from "../src/trace/hcall-program.js";
import { defaultTraceCacheDir, fileSha256, readCachedProgram, traceCacheFile, traceCompilerKey, TRACE_CACHE_EXT } from "../src/trace/program-cache.js";
import { resolveStudy } from "../src/study/config.js";
import { runStudy } from "../src/study/run.js";

const SHIPPED = join(import.meta.dirname, "..", "data", "traces", "linux-6.1-guest-boot-wl20.jsonl.gz");
const CALLS = 3000;

let trace: string;
let compiled: HcallProgram;
beforeAll(async () => {
  const dir = tempDir("trace-cache-src");
  trace = join(dir, "guest.jsonl");
  writeFileSync(trace, gunzipSync(readFileSync(SHIPPED)).toString("utf8").split("\n").slice(0, CALLS + 1).join("\n") + "\n");
  compiled = await loadHcallProgram(trace);
});

/** Every field of a program, arrays as plain arrays (their buffers differ: one SharedArrayBuffer from the cache). */
const fields = (p: HcallProgram) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, ArrayBuffer.isView(v) ? Array.from(v as Uint32Array) : v]));

/** Load through the cache in `dir`, collecting its notes; whether it was read from the cache (one buffer for all arrays). */
async function load(dir: string) {
  const notes: string[] = [];
  const p = await loadHcallProgram(trace, { cache: { dir, onNote: (l) => notes.push(l) } });
  return { p, notes, hit: p.kind.buffer === p.words.buffer && p.words.buffer === p.touch.buffer };
}

describe("the compiled-trace cache", () => {
  it("a program read from the cache equals the compiled one, field for field", async () => {
    const dir = tempDir("trace-cache");
    const first = await load(dir);
    expect(first.hit).toBe(false);
    expect(first.notes).toEqual([]);
    const files = readdirSync(dir);
    expect(files).toEqual([traceCacheFile(dir, fileSha256(trace)).slice(dir.length + 1)]);
    const second = await load(dir);
    expect(second.hit).toBe(true);
    expect(second.notes).toEqual([]);
    expect(second.p.calls).toBe(CALLS);
    expect(second.p.file).toBe(trace);
    expect(fields(second.p)).toEqual(fields(compiled));
    expect(fields(first.p)).toEqual(fields(compiled));
  });

  const damages: [string, (f: string) => void, RegExp][] = [
    ["a flipped byte in the arrays", (f) => { const b = readFileSync(f); b[b.length - 100]! ^= 0x40; writeFileSync(f, b); }, /is damaged/],
    ["a truncated file", (f) => truncateSync(f, statSync(f).size - 4096), /truncated/],
    ["an empty file", (f) => writeFileSync(f, ""), /is not an hptlab trace cache file/],
    ["another format", (f) => { const b = readFileSync(f); b.writeUInt32LE(99, 8); writeFileSync(f, b); }, /has format 99/],
    ["a header that lies about the calls", (f) => {
      const b = readFileSync(f);
      const n = b.readUInt32LE(12);
      const h = b.toString("utf8", 16, 16 + n).replace(`"calls":${CALLS},`, `"calls":${CALLS - 1},`);
      expect(Buffer.byteLength(h)).toBe(n);
      b.write(h, 16, "utf8");
      writeFileSync(f, b);
    }, /bad header/],
    ["a header of another build", (f) => {
      const b = readFileSync(f);
      const key = traceCompilerKey();
      const at = b.indexOf(key);
      b.write(key.replace(/^./, (c) => (c === "0" ? "1" : "0")), at, "latin1");
      writeFileSync(f, b);
    }, /another trace or another build/],
  ];
  for (const [what, damage, why] of damages) {
    it(`${what}: not used — compiled again, said in one line, written anew`, async () => {
      const dir = tempDir("trace-cache");
      await load(dir);
      const f = traceCacheFile(dir, fileSha256(trace));
      damage(f);
      const again = await load(dir);
      expect(again.hit).toBe(false);
      expect(again.notes).toHaveLength(1);
      expect(again.notes[0]).toMatch(why);
      expect(again.notes[0]).toContain(f);
      expect(again.notes[0]).toContain("not used");
      expect(fields(again.p)).toEqual(fields(compiled));
      const third = await load(dir);
      expect(third.hit).toBe(true);
      expect(third.notes).toEqual([]);
    });
  }

  it("a file of another compiler is never read, and writing removes the trace's other builds' files", async () => {
    const dir = tempDir("trace-cache");
    await load(dir);
    const sha = fileSha256(trace);
    const f = traceCacheFile(dir, sha);
    const other = traceCacheFile(dir, sha, "0".repeat(64));
    writeFileSync(other, readFileSync(f));
    expect(readCachedProgram(other, trace, sha, "0".repeat(64))).toEqual({ bad: "is for another trace or another build" });
    writeFileSync(f, ""); // this build's: damaged, so it is written again
    await load(dir);
    expect(readdirSync(dir).filter((x) => x.endsWith(TRACE_CACHE_EXT))).toEqual([f.slice(dir.length + 1)]);
  });

  it("a folder that cannot be written: one note, and the program all the same", async () => {
    const dir = tempDir("trace-cache");
    writeFileSync(join(dir, "file"), "x");
    const r = await load(join(dir, "file", "cache"));
    expect(r.hit).toBe(false);
    expect(r.notes).toHaveLength(1);
    expect(r.notes[0]).toMatch(/^trace cache: cannot write .*: the trace is compiled on every run/);
    expect(fields(r.p)).toEqual(fields(compiled));
  });

  it("a part of a trace (maxCalls) neither reads nor writes the cache", async () => {
    const dir = tempDir("trace-cache");
    const p = await loadHcallProgram(trace, { maxCalls: 100, cache: { dir } });
    expect(p.calls).toBe(100);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("where it lives: HPTLAB_TRACE_CACHE (\"off\": nowhere), else $XDG_CACHE_HOME/hptlab, else node_modules/.cache/hptlab", () => {
    expect(defaultTraceCacheDir({ HPTLAB_TRACE_CACHE: "off", XDG_CACHE_HOME: "/x" })).toBeNull();
    expect(defaultTraceCacheDir({ HPTLAB_TRACE_CACHE: "/some/dir" })).toBe("/some/dir");
    expect(defaultTraceCacheDir({ XDG_CACHE_HOME: "/x" })).toBe(join("/x", "hptlab"));
    expect(defaultTraceCacheDir({})).toBe(join(import.meta.dirname, "..", "node_modules", ".cache", "hptlab"));
  });

  it("a study gives the same results with the cache (cold and warm) as without it", async () => {
    const dir = tempDir("trace-cache");
    const config = resolveStudy({
      name: "cache", seed: 3, opsPerPoint: 1000,
      sweeps: [{ name: "rg", trace, cores: [2], shapes: [{ label: "2 vcpus", vcpus: 2, threadsPerVcore: 1 }], policies: [{ policy: "need-tlb-flush" }, { policy: "last-vcpu" }], hLocal: ["honest"], pageOutsPerMop: [20000] }],
    });
    const none = await runStudy(config, { workers: 1, traceCache: null });
    const cold = await runStudy(config, { workers: 1, traceCache: dir });
    expect(readdirSync(dir)).toHaveLength(1);
    const warm = await runStudy(config, { workers: 1, traceCache: dir });
    expect(JSON.stringify(cold.results)).toBe(JSON.stringify(none.results));
    expect(JSON.stringify(warm.results)).toBe(JSON.stringify(none.results));
  });
});
