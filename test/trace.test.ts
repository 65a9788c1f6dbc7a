/**
 * Hypercall traces (docs/formats.md §1): the line parser, the streaming reader, the replay/check loop and
 * the `hptlab hcalls` command, all without the engine (a scripted fake machine stands in for it).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";
import { fc, test as propTest } from "@fast-check/vitest";
import { afterAll, describe, expect, test } from "vitest";
import { run, makeMachine, type CliDeps } from "../src/cli.js";
import { ConfigError, type GuestOptionsInput } from "../src/config.js";
import {
  headerToGuestOptions,
  parseHcallLine,
  readHcallTrace,
  TraceError,
  type TraceCall,
  type TraceItem,
} from "../src/trace/hcall-trace.js";
import { compareResult, formatResultLine, replayHcalls } from "../src/trace/replay.js";
import type { HcallName, HcallOptions, HcallResult, SimGuest, SimMachine } from "../src/types.js";

const FIXTURE = join(import.meta.dirname, "fixtures", "linux-6.1-boot-head.jsonl.gz");
const dir = mkdtempSync(join(tmpdir(), "hptlab-trace-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
/** Writes `text` (gzip-compressed when asked) to a fresh file named `name` and returns its path. */
function traceFile(text: string, opts: { gzip?: boolean; name?: string } = {}): string {
  const path = join(dir, `${fileNo++}-${opts.name ?? "trace.jsonl"}`);
  writeFileSync(path, opts.gzip ? gzipSync(text) : text);
  return path;
}

async function readAll(path: string): Promise<TraceItem[]> {
  const items: TraceItem[] = [];
  for await (const item of readHcallTrace(path)) items.push(item);
  return items;
}

/** The one-line message `parseHcallLine` throws for `text` on `line` of trace.jsonl. */
function errorOf(text: string, line = 5): string {
  try {
    parseHcallLine(text, "trace.jsonl", line);
  } catch (e) {
    expect(e).toBeInstanceOf(TraceError);
    return (e as Error).message;
  }
  throw new Error(`no error for ${text}`);
}

const ENTER = '{"hcall":"H_ENTER","flags":"0x0","args":["0x590b8","0x400ea1b217000015","0x1190"],"ret":0,"out":["0x590b8"],"cpu":0}';

describe("parseHcallLine", () => {
  test("reads a call line of the Linux boot trace", () => {
    expect(parseHcallLine(ENTER, "t", 2)).toEqual({
      kind: "call",
      line: 2,
      hcall: "H_ENTER",
      flags: 0n,
      args: [0x590b8n, 0x400ea1b217000015n, 0x1190n],
      ret: 0,
      out: [0x590b8n],
      problemState: false,
      cpu: 0,
    });
  });

  test("values: hex of any case, 1..16 digits, or non-negative safe integers", () => {
    const c = parseHcallLine('{"hcall":"H_READ","flags":"0X2000000000","args":["0xFFFFFFFFFFFFFFFF"]}', "t", 3) as TraceCall;
    expect(c.flags).toBe(0x2000000000n);
    expect(c.args).toEqual([0xffffffffffffffffn]);
    const d = parseHcallLine('{"hcall":"H_REMOVE","flags":0,"args":[9007199254740991,"0xaBc"]}', "t", 3) as TraceCall;
    expect(d.args).toEqual([9007199254740991n, 0xabcn]);
    expect(d.ret).toBeUndefined();
    expect(d.out).toBeUndefined();
  });

  test("optional keys: problem_state, cpu, lpid; unknown keys such as case are ignored", () => {
    const c = parseHcallLine(
      '{"case":"pr","hcall":"H_PROTECT","flags":"0x1","args":["0x8","0x0"],"ret":-3,"out":[],"problem_state":true,"cpu":7,"lpid":3,"note":{"x":1}}',
      "t",
      4,
    ) as TraceCall;
    expect(c).toMatchObject({ hcall: "H_PROTECT", ret: -3, out: [], problemState: true, cpu: 7, lpid: 3 });
  });

  test("blank lines are ignored", () => {
    expect(parseHcallLine("", "t", 1)).toBeUndefined();
    expect(parseHcallLine("  \t ", "t", 9)).toBeUndefined();
  });

  test.each([
    ['"0xZZ"', 'trace.jsonl:5: args[1]: "0xZZ" is not a hex value of at most 16 digits'],
    ['"0x"', 'trace.jsonl:5: args[1]: "0x" is not a hex value of at most 16 digits'],
    ['"0x10000000000000000"', 'trace.jsonl:5: args[1]: "0x10000000000000000" is not a hex value of at most 16 digits'],
    ['"1234"', 'trace.jsonl:5: args[1]: "1234" is not a hex value of at most 16 digits'],
    ['" 0x1"', 'trace.jsonl:5: args[1]: " 0x1" is not a hex value of at most 16 digits'],
    ["-1", 'trace.jsonl:5: args[1]: -1 is not a non-negative safe integer (write 64-bit values as "0x…" strings)'],
    ["1.5", 'trace.jsonl:5: args[1]: 1.5 is not a non-negative safe integer (write 64-bit values as "0x…" strings)'],
    ["9007199254740992", 'trace.jsonl:5: args[1]: 9007199254740992 is not a non-negative safe integer (write 64-bit values as "0x…" strings)'],
    ["18446744073709551615", 'trace.jsonl:5: args[1]: 18446744073709552000 is not a non-negative safe integer (write 64-bit values as "0x…" strings)'],
    ["true", 'trace.jsonl:5: args[1]: true is not a register value ("0x…" hex string or non-negative safe integer)'],
    ["null", 'trace.jsonl:5: args[1]: null is not a register value ("0x…" hex string or non-negative safe integer)'],
    ['["0x1"]', 'trace.jsonl:5: args[1]: ["0x1"] is not a register value ("0x…" hex string or non-negative safe integer)'],
  ])("a bad value %s names its field", (value, message) => {
    expect(errorOf(`{"hcall":"H_REMOVE","flags":"0x0","args":["0x1",${value}]}`)).toBe(message);
  });

  test("bad flags and out values name flags and out[i]", () => {
    expect(errorOf('{"hcall":"H_REMOVE","flags":"0xg","args":["0x1","0x2"]}')).toBe('trace.jsonl:5: flags: "0xg" is not a hex value of at most 16 digits');
    expect(errorOf('{"hcall":"H_REMOVE","flags":"0x0","args":["0x1","0x2"],"ret":0,"out":["0x1",-2]}')).toBe(
      'trace.jsonl:5: out[1]: -2 is not a non-negative safe integer (write 64-bit values as "0x…" strings)',
    );
  });

  test.each([
    ['{"flags":"0x0","args":[]}', "trace.jsonl:5: hcall: missing"],
    ['{"hcall":"H_ENTER","args":["0x0","0x0","0x0"]}', "trace.jsonl:5: flags: missing"],
    ['{"hcall":"H_ENTER","flags":"0x0"}', "trace.jsonl:5: args: missing"],
    ['{"hcall":"H_ENTER","flags":"0x0","args":"0x0"}', 'trace.jsonl:5: args: "0x0" is not an array'],
    ['{"hcall":"H_ENTER","flags":"0x0","args":["0x0","0x0","0x0"],"out":{}}', "trace.jsonl:5: out: {} is not an array"],
  ])("missing or mistyped key: %s", (text, message) => {
    expect(errorOf(text)).toBe(message);
  });

  test.each<[HcallName, number]>([
    ["H_ENTER", 3],
    ["H_REMOVE", 2],
    ["H_PROTECT", 2],
    ["H_READ", 1],
    ["H_BULK_REMOVE", 8],
  ])("%s takes exactly %i args", (hcall, n) => {
    const args = (k: number) => JSON.stringify(Array.from({ length: k }, (_, i) => `0x${i}`));
    expect(parseHcallLine(`{"hcall":"${hcall}","flags":"0x0","args":${args(n)}}`, "t", 1)).toMatchObject({ hcall, args: expect.any(Array) });
    const plural = n === 1 ? "value" : "values";
    expect(errorOf(`{"hcall":"${hcall}","flags":"0x0","args":${args(n + 1)}}`)).toBe(`trace.jsonl:5: args: ${hcall} takes ${n} ${plural}, got ${n + 1}`);
    expect(errorOf(`{"hcall":"${hcall}","flags":"0x0","args":${args(n - 1)}}`)).toBe(`trace.jsonl:5: args: ${hcall} takes ${n} ${plural}, got ${n - 1}`);
  });

  test("out has the length of the hcall's outputs (H_READ: 2, or 8 with H_READ_4)", () => {
    expect(errorOf('{"hcall":"H_ENTER","flags":"0x0","args":["0x0","0x0","0x0"],"ret":0,"out":[]}')).toBe("trace.jsonl:5: out: H_ENTER returns 1 value, got 0");
    expect(errorOf('{"hcall":"H_PROTECT","flags":"0x0","args":["0x0","0x0"],"ret":0,"out":["0x0"]}')).toBe("trace.jsonl:5: out: H_PROTECT returns 0 values, got 1");
    const eight = JSON.stringify(Array(8).fill("0x40"));
    expect(parseHcallLine(`{"hcall":"H_READ","flags":"0x2000000000","args":["0x4"],"ret":0,"out":${eight}}`, "t", 1)).toMatchObject({ out: Array(8).fill(0x40n) });
    expect(errorOf(`{"hcall":"H_READ","flags":"0x0","args":["0x4"],"ret":0,"out":${eight}}`)).toBe("trace.jsonl:5: out: H_READ returns 2 values, got 8");
    expect(errorOf('{"hcall":"H_READ","flags":"0x2000000000","args":["0x4"],"ret":0,"out":["0x0","0x0"]}')).toBe(
      "trace.jsonl:5: out: H_READ with H_READ_4 returns 8 values, got 2",
    );
  });

  test("unknown or misspelt hcalls are refused", () => {
    const list = "H_ENTER, H_REMOVE, H_PROTECT, H_READ, H_BULK_REMOVE";
    expect(errorOf('{"hcall":"H_CLEAR_MOD","flags":"0x0","args":[]}')).toBe(`trace.jsonl:5: hcall: "H_CLEAR_MOD" is not one of ${list}`);
    expect(errorOf('{"hcall":"h_enter","flags":"0x0","args":[]}')).toBe(`trace.jsonl:5: hcall: "h_enter" is not one of ${list}`);
    expect(errorOf('{"hcall":8,"flags":"0x0","args":[]}')).toBe(`trace.jsonl:5: hcall: 8 is not one of ${list}`);
  });

  test("ret is a signed integer", () => {
    const call = (ret: string) => `{"hcall":"H_REMOVE","flags":"0x0","args":["0x1","0x2"],"ret":${ret}}`;
    expect(parseHcallLine(call("-7"), "t", 1)).toMatchObject({ ret: -7 });
    expect(errorOf(call("-4.5"))).toBe("trace.jsonl:5: ret: -4.5 is not a signed integer");
    expect(errorOf(call('"0x0"'))).toBe('trace.jsonl:5: ret: "0x0" is not a signed integer');
    expect(errorOf(call("null"))).toBe("trace.jsonl:5: ret: null is not a signed integer");
  });

  test("H_BULK_REMOVE has no flags word: flags must be 0x0", () => {
    const words = JSON.stringify(["0xc000000000000000", "0x0", "0x0", "0x0", "0x0", "0x0", "0x0", "0x0"]);
    expect(parseHcallLine(`{"hcall":"H_BULK_REMOVE","flags":0,"args":${words}}`, "t", 1)).toMatchObject({ flags: 0n });
    expect(errorOf(`{"hcall":"H_BULK_REMOVE","flags":"0x10000000","args":${words}}`)).toBe(
      'trace.jsonl:5: flags: "0x10000000": H_BULK_REMOVE has no flags word, it must be 0x0',
    );
  });

  test("problem_state, cpu and lpid are checked", () => {
    const base = '{"hcall":"H_READ","flags":"0x0","args":["0x0"]';
    expect(errorOf(`${base},"problem_state":1}`)).toBe("trace.jsonl:5: problem_state: 1 is not true or false");
    expect(errorOf(`${base},"cpu":-1}`)).toBe("trace.jsonl:5: cpu: -1 is not a non-negative integer");
    expect(errorOf(`${base},"cpu":"0x1"}`)).toBe('trace.jsonl:5: cpu: "0x1" is not a non-negative integer');
    expect(errorOf(`${base},"lpid":1.5}`)).toBe("trace.jsonl:5: lpid: 1.5 is not a non-negative integer");
  });

  test("lines that are not JSON objects", () => {
    expect(errorOf('{"hcall":"H_READ",')).toMatch(/^trace\.jsonl:5: not valid JSON \(.+\)$/);
    expect(errorOf("[1,2]")).toBe("trace.jsonl:5: [1,2] is not a JSON object");
    expect(errorOf("42")).toBe("trace.jsonl:5: 42 is not a JSON object");
    expect(errorOf("null")).toBe("trace.jsonl:5: null is not a JSON object");
  });

  test("a header is read on line 1 only", () => {
    const header = '{"config":{"semantics":"qemu","ram_bytes":1073741824,"hpt_order":23,"hpt_max_page_shift":16,"smp":2},"layout":{}}';
    expect(parseHcallLine(header, "t", 1)).toEqual({
      kind: "header",
      line: 1,
      config: { semantics: "qemu", ramBytes: 1073741824, hptOrder: 23, hptMaxPageShift: 16 },
      raw: { semantics: "qemu", ram_bytes: 1073741824, hpt_order: 23, hpt_max_page_shift: 16, smp: 2 },
    });
    expect(parseHcallLine('{"config":{}}', "t", 1)).toMatchObject({ kind: "header", config: {} });
    expect(errorOf(header, 2)).toBe("trace.jsonl:2: config: a header is only valid on line 1");
    expect(errorOf(header, 300)).toBe("trace.jsonl:300: config: a header is only valid on line 1");
  });

  test.each([
    ['{"config":[]}', "trace.jsonl:1: config: [] is not an object"],
    ['{"config":{"semantics":"tcg"}}', 'trace.jsonl:1: config.semantics: "tcg" is not "kvm-hv" or "qemu"'],
    ['{"config":{"ram_bytes":-1}}', "trace.jsonl:1: config.ram_bytes: -1 is not a byte count in 1..2^40"],
    ['{"config":{"ram_bytes":"1G"}}', 'trace.jsonl:1: config.ram_bytes: "1G" is not a byte count in 1..2^40'],
    ['{"config":{"hpt_order":17}}', "trace.jsonl:1: config.hpt_order: 17 is not an integer in 18..46"],
    ['{"config":{"hpt_order":47}}', "trace.jsonl:1: config.hpt_order: 47 is not an integer in 18..46"],
    ['{"config":{"hpt_max_page_shift":20}}', "trace.jsonl:1: config.hpt_max_page_shift: 20 is not 12, 16 or 24"],
  ])("a bad header %s names the config key", (text, message) => {
    expect(errorOf(text, 1)).toBe(message);
  });

  test("TraceError carries file, line and field", () => {
    try {
      parseHcallLine('{"hcall":"H_ENTER","flags":"0x0","args":["0x1","0xZZ","0x3"]}', "trace.jsonl", 1042);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TraceError);
      const err = e as TraceError;
      expect(err.message).toBe('trace.jsonl:1042: args[1]: "0xZZ" is not a hex value of at most 16 digits');
      expect([err.file, err.line, err.field]).toEqual(["trace.jsonl", 1042, "args[1]"]);
      expect(err.message).not.toContain("\n");
    }
  });
});

describe("headerToGuestOptions", () => {
  test("defaults: kvm-hv, 256 MiB, QEMU's hpt_order rule, max page shift 24", () => {
    expect(headerToGuestOptions(undefined)).toEqual({ semantics: "kvm-hv", ramBytes: 256 * 2 ** 20, hptOrder: 21, hptMaxPageShift: 24 });
  });

  test("header values, and hpt_order from ram_bytes when absent", () => {
    expect(headerToGuestOptions({ semantics: "qemu", ram_bytes: 2 ** 30 })).toEqual({ semantics: "qemu", ramBytes: 2 ** 30, hptOrder: 23, hptMaxPageShift: 24 });
    const header = parseHcallLine('{"config":{"semantics":"qemu","ram_bytes":1073741824,"hpt_order":25,"hpt_max_page_shift":16}}', "t", 1)!;
    expect(header.kind).toBe("header");
    if (header.kind !== "header") return;
    expect(headerToGuestOptions(header)).toEqual({ semantics: "qemu", ramBytes: 2 ** 30, hptOrder: 25, hptMaxPageShift: 16 });
    // Overrides win key by key; a header's explicit hpt_order stays when only the RAM is overridden.
    expect(headerToGuestOptions(header, { semantics: "kvm-hv", ramBytes: 2 ** 28 })).toEqual({ semantics: "kvm-hv", ramBytes: 2 ** 28, hptOrder: 25, hptMaxPageShift: 16 });
    expect(headerToGuestOptions({ ram_bytes: 2 ** 30 }, { ramBytes: 2 ** 34 })).toMatchObject({ hptOrder: 27 });
    expect(headerToGuestOptions({}, { hptOrder: 18, hptMaxPageShift: 12 })).toMatchObject({ hptOrder: 18, hptMaxPageShift: 12 } satisfies GuestOptionsInput);
  });

  test("a raw header is validated; a bad override is a ConfigError naming it", () => {
    expect(() => headerToGuestOptions({ hpt_order: 99 }, {}, "t.jsonl")).toThrow("t.jsonl:1: config.hpt_order: 99 is not an integer in 18..46");
    expect(() => headerToGuestOptions(undefined, { hptOrder: 50 })).toThrow(ConfigError);
    expect(() => headerToGuestOptions(undefined, { hptOrder: 50 })).toThrow("hptOrder: 50 is not an integer in 18..46");
    expect(() => headerToGuestOptions(undefined, { semantics: "pr" })).toThrow('semantics: "pr" is not "kvm-hv" or "qemu"');
  });
});

describe("readHcallTrace", () => {
  const text = [
    '{"config":{"semantics":"qemu","ram_bytes":1073741824}}',
    ENTER,
    "",
    '{"hcall":"H_REMOVE","flags":"0x0","args":["0x590b8","0x0"],"ret":0,"out":["0x400ea1b217000055","0x1190"],"cpu":1}',
    "   ",
    '{"hcall":"H_PROTECT","flags":"0x1","args":["0x8","0x0"],"ret":-7,"out":[]}',
  ].join("\n");

  test("gzip and plain give identical items; blank lines count in line numbers", async () => {
    const plain = await readAll(traceFile(`${text}\n`));
    const gzip = await readAll(traceFile(`${text}\n`, { gzip: true, name: "trace.jsonl.gz" }));
    expect(gzip).toEqual(plain);
    expect(plain.map((i) => [i.kind, i.line])).toEqual([
      ["header", 1],
      ["call", 2],
      ["call", 4],
      ["call", 6],
    ]);
  });

  test("gzip is recognised by its magic bytes, not by the file name", async () => {
    const expected = await readAll(traceFile(text));
    expect(await readAll(traceFile(text, { gzip: true, name: "plain-looking.jsonl" }))).toEqual(expected);
    expect(await readAll(traceFile(text, { name: "gzip-looking.jsonl.gz" }))).toEqual(expected);
  });

  test("CRLF line ends and a last line without newline are accepted", async () => {
    const expected = await readAll(traceFile(`${text}\n`));
    expect(await readAll(traceFile(text.replaceAll("\n", "\r\n")))).toEqual(expected);
    expect(await readAll(traceFile(text))).toEqual(expected);
    expect(await readAll(traceFile(text, { gzip: true }))).toEqual(expected);
  });

  test("a truncated last line that is not valid JSON is an error on that line", async () => {
    const path = traceFile(`${text}\n{"hcall":"H_ENTER","fla`);
    await expect(readAll(path)).rejects.toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:7: not valid JSON`));
  });

  test("errors name the file as given and the physical line", async () => {
    const path = traceFile(`${text}\n\n{"hcall":"H_ENTER","flags":"0x0","args":["0x1","0xZZ","0x3"]}\n`, { gzip: true });
    await expect(readAll(path)).rejects.toThrow(`${path}:8: args[1]: "0xZZ" is not a hex value of at most 16 digits`);
    const late = traceFile(`${ENTER}\n{"config":{}}\n`);
    await expect(readAll(late)).rejects.toThrow(`${late}:2: config: a header is only valid on line 1`);
  });

  test("a missing file, a corrupt gzip stream, and a line with no end are TraceErrors", async () => {
    await expect(readAll(join(dir, "absent.jsonl"))).rejects.toThrow(`${join(dir, "absent.jsonl")}: cannot read: no such file`);
    const gz = gzipSync(`${text}\n${text.slice(text.indexOf("\n") + 1)}\n`);
    const cut = join(dir, "cut.jsonl.gz");
    writeFileSync(cut, gz.subarray(0, gz.length - 12));
    const err = await readAll(cut).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TraceError);
    expect((err as TraceError).message).toMatch(/cut\.jsonl\.gz:\d+: gzip data is corrupt or truncated \(/);
    const long = traceFile(`${ENTER}\n${"x".repeat((1 << 20) + 10)}`);
    await expect(readAll(long)).rejects.toThrow(`${long}:2: line is longer than 1048576 characters`);
  });

  test("the Linux boot fixture: header, then 20,000 calls with ret and out", async () => {
    let calls = 0;
    let header: TraceItem | undefined;
    const seen = new Set<string>();
    for await (const item of readHcallTrace(FIXTURE)) {
      if (item.kind === "header") header = item;
      else {
        calls++;
        seen.add(item.hcall);
        expect(item.ret).toBeDefined();
        expect(item.line).toBe(calls + 1);
      }
    }
    expect(calls).toBe(20_000);
    expect(header).toMatchObject({ kind: "header", line: 1, config: { semantics: "qemu", ramBytes: 2 ** 30, hptOrder: 23, hptMaxPageShift: 16 } });
    // The boot's first 20,000 calls map the kernel and early user space: H_ENTER and H_REMOVE only.
    expect([...seen].sort()).toEqual(["H_ENTER", "H_REMOVE"]);
  });
});

// ---- properties ----

const word = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
/** A register value as a trace may write it: hex of random case, or a plain number when safe. */
const encoded = (v: bigint) =>
  fc.oneof(
    fc.constant(`0x${v.toString(16)}`),
    fc.constant(`0x${v.toString(16).toUpperCase()}`),
    fc.nat({ max: 3 }).map((pad) => `0x${"0".repeat(Math.min(pad, 16 - v.toString(16).length))}${v.toString(16)}`),
    ...(v <= BigInt(Number.MAX_SAFE_INTEGER) ? [fc.constant<number | string>(Number(v))] : []),
  );
const words = (n: number) => fc.array(word, { minLength: n, maxLength: n });
const HCALLS: { hcall: HcallName; nargs: number; nout: number; flags?: bigint }[] = [
  { hcall: "H_ENTER", nargs: 3, nout: 1 },
  { hcall: "H_REMOVE", nargs: 2, nout: 2 },
  { hcall: "H_PROTECT", nargs: 2, nout: 0 },
  { hcall: "H_READ", nargs: 1, nout: 2, flags: 0n },
  { hcall: "H_READ", nargs: 1, nout: 8, flags: 0x2000000000n },
  { hcall: "H_BULK_REMOVE", nargs: 8, nout: 8, flags: 0n },
];
const validCall = fc
  .constantFrom(...HCALLS)
  .chain((h) =>
    fc.record(
      {
        hcall: fc.constant(h.hcall),
        flags: h.flags === undefined ? word : fc.constant(h.flags),
        args: words(h.nargs),
        ret: fc.integer({ min: -9999, max: 9999 }),
        out: words(h.nout),
        problemState: fc.boolean(),
        cpu: fc.nat({ max: 4096 }),
        lpid: fc.nat({ max: 4095 }),
      },
      { requiredKeys: ["hcall", "flags", "args", "problemState", "cpu"] },
    ),
  );

/** Serialises a call as a trace line, each value encoded one of the accepted ways. */
function lineOf(call: Omit<TraceCall, "kind" | "line">) {
  const enc = (v: bigint) => encoded(v);
  return fc
    .tuple(enc(call.flags), fc.tuple(...call.args.map(enc)), call.out ? fc.tuple(...call.out.map(enc)) : fc.constant(undefined), fc.boolean())
    .map(([flags, args, out, withPs]) => {
      const o: Record<string, unknown> = { case: "random", hcall: call.hcall, flags, args };
      if (call.ret !== undefined) o.ret = call.ret;
      if (out !== undefined) o.out = out;
      if (call.problemState || withPs) o.problem_state = call.problemState;
      if (call.cpu !== 0 || withPs) o.cpu = call.cpu;
      if (call.lpid !== undefined) o.lpid = call.lpid;
      return JSON.stringify(o);
    });
}

describe("properties", () => {
  propTest.prop([validCall.chain((c) => fc.tuple(fc.constant(c), lineOf(c as TraceCall)))], { seed: 20240611, numRuns: 300 })(
    "serialise then parse gives the call back",
    ([call, text]) => {
      expect(parseHcallLine(text, "t", 2)).toEqual({ kind: "call", line: 2, ...call });
    },
  );

  const garbage = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.json({ maxDepth: 3 }),
    // A valid line with one character replaced, dropped or inserted.
    fc.tuple(fc.nat({ max: ENTER.length - 1 }), fc.string({ minLength: 0, maxLength: 2 })).map(([i, s]) => ENTER.slice(0, i) + s + ENTER.slice(i + 1)),
    // Valid shapes with random values in every key.
    fc.record({ hcall: fc.oneof(fc.constantFrom("H_ENTER", "H_READ", "H_BULK_REMOVE"), fc.jsonValue()), flags: fc.jsonValue(), args: fc.jsonValue(), ret: fc.jsonValue(), out: fc.jsonValue(), cpu: fc.jsonValue(), problem_state: fc.jsonValue(), config: fc.oneof(fc.constant(undefined), fc.jsonValue()) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  );
  propTest.prop([garbage, fc.integer({ min: 1, max: 3 })], { seed: 7, numRuns: 2000 })("garbage either parses or throws a TraceError", (text, line) => {
    try {
      parseHcallLine(text, "g.jsonl", line);
    } catch (e) {
      expect(e).toBeInstanceOf(TraceError);
      expect((e as Error).message.startsWith(`g.jsonl:${line}: `)).toBe(true);
      expect((e as Error).message).not.toContain("\n");
    }
  });
});

// ---- replay, on a scripted fake machine ----

interface Executed {
  hcall: HcallName;
  flags: bigint;
  args: bigint[];
  cpu: number | undefined;
  problemState: boolean | undefined;
}

type Responder = (hcall: HcallName, flags: bigint, args: readonly bigint[]) => HcallResult;

/** A machine whose single guest answers every call with `respond` and records what it was asked. */
class FakeMachine {
  readonly executed: Executed[] = [];
  readonly guests: GuestOptionsInput[] = [];
  constructor(
    readonly cfg: unknown,
    readonly respond: Responder,
  ) {}
  asMachine(): SimMachine {
    const call = (hcall: HcallName, flags: bigint, args: bigint[], opts: HcallOptions | undefined) => {
      this.executed.push({ hcall, flags, args, cpu: opts?.cpu, problemState: opts?.problemState });
      return this.respond(hcall, flags, args);
    };
    const guest = {
      lpid: 1,
      hEnter: (f: bigint, a: bigint, b: bigint, c: bigint, o?: HcallOptions) => call("H_ENTER", f, [a, b, c], o),
      hRemove: (f: bigint, a: bigint, b: bigint, o?: HcallOptions) => call("H_REMOVE", f, [a, b], o),
      hProtect: (f: bigint, a: bigint, b: bigint, o?: HcallOptions) => call("H_PROTECT", f, [a, b], o),
      hRead: (f: bigint, a: bigint, o?: HcallOptions) => call("H_READ", f, [a], o),
      hBulkRemove: (w: readonly bigint[], o?: HcallOptions) => call("H_BULK_REMOVE", 0n, [...w], o),
    } as unknown as SimGuest;
    return {
      createGuest: (opts?: GuestOptionsInput) => {
        this.guests.push(opts ?? {});
        return guest;
      },
    } as unknown as SimMachine;
  }
}

/** Echo semantics, enough to exercise the loop and the check (not the hcalls' real semantics). */
const echo: Responder = (hcall, flags, args) => {
  switch (hcall) {
    case "H_ENTER": return { ret: 0, out: [args[0]!] };
    // avpn 0 stands for "not found": the registers keep their inputs.
    case "H_REMOVE": return args[1] === 0n ? { ret: -7, out: [flags, args[0]!] } : { ret: 0, out: [args[0]! | 0x40n, args[1]!] };
    case "H_PROTECT": return { ret: flags === 0n ? -7 : 0, out: [] };
    case "H_READ": return { ret: 0, out: (flags & 0x2000000000n) !== 0n ? Array(8).fill(0x40n) : [0x40n, 0n] };
    // Each request (type 01) of a high word becomes a success response (type 10), flags and ptex kept.
    case "H_BULK_REMOVE": return { ret: 0, out: args.map((w, i) => (i % 2 === 0 && w >> 62n === 1n ? (w & 0x3fffffffffffffffn) | 0x8000000000000000n : w)) };
  }
};

function fakeFactory(respond: Responder = echo) {
  const made: FakeMachine[] = [];
  return {
    made,
    makeMachine: (cfg: unknown) => {
      const m = new FakeMachine(cfg, respond);
      made.push(m);
      return m.asMachine();
    },
  };
}

const BULK_IN = ["0x4200000000049af9", "0x40046e93b0000080", "0xc000000000000000", "0x0", "0x0", "0x0", "0x0", "0x0"];
const BULK_OUT = ["0x8200000000049af9", "0x40046e93b0000080", "0xc000000000000000", "0x0", "0x0", "0x0", "0x0", "0x0"];
const SMALL = [
  '{"config":{"semantics":"qemu","ram_bytes":1073741824,"hpt_order":23,"hpt_max_page_shift":16}}',
  '{"hcall":"H_ENTER","flags":"0x0","args":["0x590b8","0x400ea1b217000015","0x1190"],"ret":0,"out":["0x590b8"],"cpu":1}',
  '{"hcall":"H_REMOVE","flags":"0x40000000","args":["0x590b8","0x10"],"ret":0,"out":["0x590f8","0x10"]}',
  '{"hcall":"H_PROTECT","flags":"0x0","args":["0x8","0x0"],"ret":-7,"out":[]}',
  '{"hcall":"H_READ","flags":"0x2000000000","args":["0x4"],"ret":0,"out":["0x40","0x40","0x40","0x40","0x40","0x40","0x40","0x40"],"problem_state":true}',
  `{"hcall":"H_BULK_REMOVE","flags":"0x0","args":${JSON.stringify(BULK_IN)},"ret":0,"out":${JSON.stringify(BULK_OUT)},"cpu":255}`,
];

describe("replayHcalls", () => {
  test("executes every call in order with its cpu and problem state, on a guest from the header", async () => {
    const f = fakeFactory();
    const file = traceFile(SMALL.join("\n"));
    const results: string[] = [];
    const summary = await replayHcalls({ file, makeMachine: f.makeMachine, check: true, onResult: (r) => void results.push(formatResultLine(r)) });
    expect(summary).toMatchObject({ calls: 5, mismatches: 0 });
    expect(summary.firstMismatch).toBeUndefined();
    expect(f.made).toHaveLength(1);
    expect(f.made[0]!.cfg).toEqual({ cores: 64, smt: 4 });
    expect(f.made[0]!.guests).toEqual([{ semantics: "qemu", ramBytes: 2 ** 30, hptOrder: 23, hptMaxPageShift: 16 }]);
    expect(f.made[0]!.executed).toEqual([
      { hcall: "H_ENTER", flags: 0n, args: [0x590b8n, 0x400ea1b217000015n, 0x1190n], cpu: 1, problemState: false },
      { hcall: "H_REMOVE", flags: 0x40000000n, args: [0x590b8n, 0x10n], cpu: 0, problemState: false },
      { hcall: "H_PROTECT", flags: 0n, args: [0x8n, 0n], cpu: 0, problemState: false },
      { hcall: "H_READ", flags: 0x2000000000n, args: [0x4n], cpu: 0, problemState: true },
      { hcall: "H_BULK_REMOVE", flags: 0n, args: BULK_IN.map(BigInt), cpu: 255, problemState: false },
    ]);
    expect(results).toEqual([
      '{"line":2,"hcall":"H_ENTER","ret":0,"out":["0x590b8"]}',
      '{"line":3,"hcall":"H_REMOVE","ret":0,"out":["0x590f8","0x10"]}',
      '{"line":4,"hcall":"H_PROTECT","ret":-7,"out":[]}',
      `{"line":5,"hcall":"H_READ","ret":0,"out":${JSON.stringify(Array(8).fill("0x40"))}}`,
      `{"line":6,"hcall":"H_BULK_REMOVE","ret":0,"out":${JSON.stringify(BULK_OUT)}}`,
    ]);
  });

  test("overrides beat the header; no header gives the defaults", async () => {
    const f = fakeFactory();
    await replayHcalls({ file: traceFile(SMALL.join("\n")), makeMachine: f.makeMachine, check: false, semantics: "kvm-hv", hptOrder: 30, ramBytes: 2 ** 33 });
    expect(f.made[0]!.guests[0]).toEqual({ semantics: "kvm-hv", ramBytes: 2 ** 33, hptOrder: 30, hptMaxPageShift: 16 });
    expect(f.made[0]!.cfg).toEqual({ cores: 64, smt: 4, hostMemoryBytes: 2 ** 33 });
    const g = fakeFactory();
    await replayHcalls({ file: traceFile(SMALL.slice(1).join("\n")), makeMachine: g.makeMachine, check: false });
    expect(g.made[0]!.guests[0]).toEqual({ semantics: "kvm-hv", ramBytes: 2 ** 28, hptOrder: 21, hptMaxPageShift: 24 });
  });

  test("check: ret mismatch, out mismatch, out not compared after a failure, H_BULK_REMOVE out always compared", async () => {
    const lines = [
      // 1: ret differs (expected -4, echo gives 0).
      '{"hcall":"H_ENTER","flags":"0x0","args":["0x8","0x1","0x2"],"ret":-4,"out":["0x8"]}',
      // 2: out[0] differs.
      '{"hcall":"H_ENTER","flags":"0x0","args":["0x10","0x1","0x2"],"ret":0,"out":["0x17"]}',
      // 3: expected ret -7 matches; out is not compared after a failure.
      '{"hcall":"H_PROTECT","flags":"0x0","args":["0x8","0x0"],"ret":-7,"out":[]}',
      '{"hcall":"H_REMOVE","flags":"0x0","args":["0x10","0x0"],"ret":-7,"out":["0xdead","0xbeef"]}',
      // 5: no ret: nothing to compare but out.
      '{"hcall":"H_READ","flags":"0x0","args":["0x4"]}',
      '{"hcall":"H_READ","flags":"0x0","args":["0x4"],"out":["0x40","0x1"]}',
      // 7: H_BULK_REMOVE with a failing ret still compares out — but ret is compared first.
      `{"hcall":"H_BULK_REMOVE","flags":"0x0","args":${JSON.stringify(BULK_IN)},"ret":0,"out":${JSON.stringify(BULK_OUT.map((w, i) => (i === 2 ? "0xC000000000000001" : w)))}}`,
    ];
    const file = traceFile(lines.join("\n"), { gzip: true });
    const mismatches: (string | undefined)[] = [];
    const summary = await replayHcalls({ file, makeMachine: fakeFactory().makeMachine, check: true, onResult: (_r, _c, m) => void mismatches.push(m) });
    expect(summary.calls).toBe(7);
    expect(summary.mismatches).toBe(4);
    expect(summary.firstMismatch).toBe(`${file}:1: H_ENTER: ret: expected -4 got 0`);
    expect(mismatches).toEqual([
      `${file}:1: H_ENTER: ret: expected -4 got 0`,
      `${file}:2: H_ENTER: out[0]: expected 0x17 got 0x10`,
      undefined,
      undefined,
      undefined,
      `${file}:6: H_READ: out[1]: expected 0x1 got 0x0`,
      `${file}:7: H_BULK_REMOVE: out[2]: expected 0xc000000000000001 got 0xc000000000000000`,
    ]);
  });

  test("compareResult: H_BULK_REMOVE out is compared even when ret is not 0; lengths are compared", () => {
    const bulk = parseHcallLine(`{"hcall":"H_BULK_REMOVE","flags":"0x0","args":${JSON.stringify(BULK_IN)},"ret":-4,"out":${JSON.stringify(BULK_OUT)}}`, "t", 1) as TraceCall;
    const out = BULK_OUT.map(BigInt);
    expect(compareResult(bulk, { ret: -4, out })).toBeUndefined();
    out[0] = 0xa200000000049af9n;
    expect(compareResult(bulk, { ret: -4, out })).toBe("out[0]: expected 0x8200000000049af9 got 0xa200000000049af9");
    const read = parseHcallLine('{"hcall":"H_READ","flags":"0x0","args":["0x4"],"ret":0,"out":["0x40","0x0"]}', "t", 1) as TraceCall;
    expect(compareResult(read, { ret: 0, out: [0x40n, 0n, 0x40n] })).toBe("out: expected 2 values got 3");
  });

  test("a simulator's RangeError while building the machine or guest is a ConfigError", async () => {
    const file = traceFile(ENTER);
    const noGuest = () => ({ createGuest: () => { throw new RangeError("createGuest: hptOrder 46 needs 128 TiB"); } }) as unknown as SimMachine;
    const err = await replayHcalls({ file, makeMachine: noGuest, check: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe("guest: hptOrder 46 needs 128 TiB");
    const noMachine = () => { throw new RangeError("machine: needs 5 GiB before any guest"); };
    await expect(replayHcalls({ file, makeMachine: noMachine, check: true })).rejects.toThrow(new ConfigError("machine", "needs 5 GiB before any guest"));
    const bug = () => { throw new TypeError("x is undefined"); };
    await expect(replayHcalls({ file, makeMachine: bug, check: true })).rejects.toThrow(TypeError);
  });

  test("on the engine, calls run in batches: the reference model's results, each call reported once before a bad line or an abort", async () => {
    // 9,000 calls of the real trace (more than two op buffers of 4,096), a bad line, then more calls
    const head = gunzipSync(readFileSync(FIXTURE)).toString("utf8").split("\n").slice(0, 9001);
    const file = traceFile([...head, '{"hcall":"H_ENTER","flags":"0x0","args":["0x8"]}', ...head.slice(1, 50)].join("\n"), { gzip: true });
    const replay = async (engine: "wasm" | "reference", stopAt = Infinity) => {
      const lines: string[] = [];
      const err = await replayHcalls({
        file, check: true, makeMachine: (cfg) => makeMachine(engine, cfg),
        onResult: (r) => {
          lines.push(formatResultLine(r));
          if (lines.length === stopAt) throw new Error("consumer stops");
        },
      }).then(() => new Error("no error"), (e: unknown) => e as Error);
      return { lines, err };
    };
    const wasm = await replay("wasm");
    const ref = await replay("reference");
    expect(wasm.err).toBeInstanceOf(TraceError);
    expect(wasm.err.message).toBe(ref.err.message);
    expect(wasm.err.message.startsWith(`${file}:9002: `)).toBe(true);
    expect(wasm.lines).toHaveLength(9000);
    expect(wasm.lines).toEqual(ref.lines);
    // a consumer that stops mid-batch: nothing runs or is reported twice
    const stopped = await replay("wasm", 5000);
    expect(stopped.err.message).toBe("consumer stops");
    expect(stopped.lines).toEqual(wasm.lines.slice(0, 5000));
  });

  test("without check nothing is compared", async () => {
    const file = traceFile('{"hcall":"H_ENTER","flags":"0x0","args":["0x8","0x1","0x2"],"ret":-4}\n');
    expect(await replayHcalls({ file, makeMachine: fakeFactory().makeMachine, check: false })).toMatchObject({ calls: 1, mismatches: 0 });
  });

  test("a cpu beyond the machine and a second lpid are TraceErrors", async () => {
    const cpu = traceFile(`${ENTER}\n${ENTER.replace('"cpu":0', '"cpu":256')}\n`);
    await expect(replayHcalls({ file: cpu, makeMachine: fakeFactory().makeMachine, check: true })).rejects.toThrow(
      `${cpu}:2: cpu: 256 is not below the machine's 256 cpus (64 cores × SMT 4)`,
    );
    await expect(replayHcalls({ file: cpu, makeMachine: fakeFactory().makeMachine, check: true, cores: 128 })).resolves.toMatchObject({ calls: 2 });
    const lpid = traceFile(`${ENTER.replace("}", ',"lpid":3}')}\n${ENTER}\n${ENTER.replace("}", ',"lpid":4}')}\n`);
    await expect(replayHcalls({ file: lpid, makeMachine: fakeFactory().makeMachine, check: true })).rejects.toThrow(
      `${lpid}:3: lpid: 4: replay runs one guest, and this trace's calls began with lpid 3`,
    );
  });

  test("the boot fixture replays with 0 mismatches against its own results, and a changed word is caught", async () => {
    // An oracle fake: answers each call with the result recorded in the fixture.
    const recorded: HcallResult[] = [];
    for await (const item of readHcallTrace(FIXTURE)) if (item.kind === "call") recorded.push({ ret: item.ret!, out: item.out! });
    let i = 0;
    const summary = await replayHcalls({ file: FIXTURE, makeMachine: fakeFactory(() => recorded[i++]!).makeMachine, check: true });
    expect(summary).toMatchObject({ calls: 20_000, mismatches: 0 });

    const wrong = recorded.map((r, k) => (k === 1233 ? { ret: r.ret, out: r.out.map((w, j) => (j === 0 ? w ^ 4n : w)) } : r));
    const line = 1233 + 2;
    const expected = (await readAll(FIXTURE)).find((it) => it.line === line) as TraceCall;
    i = 0;
    const bad = await replayHcalls({ file: FIXTURE, makeMachine: fakeFactory(() => wrong[i++]!).makeMachine, check: true });
    expect(bad.mismatches).toBe(1);
    const w0 = expected.out![0]!;
    expect(bad.firstMismatch).toBe(`${FIXTURE}:${line}: ${expected.hcall}: out[0]: expected 0x${w0.toString(16)} got 0x${(w0 ^ 4n).toString(16)}`);
  });
});

// ---- the command line ----

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

async function cli(args: string[], respond: Responder = echo) {
  const stdout = new Capture();
  const stderr = new Capture();
  const engines: string[] = [];
  const factory = fakeFactory(respond);
  const deps: CliDeps = {
    makeMachine: (engine, cfg) => {
      engines.push(engine);
      return factory.makeMachine(cfg);
    },
    stdout,
    stderr,
  };
  const code = await run(["node", "hptlab", ...args], deps);
  return { code, stdout: stdout.text, stderr: stderr.text, engines, made: factory.made };
}

describe("hptlab hcalls", () => {
  test("prints one JSON line per call, lower-case hex", async () => {
    const r = await cli(["hcalls", traceFile(SMALL.join("\n"))]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe('{"line":2,"hcall":"H_ENTER","ret":0,"out":["0x590b8"]}');
    expect(JSON.parse(lines[4]!)).toEqual({ line: 6, hcall: "H_BULK_REMOVE", ret: 0, out: BULK_OUT });
    expect(r.engines).toEqual(["wasm"]);
  });

  test("--check prints the summary, and the first mismatch with exit 1", async () => {
    const file = traceFile(SMALL.join("\n"));
    const ok = await cli(["hcalls", file, "--check", "--engine", "reference"]);
    expect([ok.code, ok.stdout, ok.engines]).toEqual([0, "5 calls, 0 mismatches\n", ["reference"]]);
    const bad = await cli(["hcalls", file, "--check"], (h, f, a) => (h === "H_PROTECT" ? { ret: -4, out: [] } : echo(h, f, a)));
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe(`${file}:4: H_PROTECT: ret: expected -7 got -4\n5 calls, 1 mismatches\n`);
    const json = await cli(["hcalls", file, "--check", "--json"], (h, f, a) => (h === "H_PROTECT" ? { ret: -4, out: [] } : echo(h, f, a)));
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ calls: 5, mismatches: 1, firstMismatch: `${file}:4: H_PROTECT: ret: expected -7 got -4` });
    expect(JSON.parse((await cli(["hcalls", file, "--check", "--json"])).stdout)).toEqual({ calls: 5, mismatches: 0, firstMismatch: null });
  });

  test("flags override the header", async () => {
    const r = await cli(["hcalls", traceFile(SMALL.join("\n")), "--semantics", "kvm-hv", "--ram-bytes", "2G", "--hpt-order", "24", "--hpt-max-page-shift", "24"]);
    expect(r.code).toBe(0);
    expect(r.made[0]!.guests[0]).toEqual({ semantics: "kvm-hv", ramBytes: 2 ** 31, hptOrder: 24, hptMaxPageShift: 24 });
  });

  test.each([
    [["hcalls", "/nonexistent/t.jsonl"], "hptlab: /nonexistent/t.jsonl: cannot read: no such file\n"],
    [["hcalls", "x", "--hpt-order", "50"], 'hptlab: --hpt-order: "50" is not an integer in 18..46\n'],
    [["hcalls", "x", "--hpt-order", "2e1"], 'hptlab: --hpt-order: "2e1" is not an integer in 18..46\n'],
    [["hcalls", "x", "--semantics", "pr"], 'hptlab: --semantics: "pr" is not kvm-hv or qemu\n'],
    [["hcalls", "x", "--engine", "gpu"], 'hptlab: --engine: "gpu" is not wasm or reference\n'],
    [["hcalls", "x", "--ram-bytes", "lots"], 'hptlab: --ram-bytes: "lots" is not a byte count in 1..2^40 (e.g. 1073741824, 0x40000000 or 1G)\n'],
    [["hcalls", "x", "--hpt-max-page-shift", "20"], 'hptlab: --hpt-max-page-shift: "20" is not 12, 16 or 24\n'],
    [["hcalls", "x", "--frob"], "hptlab: unknown option '--frob'\n"],
    [["hcalls"], "hptlab: missing required argument 'file'\n"],
    [["frob"], "hptlab: unknown command 'frob'\n"],
  ])("bad input %j: one line on stderr, exit 2", async (args, message) => {
    const r = await cli(args);
    expect(r.stderr).toBe(message);
    expect(r.code).toBe(2);
  });

  test("a bad trace line: the calls before it are printed, then one error line, exit 2", async () => {
    const file = traceFile(`${SMALL.slice(0, 3).join("\n")}\n{"hcall":"H_ENTER","flags":"0x0","args":["0x1","0xZZ","0x3"]}\n`);
    const r = await cli(["hcalls", file]);
    expect(r.code).toBe(2);
    expect(r.stdout.trimEnd().split("\n")).toHaveLength(2);
    expect(r.stderr).toBe(`hptlab: ${file}:4: args[1]: "0xZZ" is not a hex value of at most 16 digits\n`);
  });

  test("a ConfigError from the machine is one line, exit 2; any other failure is one line, exit 3", async () => {
    const cfg = await cli(["hcalls", traceFile(ENTER)], () => {
      throw new ConfigError("guest.ramBytes", "300 is not a multiple of the host page size (65536)");
    });
    expect([cfg.code, cfg.stderr]).toEqual([2, "hptlab: guest.ramBytes: 300 is not a multiple of the host page size (65536)\n"]);
    const bug = await cli(["hcalls", traceFile(ENTER)], () => {
      throw new TypeError("boom");
    });
    expect([bug.code, bug.stderr]).toEqual([3, "hptlab: internal error: boom\n"]);
  });

  test("--help describes the trace format; demo runs the real engine", async () => {
    const help = await cli(["hcalls", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Trace format (JSON Lines, plain or gzip-compressed");
    expect(help.stdout).toContain("--hpt-max-page-shift <n>");
    const top = await cli(["--help"]);
    expect(top.stdout).toContain("hcalls [options] <file>");
    const demo = await cli(["demo", "--cores", "2", "--smt", "1", "--guests", "1", "--pages", "64", "--translations", "1000", "--json"]);
    expect(demo.code).toBe(0);
    const c = JSON.parse(demo.stdout).counters;
    // every translation is a hit or a miss; every miss walked and (no faults) filled
    expect(c.translations).toBe("1000");
    expect(BigInt(c.tlbHits) + BigInt(c.tlbMisses)).toBe(1000n);
    expect([c.hptWalks, c.tlbFills, c.hptFaults]).toEqual([c.tlbMisses, c.tlbMisses, "0"]);
    expect(c.hcalls.H_ENTER.H_SUCCESS).toBe("64");
    expect(demo.made).toHaveLength(0); // the demo builds its own machine, not through the hcalls factory
  });
});

test("the fixture is the head of the full trace in data/", () => {
  const head = gunzipSync(readFileSync(FIXTURE)).toString().split("\n");
  expect(head).toHaveLength(20_002);
  expect(head[20_001]).toBe("");
  const full = gunzipSync(readFileSync(join(import.meta.dirname, "..", "data", "traces", "linux-6.1-guest-boot-wl20.jsonl.gz")));
  expect(full.subarray(0, 20_000 * 160).toString().startsWith(head.slice(0, 1000).join("\n"))).toBe(true);
});
