// The engine's policy table (assembly/policies/table.ts, each policy's file answering EV_NAME) and
// the TypeScript registry (src/model/policies.ts) name the same policy at every id; a policy id the
// engine does not know is refused at guest creation, and the engine aborts rather than run one.
import { describe, expect, test } from "vitest";
import { engineModule, enginePolicyName, instantiateEngine, EngineAbort } from "../src/engine/wasm.js";
import { createMachineSync } from "../src/engine/machine.js";
import { G, GUEST_BYTES } from "../src/engine/layout.js";
import { POLICIES, policyByName } from "../src/model/policies.js";

function engineTable(): { count: number; names: (string | undefined)[] } {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  const wasm = instantiateEngine(memory, engineModule());
  const count = wasm.policyCount();
  return { count, names: Array.from({ length: count + 1 }, (_, id) => enginePolicyName(wasm, memory, id)) };
}

describe("policy table: engine and registry", () => {
  for (const debug of [false, true]) {
    test(`the ${debug ? "debug" : "release"} engine names the registry's policy at every id`, () => {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
      const wasm = instantiateEngine(memory, engineModule(debug));
      expect(wasm.policyCount()).toBe(POLICIES.length);
      for (const p of POLICIES) expect([p.id, enginePolicyName(wasm, memory, p.id)]).toEqual([p.id, p.name]);
      expect(enginePolicyName(wasm, memory, POLICIES.length)).toBeUndefined();
      expect(wasm.policyName(POLICIES.length)).toBe(0);
    });
  }

  test("registry ids are positions: 0, 1, … with no gap", () => {
    expect(POLICIES.map((p) => p.id)).toEqual(POLICIES.map((_, i) => i));
    const { names } = engineTable();
    expect(names.slice(0, -1)).toEqual(POLICIES.map((p) => p.name));
  });

  test("createGuest refuses a registry id the engine lacks or gives to another policy", () => {
    const m = createMachineSync({ cores: 2, smt: 4 });
    const p = policyByName("need-tlb-flush-no-reset")!;
    const id = p.id;
    try {
      (p as { id: number }).id = POLICIES.length;
      expect(() => m.createGuest({ policy: "need-tlb-flush-no-reset" })).toThrow(
        `createGuest: policy need-tlb-flush-no-reset has id ${POLICIES.length}, which the engine's table (assembly/policies/table.ts) does not have`);
      (p as { id: number }).id = 0;
      expect(() => m.createGuest({ policy: "need-tlb-flush-no-reset" })).toThrow("which the engine's table (assembly/policies/table.ts) gives to need-tlb-flush");
    } finally {
      (p as { id: number }).id = id;
    }
    expect(m.guests).toEqual([]);
    expect(m.createGuest({ policy: "need-tlb-flush-no-reset" }).lpid).toBe(1);
    m.dispose();
  });

  test("the engine aborts on a guest whose policy id is not in its table (never runs policy 0 instead)", () => {
    const m = createMachineSync({ cores: 2, smt: 4 });
    const g = m.createGuest({ policy: "need-tlb-flush" });
    const at = (m.plan.guests + g.slot * GUEST_BYTES + G.POLICY) / 4;
    m._u32[at] = POLICIES.length;
    let err: unknown;
    try { g.runVcore(0, 0); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(EngineAbort);
    expect((err as Error).message).toContain("policy id (G_POLICY) not in assembly/policies/table.ts");
    m._u32[at] = 0;
    m.dispose();
  });
});
