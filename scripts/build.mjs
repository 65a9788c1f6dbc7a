#!/usr/bin/env node
/**
 * hptlab's build, step by step: the WASM engine (release and debug), the optional huge-pages helper,
 * the TypeScript. A step runs when anything it reads is newer than its last run (a stamp in build/),
 * when an output is missing or was changed since, or with --force (what `npm install` does). So
 * `npm start`, `npm test` and `npm run bench` rebuild only what changed.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const force = process.argv.includes("--force");

const STEPS = [
  {
    name: "asbuild",
    inputs: ["assembly", "asconfig.json", "node_modules/assemblyscript/package.json"],
    outputs: ["build/hptlab.wasm", "build/hptlab.debug.wasm"],
  },
  { name: "native", inputs: ["native", "scripts/build-native.mjs"], outputs: [], optionalOutputs: ["build/hugepages.node"] },
  {
    name: "tsbuild",
    inputs: ["src", "tsconfig.json", "tsconfig.build.json", "package.json", "node_modules/typescript/package.json"],
    outputs: ["dist/index.js", "dist/cli.js"],
  },
];

/** Newest modification time under `rel` (a file or a folder, recursively); 0 when it does not exist. */
function newest(rel) {
  const walk = (p) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return 0;
    }
    if (!st.isDirectory()) return st.mtimeMs;
    let t = st.mtimeMs; // a file removed or renamed changes its folder
    for (const e of readdirSync(p)) t = Math.max(t, walk(join(p, e)));
    return t;
  };
  return walk(join(root, rel));
}

const skipped = [];
for (const step of STEPS) {
  const stamp = join(root, "build", `.stamp-${step.name}`);
  const ran = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
  // the stamp lists the optional outputs the last run made: those must still be there
  const made = ran > 0 ? readFileSync(stamp, "utf8").split("\n").slice(1).filter(Boolean) : [];
  const fresh = !force && ran > 0
    && Math.max(...step.inputs.map(newest)) < ran
    && [...step.outputs, ...made].every((o) => existsSync(join(root, o)))
    && Math.max(0, ...[...step.outputs, ...(step.optionalOutputs ?? [])].map(newest)) <= ran;
  if (fresh) {
    skipped.push(step.name);
    continue;
  }
  const r = spawnSync("npm", ["run", step.name, "--silent"], { cwd: root, stdio: "inherit", shell: process.platform === "win32" });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
  mkdirSync(dirname(stamp), { recursive: true });
  const optional = (step.optionalOutputs ?? []).filter((o) => existsSync(join(root, o)));
  writeFileSync(stamp, [new Date().toISOString(), ...optional].join("\n") + "\n");
}
if (skipped.length) process.stderr.write(`hptlab build: ${skipped.join(", ")} up to date (npm run build -- --force rebuilds)\n`);
