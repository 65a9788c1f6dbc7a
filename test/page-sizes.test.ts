/**
 * The one page-size table (src/model/page-sizes.ts): its decoders give the kernel's and QEMU's
 * rules on every LP pattern, and assembly/hpt.ts's own decoders hold the table's constants
 * (parsed from the source, as test/layout.test.ts does for the memory layout).
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import {
  HPTE_V_LARGE, PAGE_SIZES, PAGE_SHIFTS, SLB_VSID_LLP_MASK, kvmHptePageShift, kvmHptePagePair, qemuHptePageShift, qemuHptePagePair,
  pageEncoding, slbPageShift, tlbPsizePair, tlbPsizeShift,
} from "../src/model/page-sizes.js";
import { makeHpte, slbVsidWord } from "../src/hpte.js";
import { PAGE_SIZES as LACKEY_PAGE_SIZES } from "../src/trace/lackey.js";

/** Every r whose bits 12–24 take each value (the LP field and the RPN bits a 16M page masks), v with and without L. */
function* lpPatterns(): Generator<[bigint, bigint]> {
  for (const v of [0n, HPTE_V_LARGE]) for (let x = 0n; x < 1n << 13n; x++) yield [v, x << 12n];
}

describe("the table's decoders", () => {
  // Linux 6.1 kvmppc_hpte_page_shifts: L=0 4K; LP low nibble (r bits 12–15) 0 with lphi (bits 16–19) 0 → 16M;
  // 1 → 64K; 7 → 64K in 4K; 8 with lphi 0 → 16M in 64K, with lphi 3 → 16M in 4K; 3 (16G) and the rest refused here
  const kvm61 = (v: bigint, r: bigint): [number, number] | undefined => {
    if ((v & HPTE_V_LARGE) === 0n) return [12, 12];
    const lo = (r >> 12n) & 0xfn;
    const hi = (r >> 16n) & 0xfn;
    if (lo === 0n) return hi === 0n ? [24, 24] : undefined;
    if (lo === 1n) return [16, 16];
    if (lo === 7n) return [12, 16];
    if (lo === 8n) return hi === 0n ? [16, 24] : hi === 3n ? [12, 24] : undefined;
    return undefined;
  };

  test("KVM (Linux 6.1 kvmppc_hpte_page_shifts, up to 16M): every LP pattern gives its (base, actual) or is refused", () => {
    for (const [v, r] of lpPatterns()) {
      const p = kvmHptePagePair(v, r);
      const got = p ? [p.base, p.actual] : undefined;
      const want = kvm61(v, r);
      if (JSON.stringify(got) !== JSON.stringify(want)) expect([v, r, got]).toEqual([v, r, want]);
      expect(kvmHptePageShift(v, r)).toBe(want?.[1] ?? 0);
    }
  });

  test("KVM 3.8's hpte_page_size agrees wherever base = actual: L=0 4K; (r & 0xf000) == 0x1000 64K; (r & 0xff000) == 0 16M", () => {
    for (const [v, r] of lpPatterns()) {
      const l38 = (v & HPTE_V_LARGE) === 0n ? 12 : (r & 0xf000n) === 0x1000n ? 16 : (r & 0xff000n) === 0n ? 24 : 0;
      const p = kvmHptePagePair(v, r);
      if (l38 !== 0) expect(p).toEqual({ base: l38, actual: l38 });
      else if (p) expect(p.base).not.toBe(p.actual); // only the mixed pairs are new
    }
  });

  test("QEMU 7.2 pseries: POWER7's table less 64K-in-4K; 16M checks every RPN bit below the page; the cap refuses larger pages", () => {
    for (const cap of PAGE_SHIFTS) {
      for (const [v, r] of lpPatterns()) {
        let want: [number, number] | undefined;
        if ((v & HPTE_V_LARGE) === 0n) want = [12, 12];
        else if ((r & 0xfff000n) === 0x38000n) want = [12, 24];
        else if ((r & 0xf000n) === 0x1000n) want = [16, 16];
        else if ((r & 0xfff000n) === 0x8000n) want = [16, 24];
        else if ((r & 0xfff000n) === 0n) want = [24, 24];
        if (want && want[1] > cap) want = undefined;
        const p = qemuHptePagePair(v, r, cap);
        const got = p ? [p.base, p.actual] : undefined;
        if (JSON.stringify(got) !== JSON.stringify(want)) expect([v, r, cap, got]).toEqual([v, r, cap, want]);
        expect(qemuHptePageShift(v, r, cap)).toBe(want?.[1] ?? 0);
      }
    }
  });

  test("the LP encodings are kvmppc_pgsize_lp_encoding(base, actual) << 12, and QEMU's pte_enc", () => {
    const lpEncoding = (base: number, actual: number) =>
      base === 12 ? ({ 12: 0, 16: 7, 24: 0x38 } as Record<number, number>)[actual] : base === 16 ? ({ 16: 1, 24: 8 } as Record<number, number>)[actual] : base === 24 ? 0 : undefined;
    for (const s of PAGE_SIZES) for (const e of s.enc) {
      expect(e.pteEnc).toBe(lpEncoding(s.shift, e.shift));
      if (e.large) expect(e.lp).toBe(BigInt(e.pteEnc) << 12n);
      expect(tlbPsizePair(e.tlbPsize)).toEqual({ base: s.shift, actual: e.shift });
      expect(pageEncoding(s.shift, e.shift)).toBe(e);
    }
    expect(pageEncoding(16, 12)).toBeUndefined();
    expect(pageEncoding(24, 16)).toBeUndefined();
  });

  test("SLB L||LP: 4K 0x000, 64K 0x110, 16M 0x100; the other five encodings refused", () => {
    // L is bit 8 of the VSID word, LP bits 4–5
    const got = [...Array(8)].map((_, i) => {
      const llp = (BigInt(i >> 2) << 8n) | (BigInt(i & 3) << 4n);
      return [llp, slbPageShift(0x1230000n | llp)] as const;
    });
    expect(new Map(got)).toEqual(new Map([[0x000n, 12], [0x010n, 0], [0x020n, 0], [0x030n, 0], [0x100n, 24], [0x110n, 16], [0x120n, 0], [0x130n, 0]]));
  });

  test("makeHpte and slbVsidWord encode what the decoders read back, for every size and segment", () => {
    for (const p of PAGE_SHIFTS) {
      for (const segment of ["256M", "1T"] as const) {
        const h = makeHpte({ vsid: 0x123n, ea: 0x5000000n, gpa: 0x3000000n, pageShift: p, segment });
        expect([kvmHptePageShift(h.v, h.r), qemuHptePageShift(h.v, h.r, 24), slbPageShift(h.slbV)]).toEqual([p, p, p]);
        expect(slbVsidWord(0x123n, p, segment)).toBe(h.slbV);
      }
    }
    for (const [p, a] of [[12, 16], [12, 24], [16, 24]] as const) {
      const h = makeHpte({ vsid: 0x123n, ea: 0x5000000n, gpa: 0x3000000n, pageShift: p, actualPageShift: a });
      expect([kvmHptePagePair(h.v, h.r), slbPageShift(h.slbV)]).toEqual([{ base: p, actual: a }, p]);
      expect(qemuHptePagePair(h.v, h.r, 24)).toEqual(a === 16 ? undefined : { base: p, actual: a });
    }
    expect(() => makeHpte({ vsid: 1n, ea: 0n, gpa: 0n, pageShift: 16, actualPageShift: 12 })).toThrow("a 64K segment holds no 4 KiB pages");
    expect(PAGE_SIZES.map((s) => tlbPsizeShift(s.tlbPsize))).toEqual(PAGE_SHIFTS);
    expect(Object.values(LACKEY_PAGE_SIZES)).toEqual(PAGE_SHIFTS.map((p) => 2 ** p));
  });
});

/** The body of `function NAME(` in an AssemblyScript source, up to the closing brace at column 0. */
function body(src: string, name: string): string {
  const at = src.indexOf(`function ${name}(`);
  expect(at, `assembly/hpt.ts has no function ${name}`).toBeGreaterThan(0);
  return src.slice(at, src.indexOf("\n}", at));
}
const num = (s: string) => BigInt(s);

describe("assembly/hpt.ts decodes page sizes with the table's constants", () => {
  const src = readFileSync(new URL("../assembly/hpt.ts", import.meta.url), "utf8");

  // each rule is `if ((r & MASK) == LP) return ACTUAL << 8 | BASE` (QEMU: `… return maxShift >= ACTUAL ? PACKED : 0`)
  const pairs = PAGE_SIZES.flatMap((s) => s.enc.filter((e) => e.large).map((e) => ({ ...e, base: s.shift })));
  const packed = (e: { shift: number; base: number }) => (e.shift << 8) | e.base;

  test("pageShiftsKvm: L=0 → 4K, then each (r & mask) == lp → (base, actual), in table order", () => {
    const b = body(src, "pageShiftsKvm");
    expect(b).toMatch(/HPTE_V_LARGE\) == 0\) return 0x0c0c;/);
    const rules = [...b.matchAll(/\(r & (0x[0-9a-f]+)\) == (0x[0-9a-f]+|0)\) return (0x[0-9a-f]+);/g)].map((m) => [num(m[1]!), num(m[2]!), Number(m[3])]);
    expect(rules).toEqual(pairs.map((e) => [e.kvmMask, e.lp, packed(e)]));
  });

  test("pageShiftsQemu: the pseries pairs with QEMU's masks, each refused above the cap", () => {
    const b = body(src, "pageShiftsQemu");
    const rules = [...b.matchAll(/\(r & (0x[0-9a-f]+)\) == (0x[0-9a-f]+|0)\) return maxShift >= (\d+) \? (0x[0-9a-f]+) : 0;/g)].map((m) => [num(m[1]!), num(m[2]!), Number(m[3]), Number(m[4])]);
    expect(rules).toEqual(pairs.filter((e) => e.qemu).map((e) => [e.qemuMask, e.lp, e.shift, packed(e)]));
  });

  test("pairCode: the TLB psize code of each (base, actual)", () => {
    const b = body(src, "pairCode");
    const m = /return base == actual \? psizeCode\(base\) : actual == 16 \? (\d+) : base == 12 \? (\d+) : (\d+);/.exec(b);
    expect(m, "pairCode's form changed: update this test").not.toBeNull();
    expect([pageEncoding(12, 16)!.tlbPsize, pageEncoding(12, 24)!.tlbPsize, pageEncoding(16, 24)!.tlbPsize]).toEqual([Number(m![1]), Number(m![2]), Number(m![3])]);
  });

  test("decodeSlb: L||LP mask and encodings", () => {
    const b = body(src, "decodeSlb");
    expect(b).toContain(`slbV & 0x${SLB_VSID_LLP_MASK.toString(16)};`);
    const encs = [...b.matchAll(/llp == (0x[0-9a-f]+|0)\) p = (\d+);/g)].map((m) => [num(m[1]!), Number(m[2])]);
    expect(encs).toEqual(PAGE_SIZES.map((s) => [s.slbEnc, s.shift]));
  });

  test("psizeCode: the TLB entry's psize code of each shift", () => {
    const b = body(src, "psizeCode");
    const m = /return shift == (\d+) \? (\d+) : shift == (\d+) \? (\d+) : (\d+);/.exec(b);
    expect(m, "psizeCode's form changed: update this test").not.toBeNull();
    const codes = new Map([[Number(m![1]), Number(m![2])], [Number(m![3]), Number(m![4])]]);
    for (const s of PAGE_SIZES) expect(codes.get(s.shift) ?? Number(m![5])).toBe(s.tlbPsize);
  });
});
