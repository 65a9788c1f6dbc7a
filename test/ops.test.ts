/**
 * The one op encoder (src/engine/ops.ts): the header word as docs/memory.md draws it, and the
 * writers of the op buffer — OpBatch (u64 words) and the workloads' OpWriter (u32 halves) — encode
 * the same op into the same bytes.
 */
import { describe, expect, test } from "vitest";
import { Machine } from "../src/engine/machine.js";
import { OP } from "../src/engine/layout.js";
import { OPW, OP_HALVES, OP_WORDS64, encodeOp, encodeOpHeader32, opHeader } from "../src/engine/ops.js";
import { OpWriter } from "../src/workload/op-writer.js";
import { translateOp } from "../src/workload/synthetic.js";

describe("op encoding", () => {
  test("header: opcode bits 0–15, opflags 16–31, cpu 32–47, guest slot 48–63", () => {
    expect(opHeader(0x1001, 5, 7, 1)).toBe(0x1001n | (1n << 16n) | (5n << 32n) | (7n << 48n));
    expect(opHeader(0x124, 0xffff, 0xffff, 0)).toBe(0xffff_ffff_0000_0124n);
  });

  test("the u32-halves header is the u64 header's bytes", () => {
    const w = new BigUint64Array(OP_WORDS64);
    const u32 = new Uint32Array(w.buffer);
    encodeOpHeader32(u32, 0, OP.H_BULK_REMOVE, 1023, 1021, 1);
    expect(w[0]).toBe(opHeader(OP.H_BULK_REMOVE, 1023, 1021, 1));
    expect(OP_HALVES).toBe(2 * OP_WORDS64);
  });

  test("encodeOp writes header, r4.., lpid and zeroes the rest", () => {
    const w = new BigUint64Array(OP_WORDS64).fill(0xdeadn);
    encodeOp(w, 0, 7n, [1n, 2n, 3n], 9);
    expect([...w]).toEqual([7n, 0n, 1n, 2n, 3n, 0n, 0n, 0n, 0n, 0n, 9n, 0n, 0n, 0n, 0n, 0n]);
    expect([OPW.R3, OPW.R4, OPW.LPID]).toEqual([1, 2, 10]);
  });

  test("OpBatch and OpWriter encode translate and vcore ops into the same bytes", () => {
    const m = new Machine({ cores: 2, smt: 4 });
    const g = m.createGuest({ ramBytes: 16 * 2 ** 20, vcpus: 8 });
    const slbV = 0x1234_5678_9000n;
    const ea = 0x0abc_d000n;
    const viaBatch = (write: (b: ReturnType<Machine["batch"]>) => void) => {
      m.opWords.fill(0n);
      const b = m.batch();
      write(b);
      return [...m.opWords.subarray(0, 2 * OP_WORDS64)];
    };
    const viaWriter = (write: (ow: OpWriter) => void) => {
      m.opWords.fill(0n);
      const ow = new OpWriter(m);
      write(ow);
      return [...m.opWords.subarray(0, 2 * OP_WORDS64)];
    };
    const a = viaBatch((b) => { b.translate(5, g.lpid, slbV, ea, "store"); b.runVcore(g, 1, 1); });
    const b = viaWriter((ow) => {
      translateOp(ow, 5, g.lpid, Number(slbV & 0xffffffffn), Number(slbV >> 32n), Number(ea), 0, true, 0);
      ow.runVcore(g, 1, 1);
    });
    expect(b).toEqual(a);
    m.dispose();
  });
});
