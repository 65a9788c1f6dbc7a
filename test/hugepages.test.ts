// Huge pages for the engine's memory (src/engine/hugepages.ts; docs/memory.md, "Huge pages"): where
// the optional native helper is built, a new machine's memory is advised for 2 MiB pages — the
// kernel marks its mapping "hg" (VM_HUGEPAGE) in /proc/self/smaps — and a study point gives the
// same results with and without. Where the helper is missing, "auto" runs without it and "on" refuses.
import { afterEach, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { Machine } from "../src/engine/machine.js";
import { pooledMemories } from "../src/engine/memory-pool.js";
import { engineModule } from "../src/engine/wasm.js";
import { MAX_BYTES } from "../src/engine/layout.js";
import { hugePagesUnavailable } from "../src/engine/hugepages.js";
import { runPoint } from "../src/study/point.js";
import { DEFAULT_WORKLOAD } from "../src/workload/synthetic.js";
import type { StudyPoint } from "../src/study/config.js";

/** The VmFlags of the mapping of this process that holds `address`, or undefined. */
function vmFlagsAt(address: number): string[] | undefined {
  const lines = readFileSync("/proc/self/smaps", "utf8").split("\n");
  const at = BigInt(address);
  for (let i = 0; i < lines.length; i++) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(lines[i]!);
    if (!m || at < BigInt(`0x${m[1]}`) || at >= BigInt(`0x${m[2]}`)) continue;
    for (let j = i + 1; j < lines.length && !/^[0-9a-f]+-/.test(lines[j]!); j++) {
      if (lines[j]!.startsWith("VmFlags:")) return lines[j]!.slice(8).trim().split(/\s+/);
    }
  }
  return undefined;
}

const withMode = <T>(v: string | undefined, f: () => T): T => {
  const old = process.env.HPTLAB_HUGEPAGES;
  if (v === undefined) delete process.env.HPTLAB_HUGEPAGES;
  else process.env.HPTLAB_HUGEPAGES = v;
  try {
    return f();
  } finally {
    if (old === undefined) delete process.env.HPTLAB_HUGEPAGES;
    else process.env.HPTLAB_HUGEPAGES = old;
  }
};

/** A machine on a fresh memory (the pool's memories are taken by `hold` first). */
const hold: Machine[] = [];
function freshMachine(mode: string | undefined): Machine {
  while (pooledMemories(engineModule()) > 0) hold.push(new Machine({ cores: 1, smt: 1 }));
  return withMode(mode, () => new Machine({ cores: 4, smt: 4 }));
}
afterEach(() => hold.splice(0).forEach((m) => m.dispose()));

// Linux with transparent huge pages and the helper built (the build skips it where it cannot)
const canAdvise = hugePagesUnavailable() === "";

describe.runIf(canAdvise)("with the native helper (Linux)", () => {
  it("advises a new machine's memory for 2 MiB pages: its mapping carries VM_HUGEPAGE", () => {
    expect(existsSync(new URL("../build/hugepages.node", import.meta.url))).toBe(true);
    const m = freshMachine(undefined);
    const base = m.hugePagesBase;
    expect(base).toBeGreaterThan(0);
    // the advice starts at the first 2 MiB boundary and covers everything the memory can grow into
    const start = Math.ceil(base / 2 ** 21) * 2 ** 21;
    expect(vmFlagsAt(start)).toContain("hg");
    expect(vmFlagsAt(start + 64 * 2 ** 20)).toContain("hg"); // not yet grown into: advised all the same
    expect(vmFlagsAt(Math.floor((base + MAX_BYTES) / 2 ** 21) * 2 ** 21 - 4096)).toContain("hg");
  });

  it("HPTLAB_HUGEPAGES=off leaves the memory as V8 maps it", () => {
    const m = freshMachine("off");
    expect(m.hugePagesBase).toBe(0);
    expect(withMode("off", hugePagesUnavailable)).toBe("HPTLAB_HUGEPAGES=off");
  });

  it("a pooled memory keeps its advice in the next machine", () => {
    const m = freshMachine(undefined);
    const base = m.hugePagesBase;
    m.dispose();
    const next = new Machine({ cores: 2, smt: 2 });
    expect(next.memory).toBe(m.memory);
    expect(next.hugePagesBase).toBe(base);
    next.dispose();
  });

  it("a study point gives the same results on advised and plain memory", () => {
    const p: StudyPoint = {
      id: 1,
      params: { sweep: "hugepages" } as never,
      run: {
        cores: 16, smt: 4, tlbSets: 128, tlbWays: 4, policy: "need-tlb-flush", deferredCap: null, deferredOverflow: null,
        vcpus: 16, threadsPerVcore: 4, guests: 2, hLocal: "lying", pageOutsPerMop: 20000, migrationRate: 0.05,
        ops: 20000, seed: 5, workload: DEFAULT_WORKLOAD,
      },
    };
    while (pooledMemories(engineModule()) > 0) hold.push(new Machine({ cores: 1, smt: 1 }));
    const advised = withMode("on", () => runPoint(p));
    while (pooledMemories(engineModule()) > 0) hold.push(new Machine({ cores: 1, smt: 1 }));
    const plain = withMode("off", () => runPoint(p));
    expect(advised.guestOps).toBe(20000);
    expect(advised.counters.tlbieSequences).toBeGreaterThan(0); // paging and invalidations ran
    expect(plain).toEqual(advised);
  });
});

describe.runIf(!canAdvise)("without the native helper (or not on Linux, or no transparent huge pages)", () => {
  it("auto runs on V8's pages; on refuses, saying why", () => {
    expect(freshMachine(undefined).hugePagesBase).toBe(0);
    expect(hugePagesUnavailable()).not.toBe("");
    expect(() => freshMachine("on")).toThrow(/^HPTLAB_HUGEPAGES=on: /);
  });
});

describe("HPTLAB_HUGEPAGES", () => {
  it("a bad value is refused, naming the variable and the choices", () => {
    expect(() => freshMachine("yes")).toThrow('HPTLAB_HUGEPAGES="yes": expected auto, on or off');
  });
});
