/**
 * The one page-size table (src/model/page-sizes.ts): its decoders give the kernel's and QEMU's
 * rules on every LP pattern, and assembly/hpt.ts's own decoders hold the table's constants
 * (parsed from the source, as test/layout.test.ts does for the memory layout).
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import {
  HPTE_V_LARGE, PAGE_SIZES, PAGE_SHIFTS, SLB_VSID_LLP_MASK, kvmHptePageShift, qemuHptePageShift, slbPageShift, tlbPsizeShift,
} from "../src/model/page-sizes.js";
import { makeHpte, slbVsidWord } from "../src/hpte.js";
import { PAGE_SIZES as LACKEY_PAGE_SIZES } from "../src/trace/lackey.js";

/** Every r whose bits 12–24 take each value (the LP field and the RPN bits a 16M page masks), v with and without L. */
function* lpPatterns(): Generator<[bigint, bigint]> {
  for (const v of [0n, HPTE_V_LARGE]) for (let x = 0n; x < 1n << 13n; x++) yield [v, x << 12n];
}

describe("the table's decoders", () => {
  test("KVM hpte_page_size (v3.6–v3.8): L=0 4K; (r & 0xf000) == 0x1000 64K; (r & 0xff000) == 0 16M; else refused", () => {
    for (const [v, r] of lpPatterns()) {
      const want = (v & HPTE_V_LARGE) === 0n ? 12 : (r & 0xf000n) === 0x1000n ? 16 : (r & 0xff000n) === 0n ? 24 : 0;
      if (kvmHptePageShift(v, r) !== want) expect([v, r, kvmHptePageShift(v, r)]).toEqual([v, r, want]);
    }
  });

  test("QEMU 7.2: 16M checks every RPN bit below the page; the cap refuses larger pages", () => {
    for (const cap of PAGE_SHIFTS) {
      for (const [v, r] of lpPatterns()) {
        const shift = (v & HPTE_V_LARGE) === 0n ? 12 : (r & 0xf000n) === 0x1000n ? 16 : (r & 0xfff000n) === 0n ? 24 : 0;
        const want = shift <= cap ? shift : 0;
        if (qemuHptePageShift(v, r, cap) !== want) expect([v, r, cap, qemuHptePageShift(v, r, cap)]).toEqual([v, r, cap, want]);
      }
    }
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
  const large = PAGE_SIZES.flatMap((s) => s.enc).filter((e) => e.large);

  test("pageShiftKvm: L=0 → 4K, then each (r & mask) == lp → shift, in table order", () => {
    const b = body(src, "pageShiftKvm");
    expect(b).toMatch(/HPTE_V_LARGE\) == 0\) return 12;/);
    const rules = [...b.matchAll(/\(r & (0x[0-9a-f]+)\) == (0x[0-9a-f]+|0)\) return (\d+);/g)].map((m) => [num(m[1]!), num(m[2]!), Number(m[3])]);
    expect(rules).toEqual(large.map((e) => [e.kvmMask, e.lp, e.shift]));
  });

  test("pageShiftQemu: the same with QEMU's masks, each size refused above the cap", () => {
    const b = body(src, "pageShiftQemu");
    const rules = [...b.matchAll(/\(r & (0x[0-9a-f]+)\) == (0x[0-9a-f]+|0)\) return maxShift >= (\d+) \? (\d+) : 0;/g)].map((m) => [num(m[1]!), num(m[2]!), Number(m[3]), Number(m[4])]);
    expect(rules).toEqual(large.map((e) => [e.qemuMask, e.lp, e.shift, e.shift]));
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
