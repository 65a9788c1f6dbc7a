/**
 * Huge pages for the engine's memory (docs/memory.md, "Huge pages"): where the optional native
 * helper (native/hugepages.c, built into build/hugepages.node by `npm run build`) is present, each
 * new WASM memory's reservation is advised for 2 MiB pages before it grows. Only speed depends on
 * it (memory-bound kernels: hptOpsMix, tlbie1024), never a result.
 *
 * HPTLAB_HUGEPAGES: "auto" (default: advise when the helper is there), "off" (never), "on" (advise,
 * and an error when the helper is missing or madvise refuses).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";

interface Helper {
  advise(view: Uint8Array, bytes: number): number;
}

let helper: Helper | null | undefined;
let loadError = "";
/** Whether the kernel has transparent huge pages (checked once). */
let thp: boolean | undefined;

/** The native helper, or null (why: hugePagesUnavailable()). Loaded once per thread. */
function loadHelper(): Helper | null {
  if (helper !== undefined) return helper;
  try {
    helper = createRequire(import.meta.url)("../../build/hugepages.node") as Helper;
  } catch (e) {
    helper = null;
    loadError = (e as Error).message.split("\n")[0]!;
  }
  return helper;
}

function mode(): "auto" | "off" | "on" {
  const v = process.env.HPTLAB_HUGEPAGES;
  if (v === undefined || v === "" || v === "auto") return "auto";
  if (v === "off" || v === "on") return v;
  throw new Error(`HPTLAB_HUGEPAGES=${JSON.stringify(v)}: expected auto, on or off`);
}

/** Why memories are not advised, or "" when they are (`npm run bench`'s header, timing.json, errors). */
export function hugePagesUnavailable(): string {
  if (mode() === "off") return "HPTLAB_HUGEPAGES=off";
  if (process.platform !== "linux") return `not on ${process.platform}`;
  if (thp === undefined) thp = existsSync("/sys/kernel/mm/transparent_hugepage/enabled");
  if (!thp) return "this kernel has no transparent huge pages";
  return loadHelper() ? "" : `no native helper (${loadError})`;
}

/**
 * Advise `memory`'s reservation, up to `maxBytes`, for 2 MiB pages. Returns the memory's base
 * address when advised, 0 when not (mode off, no helper, madvise refused) — an error instead in mode "on".
 */
export function adviseHugePages(memory: WebAssembly.Memory, maxBytes: number): number {
  const on = mode() === "on";
  const why = hugePagesUnavailable(); // "HPTLAB_HUGEPAGES=off" too
  if (why !== "") {
    if (on) throw new Error(`HPTLAB_HUGEPAGES=on: ${why}`);
    return 0;
  }
  const r = loadHelper()!.advise(new Uint8Array(memory.buffer, 0, 1), maxBytes);
  if (r <= 0 && on) throw new Error(`HPTLAB_HUGEPAGES=on: madvise(MADV_HUGEPAGE) failed (errno ${-r})`);
  return r > 0 ? r : 0;
}
