/**
 * Hypercall traces (docs/formats.md §1): JSON Lines, plain or gzip, streamed line by line.
 *
 * ```
 * {"config": {"semantics": "qemu", "ram_bytes": 1073741824, "hpt_order": 23}}   <- optional, line 1 only
 * {"hcall": "H_ENTER", "flags": "0x0", "args": ["0x590b8", "0x400ea1b217000015", "0x1190"], "ret": 0, "out": ["0x590b8"], "cpu": 0}
 * ```
 *
 * Every error is a `TraceError` whose message is one line naming the file, the line and the field:
 * `trace.jsonl:1042: args[1]: "0xZZ" is not a hex value of at most 16 digits`.
 */
import { open } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
import { createGunzip } from "node:zlib";
import type { Readable } from "node:stream";
import { ConfigError, qemuHptOrder, type GuestOptionsInput } from "../config.js";
import { HCALL_NAMES, type HcallName, type Semantics } from "../types.js";
import { PAGE_SHIFTS, type PageShift } from "../model/page-sizes.js";

/** A trace line was refused. `line` is 1-based (0: the file as a whole); `field` names the key, e.g. `args[1]`. */
export class TraceError extends Error {
  readonly file: string;
  readonly line: number;
  readonly field: string | undefined;
  /** The message without the `file:line: field: ` prefix. */
  readonly detail: string;
  constructor(file: string, line: number, field: string | undefined, detail: string) {
    const where = line > 0 ? `${file}:${line}` : file;
    super(field === undefined ? `${where}: ${detail}` : `${where}: ${field}: ${detail}`);
    this.name = "TraceError";
    this.file = file;
    this.line = line;
    this.field = field;
    this.detail = detail;
  }
}

/** The `config` keys hptlab reads from a header, validated (docs/formats.md §1). */
export interface HeaderConfig {
  semantics?: Semantics;
  ramBytes?: number;
  hptOrder?: number;
  hptMaxPageShift?: PageShift;
}

/** Line 1 of a trace, when it is `{"config": {...}}`. `raw` is the whole `config` object, unknown keys included. */
export interface TraceHeader {
  kind: "header";
  line: number;
  config: HeaderConfig;
  raw: Record<string, unknown>;
}

/** One hypercall of a trace. `ret` / `out` are the recorded results, when the trace has them. */
export interface TraceCall {
  kind: "call";
  line: number;
  hcall: HcallName;
  flags: bigint;
  args: bigint[];
  ret?: number;
  out?: bigint[];
  problemState: boolean;
  cpu: number;
  lpid?: number;
}

export type TraceItem = TraceHeader | TraceCall;

/** Number of argument words per hcall (docs/formats.md §1; H_BULK_REMOVE: r4..r11). */
export const HCALL_ARG_COUNT: Readonly<Record<HcallName, number>> = {
  H_ENTER: 3,
  H_REMOVE: 2,
  H_PROTECT: 2,
  H_READ: 1,
  H_BULK_REMOVE: 8,
};

/** docs/model/hcalls.md §1.3 flag bit 26. */
export const H_READ_4 = 0x0000002000000000n;

/** Number of output words a call returns: H_ENTER 1, H_REMOVE 2, H_PROTECT 0, H_READ 2 (8 with H_READ_4), H_BULK_REMOVE 8. */
export function hcallOutCount(hcall: HcallName, flags: bigint): number {
  switch (hcall) {
    case "H_ENTER": return 1;
    case "H_REMOVE": return 2;
    case "H_PROTECT": return 0;
    case "H_READ": return (flags & H_READ_4) !== 0n ? 8 : 2;
    case "H_BULK_REMOVE": return 8;
  }
}

/** A line longer than this is refused rather than buffered (a file with no newlines must not fill memory). */
export const MAX_LINE_CHARS = 1 << 20;

const HEX_VALUE = /^0[xX][0-9a-fA-F]{1,16}$/;
const HCALL_SET: ReadonlySet<string> = new Set(HCALL_NAMES);

/** A JSON value shown in a message: stringified, and cut short so the message stays readable. */
function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 48 ? `${s.slice(0, 45)}...` : s;
}

function fieldName(name: string, index: number): string {
  return index < 0 ? name : `${name}[${index}]`;
}

/** A 64-bit register value: `"0x…"` (1..16 hex digits, any case) or a non-negative safe-integer number. */
function registerValue(v: unknown, file: string, line: number, name: string, index: number): bigint {
  if (typeof v === "string") {
    if (HEX_VALUE.test(v)) return BigInt(v);
    throw new TraceError(file, line, fieldName(name, index), `${show(v)} is not a hex value of at most 16 digits`);
  }
  if (typeof v === "number") {
    if (Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    throw new TraceError(file, line, fieldName(name, index), `${show(v)} is not a non-negative safe integer (write 64-bit values as "0x…" strings)`);
  }
  if (v === undefined) throw new TraceError(file, line, fieldName(name, index), "missing");
  throw new TraceError(file, line, fieldName(name, index), `${show(v)} is not a register value ("0x…" hex string or non-negative safe integer)`);
}

function registerList(v: unknown, file: string, line: number, name: string): bigint[] {
  if (v === undefined) throw new TraceError(file, line, name, "missing");
  if (!Array.isArray(v)) throw new TraceError(file, line, name, `${show(v)} is not an array`);
  const words = new Array<bigint>(v.length);
  for (let i = 0; i < v.length; i++) words[i] = registerValue(v[i], file, line, name, i);
  return words;
}

function smallInteger(v: unknown, file: string, line: number, name: string): number {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return v;
  throw new TraceError(file, line, name, `${show(v)} is not a non-negative integer`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Why a guest setting is refused, or undefined when it is valid (shared by header keys and overrides). */
function guestValueProblem(key: "semantics" | "ramBytes" | "hptOrder" | "hptMaxPageShift", v: unknown): string | undefined {
  switch (key) {
    case "semantics":
      return v === "kvm-hv" || v === "qemu" ? undefined : `${show(v)} is not "kvm-hv" or "qemu"`;
    case "ramBytes":
      return typeof v === "number" && Number.isSafeInteger(v) && v >= 1 && v <= 2 ** 40 ? undefined : `${show(v)} is not a byte count in 1..2^40`;
    case "hptOrder":
      return typeof v === "number" && Number.isInteger(v) && v >= 18 && v <= 46 ? undefined : `${show(v)} is not an integer in 18..46`;
    case "hptMaxPageShift":
      return PAGE_SHIFTS.includes(v as PageShift) ? undefined : `${show(v)} is not ${PAGE_SHIFTS.slice(0, -1).join(", ")} or ${PAGE_SHIFTS[PAGE_SHIFTS.length - 1]}`;
  }
}

const HEADER_KEYS = [
  ["semantics", "semantics"],
  ["ram_bytes", "ramBytes"],
  ["hpt_order", "hptOrder"],
  ["hpt_max_page_shift", "hptMaxPageShift"],
] as const;

/**
 * Validates the `config` object of a header: the four keys hptlab reads (docs/formats.md §1); every
 * other key is ignored. Errors name `config.<key>` on the header's line.
 */
export function parseHeaderConfig(config: unknown, file: string, line: number): HeaderConfig {
  if (!isObject(config)) throw new TraceError(file, line, "config", `${show(config)} is not an object`);
  const out: Record<string, unknown> = {};
  for (const [jsonKey, key] of HEADER_KEYS) {
    const v = config[jsonKey];
    if (v === undefined) continue;
    const problem = guestValueProblem(key, v);
    if (problem !== undefined) throw new TraceError(file, line, `config.${jsonKey}`, problem);
    out[key] = v;
  }
  return out as HeaderConfig;
}

/**
 * Parses one line of a trace. Returns undefined for a blank line. `line` is the 1-based line number:
 * a header (`{"config": ...}`) is accepted on line 1 only.
 */
export function parseHcallLine(text: string, file: string, line: number): TraceItem | undefined {
  if (text.trim() === "") return undefined;
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new TraceError(file, line, undefined, `not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
  if (!isObject(o)) throw new TraceError(file, line, undefined, `${show(o)} is not a JSON object`);

  if (o.config !== undefined) {
    if (line !== 1) throw new TraceError(file, line, "config", "a header is only valid on line 1");
    const config = parseHeaderConfig(o.config, file, line);
    return { kind: "header", line, config, raw: o.config as Record<string, unknown> };
  }

  const hcall = o.hcall;
  if (hcall === undefined) throw new TraceError(file, line, "hcall", "missing");
  if (typeof hcall !== "string" || !HCALL_SET.has(hcall)) {
    throw new TraceError(file, line, "hcall", `${show(hcall)} is not one of ${HCALL_NAMES.join(", ")}`);
  }
  const name = hcall as HcallName;
  const flags = registerValue(o.flags, file, line, "flags", -1);
  if (name === "H_BULK_REMOVE" && flags !== 0n) {
    throw new TraceError(file, line, "flags", `${show(o.flags)}: H_BULK_REMOVE has no flags word, it must be 0x0`);
  }
  const args = registerList(o.args, file, line, "args");
  const nargs = HCALL_ARG_COUNT[name];
  if (args.length !== nargs) {
    throw new TraceError(file, line, "args", `${name} takes ${nargs} value${nargs === 1 ? "" : "s"}, got ${args.length}`);
  }

  const call: TraceCall = { kind: "call", line, hcall: name, flags, args, problemState: false, cpu: 0 };
  if (o.ret !== undefined) {
    const ret = o.ret;
    if (typeof ret !== "number" || !Number.isSafeInteger(ret)) {
      throw new TraceError(file, line, "ret", `${show(ret)} is not a signed integer`);
    }
    call.ret = ret;
  }
  if (o.out !== undefined) {
    const out = registerList(o.out, file, line, "out");
    const nout = hcallOutCount(name, flags);
    if (out.length !== nout) {
      const what = name === "H_READ" && nout === 8 ? "H_READ with H_READ_4" : name;
      throw new TraceError(file, line, "out", `${what} returns ${nout} value${nout === 1 ? "" : "s"}, got ${out.length}`);
    }
    call.out = out;
  }
  const ps = o.problem_state;
  if (ps !== undefined) {
    if (typeof ps !== "boolean") throw new TraceError(file, line, "problem_state", `${show(ps)} is not true or false`);
    call.problemState = ps;
  }
  if (o.cpu !== undefined) call.cpu = smallInteger(o.cpu, file, line, "cpu");
  if (o.lpid !== undefined) call.lpid = smallInteger(o.lpid, file, line, "lpid");
  return call;
}

function openError(file: string, e: NodeJS.ErrnoException): TraceError {
  const why: Record<string, string> = {
    ENOENT: "no such file",
    EISDIR: "is a directory",
    EACCES: "permission denied",
  };
  return new TraceError(file, 0, undefined, `cannot read: ${why[e.code ?? ""] ?? e.message}`);
}

/**
 * Streams the items of a trace, plain or gzip (recognised by the magic bytes 1f 8b, whatever the
 * file's name). Blank lines are skipped; the last line may lack its newline. Memory use is bounded by
 * the longest line (at most MAX_LINE_CHARS), never by the file.
 */
export async function* readHcallTrace(path: string): AsyncGenerator<TraceItem> {
  let fh;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw openError(path, e as NodeJS.ErrnoException);
  }
  let raw: Readable | undefined;
  let source: Readable | undefined;
  let lineNo = 0;
  try {
    const magic = Buffer.alloc(2);
    try {
      const { bytesRead } = await fh.read(magic, 0, 2, 0);
      const gzip = bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
      const file = fh.createReadStream({ start: 0, autoClose: false, highWaterMark: 1 << 16 });
      raw = file;
      // 256 KiB of text per chunk (the default 16 KiB makes many small chunks, each a string join and a stream step)
      source = gzip ? file.pipe(createGunzip({ chunkSize: 1 << 18 })) : file;
      if (gzip) file.on("error", (e) => source!.destroy(e));
    } catch (e) {
      throw openError(path, e as NodeJS.ErrnoException);
    }
    const decoder = new StringDecoder("utf8");
    let tail = "";
    try {
      for await (const chunk of source) {
        const text = tail + decoder.write(chunk as Buffer);
        let start = 0;
        for (let nl = text.indexOf("\n", start); nl !== -1; nl = text.indexOf("\n", start)) {
          lineNo++;
          const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
          const item = parseHcallLine(text.slice(start, end), path, lineNo);
          if (item !== undefined) yield item;
          start = nl + 1;
        }
        tail = start === 0 ? text : text.slice(start);
        if (tail.length > MAX_LINE_CHARS) {
          throw new TraceError(path, lineNo + 1, undefined, `line is longer than ${MAX_LINE_CHARS} characters`);
        }
      }
    } catch (e) {
      if (e instanceof TraceError) throw e;
      const err = e as NodeJS.ErrnoException;
      if (err.code?.startsWith("Z_") || err.code === "ERR_STREAM_PREMATURE_CLOSE") {
        throw new TraceError(path, lineNo + 1, undefined, `gzip data is corrupt or truncated (${err.message})`);
      }
      throw new TraceError(path, lineNo + 1, undefined, `cannot read: ${err.message}`);
    }
    tail += decoder.end();
    if (tail.length > 0) {
      lineNo++;
      const item = parseHcallLine(tail.endsWith("\r") ? tail.slice(0, -1) : tail, path, lineNo);
      if (item !== undefined) yield item;
    }
  } finally {
    source?.destroy();
    raw?.destroy();
    await fh.close();
  }
}

/** Command-line (or API) values that override a trace header, already parsed. */
export interface GuestOverrides {
  semantics?: string;
  ramBytes?: number;
  hptOrder?: number;
  hptMaxPageShift?: number;
}

/** What a header gives when no header or key is present (docs/formats.md §1). */
export const TRACE_DEFAULT_RAM_BYTES = 256 * 2 ** 20;
export const TRACE_DEFAULT_HPT_MAX_PAGE_SHIFT = 24;

/**
 * The guest a trace runs on: header values, overridden by `overrides`, defaults from docs/formats.md §1
 * (kvm-hv, 256 MiB, hpt_order by QEMU's rule from the RAM size, hpt_max_page_shift 24).
 * `header` is the reader's `TraceHeader` (already validated) or a raw `config` object, validated here
 * (TraceError on line 1 of `file`). A bad override is a ConfigError naming it (`hptOrder: 50 is not …`).
 */
export function headerToGuestOptions(
  header: TraceHeader | Record<string, unknown> | undefined,
  overrides: GuestOverrides = {},
  file = "trace",
): GuestOptionsInput {
  const cfg: HeaderConfig =
    header === undefined ? {} : isTraceHeader(header) ? header.config : parseHeaderConfig(header, file, 1);
  for (const [, key] of HEADER_KEYS) {
    const v = overrides[key];
    if (v === undefined) continue;
    const problem = guestValueProblem(key, v);
    if (problem !== undefined) throw new ConfigError(key, problem);
  }
  const ramBytes = overrides.ramBytes ?? cfg.ramBytes ?? TRACE_DEFAULT_RAM_BYTES;
  return {
    semantics: (overrides.semantics as Semantics | undefined) ?? cfg.semantics ?? "kvm-hv",
    ramBytes,
    hptOrder: overrides.hptOrder ?? cfg.hptOrder ?? qemuHptOrder(ramBytes),
    hptMaxPageShift: (overrides.hptMaxPageShift as PageShift | undefined) ?? cfg.hptMaxPageShift ?? TRACE_DEFAULT_HPT_MAX_PAGE_SHIFT,
  };
}

function isTraceHeader(h: TraceHeader | Record<string, unknown>): h is TraceHeader {
  return h.kind === "header" && isObject(h.config) && isObject(h.raw);
}
