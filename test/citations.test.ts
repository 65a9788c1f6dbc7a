/**
 * Every citation of the model's definition resolves: each `docs/model/<file>.md §N[.M]` and
 * `docs/<file>.md §N` in the sources, the docs, the tests and the CLI's own output names a heading
 * with that number in that file (and cross-references inside docs/model/ too). And nothing in the
 * repository cites the founding notes that users do not have.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { cli } from "./cli-run.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SCANNED = ["src", "assembly", "docs", "test", "bench", "scripts", "README.md"];
const SKIP = (f: string) => f.startsWith("test/fixtures/") || f === "package-lock.json";
const SELF = "test/citations.test.ts"; // holds broken samples on purpose

/** Section numbers of a markdown file's numbered headings: `## 1. Title` → "1", `### 1.2 Title` → "1.2". */
function sectionsOf(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^#{2,6} +(\d+(?:\.\d+)*)\.?\s/gm)) out.add(m[1]!);
  return out;
}

const sectionCache = new Map<string, Set<string> | null>();
function sections(file: string): Set<string> | null {
  if (!sectionCache.has(file)) {
    const p = join(ROOT, file);
    sectionCache.set(file, existsSync(p) ? sectionsOf(readFileSync(p, "utf8")) : null);
  }
  return sectionCache.get(file)!;
}

export interface Citation { file: string; section: string | null; at: string }

// a mention of a repository document, or of an outside document whose sections are not ours
const ANCHOR = /(docs\/(?:model\/)?[a-z0-9-]+\.md)|\[([a-z0-9-]+\.md)\]\(\2\)|\b(LoPAPR|PAPR|Guide|ISA|Book III-S)\b/g;

/**
 * The citations in `text`. A `§N` belongs to the closest document mention before it on the same
 * line; inside docs/model/ (`inModel` = that file's path), `[x.md](x.md)` mentions a sibling and a
 * `§N` with no mention before it is a section of the file itself. Sections cited after an outside
 * document (LoPAPR, the POWER7 guide, the ISA) are not ours and are skipped.
 */
export function citations(text: string, where: string, inModel?: string): Citation[] {
  const out: Citation[] = [];
  text.split("\n").forEach((line, n) => {
    const anchors = [...line.matchAll(ANCHOR)].map((m) => ({
      index: m.index!,
      end: m.index! + m[0].length,
      file: m[1] ?? (m[2] ? `docs/model/${m[2]}` : null),
    }));
    const at = `${where}:${n + 1}`;
    for (const a of anchors) if (a.file) out.push({ file: a.file, section: null, at });
    for (const s of line.matchAll(/§(\d+(?:\.\d+)*)/g)) {
      const before = anchors.filter((a) => a.end <= s.index!).pop();
      const file = before ? before.file : inModel ?? null;
      if (file) out.push({ file, section: s[1]!, at });
    }
  });
  return out;
}

/** The citations among `cs` that do not resolve, as readable lines. */
export function unresolved(cs: Citation[]): string[] {
  const bad: string[] = [];
  for (const c of cs) {
    const secs = sections(c.file);
    if (!secs) bad.push(`${c.at}: ${c.file} does not exist`);
    else if (c.section !== null && !secs.has(c.section)) bad.push(`${c.at}: ${c.file} has no heading §${c.section}`);
  }
  return bad;
}

function walk(rel: string): string[] {
  const p = join(ROOT, rel);
  if (!existsSync(p)) return [];
  if (statSync(p).isFile()) return [rel];
  return readdirSync(p).flatMap((e) => walk(rel === "" ? e : `${rel}/${e}`));
}

/** Tracked files (git), or every file under the scanned roots where git is not there. */
function repoFiles(): string[] {
  try {
    return execFileSync("git", ["-C", ROOT, "ls-files", "-z"], { encoding: "utf8" }).split("\0").filter(Boolean);
  } catch {
    return SCANNED.flatMap(walk);
  }
}

function readText(file: string): string | null {
  const buf = readFileSync(join(ROOT, file));
  return buf.includes(0) ? null : buf.toString("utf8");
}

// Built from pieces so that this file does not match itself.
const FORBIDDEN: [RegExp, string][] = [
  [new RegExp("SP" + "EC §"), "cites the founding notes' specification"],
  [new RegExp("\\.\\./" + "shared"), "points outside the repository"],
  [new RegExp("FORM" + "ATS\\.md"), "cites the founding notes' formats file (docs/formats.md is the home of the formats)"],
];

describe("citations of the model's definition", () => {
  it("the checker finds broken and forbidden citations (it can fail)", () => {
    expect(unresolved(citations("see docs/model/kvm.md §4.2 and §99", "x"))).toEqual(["x:1: docs/model/kvm.md has no heading §99"]);
    expect(unresolved(citations("see docs/model/nope.md §1", "x"))).toHaveLength(2);
    expect(unresolved(citations("a [tlb.md](tlb.md) §5, §9 then §6", "y", "docs/model/kvm.md"))).toEqual([
      "y:1: docs/model/tlb.md has no heading §9",
    ]);
    expect(unresolved(citations("LoPAPR v1.1 §14.5.4.1; docs/formats.md §1, §2, §3", "z"))).toEqual([]);
    const old = "(" + "SP" + "EC §6b), see ../" + "shared/x and FORM" + "ATS.md §1";
    expect(FORBIDDEN.filter(([re]) => re.test(old))).toHaveLength(3);
    expect(sectionsOf("## 1. A\n### 1.2 B\n#### 1.2.3 C\n## Not numbered\n")).toEqual(new Set(["1", "1.2", "1.2.3"]));
  });

  it("every docs/model/ file has numbered sections and is listed in docs/model/README.md", () => {
    const model = readdirSync(join(ROOT, "docs/model")).filter((f) => f.endsWith(".md"));
    expect(model.length).toBeGreaterThanOrEqual(8);
    const index = readFileSync(join(ROOT, "docs/model/README.md"), "utf8");
    for (const f of model) {
      expect(sections(`docs/model/${f}`)!.size, `${f} has numbered headings`).toBeGreaterThan(0);
      if (f !== "README.md") expect(index, `README.md lists ${f}`).toContain(`(${f})`);
    }
  });

  it("every citation in src/, assembly/, docs/, README.md, test/, bench/, scripts/ names an existing section", () => {
    const files = SCANNED.flatMap(walk).filter((f) => !SKIP(f) && f !== SELF && /\.(ts|mts|mjs|js|md|json|sh|c|py)$/.test(f));
    expect(files.length).toBeGreaterThan(50);
    const cs = files.flatMap((f) => {
      const text = readText(f);
      return text === null ? [] : citations(text, f, f.startsWith("docs/model/") ? f : undefined);
    });
    expect(cs.filter((c) => c.file.startsWith("docs/model/") && c.section).length).toBeGreaterThan(100);
    expect(unresolved(cs)).toEqual([]);
  });

  it("the CLI's citations resolve (hptlab policies, scenario --list, help scenario)", async () => {
    const outputs: [string, string[]][] = [
      ["policies", ["policies"]],
      ["scenario --list", ["scenario", "--list"]],
      ["help scenario", ["help", "scenario"]],
    ];
    let found = 0;
    for (const [name, args] of outputs) {
      const r = await cli(args);
      // wrapped help text: join lines so a citation split by the wrap is seen whole
      const text = (r.stdout + r.stderr).replace(/\s*\n\s*/g, " ");
      const cs = citations(text, `hptlab ${name}`);
      found += cs.filter((c) => c.section).length;
      expect(unresolved(cs), `hptlab ${name}`).toEqual([]);
      for (const [re, why] of FORBIDDEN) expect(re.test(text), `hptlab ${name} ${why}`).toBe(false);
    }
    expect(found).toBeGreaterThan(10);
  });

  it("no tracked file (but test fixtures and package-lock.json) cites the founding notes", () => {
    const bad: string[] = [];
    for (const f of repoFiles().filter((f) => !SKIP(f))) {
      if (!existsSync(join(ROOT, f))) continue;
      const text = readText(f);
      if (text === null) continue;
      text.split("\n").forEach((line, n) => {
        for (const [re, why] of FORBIDDEN) if (re.test(line)) bad.push(`${relative(ROOT, join(ROOT, f))}:${n + 1}: ${why}`);
      });
    }
    expect(bad).toEqual([]);
  });
});
