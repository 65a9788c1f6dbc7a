/**
 * The compiled-trace cache (docs/study.md, "Real guests"): a study's trace is compiled once — parsed,
 * replayed on the engine under kvm-hv semantics, its touches recovered (src/trace/hcall-program.ts,
 * ~2 s of CPU for the shipped trace) — and the program's typed arrays written to a cache file, which
 * later studies read instead (~0.1 s).
 *
 * A cache file is named by what the program depends on: the SHA-256 of the trace file's bytes, and
 * the compiler's key — the SHA-256 of hptlab's code that compiles (every module of the package, as
 * run: dist/ or src/) and of the engine (build/hptlab.wasm), so that any change of either compiles
 * again. It holds a header (JSON: both keys, the program's scalar fields, where each array lies, the
 * payload's length and SHA-256) and the arrays. It is used only when everything checks: the magic
 * and format, both keys, every array's length from the call count, the file's length and the
 * payload's SHA-256. A file that fails a check is never used: the trace is compiled again, the
 * caller is told why in one line (`onNote`), and the file is written anew. Writes go to a temporary
 * file renamed into place (a reader sees the old file or the new one), and remove the trace's files
 * made by other compilers. A cache folder that cannot be written is reported once and the study goes
 * on, compiling each run.
 *
 * Where: HPTLAB_TRACE_CACHE (a folder, or "off"), else $XDG_CACHE_HOME/hptlab, else
 * node_modules/.cache/hptlab of the package, else ~/.cache/hptlab. `hptlab study --no-trace-cache`
 * turns it off.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readdirSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, extname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { HcallProgram } from "./hcall-program.js";

const MAGIC = "HPTLABTC";
/** Bumped when the file's layout changes. */
export const TRACE_CACHE_FORMAT = 1;
/** The file name's ending. */
export const TRACE_CACHE_EXT = ".hcprog";

/** The program's arrays in file order, with their element type and elements per call. */
const ARRAYS = [
  ["line", Uint32Array, 1], ["kind", Uint8Array, 1], ["vcpu", Uint16Array, 1], ["words", Uint32Array, 18],
  ["ret", Int32Array, 1], ["slot", Int32Array, 1], ["hit", Uint8Array, 1], ["bulkSlot", Int32Array, 4], ["touch", Uint32Array, 5],
] as const;
type ArrayName = (typeof ARRAYS)[number][0];

/** The program's scalar fields (HcallProgram's own), then where its arrays lie. */
interface CacheHeader extends Pick<HcallProgram, "calls" | "vcpus" | "ramBytes" | "hptOrder" | "hptMaxPageShift" | "counts" | "digest"> {
  traceSha: string;
  compilerKey: string;
  /** Byte offset (in the payload) and byte length of each array. */
  arrays: Record<ArrayName, [number, number]>;
  payloadBytes: number;
  payloadSha: string;
}

/** Where the cache lives (see the module's comment), or null when HPTLAB_TRACE_CACHE=off. */
export function defaultTraceCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const v = env.HPTLAB_TRACE_CACHE;
  if (v === "off") return null;
  if (v !== undefined && v !== "") return v;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "hptlab");
  const modules = join(packageRoot(), "node_modules");
  if (existsSync(modules)) return join(modules, ".cache", "hptlab");
  return join(homedir(), ".cache", "hptlab");
}

/** The package's folder (this module is in dist/trace or src/trace). */
function packageRoot(): string {
  return dirname(dirname(dirname(fileURLToPath(import.meta.url))));
}

let compilerKeyMemo: string | undefined;

/**
 * The SHA-256 of what compiles a trace: the cache format, every module of the package's code as it
 * runs (dist/*.js, or src/*.ts under tsx), and the engine builds. Computed once per process.
 */
export function traceCompilerKey(): string {
  if (compilerKeyMemo) return compilerKeyMemo;
  const h = createHash("sha256");
  h.update(`hptlab trace cache ${TRACE_CACHE_FORMAT}\n`);
  const here = fileURLToPath(import.meta.url);
  const ext = extname(here); // .js from dist/, .ts from src/
  const code = dirname(dirname(here));
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(ext) && !e.name.endsWith(`.d${ext}`)) files.push(p);
    }
  };
  walk(code);
  files.sort();
  for (const f of files) {
    h.update(`${relative(code, f)}\n`);
    h.update(readFileSync(f));
  }
  for (const w of ["build/hptlab.wasm", "build/hptlab.debug.wasm"]) {
    const p = join(packageRoot(), w);
    h.update(`${w}\n`);
    if (existsSync(p)) h.update(readFileSync(p));
  }
  compilerKeyMemo = h.digest("hex");
  return compilerKeyMemo;
}

/** The SHA-256 of a file's bytes (read 4 MiB at a time). */
export function fileSha256(file: string): string {
  const h = createHash("sha256");
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

/** The cache file of a trace (by its bytes' SHA-256) for this compiler. */
export function traceCacheFile(dir: string, traceSha: string, compilerKey = traceCompilerKey()): string {
  return join(dir, `${traceSha.slice(0, 32)}-${compilerKey.slice(0, 16)}${TRACE_CACHE_EXT}`);
}

const pad8 = (n: number) => Math.ceil(n / 8) * 8;

/** Read `n` bytes at `pos` of `fd` into `into` (all of them, or fewer at the file's end). */
function readFully(fd: number, into: Uint8Array, pos: number): number {
  let got = 0;
  while (got < into.length) {
    const n = readSync(fd, into, got, into.length - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** What reading a cache file found: the program, no file, or a file that failed a check (why). */
export type CacheRead = { program: HcallProgram } | { missing: true } | { bad: string };

/**
 * The program cached in `path` for a trace with bytes' SHA-256 `traceSha`, named `file` — when every
 * check passes (see the module's comment); else why not.
 */
export function readCachedProgram(path: string, file: string, traceSha: string, compilerKey = traceCompilerKey()): CacheRead {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR" ? { missing: true } : { bad: `cannot be read (${(e as Error).message})` };
  }
  try {
    const size = fstatSync(fd).size;
    const fixed = Buffer.alloc(16);
    if (readFully(fd, fixed, 0) < 16 || fixed.toString("latin1", 0, 8) !== MAGIC) return { bad: "is not an hptlab trace cache file" };
    const format = fixed.readUInt32LE(8);
    if (format !== TRACE_CACHE_FORMAT) return { bad: `has format ${format}, not ${TRACE_CACHE_FORMAT}` };
    const headerBytes = fixed.readUInt32LE(12);
    if (16 + headerBytes > size) return { bad: "is truncated (its header)" };
    const hb = Buffer.alloc(headerBytes);
    readFully(fd, hb, 16);
    let h: CacheHeader;
    try {
      h = JSON.parse(hb.toString("utf8")) as CacheHeader;
    } catch {
      return { bad: "has a header that is not JSON" };
    }
    if (h.traceSha !== traceSha || h.compilerKey !== compilerKey) return { bad: "is for another trace or another build" };
    const start = 16 + pad8(headerBytes);
    if (!Number.isSafeInteger(h.calls) || h.calls < 1 || !Number.isSafeInteger(h.payloadBytes)) return { bad: "has a bad header" };
    if (size !== start + h.payloadBytes) return { bad: `is ${size} bytes, its header says ${start + h.payloadBytes}${size < start + h.payloadBytes ? " (truncated)" : ""}` };
    let end = 0;
    for (const [name, Ctor, per] of ARRAYS) {
      const at = h.arrays?.[name];
      const want = h.calls * per * Ctor.BYTES_PER_ELEMENT;
      if (!Array.isArray(at) || at[0] !== pad8(end) || at[1] !== want) return { bad: `has a bad header (array ${name})` };
      end = at[0] + at[1];
    }
    if (pad8(end) !== h.payloadBytes) return { bad: "has a bad header (payload length)" };
    // the arrays, read straight into one SharedArrayBuffer (study workers receive them without a copy)
    const sab = new SharedArrayBuffer(h.payloadBytes);
    const bytes = new Uint8Array(sab);
    if (readFully(fd, bytes, start) !== h.payloadBytes) return { bad: "is truncated" };
    if (createHash("sha256").update(bytes).digest("hex") !== h.payloadSha) return { bad: "is damaged (its payload's SHA-256 differs)" };
    const arr = {} as Record<ArrayName, Uint8Array | Uint16Array | Uint32Array | Int32Array>;
    for (const [name, Ctor, per] of ARRAYS) {
      arr[name] = new (Ctor as new (b: SharedArrayBuffer, at: number, n: number) => Uint8Array | Uint16Array | Uint32Array | Int32Array)(sab, h.arrays[name][0], h.calls * per);
    }
    return {
      program: {
        file, calls: h.calls, vcpus: h.vcpus, ramBytes: h.ramBytes, hptOrder: h.hptOrder, hptMaxPageShift: h.hptMaxPageShift,
        counts: h.counts, digest: h.digest,
        line: arr.line as Uint32Array, kind: arr.kind as Uint8Array, vcpu: arr.vcpu as Uint16Array, words: arr.words as Uint32Array,
        ret: arr.ret as Int32Array, slot: arr.slot as Int32Array, hit: arr.hit as Uint8Array, bulkSlot: arr.bulkSlot as Int32Array,
        touch: arr.touch as Uint32Array,
      },
    };
  } finally {
    closeSync(fd);
  }
}

/**
 * Write `p` (the whole trace's program) to `path`: a temporary file renamed into place, then the
 * trace's files of other compilers removed. Throws (with the reason) when the folder cannot be
 * made or written.
 */
export function writeCachedProgram(path: string, p: HcallProgram, traceSha: string, compilerKey = traceCompilerKey()): void {
  const arrays = {} as Record<ArrayName, [number, number]>;
  let end = 0;
  for (const [name] of ARRAYS) {
    const a = p[name];
    arrays[name] = [pad8(end), a.byteLength];
    end = pad8(end) + a.byteLength;
  }
  const payloadBytes = pad8(end);
  const payload = Buffer.alloc(payloadBytes);
  for (const [name] of ARRAYS) {
    const a = p[name];
    payload.set(new Uint8Array(a.buffer as ArrayBuffer, a.byteOffset, a.byteLength), arrays[name][0]);
  }
  const header: CacheHeader = {
    traceSha, compilerKey, calls: p.calls, vcpus: p.vcpus, ramBytes: p.ramBytes, hptOrder: p.hptOrder, hptMaxPageShift: p.hptMaxPageShift,
    counts: p.counts, digest: p.digest, arrays, payloadBytes, payloadSha: createHash("sha256").update(payload).digest("hex"),
  };
  const hb = Buffer.from(JSON.stringify(header), "utf8");
  const fixed = Buffer.alloc(16 + pad8(hb.length));
  fixed.write(MAGIC, 0, "latin1");
  fixed.writeUInt32LE(TRACE_CACHE_FORMAT, 8);
  fixed.writeUInt32LE(hb.length, 12);
  hb.copy(fixed, 16);
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, fixed);
      writeSync(fd, payload);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  // the same trace's programs from other builds: never read again
  const prefix = `${traceSha.slice(0, 32)}-`;
  const name = path.slice(dir.length + 1);
  for (const f of readdirSync(dir)) {
    if (f.startsWith(prefix) && f.endsWith(TRACE_CACHE_EXT) && f !== name) rmSync(join(dir, f), { force: true });
  }
}

