#!/usr/bin/env node
/**
 * Builds native/hugepages.c into build/hugepages.node (docs/memory.md, "Huge pages"), with the C
 * compiler ($CC or cc) and Node's own headers. Optional: where it cannot be built (not Linux, no
 * compiler, no headers) it says so in one line and exits 0, and the engine runs on 4 KiB pages.
 * HPTLAB_NATIVE=off skips it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "native", "hugepages.c");
const out = join(root, "build", "hugepages.node");

function skip(why) {
  rmSync(out, { force: true });
  process.stderr.write(`hptlab: huge-pages helper not built (${why}); the engine runs on 4 KiB pages\n`);
  process.exit(0);
}

if (process.env.HPTLAB_NATIVE === "off") skip("HPTLAB_NATIVE=off");
if (process.platform !== "linux") skip(`${process.platform} has no transparent huge pages`);
const candidates = [
  process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, "include", "node"),
  join(dirname(process.execPath), "..", "include", "node"),
].filter(Boolean);
const include = candidates.find((d) => existsSync(join(d, "node_api.h")));
if (!include) skip(`no node_api.h in ${candidates.join(" or ")}`);
mkdirSync(dirname(out), { recursive: true });
const cc = process.env.CC || "cc";
const r = spawnSync(cc, ["-O2", "-shared", "-fPIC", "-Wall", "-I", include, source, "-o", out], { encoding: "utf8" });
if (r.error) skip(`${cc}: ${r.error.message}`);
if (r.status !== 0) skip(`${cc} failed: ${(r.stderr || "").trim().split("\n")[0] || `exit status ${r.status}`}`);
try {
  const helper = createRequire(import.meta.url)(out);
  if (typeof helper.advise !== "function") throw new Error("no advise()");
} catch (e) {
  skip(`it does not load: ${e.message.split("\n")[0]}`);
}
