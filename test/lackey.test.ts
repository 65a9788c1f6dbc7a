/**
 * valgrind lackey traces (docs/formats.md §2): the byte parser, the LRU TLBs, the replay, and the
 * `hptlab trace` command. Hand-computed counts, exact error messages, and two properties: chunk
 * boundaries change nothing, and a plain string/Map/BigInt reference agrees with the fast replay.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";
import { fc, test as propTest } from "@fast-check/vitest";
import { afterAll, describe, expect, test } from "vitest";
import { run, type CliDeps } from "../src/cli.js";
import { ConfigError } from "../src/config.js";
import { TraceError } from "../src/trace/hcall-trace.js";
import {
  AccessBatch,
  checkTlbGeometry,
  lackeyBatches,
  LackeyParser,
  LackeyReplayer,
  LruTlb,
  parseLackeyChunk,
  parsePageSize,
  parseTlbGeometry,
  replayLackey,
  type LackeyResult,
  type TlbGeometry,
} from "../src/trace/lackey.js";
import { referenceReplayLackey } from "../src/trace/lackey-reference.js";

const FIXTURE = join(import.meta.dirname, "fixtures", "tiny-static.lackey.gz");
const dir = mkdtempSync(join(tmpdir(), "hptlab-lackey-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
function traceFile(data: string | Uint8Array, opts: { gzip?: boolean; name?: string } = {}): string {
  const path = join(dir, `${fileNo++}-${opts.name ?? "t.lackey"}`);
  writeFileSync(path, opts.gzip ? gzipSync(data) : data);
  return path;
}

const enc = new TextEncoder();

/** The bytes of `text` as chunks cut at `cuts` (offsets, any order, out-of-range ones ignored). */
async function* chunks(text: string | Uint8Array, cuts: number[] = []): AsyncGenerator<Uint8Array> {
  const bytes = typeof text === "string" ? enc.encode(text) : text;
  const at = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  let prev = 0;
  for (const c of [...at, bytes.length]) {
    // a fresh copy each time, then scribbled over: the parser must not keep a chunk
    const chunk = bytes.slice(prev, c);
    yield chunk;
    chunk.fill(0x21);
    prev = c;
  }
}

interface Opts {
  pageSize?: number;
  itlb?: TlbGeometry;
  dtlb?: TlbGeometry;
  batchSize?: number;
}

function replay(text: string, opts: Opts = {}, cuts: number[] = []): Promise<LackeyResult> {
  return replayLackey(chunks(text, cuts), { file: "t.lackey", ...opts });
}

/** The message of the TraceError a replay of `text` throws. */
async function errorOf(text: string, opts: Opts = {}, cuts: number[] = []): Promise<string> {
  const e = await replay(text, opts, cuts).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, `no error for ${JSON.stringify(text)}`).toBeInstanceOf(TraceError);
  return (e as Error).message;
}

const D1x1 = { dtlb: { sets: 1, ways: 1 } };
const lines = (...ls: string[]) => ls.map((l) => `${l}\n`).join("");

// ---- hand-computed counts ----

describe("TLB replay: hand-computed counts", () => {
  test("LRU, not FIFO: a hit refreshes a page (1 set × 2 ways)", async () => {
    // A=page 1, B=2, C=3: A miss, B miss, A hit, C miss (evicts B, the LRU; FIFO would evict A),
    // A hit, B miss (evicts C), C miss (evicts A).
    const r = await replay(lines(" L 1000,4", " L 2000,4", " L 1abc,4", " L 3000,4", " L 1000,4", " L 2ff0,4", " L 3000,8"), { dtlb: { sets: 1, ways: 2 } });
    expect(r.dtlb).toEqual({ sets: 1, ways: 2, accesses: 7, misses: 5, straddling: 0, pageLookups: 7, pageMisses: 5 });
    expect(r.itlb.accesses).toBe(0);
  });

  test("LruTlb keeps each set most recently used first", () => {
    const t = new LruTlb({ sets: 1, ways: 3 });
    expect([1, 2, 3].map((p) => t.lookup(p))).toEqual([1, 1, 1]);
    expect(t.setContents(0)).toEqual([3, 2, 1]);
    expect(t.lookup(1)).toBe(0);
    expect(t.setContents(0)).toEqual([1, 3, 2]);
    expect(t.lookup(4)).toBe(1); // evicts 2
    expect(t.setContents(0)).toEqual([4, 1, 3]);
    expect(t.lookup(2)).toBe(1); // evicts 3
    expect(t.setContents(0)).toEqual([2, 4, 1]);
  });

  test("set index = page mod SETS, SETS not a power of two (3 sets × 1 way)", async () => {
    // pages 0 3 → set 0; 1 4 → set 1; 2 → set 2
    // 0 miss, 1 miss, 0 hit, 3 miss (evicts 0), 1 hit, 0 miss, 4 miss (evicts 1), 2 miss, 0 hit
    const pages = [0, 1, 0, 3, 1, 0, 4, 2, 0];
    const r = await replay(lines(...pages.map((p) => ` S ${(p * 4096 + 8).toString(16)},8`)), { dtlb: { sets: 3, ways: 1 } });
    expect(r.dtlb).toMatchObject({ accesses: 9, misses: 6, pageMisses: 6 });
    const t = new LruTlb({ sets: 3, ways: 1 });
    for (const p of pages) t.lookup(p);
    expect([t.setContents(0), t.setContents(1), t.setContents(2)]).toEqual([[0], [4], [2]]);
  });

  test("set index with 8 sets uses the low page bits; 6 sets does not", async () => {
    // pages 1 and 9: same set of 8 (1 way: the second evicts the first), different sets of 6
    const text = lines(" L 1000,1", " L 9000,1", " L 1000,1", " L 9000,1");
    expect((await replay(text, { dtlb: { sets: 8, ways: 1 } })).dtlb.misses).toBe(4);
    expect((await replay(text, { dtlb: { sets: 6, ways: 1 } })).dtlb.misses).toBe(2);
  });

  test("straddling accesses: both pages in order, one access, one miss if either page misses (1 set × 2 ways)", async () => {
    const r = await replay(
      lines(
        " L 0ffc,8", //  pages 0, 1: both miss              → miss      set [1 0]
        " L 1000,4", //  page 1: hit                          → hit       set [1 0]
        " L 1ffe,4", //  pages 1 (hit), 2 (miss, evicts 0)    → miss      set [2 1]
        " L 2ffc,4", //  ends exactly at 0x3000: page 2 only  → hit       set [2 1]
        " L 2ffd,4", //  pages 2 (hit), 3 (miss, evicts 1)    → miss      set [3 2]
        " L 0fff,2", //  pages 0 (miss, evicts 2), 1 (miss, evicts 3) → miss  set [1 0]
        " L 1ffc,8", //  pages 1 (hit), 2 (miss, evicts 0)    → miss      set [2 1]
        " L 0ff8,9", //  pages 0 (miss, evicts 1), 1 (miss, evicts 2): misses on the FIRST page too
      ),
      { dtlb: { sets: 1, ways: 2 } },
    );
    expect(r.dtlb).toEqual({ sets: 1, ways: 2, accesses: 8, misses: 6, straddling: 6, pageLookups: 14, pageMisses: 9 });
  });

  test("a straddling access that misses on its second page only counts one miss", async () => {
    const r = await replay(lines(" L 5000,1", " L 5fff,2"), { dtlb: { sets: 2, ways: 1 } });
    expect(r.dtlb).toEqual({ sets: 2, ways: 1, accesses: 2, misses: 2, straddling: 1, pageLookups: 3, pageMisses: 2 });
    const again = await replay(lines(" L 5000,1", " L 6000,1", " L 5fff,2"), { dtlb: { sets: 2, ways: 1 } });
    expect(again.dtlb).toMatchObject({ accesses: 3, misses: 2, pageMisses: 2 }); // pages 5, 6 hit: no miss
  });

  test("M is one access; I goes to the I-TLB, L/S/M to the D-TLB", async () => {
    const r = await replay(lines("I  1000,4", " L 1000,4", " M 1008,4", " S 1010,4", "I  1004,4", " M 2000,8", "I  2000,2"));
    expect(r.itlb).toMatchObject({ sets: 64, ways: 2, accesses: 3, misses: 2, pageMisses: 2 });
    expect(r.dtlb).toMatchObject({ sets: 64, ways: 4, accesses: 4, misses: 2, pageMisses: 2 });
  });

  test("an access larger than a page translates every page it touches", async () => {
    const r = await replay(lines(" S 0800,12288"), { dtlb: { sets: 1, ways: 8 } });
    expect(r.dtlb).toMatchObject({ accesses: 1, misses: 1, straddling: 1, pageLookups: 4, pageMisses: 4 });
  });

  const PAGE_TRACE = lines(" L 0,1", " L 1000,1", " L f000,1", " L 10000,1", " L ffffff,1", " L 1000000,1", " L 0,1", " L fffe,4", " L fffffe,4", " L 1ffe,4");
  test.each([
    // pages of the first 7 lines; 1 way: a miss whenever the page differs from the previous one
    // 4k: 0 1 15 16 4095 4096 0 → 7 misses; 64k: 0 0 0 1 255 256 0 → 5; 16m: 0 0 0 0 0 1 0 → 3
    // then fffe,4 straddles 4k and 64k pages; fffffe,4 straddles all three; 1ffe,4 only 4k pages;
    // each of the three misses, except fffe,4 at 16m (page 0, the page before it)
    [4096, 7 + 3, 3],
    [65536, 5 + 3, 2], // 1ffe,4 is page 0 again: a miss after page 256
    [16777216, 3 + 2, 1],
  ])("page size %i", async (pageSize, misses, straddling) => {
    const r = await replay(PAGE_TRACE, { pageSize, ...D1x1 });
    expect(r.pageSize).toBe(pageSize);
    expect(r.dtlb).toMatchObject({ accesses: 10, misses, straddling });
  });

  test("16m pages, step by step", async () => {
    // after " L 0,1" (page 0): fffe,4 → page 0 hit; fffffe,4 → 0 hit, 1 miss; 1ffe,4 → 0 miss (1 way)
    const r = await replay(lines(" L 0,1", " L fffe,4", " L fffffe,4", " L 1ffe,4"), { pageSize: 16777216, ...D1x1 });
    expect(r.dtlb).toMatchObject({ accesses: 4, misses: 3, straddling: 1, pageLookups: 5, pageMisses: 3 });
  });

  test("size 0 is taken as 1 byte: the page of the address, never straddling", async () => {
    const r = await replay(lines(" L 0fff,0", " L 0fff,1", " L 1000,0"), D1x1);
    expect(r.dtlb).toMatchObject({ accesses: 3, misses: 2, straddling: 0, pageLookups: 3 });
    const batch = new AccessBatch(4);
    new LackeyParser("t").parse(enc.encode(" L 0fff,0\n"), 0, batch);
    expect([batch.length, batch.size[0], batch.page[0], batch.pages[0]]).toEqual([1, 0, 0, 1]);
  });

  test("64-bit addresses keep their exact page numbers (above 2^53)", async () => {
    // As doubles both addresses round to 0xffffffffffff1000: a Number parser would see one page.
    const r = await replay(lines(" L ffffffffffff0fff,1", " L ffffffffffff1000,1", " L FFFFFFFFFFFF0FFF,1"), D1x1);
    expect(r.dtlb.misses).toBe(3);
    const batch = new AccessBatch(8);
    const parser = new LackeyParser("t");
    parser.parse(enc.encode(" L ffffffffffff0fff,1\n L ffffffffffff1000,1\nI  ffffffffffffffff,1\n M 0000000000000000fffffffffffffffe,2\n"), 0, batch);
    expect(batch.length).toBe(4);
    expect([...batch.page]).toEqual([0xffffffffffff0, 0xffffffffffff1, 2 ** 52 - 1, 2 ** 52 - 1, 0, 0, 0, 0]);
    expect([batch.address(0), batch.address(1), batch.address(2), batch.address(3)]).toEqual([0xffffffffffff0fffn, 0xffffffffffff1000n, 2n ** 64n - 1n, 2n ** 64n - 2n]);
    expect([...batch.kind.subarray(0, 4)]).toEqual([1, 1, 0, 3]);
    // and the set of a huge page with a non-power-of-two set count
    const t = new LruTlb({ sets: 7, ways: 1 });
    t.lookup(2 ** 52 - 1);
    expect(t.setContents(Number((2n ** 52n - 1n) % 7n))).toEqual([2 ** 52 - 1]);
    for (const pageSize of [65536, 16777216]) {
      const b = new AccessBatch(1);
      new LackeyParser("t", pageSize).parse(enc.encode("I  ffffffffffffffff,1\n"), 0, b);
      expect(b.page[0]).toBe(Number((2n ** 64n - 1n) / BigInt(pageSize)));
    }
  });

  test("lines counts every line: == lines, trailing blank lines, a last line without newline", async () => {
    expect(await replay("==1== a\nI  0,1\n==1== b\n\n\r\n\n")).toMatchObject({ lines: 6, skipped: 2, itlb: { accesses: 1 } });
    expect(await replay("I  0,1")).toMatchObject({ lines: 1, itlb: { accesses: 1 } });
    expect(await replay("I  0,1\r\n L 10,2\r\n")).toMatchObject({ lines: 2, dtlb: { accesses: 1 } });
    expect(await replay("")).toMatchObject({ lines: 0, skipped: 0, bytes: 0 });
    expect(await replay("==1== x")).toMatchObject({ lines: 1, skipped: 1 });
    const long = `==1== ${"x".repeat(10_000)}\nI  0,1\n`;
    expect(await replay(long)).toMatchObject({ lines: 2, skipped: 1 });
    expect(await replay(long, {}, [3, 5000, 9000])).toMatchObject({ lines: 2, skipped: 1 });
  });

  test("addresses: any case, leading zeros", async () => {
    const r = await replay(lines("I  00000000000000000000000000401000,1", "I  40100A,1", "I  40100a,1"), { itlb: { sets: 1, ways: 1 } });
    expect(r.itlb).toMatchObject({ accesses: 3, misses: 1 });
  });
});

// ---- errors ----

describe("bad lines: FILE:LINE: field: message", () => {
  test.each([
    ["I  00zz12,3", 't.lackey:2: address: "00zz12" is not a hex number'],
    ["I  0x401000,3", 't.lackey:2: address: "0x401000" is not a hex number'],
    ["I  0040a2f0 3", 't.lackey:2: address: "0040a2f0 3" is not a hex number'],
    ["I  0040a2f0", 't.lackey:2: size: missing (no "," after the address)'],
    ["I  0040a2f0;3", 't.lackey:2: address: "0040a2f0;3" is not a hex number'],
    [" L ,8", "t.lackey:2: address: missing"],
    [" L ", "t.lackey:2: address: missing"],
    [" L 10000000000000000,8", 't.lackey:2: address: "10000000000000000" does not fit in 64 bits'],
    [" L 1000,", "t.lackey:2: size: missing"],
    [" L 1000,x", 't.lackey:2: size: "x" is not a decimal number'],
    [" L 1000,-4", 't.lackey:2: size: "-4" is not a decimal number'],
    [" L 1000,4 ", 't.lackey:2: size: "4 " is not a decimal number'],
    [" L 1000,4,4", 't.lackey:2: size: "4,4" is not a decimal number'],
    [" L 1000,0x4", 't.lackey:2: size: "0x4" is not a decimal number'],
    [" L 1000,16777217", 't.lackey:2: size: "16777217" is more than 16777216'],
    [" L ffffffffffffffff,2", "t.lackey:2: size: 2 bytes at 0xffffffffffffffff run past the top of the 64-bit address space"],
    [" X 1000,4", 't.lackey:2: kind: " X 1000,4" does not start with "I  ", " L ", " S ", " M " or "=="'],
    ["X  1000,4", 't.lackey:2: kind: "X  1000,4" does not start with "I  ", " L ", " S ", " M " or "=="'],
    ["I 1000,4", 't.lackey:2: kind: "I 1000,4" does not start with "I  ", " L ", " S ", " M " or "=="'],
    ["L 1000,4", 't.lackey:2: kind: "L 1000,4" does not start with "I  ", " L ", " S ", " M " or "=="'],
    [" l 1000,4", 't.lackey:2: kind: " l 1000,4" does not start with "I  ", " L ", " S ", " M " or "=="'],
    ["  L 1000,4", 't.lackey:2: kind: "  L 1000,4" does not start with "I  ", " L ", " S ", " M " or "=="'],
    ["=12345= x", 't.lackey:2: kind: "=12345= x" does not start with "I  ", " L ", " S ", " M " or "=="'],
    ["--12345-- x", 't.lackey:2: kind: "--12345-- x" does not start with "I  ", " L ", " S ", " M " or "=="'],
    ["I", 't.lackey:2: kind: "I" does not start with "I  ", " L ", " S ", " M " or "=="'],
    ["   ", 't.lackey:2: kind: "   " does not start with "I  ", " L ", " S ", " M " or "=="'],
    [" L 10ü0,4", 't.lackey:2: address: "10ü0" is not a hex number'],
  ])("%j", async (bad, message) => {
    const text = `I  401000,3\n${bad}\n L 2000,4\n`;
    expect(await errorOf(text)).toBe(message);
    // the same line last in the file, without its newline
    expect(await errorOf(`I  401000,3\n${bad}`)).toBe(message);
    // cut anywhere, even byte by byte
    expect(await errorOf(text, {}, Array.from({ length: text.length }, (_, i) => i))).toBe(message);
  });

  test("a TraceError carries file, line and field; the CLI maps it to exit 2", async () => {
    const e = (await replay("I  1,1\n==x\n L 1,zz\n").catch((x: unknown) => x)) as TraceError;
    expect(e).toBeInstanceOf(TraceError);
    expect([e.file, e.line, e.field, e.detail]).toEqual(["t.lackey", 3, "size", '"zz" is not a decimal number']);
  });

  test("a blank line before the end is an error on that line", async () => {
    const message = "t.lackey:2: kind: missing (a blank line inside the trace; blank lines are only allowed at the end)";
    expect(await errorOf("I  0,1\n\nI  0,1\n")).toBe(message);
    expect(await errorOf("I  0,1\n\n\n\n==1== x\n")).toBe(message);
    expect(await errorOf("I  0,1\r\n\r\n L 0,1")).toBe(message);
    expect(await errorOf("I  0,1\n\n\nzzz\n")).toBe(message);
  });

  test("a line longer than 4096 bytes is refused (but not a == line)", async () => {
    const long = `I  ${"0".repeat(5000)}1,4`;
    expect(await errorOf(`I  0,1\n${long}\n`)).toBe("t.lackey:2: line is longer than 4096 bytes");
    expect(await errorOf(`I  0,1\n${long}`, {}, [10, 20, 3000, 6000])).toBe("t.lackey:2: line is longer than 4096 bytes");
    expect(await errorOf(`I  0,1\n${"y".repeat(9000)}`, {}, [10])).toBe(`t.lackey:2: kind: "${"y".repeat(43)}..." does not start with "I  ", " L ", " S ", " M " or "=="`);
    // exactly 4096 bytes is fine
    const max = `I  ${"0".repeat(4096 - 6)}1,4`;
    expect(max.length).toBe(4096);
    expect(await replay(`${max}\n`, {}, [100])).toMatchObject({ lines: 1 });
    expect(await replay(`${max}\r\n`, {}, [4096])).toMatchObject({ lines: 1 });
  });

  test("files: missing, corrupt gzip", async () => {
    const absent = join(dir, "absent.lackey");
    await expect(replayLackey(absent)).rejects.toThrow(`${absent}: cannot read: no such file`);
    await expect(replayLackey(dir)).rejects.toThrow(`${dir}: cannot read: is a directory`);
    const gz = gzipSync("I  1000,4\n".repeat(50_000));
    const cut = traceFile(gz.subarray(0, gz.length - 20), { name: "cut.lackey.gz" });
    const err = await replayLackey(cut).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TraceError);
    expect((err as Error).message).toMatch(/cut\.lackey\.gz:\d+: gzip data is corrupt or truncated \(/);
  });

  test("geometry and page size are validated", () => {
    expect(parseTlbGeometry("64x4", "--itlb")).toEqual({ sets: 64, ways: 4 });
    expect(parseTlbGeometry("3X5")).toEqual({ sets: 3, ways: 5 });
    expect(parseTlbGeometry("1x1024")).toEqual({ sets: 1, ways: 1024 });
    expect(() => parseTlbGeometry("64", "--itlb")).toThrow(new ConfigError("--itlb", '"64" is not SETSxWAYS (two positive integers, e.g. 64x4)'));
    for (const bad of ["0x4", "64x0", "64x", "x4", "-1x4", "1.5x2", "64x4x2", " 64x4", "064x4", "64*4", ""]) {
      expect(() => parseTlbGeometry(bad, "--dtlb"), bad).toThrow(`--dtlb: ${JSON.stringify(bad)} is not SETSxWAYS`);
    }
    expect(() => parseTlbGeometry("1x1025", "--dtlb")).toThrow('--dtlb: "1x1025": ways 1025 is not an integer in 1..1024');
    expect(() => parseTlbGeometry("4194305x1", "--dtlb")).toThrow('--dtlb: "4194305x1": 4194305x1 is more than 4194304 entries');
    expect(() => checkTlbGeometry({ sets: 2.5, ways: 1 }, "itlb")).toThrow("itlb: sets 2.5 is not a positive integer");
    expect(() => new LackeyReplayer({ dtlb: { sets: 4, ways: 0 } })).toThrow(ConfigError);
    expect(parsePageSize("4k")).toBe(4096);
    expect(parsePageSize("64K")).toBe(65536);
    expect(parsePageSize("16M")).toBe(16777216);
    expect(() => parsePageSize("8k")).toThrow('--page-size: "8k" is not 4k, 64k or 16m');
    expect(() => new LackeyParser("t", 8192)).toThrow("pageSize: 8192 is not 4096, 65536 or 16777216");
  });
});

// ---- the chunk-level API ----

describe("parser and batches", () => {
  test("parse stops when the batch is full and resumes where it stopped", () => {
    const parser = new LackeyParser("t");
    const batch = new AccessBatch(2);
    const bytes = enc.encode("I  1000,4\n L 2000,8\n==x\n S 3000,1\n M 4ffe,4\nI  5,4");
    const seen: string[] = [];
    const drain = () => {
      for (let i = 0; i < batch.length; i++) seen.push(`${"ILSM"[batch.kind[i]!]} ${batch.address(i).toString(16)} ${batch.size[i]} ${batch.page[i]} ${batch.pages[i]}`);
      batch.length = 0;
    };
    let p = 0;
    const stops: number[] = [];
    while (p < bytes.length) {
      p = parseLackeyChunk(parser, bytes, p, batch);
      stops.push(p);
      drain();
    }
    expect(stops).toEqual([20, bytes.length]); // full after two accesses, at the start of "==x"
    expect(parser.end(batch)).toBe(true);
    drain();
    expect(seen).toEqual(["I 1000 4 1 1", "L 2000 8 2 1", "S 3000 1 3 1", "M 4ffe 4 4 2", "I 5 4 0 1"]);
    expect([parser.lines, parser.skipped]).toEqual([6, 1]);
    expect(() => parser.parse(bytes, 0, batch)).toThrow("parse() after end()");
  });

  test("lackeyBatches yields the accesses of a file in reused batches", async () => {
    const text = Array.from({ length: 1000 }, (_, i) => `${i % 3 === 0 ? "I  " : " L "}${(i * 0x800).toString(16)},4`).join("\n");
    const pages: number[] = [];
    let batches = 0;
    const it = lackeyBatches(traceFile(text, { gzip: true }), { batchSize: 64 });
    let r = await it.next();
    while (!r.done) {
      batches++;
      for (let i = 0; i < r.value.length; i++) pages.push(r.value.page[i]!);
      r = await it.next();
    }
    expect(r.value).toEqual({ lines: 1000, skipped: 0 });
    expect(batches).toBe(16);
    expect(pages).toEqual(Array.from({ length: 1000 }, (_, i) => Math.floor(i / 2)));
  });

  test("replayLackey reports progress between chunks", async () => {
    const seen: number[] = [];
    const text = "I  1000,4\n".repeat(100);
    const r = await replayLackey(chunks(text, [100, 200, 300, 995]), { progressMs: 0, onProgress: (p) => void seen.push(p.lines, p.bytes) });
    expect(r.lines).toBe(100);
    expect(seen).toEqual([10, 100, 20, 200, 30, 300, 99, 995, 100, 1000]);
  });

  test("LackeyReplayer: feed chunks, end", () => {
    const r = new LackeyReplayer({ itlb: { sets: 1, ways: 1 } });
    r.feed(enc.encode("I  1000,4\nI  10"));
    r.feed(enc.encode("08,4\nI  2000,4"));
    expect(r.end()).toMatchObject({ lines: 3, bytes: 29, itlb: { accesses: 3, misses: 2 }, seconds: 0 });
  });
});

// ---- gzip and the real fixture ----

describe("files", () => {
  const text = lines("==9== Lackey", "I  0040a2f0,3", " L 1ffefffd28,8", " S 1ffefffd20,8", " M 0060a1b0,4", "I  0040a2f3,5", " L 0060affc,8") + "\n";

  test("gzip and plain give the same result; gzip is recognised by its magic bytes", async () => {
    const plain = await replayLackey(traceFile(text), { file: "t" });
    // D: 1ffefffd28 miss, 1ffefffd20 same page: hit, 60a1b0 miss, 60affc,8 pages 60a (hit) and 60b (miss): miss
    expect(plain).toMatchObject({ lines: 8, skipped: 1, itlb: { accesses: 2, misses: 1 }, dtlb: { accesses: 4, misses: 3, straddling: 1, pageMisses: 3 } });
    const strip = (r: LackeyResult) => ({ ...r, seconds: 0 });
    expect(strip(await replayLackey(traceFile(text, { gzip: true, name: "t.lackey.gz" }), { file: "t" }))).toEqual(strip(plain));
    expect(strip(await replayLackey(traceFile(text, { gzip: true, name: "plain-looking.lackey" }), { file: "t" }))).toEqual(strip(plain));
    expect(strip(await replayLackey(traceFile(text, { name: "gz-looking.lackey.gz" }), { file: "t" }))).toEqual(strip(plain));
  });

  test("a file larger than one read chunk, plain and gzip, agrees with the reference", async () => {
    const big = Array.from({ length: 200_000 }, (_, i) => `${i % 2 ? " L " : "I  "}${((i * 2654435761) % 2 ** 32).toString(16)},${(i % 9) * 3}`).join("\n");
    const ref = referenceReplayLackey(big);
    for (const gzip of [false, true]) {
      const r = await replayLackey(traceFile(big, { gzip }));
      expect({ itlb: r.itlb, dtlb: r.dtlb, lines: r.lines, skipped: r.skipped }).toEqual(ref);
      expect(r.bytes).toBe(big.length);
    }
  });

  test("a real trace (valgrind 3.19 lackey of a small static program) agrees with the reference", async () => {
    const text = gunzipSync(readFileSync(FIXTURE)).toString("latin1");
    const kinds = (k: string) => text.split("\n").filter((l) => l.startsWith(k)).length;
    for (const [pageSize, itlb, dtlb] of [[4096, { sets: 64, ways: 2 }, { sets: 64, ways: 4 }], [65536, { sets: 16, ways: 1 }, { sets: 5, ways: 3 }], [16777216, { sets: 1, ways: 1 }, { sets: 1, ways: 1 }]] as const) {
      const r = await replayLackey(FIXTURE, { pageSize, itlb, dtlb });
      expect({ itlb: r.itlb, dtlb: r.dtlb, lines: r.lines, skipped: r.skipped }).toEqual(referenceReplayLackey(text, { pageSize, itlb, dtlb }));
      expect(r).toMatchObject({ lines: 46_168, skipped: 25 });
      expect(r.itlb.accesses).toBe(kinds("I  "));
      expect(r.dtlb.accesses).toBe(kinds(" L ") + kinds(" S ") + kinds(" M "));
    }
    // the program walks a 64 KiB array with a 4 KiB stride: 16 pages of its own, each a D-TLB miss at 4k
    const r4k = await replayLackey(FIXTURE);
    expect(r4k.dtlb.misses).toBeGreaterThanOrEqual(16);
  });
});

// ---- properties ----

const hexOf = (n: bigint, upper: boolean, pad: number) => {
  const h = n.toString(16).padStart(pad, "0");
  return upper ? h.toUpperCase() : h;
};

/** An address: mostly among 25 4 KiB pages (so that TLBs hit), sometimes anywhere in 64 bits. */
const addressArb = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 4095 })).map(([p, off]) => BigInt(p * 4096 + off)) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 16 })).map(([p, back]) => BigInt((p + 1) * 4096 - back)) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 2n ** 25n }) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 4095 })).map(([p, off]) => 2n ** 64n - 2n ** 25n + BigInt(p * 4096 + off)) },
);
const sizeArb = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 16 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 32, 64, 512, 4097, 70000) });
const accessLine = fc
  .tuple(fc.constantFrom("I  ", "I  ", " L ", " S ", " M "), addressArb, fc.boolean(), fc.integer({ min: 0, max: 10 }), sizeArb)
  .map(([k, a, upper, pad, s]) => `${k}${hexOf(a, upper, pad)},${s}`);
const traceLine = fc.oneof({ weight: 12, arbitrary: accessLine }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((s) => `==${s.replace(/[\r\n]/g, "")}`) });
const validTrace = fc
  .tuple(fc.array(traceLine, { maxLength: 200, size: "max" }), fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.boolean())
  .map(([ls, blanks, crlf, finalNewline]) => {
    const all = [...ls, ...Array<string>(blanks).fill("")];
    const body = all.join(crlf ? "\r\n" : "\n");
    return all.length > 0 && finalNewline ? `${body}${crlf ? "\r\n" : "\n"}` : body;
  });
/** A line that is often bad: a mutated access line, junk, or a blank line before more lines. */
const badLine = fc.oneof(
  fc.string({ maxLength: 16 }),
  fc.constantFrom("", "I 10,4", " L 10", " L zz,4", " S 10,x", " M 10,", " Q 10,4", " L ffffffffffffffff,2", " L 1ffffffffffffffff,1", " L 10,99999999", "=", "\r"),
  fc.tuple(accessLine, fc.nat(), fc.string({ minLength: 1, maxLength: 2 })).map(([l, at, s]) => {
    const i = at % (l.length + 1);
    return l.slice(0, i) + s + l.slice(i + 1);
  }),
);
const maybeBadTrace = fc
  .tuple(fc.array(accessLine, { maxLength: 60, size: "max" }), fc.nat(), badLine, fc.array(accessLine, { maxLength: 5 }))
  .map(([ls, at, bad, after]) => {
    const i = at % (ls.length + 1);
    return [...ls.slice(0, i), bad, ...ls.slice(i), ...after].join("\n");
  });
const geometryArb = fc.record({ sets: fc.integer({ min: 1, max: 9 }), ways: fc.integer({ min: 1, max: 5 }) });
const pageSizeArb = fc.constantFrom(4096, 65536, 16777216);
const cutsArb = fc.array(fc.nat({ max: 3500 }), { maxLength: 16, size: "max" });

type Outcome = { ok: Omit<LackeyResult, "seconds" | "file" | "format" | "pageSize" | "bytes"> } | { error: [number, string | undefined] };

async function fastOutcome(text: string, opts: Opts, cuts: number[] = []): Promise<Outcome> {
  try {
    const r = await replay(text, opts, cuts);
    return { ok: { itlb: r.itlb, dtlb: r.dtlb, lines: r.lines, skipped: r.skipped } };
  } catch (e) {
    if (!(e instanceof TraceError)) throw e;
    return { error: [e.line, e.field] };
  }
}

function referenceOutcome(text: string, opts: Opts): Outcome {
  try {
    return { ok: referenceReplayLackey(text, opts) };
  } catch (e) {
    if (!(e instanceof TraceError)) throw e;
    return { error: [e.line, e.field] };
  }
}

describe("properties", () => {
  propTest.prop([fc.oneof(validTrace, maybeBadTrace), cutsArb, fc.integer({ min: 1, max: 5 }), geometryArb, pageSizeArb], { numRuns: 300 })(
    "chunk boundaries and batch sizes change nothing (results and error messages)",
    async (text, cuts, batchSize, dtlb, pageSize) => {
      const whole = await replay(text, { dtlb, pageSize }).then((r) => ({ ...r, seconds: 0 }), (e: unknown) => (e as Error).message);
      const cut = await replay(text, { dtlb, pageSize, batchSize }, cuts).then((r) => ({ ...r, seconds: 0 }), (e: unknown) => (e as Error).message);
      expect(cut).toEqual(whole);
    },
  );

  propTest.prop([validTrace, geometryArb, geometryArb, pageSizeArb, cutsArb], { numRuns: 400 })(
    "the fast replay agrees with the reference on valid traces",
    async (text, itlb, dtlb, pageSize, cuts) => {
      const ref = referenceOutcome(text, { itlb, dtlb, pageSize });
      expect("ok" in ref, JSON.stringify(ref)).toBe(true);
      expect(await fastOutcome(text, { itlb, dtlb, pageSize }, cuts)).toEqual(ref);
    },
  );

  propTest.prop([maybeBadTrace, geometryArb, pageSizeArb], { numRuns: 400 })(
    "the fast replay and the reference refuse the same line and field",
    async (text, dtlb, pageSize) => {
      expect(await fastOutcome(text, { dtlb, pageSize })).toEqual(referenceOutcome(text, { dtlb, pageSize }));
    },
  );
});

// ---- the command line ----

class Capture extends Writable {
  text = "";
  isTTY?: boolean;
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

async function cli(args: string[], opts: { tty?: boolean } = {}) {
  const stdout = new Capture();
  const stderr = new Capture();
  if (opts.tty) stderr.isTTY = true;
  const deps: CliDeps = {
    makeMachine: () => {
      throw new Error("hptlab trace needs no machine");
    },
    stdout,
    stderr,
  };
  const code = await run(["node", "hptlab", ...args], deps);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe("hptlab trace", () => {
  const text = lines("==9== Lackey", "I  0040a2f0,3", " L 1ffefffd28,8", " S 1ffefffd20,8", " M 0060a1b0,4", "I  0040a2f3,5", " L 0060affc,8");

  test("--json prints one object with the documented fields", async () => {
    const file = traceFile(text, { gzip: true });
    const r = await cli(["trace", file, "--format", "lackey", "--itlb", "64x2", "--dtlb", "3x1", "--page-size", "4k", "--json"]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout.endsWith("}\n")).toBe(true);
    expect(r.stdout.trimEnd().split("\n")).toHaveLength(1);
    const o = JSON.parse(r.stdout);
    expect(o).toEqual({
      file,
      format: "lackey",
      pageSize: 4096,
      itlb: { sets: 64, ways: 2, accesses: 2, misses: 1, straddling: 0, pageLookups: 2, pageMisses: 1 },
      dtlb: { sets: 3, ways: 1, accesses: 4, misses: 3, straddling: 1, pageLookups: 5, pageMisses: 3 },
      lines: 7,
      skipped: 1,
      bytes: text.length,
      seconds: expect.any(Number),
    });
    expect(o.seconds).toBeGreaterThanOrEqual(0);
  });

  test("defaults: lackey, 64x2 / 64x4, 4k pages; a table without --json", async () => {
    const file = traceFile(text);
    const r = await cli(["trace", file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`hptlab trace ${file}: lackey, 4 KiB pages\n7 lines (1 valgrind lines skipped) in `);
    expect(r.stdout).toMatch(/│ I-TLB │ 64 × 2\s+│\s+2 │\s+1 │\s+50\.00% │\s+0 │\s+2 │\s+1 │/);
    expect(r.stdout).toMatch(/│ D-TLB │ 64 × 4\s+│\s+4 │\s+3 │\s+75\.00% │\s+1 │\s+5 │\s+3 │/);
    const json = JSON.parse((await cli(["trace", file, "--json", "--page-size", "16M"])).stdout);
    expect([json.itlb.sets, json.itlb.ways, json.dtlb.sets, json.dtlb.ways, json.pageSize]).toEqual([64, 2, 64, 4, 16777216]);
  });

  test("the real fixture, gzip, through the CLI", async () => {
    const r = await cli(["trace", FIXTURE, "--json", "--page-size", "64k", "--itlb", "16x1", "--dtlb", "5x3"]);
    const o = JSON.parse(r.stdout);
    const ref = referenceReplayLackey(gunzipSync(readFileSync(FIXTURE)).toString("latin1"), { pageSize: 65536, itlb: { sets: 16, ways: 1 }, dtlb: { sets: 5, ways: 3 } });
    expect({ itlb: o.itlb, dtlb: o.dtlb, lines: o.lines, skipped: o.skipped }).toEqual(ref);
  });

  test.each([
    [["trace", "/nonexistent/t.lackey"], "hptlab: /nonexistent/t.lackey: cannot read: no such file\n"],
    [["trace", "x", "--itlb", "64"], 'hptlab: --itlb: "64" is not SETSxWAYS (two positive integers, e.g. 64x4)\n'],
    [["trace", "x", "--dtlb", "0x4"], 'hptlab: --dtlb: "0x4" is not SETSxWAYS (two positive integers, e.g. 64x4)\n'],
    [["trace", "x", "--dtlb", "8x2000"], 'hptlab: --dtlb: "8x2000": ways 2000 is not an integer in 1..1024\n'],
    [["trace", "x", "--page-size", "8k"], 'hptlab: --page-size: "8k" is not 4k, 64k or 16m\n'],
    [["trace", "x", "--format", "pin"], 'hptlab: --format: "pin" is not lackey\n'],
    [["trace"], "hptlab: missing required argument 'file'\n"],
  ])("bad input %j: one line on stderr, exit 2", async (args, message) => {
    const r = await cli(args);
    expect([r.code, r.stderr, r.stdout]).toEqual([2, message, ""]);
  });

  test("a bad line: one line FILE:LINE: field: message on stderr, nothing on stdout, exit 2", async () => {
    const file = traceFile(`${text} L 1000,4\n Q 2000,4\n`);
    const r = await cli(["trace", file, "--json"]);
    expect([r.code, r.stdout]).toEqual([2, ""]);
    expect(r.stderr).toBe(`hptlab: ${file}:9: kind: " Q 2000,4" does not start with "I  ", " L ", " S ", " M " or "=="\n`);
    expect(r.stderr).not.toContain("    at ");
  });

  test("--help documents the format, the defaults and the decisions; the top help lists trace", async () => {
    const help = await cli(["trace", "--help"]);
    expect(help.code).toBe(0);
    for (const s of [
      "--itlb <SETSxWAYS>",
      "(default: 64x2)",
      "(default: 64x4)",
      "(default: 4k)",
      "--page-size <size>",
      "size of 0 is taken as 1 byte",
      '"lines" counts every line of the file',
      "straddles a page boundary translates both pages",
      "Lines beginning with == (valgrind's own) are skipped",
    ]) {
      expect(help.stdout).toContain(s);
    }
    expect((await cli(["--help"])).stdout).toContain("trace [options] <file>");
  });

  test("no progress on stderr when it is not a terminal, nor for a short run", async () => {
    const file = traceFile(text);
    expect((await cli(["trace", file, "--json"], { tty: true })).stderr).toBe(""); // a short run shows none
    const quiet = await cli(["trace", file, "--json"]);
    expect(quiet.stderr).toBe("");
  });
});
