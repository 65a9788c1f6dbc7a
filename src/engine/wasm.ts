/**
 * Loading the engine: the compiled module is read and compiled once per process (and can be
 * handed to worker threads); each machine instantiates it over its own shared memory with
 * @assemblyscript/loader.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { instantiateSync } from "@assemblyscript/loader";

/** The engine's exports (assembly/index.ts). No u64 crosses: 64-bit values live in memory. */
export interface HptlabExports {
  layoutBase(): number;
  attach(header: number): void;
  initMachine(): void;
  runBatch(count: number): number;
  zeroRange(from: number, to: number): void;
  /** 0: the engine measures whether reading ahead pays (default); 1: always; 2: never. Results never depend on it. */
  setLookahead(mode: number): void;
  /** Whether the next chunk will be read ahead (1) or not (0). */
  lookaheadIsOn(): number;
  /** Policies the engine's table knows (assembly/policies/table.ts): ids 0 … policyCount() − 1. */
  policyCount(): number;
  /** Address of policy `id`'s name in the module's static data, 0 if it has none. */
  policyName(id: number): number;
  /** The synthetic generator's kernel (assembly/workload/synthetic.ts): set up its state block, then run its loop from `phase`. */
  synInit(state: number): void;
  synRun(state: number, phase: number): number;
  traceRun(state: number, phase: number): number;
}

/** An AssemblyScript abort inside the engine, turned into an error that names the operation. */
export class EngineAbort extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EngineAbort";
  }
}

let releaseModule: WebAssembly.Module | undefined;
let debugModule: WebAssembly.Module | undefined;

/** The module, compiled once. `debug` selects the build that re-checks every unchecked() access. */
export function engineModule(debug = process.env.HPTLAB_DEBUG_WASM === "1"): WebAssembly.Module {
  if (debug) {
    debugModule ??= new WebAssembly.Module(readFileSync(fileURLToPath(new URL("../../build/hptlab.debug.wasm", import.meta.url))));
    return debugModule;
  }
  releaseModule ??= new WebAssembly.Module(readFileSync(fileURLToPath(new URL("../../build/hptlab.wasm", import.meta.url))));
  return releaseModule;
}

/** Read an AssemblyScript string (UTF-16, byte length at ptr − 4) out of memory. */
function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (ptr === 0) return "";
  const bytes = new Uint32Array(memory.buffer, ptr - 4, 1)[0]!;
  const units = new Uint16Array(memory.buffer.slice(ptr, ptr + bytes));
  return String.fromCharCode(...units);
}

/** The clock the engine's lookahead probes read (assembly/translate.ts, "when to read ahead"). */
/** The name the engine's policy table gives id `id` (what src/model/policies.ts must say), or undefined. */
export function enginePolicyName(wasm: HptlabExports, memory: WebAssembly.Memory, id: number): string | undefined {
  return id >= 0 && id < wasm.policyCount() ? readAsString(memory, wasm.policyName(id)) : undefined;
}

/**
 * What the synthetic generator's kernel calls when the op buffer is full (env.genFlush, with the ops
 * written): the running generator sets it (src/workload/synthetic-wasm.ts). One generator runs at a
 * time on a thread.
 */
const noGenerator = (): void => {
  throw new Error("engine: genFlush called with no generator running");
};
let genFlushHook: (n: number) => void = noGenerator;

/** Set the hook (null: none); returns the one it replaces (to put back). */
export function setGenFlush(hook: ((n: number) => void) | null): ((n: number) => void) | null {
  const was = genFlushHook === noGenerator ? null : genFlushHook;
  genFlushHook = hook ?? noGenerator;
  return was;
}

let engineClock: () => number = () => performance.now();

/** Tests: give engines made from now on another clock (null: performance.now again). Speed only, never results. */
export function setEngineClock(clock: (() => number) | null): void {
  engineClock = clock ?? (() => performance.now());
}

export function instantiateEngine(memory: WebAssembly.Memory, module: WebAssembly.Module = engineModule()): HptlabExports {
  const clock = engineClock;
  const imports = {
    env: {
      memory,
      now: () => clock(),
      genFlush: (n: number) => genFlushHook(n),
      abort(msg: number, file: number, line: number, col: number): never {
        throw new EngineAbort(`engine abort: ${readAsString(memory, msg) || "(no message)"} at ${readAsString(memory, file)}:${line}:${col}`);
      },
    },
  };
  const instance = instantiateSync<HptlabExports & Record<string, unknown>>(module, imports);
  return instance.exports as unknown as HptlabExports;
}
