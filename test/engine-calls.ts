// Shared by the generator differential tests (test/generator.test.ts, test/trace-generator.test.ts):
// a digest of every engine call a run makes, per machine.
import { createHash, type Hash } from "node:crypto";
import { Machine } from "../src/engine/machine.js";
import { OP_BYTES, STATS_BYTES } from "../src/engine/layout.js";

/** Run `f`, hashing every engine call of every machine (keyed by the order machines were first seen). */
export function engineCalls<T>(f: () => T): { value: T; digests: string[]; calls: number[] } {
  const orig = Machine.prototype.runOps;
  const seen = new Map<Machine, { h: Hash; calls: number }>();
  Machine.prototype.runOps = function (this: Machine, count: number): void {
    orig.call(this, count);
    let e = seen.get(this);
    if (!e) seen.set(this, (e = { h: createHash("sha256"), calls: 0 }));
    const p = this.plan;
    e.h.update(String(count));
    e.h.update(new Uint8Array(this.memory.buffer, p.ops, count * OP_BYTES));
    e.h.update(new Uint8Array(this.memory.buffer, p.stats, STATS_BYTES));
    e.h.update(new Uint8Array(this.memory.buffer, p.cpuTab, p.regions.find((r) => r.name === "cpuTab")!.bytes));
    e.calls++;
  };
  try {
    const value = f();
    return { value, digests: [...seen.values()].map((e) => e.h.digest("hex")), calls: [...seen.values()].map((e) => e.calls) };
  } finally {
    Machine.prototype.runOps = orig;
  }
}
