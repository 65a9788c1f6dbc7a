// Bad input never crashes anything: random bytes, lines, JSON and raw ops get the documented
// typed error (TraceError, ConfigError) or a rejected-op marker — never a WASM trap, an abort or a
// hang. `npm run fuzz` raises HPTLAB_FUZZ_RUNS for a long campaign.
import { describe, expect } from "vitest";
import { test, fc } from "@fast-check/vitest";
import { LackeyReplayer } from "../src/trace/lackey.js";
import { parseHcallLine, TraceError } from "../src/trace/hcall-trace.js";
import { resolveStudy } from "../src/study/config.js";
import { ConfigError, resolveMachineConfig, resolveGuestOptions } from "../src/config.js";
import { Machine, engineModule } from "../src/engine/index.js";
import { OP, OP_BYTES } from "../src/engine/layout.js";

const RUNS = Number(process.env.HPTLAB_FUZZ_RUNS ?? 200);

/** Lines that look like lackey lines, broken in small ways, mixed with junk bytes. */
const lackeyish = fc.oneof(
  fc.constantFrom("I  0040a2f0,3", " L 1ffefffd28,8", " S 1ffefffd20,8", " M 0060a1b0,4", "==1== x", "", " L ffffffffffffffff,8", " L 0,0", " L 10,99999999999"),
  fc.string({ maxLength: 24 }),
  fc.tuple(fc.constantFrom("I ", " L", " S", " M", " X", "L "), fc.constantFrom(" ", "  ", ""), fc.stringMatching(/^[0-9a-fA-Fxg]{0,20}$/), fc.constantFrom(",", ";", ""), fc.stringMatching(/^[0-9-]{0,12}$/))
    .map(([k, sp, a, c, n]) => `${k}${sp}${a}${c}${n}`),
);

describe("no input crashes a parser", () => {
  test.prop([fc.array(fc.oneof(lackeyish.map((l) => new TextEncoder().encode(l + "\n")), fc.uint8Array({ maxLength: 64 })), { maxLength: 40 }), fc.nat(64)], { numRuns: RUNS })(
    "lackey: any bytes, any chunking → a result or a TraceError naming file:line",
    (parts, cut) => {
      const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
      let o = 0;
      for (const p of parts) { bytes.set(p, o); o += p.length; }
      const r = new LackeyReplayer({ file: "f.trace" });
      try {
        const k = Math.min(cut, bytes.length);
        r.feed(bytes.subarray(0, k));
        r.feed(bytes.subarray(k));
        const res = r.end();
        expect(res.lines).toBeGreaterThanOrEqual(0);
      } catch (e) {
        expect(e).toBeInstanceOf(TraceError);
        expect((e as Error).message).toMatch(/^f\.trace:\d+: (kind|address|size|line): /);
      }
    },
  );

  const hcallish = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.record({
      hcall: fc.constantFrom("H_ENTER", "H_REMOVE", "H_PROTECT", "H_READ", "H_BULK_REMOVE", "H_BOGUS", 5),
      args: fc.array(fc.oneof(fc.constantFrom("0x0", "0xffffffffffffffff", "0x10000000000000000", "12", "-1", "0xzz"), fc.bigInt({ min: 0n, max: 1n << 70n }).map((b) => `0x${b.toString(16)}`), fc.integer()), { maxLength: 10 }),
      ret: fc.oneof(fc.integer({ min: -10, max: 10 }), fc.constant("0")),
      out: fc.array(fc.constantFrom("0x0", "0x1", "x"), { maxLength: 9 }),
    }).map((o) => JSON.stringify(o)),
  );
  test.prop([hcallish, fc.integer({ min: 1, max: 1e6 })], { numRuns: RUNS })("hcall trace: any line → an item or a TraceError naming file:line: field", (line, n) => {
    try {
      parseHcallLine(line, "t.jsonl", n);
    } catch (e) {
      expect(e).toBeInstanceOf(TraceError);
      expect((e as Error).message.startsWith(`t.jsonl:${n}: `)).toBe(true);
      expect((e as Error).message).not.toContain("\n");
    }
  });

  test.prop([fc.jsonValue({ maxDepth: 4 })], { numRuns: RUNS })("configs: any JSON → a config or a ConfigError naming the field", (v) => {
    for (const f of [() => resolveStudy(v, "s.json"), () => resolveMachineConfig(v as never)]) {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as Error).message).not.toContain("\n");
      }
    }
    try {
      resolveGuestOptions(v as never, resolveMachineConfig());
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
    }
  });
});

describe("no op sequence traps the engine (debug build: every memory access bounds-checked)", () => {
  const OPCODES = [OP.H_ENTER, OP.H_REMOVE, OP.H_PROTECT, OP.H_READ, OP.H_BULK_REMOVE, OP.TRANSLATE, OP.TLBIEL, OP.TLBIEL_SET, OP.FLUSH_LPID, OP.TLBIE,
    OP.VCORE_RUN, OP.VCORE_EXIT, OP.PAGE_OUT, OP.PAGE_IN, OP.HPT_RESET, OP.WORK, OP.RECLAIM, 0, 0x7777];
  const word = fc.oneof(fc.constantFrom(0n, 1n, 2n, 3n, 7n, 0xffffffffn, 0xffffffffffffffffn, 0x4000000000000000n, 0xc000000000000000n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: 4096n }));
  const opArb = fc.record({
    opcode: fc.constantFrom(...OPCODES), cpu: fc.oneof(fc.nat(7), fc.nat(0xffff)), slot: fc.oneof(fc.nat(3), fc.nat(0xffff)),
    flags: fc.nat(3), words: fc.array(word, { minLength: 9, maxLength: 9 }),
  });
  const debug = engineModule(true);
  test.prop([fc.array(opArb, { minLength: 1, maxLength: 60 })], { numRuns: Math.ceil(RUNS / 4) })("random ops (host-internal guest init/destroy excluded)", (ops) => {
    const m = new Machine({ cores: 2, smt: 4, hostMemoryBytes: 2 ** 24 }, debug);
    const g1 = m.createGuest({ ramBytes: 2 ** 20, hptOrder: 18, vcpus: 4 });
    m.createGuest({ ramBytes: 2 ** 20, hptOrder: 18, semantics: "qemu" });
    const w = m.opWords;
    ops.forEach((op, i) => {
      const o = i * (OP_BYTES / 8);
      w[o] = BigInt(op.opcode) | (BigInt(op.flags) << 16n) | (BigInt(op.cpu) << 32n) | (BigInt(op.slot) << 48n);
      for (let k = 0; k < 9; k++) w[o + 2 + k] = op.words[k]!;
    });
    expect(() => m.runOps(ops.length)).not.toThrow();
    // the machine still works afterwards
    const c = m.counters();
    expect(c.tlbHits + c.tlbMisses).toBe(c.translations);
    expect(g1.counters().translations).toBeLessThanOrEqual(c.translations);
  });
});
