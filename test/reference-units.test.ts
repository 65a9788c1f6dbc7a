/**
 * Unit tests of the reference model's building blocks and of what only the reference can do cheaply
 * (sparse tables: order-46 HPTs, 1022 guests). Expected values are hand-derived from docs/model/.
 */
import { describe, expect, it } from "vitest";
import {
  CoreTlb, FRAME_HOST, HostFrames, Xorshift32, createReferenceMachine, decodeSlb, hptHash, hptHash1T, hptHash256M,
  htabMask, kvmHvPageShift, protectBits, qemuPageShift, recoverVa, retBucket, vaPageOf,
} from "../src/reference/index.js";

describe("reference units: hash (docs/model/translation.md §2.3)", () => {
  it("256 MB: VSID ^ (off >> p), masked to 39 bits", () => {
    expect(hptHash256M(0x123456n, 0x2345000n, 12)).toBe(0x121713n);
    expect(hptHash256M(0x123456n, 0x2345678n, 16)).toBe(0x123662n);
    expect(hptHash256M(0x123456n, 0x2345678n, 24)).toBe(0x123454n);
    // VSID 2^40 − 1: 0xffffffffff ^ 0xffff = 0xffffff0000 → 39 bits 0x7fffff0000
    expect(hptHash256M(0xffffffffffn, 0x0fffffffn, 12)).toBe(0x7fffff0000n);
    // only the 28-bit segment offset takes part
    expect(hptHash256M(0n, 0xf0000000n | 0x5000n, 12)).toBe(0x5n);
  });

  it("1 TB: VSID ^ VSID << 25 ^ (off >> p), masked to 39 bits", () => {
    // 0xabcdef << 25 = 0x1579bde000000; ^ 0xabcdef ^ 0x1234567 = 0x1579bdf888888 → 0x1bdf888888
    expect(hptHash1T(0xabcdefn, 0x1234567abcn, 12)).toBe(0x1bdf888888n);
    // VSID 0xfffffff: bits 0..24 cancel against off >> 12, bits 25..27 twice → bits 25..38 set
    expect(hptHash1T(0xfffffffn, 0xffffffffffn, 12)).toBe(0x7ffe000000n);
    expect(hptHash(1, 0xabcdefn, 0x1234567890n, 24)).toBe(0x1579bdeabdfdbn & ((1n << 39n) - 1n));
  });

  it("htab_mask = 2^(order − 7) − 1", () => {
    expect([htabMask(18), htabMask(24), htabMask(46)]).toEqual([0x7ffn, 0x1ffffn, 0x7fffffffffn]);
  });
});

describe("reference units: SLB decode, VA recovery (docs/model/translation.md §2.1, docs/model/tlb.md §5)", () => {
  it("decodes B, VSID and the base page size", () => {
    expect(decodeSlb(0x123456110n)).toEqual({ b: 0, vsid: 0x123456n, pageShift: 16 });
    expect(decodeSlb(0x4000abcdef000100n | 0xc80n)).toEqual({ b: 1, vsid: 0xabcdefn, pageShift: 24 });
    expect(vaPageOf(SLB_1T, 0xffffff1234567abcn).vpn4k).toBe(0xabcdef1234567n);
  });

  it("recovers the VA from (v, ptex) for each size, primary and secondary", () => {
    const m = 0x7ffn;
    expect(recoverVa(0x123456201n, 0x3898n, m, 12)).toEqual({ b: 0, va: 0x1234562345000n, vpn4k: 0x1234562345n, pageShift: 12 });
    expect(recoverVa(0x123456203n, 0x767n, m, 12).va).toBe(0x1234562345000n);
    expect(recoverVa(0x123456205n, 0x3310n, m, 16).va).toBe(0x1234562340000n);
    expect(recoverVa(0x123456207n, 0xcefn, m, 16).va).toBe(0x1234562340000n);
    expect(recoverVa(0x123456205n, 0x22a0n, m, 24).va).toBe(0x1234562000000n);
    expect(recoverVa(0x4000abcdef123401n, 0x440n, m, 12)).toEqual({ b: 1, va: 0xabcdef1234567000n, vpn4k: 0xabcdef1234567n, pageShift: 12 });
    expect(recoverVa(0x4000abcdef123405n, 0xdc8n, m, 16).va).toBe(0xabcdef1234560000n);
    expect(recoverVa(0x4000abcdef123405n, 0x3ed8n, m, 24).va).toBe(0xabcdef1234000000n);
    // order 46: the whole 39-bit hash is the PTEG number
    expect(recoverVa(0x4000abcdef123401n, 0x1bdf888888n * 8n, 0x7fffffffffn, 12).va).toBe(0xabcdef1234567000n);
  });
});
const SLB_1T = 0x4000abcdef000000n;

describe("reference units: page-size decoders, protect bits, buckets", () => {
  it("kvm-hv decoder: 0xf000 == 0x1000 → 64K, 0xff000 == 0 → 16M", () => {
    expect([kvmHvPageShift(0n, 0xfffn), kvmHvPageShift(4n, 0x1000n), kvmHvPageShift(4n, 0xf00000n), kvmHvPageShift(4n, 0x2000n)]).toEqual([12, 16, 24, 0]);
  });
  it("qemu decoder: 16M needs bits 12..23 clear, and the cap", () => {
    expect([qemuPageShift(4n, 0x100000n, 24), qemuPageShift(4n, 0n, 24), qemuPageShift(4n, 0n, 16), qemuPageShift(4n, 0x1000n, 12)]).toEqual([0, 24, 0, 0]);
  });
  it("protect bits", () => {
    expect(protectBits(0x3f07n)).toBe(0xb000000000000e07n);
    expect(protectBits(0xffffffffffffffffn)).toBe(0xb000000000000e07n);
  });
  it("return buckets", () => {
    expect([0, -4, -6, -7, -3, 8, -2, 0x124].map(retBucket)).toEqual(["H_SUCCESS", "H_PARAMETER", "H_PTEG_FULL", "H_NOT_FOUND", "H_PRIVILEGE", "other", "other", "other"]);
  });
});

describe("reference units: TLB, xorshift32, frames", () => {
  it("xorshift32 from 1: 270369, 67634689, 2647435461", () => {
    const x = new Xorshift32(1, 0x9e3779b9);
    expect([x.next(), x.next(), x.next()]).toEqual([270369, 67634689, 2647435461]);
    const z = new Xorshift32(0, 0x9e3779b9);
    expect(z.next()).toBe(1359758873);
  });

  it("LRU ranks form a permutation; the LRU way has rank W − 1", () => {
    const t = new CoreTlb(1, 4);
    expect(t.lruWay(0)).toBe(3);
    t.touch(0, 3);
    expect(t.lruWay(0)).toBe(2);
    t.touch(0, 2);
    t.touch(0, 1);
    t.touch(0, 0);
    expect(t.lruWay(0)).toBe(3);
    t.touch(0, 3);
    expect(t.lruWay(0)).toBe(2);
  });

  it("frames: runs allocated lowest first, released per owner", () => {
    const f = new HostFrames(10); // frame 0 is the host's
    expect(f.freeCount()).toBe(9);
    expect(f.allocate(1, 3)).toEqual([{ start: 1, count: 3 }]);
    expect(f.allocate(2, 3)).toEqual([{ start: 4, count: 3 }]);
    f.release(1);
    expect(f.allocate(3, 5)).toEqual([{ start: 1, count: 3 }, { start: 7, count: 2 }]);
    expect([f.ownerOf(0), f.ownerOf(1), f.ownerOf(4), f.ownerOf(8), f.ownerOf(9), f.freeCount()]).toEqual([
      FRAME_HOST, 3, 2, 3, 0, 1,
    ]);
  });

  it("2^32 host frames cost nothing until used", () => {
    const m = createReferenceMachine({ hostPageShift: 12, hostMemoryBytes: 2 ** 44 });
    const g = m.createGuest({ ramBytes: 2 ** 40 });
    expect([g.frame(2 ** 28 - 1), m.frameOwner(2 ** 28), m.frameOwner(2 ** 28 + 1), m.frameOwner(2 ** 32 - 1)]).toEqual([
      2 ** 28, 1, 0, 0,
    ]);
  });
});

describe("reference: large tables and many guests", () => {
  it("an order-46 HPT: the 1 TB hash term VSID << 25 selects the PTEG", () => {
    const m = createReferenceMachine();
    const g = m.createGuest({ semantics: "qemu", ramBytes: 1 << 20, hptOrder: 46 });
    expect(g.npte).toBe(2 ** 42);
    const ptex = 0x1bdf888888n * 8n;
    expect(g.hEnter(0x0000008000000000n, ptex, 0x4000abcdef123401n, 0x50012n)).toEqual({ ret: 0, out: [ptex] });
    expect(m.translate(0, 1, SLB_1T, 0x1234567abcn)).toEqual({ kind: "miss", ra: 0x50abcn });
    expect(m.counters().ptegsProbed).toBe(1n);
    // secondary: ~hash & mask
    const sec = (0x7fffffffffn ^ 0x1bdf888888n) * 8n + 3n;
    g.hEnter(0x0000008000000000n, sec, 0x4000abcdef123403n, 0x60012n);
    expect(g.hRemove(0n, ptex, 0n).ret).toBe(0);
    expect(m.translate(4, 1, SLB_1T, 0x1234567abcn)).toEqual({ kind: "miss", ra: 0x60abcn });
    expect(g.hRemove(0n, sec, 0n).ret).toBe(0);
    expect([m.tlbEntries(0), m.tlbEntries(1)]).toEqual([[], []]);
    expect(m.counters().globalTlbieEntries).toBe(2n);
  });

  it("LPIDs 1..1022 with 10 bits, then an Error; freeing one makes it available", () => {
    const m = createReferenceMachine({ lpidBits: 10 });
    for (let i = 1; i <= 1022; i++) expect(m.createGuest({ semantics: "qemu", ramBytes: 65536 }).lpid).toBe(i);
    expect(() => m.createGuest({ semantics: "qemu", ramBytes: 65536 })).toThrow(/LPID/);
    m.destroyGuest(500);
    expect(m.createGuest({ semantics: "qemu", ramBytes: 65536 }).lpid).toBe(500);
  });

  it("hcalls on a destroyed guest throw; its counters stay readable", () => {
    const m = createReferenceMachine();
    const g = m.createGuest({ semantics: "qemu", ramBytes: 65536 });
    g.hRead(0n, 0n);
    m.destroyGuest(1);
    expect(() => g.hRead(0n, 0n)).toThrow(/destroyed/);
    expect(g.counters().hcalls.H_READ.H_SUCCESS).toBe(1n);
    expect(() => m.destroyGuest(1)).toThrow(RangeError);
  });
});
