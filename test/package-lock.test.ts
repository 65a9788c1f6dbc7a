// `npm install` must not rewrite the tracked package-lock.json: its root entry says what package.json
// says (npm rewrites the lock when they differ — e.g. an install script added to package.json without
// "hasInstallScript": true in the lock), and every direct dependency is locked at a version its range
// accepts (else npm resolves it again).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const lock = JSON.parse(readFileSync(new URL("../package-lock.json", import.meta.url), "utf8"));

/** The ranges package.json uses: exact, ^x.y.z, ~x.y.z, ~x.y, x.y, x.y.z (node-semver's meaning). */
function satisfies(version: string, range: string): boolean {
  const v = version.split(".").map(Number);
  const m = /^([~^]?)(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim());
  if (!m || v.length !== 3 || v.some(Number.isNaN)) throw new Error(`range ${range} or version ${version} not understood`);
  const [op, a, b, c] = [m[1]!, Number(m[2]), m[3] === undefined ? null : Number(m[3]), m[4] === undefined ? null : Number(m[4])];
  const ge = (x: number[]) => v[0]! !== x[0]! ? v[0]! > x[0]! : v[1]! !== x[1]! ? v[1]! > x[1]! : v[2]! >= x[2]!;
  const low = [a, b ?? 0, c ?? 0];
  if (!ge(low)) return false;
  if (op === "^") return a > 0 ? v[0] === a : (b ?? 0) > 0 ? v[0] === 0 && v[1] === b : v[0] === 0 && v[1] === 0 && (c === null || v[2] === c);
  if (op === "~" || c === null) return b === null ? v[0] === a : v[0] === a && v[1] === b;
  return v[0] === a && v[1] === b && v[2] === c;
}

describe("package-lock.json agrees with package.json", () => {
  const root = lock.packages[""];

  it("lockfile version 3 (npm 7 and later write it as is)", () => {
    expect(lock.lockfileVersion).toBe(3);
    expect([lock.name, lock.version]).toEqual([pkg.name, pkg.version]);
  });

  it("the root entry holds what npm derives from package.json", () => {
    const installScript = ["preinstall", "install", "postinstall"].some((s) => pkg.scripts?.[s] !== undefined);
    const bin = Object.fromEntries(Object.entries(pkg.bin ?? {}).map(([k, v]) => [k, String(v).replace(/^\.\//, "")]));
    const want: Record<string, unknown> = {
      name: pkg.name, version: pkg.version, ...(installScript ? { hasInstallScript: true } : {}), license: pkg.license,
      dependencies: pkg.dependencies, bin, devDependencies: pkg.devDependencies, engines: pkg.engines,
    };
    for (const k of ["optionalDependencies", "peerDependencies"]) if (pkg[k]) want[k] = pkg[k];
    expect(root).toEqual(want);
  });

  it("every direct dependency is locked at a version its range accepts", () => {
    for (const [name, range] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies } as Record<string, string>)) {
      const entry = lock.packages[`node_modules/${name}`];
      expect(entry, name).toBeDefined();
      expect(satisfies(entry.version, range), `${name}@${entry.version} is outside ${range}`).toBe(true);
    }
  });

  it("the range check reads ranges as npm does", () => {
    expect([satisfies("6.4.3", "~6.4.3"), satisfies("6.5.0", "~6.4.3"), satisfies("3.12.0", "3.12"), satisfies("3.13.0", "3.12")]).toEqual([true, false, true, false]);
    expect([satisfies("0.5.9", "^0.5.0"), satisfies("0.6.0", "^0.5.0"), satisfies("14.1.0", "^14.0.3"), satisfies("14.0.2", "^14.0.3")]).toEqual([true, false, true, false]);
    expect([satisfies("6.0.3", "~6.0"), satisfies("6.1.0", "~6.0"), satisfies("4.1.12", "4.1")]).toEqual([true, false, true]);
  });
});
