// A lackey trace driving a full machine as one guest's memory accesses.
import { describe, expect, it } from "vitest";
import { runLackeyOnMachine } from "../src/workload/lackey-machine.js";
import { replayLackey } from "../src/trace/lackey.js";

async function* chunks(text: string) {
  yield new TextEncoder().encode(text);
}

describe("lackey → machine", () => {
  it("every page lookup is one translation; each new page is mapped once by H_ENTER", async () => {
    const f = new URL("./fixtures/tiny-static.lackey.gz", import.meta.url).pathname;
    const r = await runLackeyOnMachine(f, { cores: 2 });
    const l = await replayLackey(f, {});
    expect(r.lines).toBe(l.lines);
    expect(r.counters.translations).toBe(BigInt(l.itlb.pageLookups + l.dtlb.pageLookups));
    expect(r.counters.hcalls.H_ENTER.H_SUCCESS).toBe(BigInt(r.pages));
    expect(r.counters.hptFaults).toBe(0n);
    expect(r.counters.tlbMisses).toBe(BigInt(r.pages)); // 73 pages fit one core's 512-entry TLB
  });

  it("a full guest RAM recycles its oldest page (H_REMOVE) before mapping a new one", async () => {
    // 64 KiB of RAM (one host page) = 16 guest pages; 20 distinct pages evict the 4 oldest
    const lines = Array.from({ length: 20 }, (_, i) => ` L ${(0x10000 + i * 4096).toString(16)},8`).join("\n") + "\n";
    const r = await runLackeyOnMachine(chunks(lines), { ramBytes: 65536, hptOrder: 18, file: "t" });
    expect([r.accesses, r.pages, r.evictions]).toEqual([20, 20, 4]);
    expect(r.counters.hcalls.H_REMOVE.H_SUCCESS).toBe(4n);
    expect([r.counters.localTlbiels, r.counters.globalTlbies]).toEqual([4n, 0n]); // one vcore running here: tlbiel
  });

  it("errors name the file and line", async () => {
    await expect(runLackeyOnMachine(chunks(" L 1000,8\n X zz\n"), { file: "bad.trace" })).rejects.toThrow(/^bad\.trace:2:/);
  });
});
