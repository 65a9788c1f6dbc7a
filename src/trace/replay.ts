/**
 * Replay of a hypercall trace on one guest of a simulated machine, and the check of its recorded
 * results (docs/formats.md §1 "Replay output" and "Checking").
 */
import { ConfigError, type MachineConfigInput } from "../config.js";
import type { HcallName, HcallOptions, HcallResult, Semantics, SimGuest, SimMachine } from "../types.js";
import { headerToGuestOptions, readHcallTrace, TraceError, type TraceCall, type TraceHeader } from "./hcall-trace.js";
import { Machine } from "../engine/machine.js";
import { type Guest } from "../engine/guest.js";
import type { OpBatch } from "../engine/batch.js";

/** Machine a replay runs on unless told otherwise: 64 cores × SMT 4, so trace cpus 0..255 fit. */
export const REPLAY_DEFAULT_CORES = 64;
export const REPLAY_DEFAULT_SMT = 4;

/** One replayed call: what `hptlab hcalls FILE` prints a line for. `out` is the engine's own array. */
export interface ReplayResult {
  line: number;
  hcall: HcallName;
  ret: number;
  out: readonly bigint[];
}

export interface ReplayOptions {
  /** The trace, as the user named it (messages quote it as given). */
  file: string;
  makeMachine: (cfg: MachineConfigInput) => SimMachine | Promise<SimMachine>;
  /** Overrides of the trace header (docs/formats.md §1). */
  semantics?: Semantics;
  ramBytes?: number;
  hptOrder?: number;
  hptMaxPageShift?: number;
  /** Machine size; every trace cpu must be below cores × smt. Default 64 × 4. */
  cores?: number;
  smt?: 1 | 2 | 4 | 8;
  /** Compare each call with its recorded `ret` / `out`. */
  check: boolean;
  /**
   * Called after every call, in order. `mismatch` (check mode only) is the full message when this call
   * differs from the trace. A returned promise is awaited before the next call (output backpressure).
   */
  onResult?: (result: ReplayResult, call: TraceCall, mismatch: string | undefined) => void | Promise<void>;
}

export interface ReplaySummary {
  calls: number;
  /** Calls that differ from the trace (a call counts once, however many of its words differ). */
  mismatches: number;
  /** `FILE:LINE: H_NAME: out[2]: expected 0x… got 0x…` for the first differing call. */
  firstMismatch?: string;
  header?: TraceHeader;
  guest: SimGuest;
}

const hex = (v: bigint): string => `0x${v.toString(16)}`;

/**
 * Where a result differs from the recorded one (docs/formats.md §1): `ret` whenever the trace has it; `out`
 * when the expected ret is 0 — or the trace gives no ret — and always for H_BULK_REMOVE. Returns the
 * message tail (`ret: expected -4 got 0`, `out[2]: expected 0x… got 0x…`) or undefined.
 */
export function compareResult(call: TraceCall, result: HcallResult): string | undefined {
  const ret = call.ret;
  if (ret !== undefined && result.ret !== ret) return `ret: expected ${ret} got ${result.ret}`;
  const out = call.out;
  if (out === undefined || (ret !== undefined && ret !== 0 && call.hcall !== "H_BULK_REMOVE")) return undefined;
  const got = result.out;
  const n = Math.min(out.length, got.length);
  for (let i = 0; i < n; i++) {
    if (got[i] !== out[i]) return `out[${i}]: expected ${hex(out[i]!)} got ${hex(got[i]!)}`;
  }
  if (got.length !== out.length) return `out: expected ${out.length} values got ${got.length}`;
  return undefined;
}

/** The replay output line of one call: `{"line":N,"hcall":"H_ENTER","ret":0,"out":["0x590b8"]}`. */
export function formatResultLine(r: ReplayResult): string {
  let s = `{"line":${r.line},"hcall":"${r.hcall}","ret":${r.ret},"out":[`;
  const out = r.out;
  for (let i = 0; i < out.length; i++) s += i === 0 ? `"0x${out[i]!.toString(16)}"` : `,"0x${out[i]!.toString(16)}"`;
  return `${s}]}`;
}

function execute(guest: SimGuest, call: TraceCall, opts: HcallOptions): HcallResult {
  const a = call.args;
  switch (call.hcall) {
    case "H_ENTER": return guest.hEnter(call.flags, a[0]!, a[1]!, a[2]!, opts);
    case "H_REMOVE": return guest.hRemove(call.flags, a[0]!, a[1]!, opts);
    case "H_PROTECT": return guest.hProtect(call.flags, a[0]!, a[1]!, opts);
    case "H_READ": return guest.hRead(call.flags, a[0]!, opts);
    case "H_BULK_REMOVE": return guest.hBulkRemove(a, opts);
  }
}

/** Write one call into an engine batch (the same op Guest.hEnter … would run). */
function pushCall(b: OpBatch, guest: Guest, call: TraceCall, opts: HcallOptions): number {
  const a = call.args;
  switch (call.hcall) {
    case "H_ENTER": return b.hEnter(guest, call.flags, a[0]!, a[1]!, a[2]!, opts);
    case "H_REMOVE": return b.hRemove(guest, call.flags, a[0]!, a[1]!, opts);
    case "H_PROTECT": return b.hProtect(guest, call.flags, a[0]!, a[1]!, opts);
    case "H_READ": return b.hRead(guest, call.flags, a[0]!, opts);
    case "H_BULK_REMOVE": return b.hBulkRemove(guest, Array.from({ length: 8 }, (_, i) => a[i] ?? 0n), opts); // missing registers are 0
  }
}

/**
 * Replays `file` on a fresh machine with one guest configured from the trace header and the
 * overrides, executing the calls in order. Throws TraceError for bad input (the trace, a cpu beyond
 * the machine, a second lpid) and ConfigError for a refused configuration.
 */
export async function replayHcalls(opts: ReplayOptions): Promise<ReplaySummary> {
  const { file, check, onResult } = opts;
  const cores = opts.cores ?? REPLAY_DEFAULT_CORES;
  const smt = opts.smt ?? REPLAY_DEFAULT_SMT;
  const ncpus = cores * smt;
  const overrides = {
    semantics: opts.semantics,
    ramBytes: opts.ramBytes,
    hptOrder: opts.hptOrder,
    hptMaxPageShift: opts.hptMaxPageShift,
  };

  let header: TraceHeader | undefined;
  let guest: SimGuest | undefined;
  const start = async (): Promise<SimGuest> => {
    const guestOpts = headerToGuestOptions(header, overrides, file);
    const machineCfg: MachineConfigInput = { cores, smt };
    // Host memory backs guest RAM (kvm-hv); grow it past the default 4 GiB only when the guest needs it.
    const ram = guestOpts.ramBytes!;
    if (ram > 2 ** 32) machineCfg.hostMemoryBytes = Math.ceil(ram / 2 ** 24) * 2 ** 24;
    // A simulator that cannot hold the configuration refuses it with a RangeError (e.g. an HPT too big
    // for WASM32 memory): that is the user's input, so it becomes a ConfigError like the rest.
    const refused = (scope: string, e: unknown): unknown =>
      e instanceof RangeError ? new ConfigError(scope, e.message.replace(/^(machine|createGuest): /, "")) : e;
    let machine: SimMachine;
    try {
      machine = await opts.makeMachine(machineCfg);
    } catch (e) {
      throw refused("machine", e);
    }
    let g: SimGuest;
    try {
      g = machine.createGuest(guestOpts);
    } catch (e) {
      throw refused("guest", e);
    }
    // on the engine, calls run in batches: one WASM call per op buffer of calls, the results read
    // back in order (a trace gives every argument, so no call waits for the one before)
    if (machine instanceof Machine) batch = machine.batch();
    return g;
  };

  // One options object for every call: the guest reads it during the call and keeps nothing.
  const callOpts: HcallOptions = { cpu: 0, problemState: false };
  let traceLpid: number | undefined;
  let calls = 0;
  let mismatches = 0;
  let firstMismatch: string | undefined;
  let batch: OpBatch | undefined;
  /** Calls written into the batch and not yet run, in order. */
  const queued: TraceCall[] = [];

  const report = async (item: TraceCall, result: HcallResult): Promise<void> => {
    calls++;
    let mismatch: string | undefined;
    if (check) {
      const where = compareResult(item, result);
      if (where !== undefined) {
        mismatch = `${file}:${item.line}: ${item.hcall}: ${where}`;
        mismatches++;
        firstMismatch ??= mismatch;
      }
    }
    if (onResult !== undefined) {
      const pending = onResult({ line: item.line, hcall: item.hcall, ret: result.ret, out: result.out }, item, mismatch);
      if (pending !== undefined) await pending;
    }
  };
  /** Run the queued calls and report them in order. */
  const drain = async (): Promise<void> => {
    if (batch === undefined || queued.length === 0) return;
    batch.run();
    const ran = queued.splice(0); // they ran: whatever a report throws, they never run again
    try {
      for (let i = 0; i < ran.length; i++) {
        if (batch.rejected(i)) throw new Error(`engine rejected ${ran[i]!.hcall} of line ${ran[i]!.line}`);
        await report(ran[i]!, batch.hcallResult(i));
      }
    } finally {
      batch.clear();
    }
  };

  try {
    for await (const item of readHcallTrace(file)) {
      if (item.kind === "header") {
        header = item;
        continue;
      }
      guest ??= await start();
      if (item.cpu >= ncpus) {
        throw new TraceError(file, item.line, "cpu", `${item.cpu} is not below the machine's ${ncpus} cpus (${cores} cores × SMT ${smt})`);
      }
      if (item.lpid !== undefined) {
        traceLpid ??= item.lpid;
        if (item.lpid !== traceLpid) {
          throw new TraceError(file, item.line, "lpid", `${item.lpid}: replay runs one guest, and this trace's calls began with lpid ${traceLpid}`);
        }
      }
      callOpts.cpu = item.cpu;
      callOpts.problemState = item.problemState;
      if (batch !== undefined) {
        pushCall(batch, guest as Guest, item, callOpts);
        queued.push(item);
        if (batch.full) await drain();
      } else {
        await report(item, execute(guest, item, callOpts));
      }
    }
  } catch (e) {
    // what was read before the bad line still runs and is reported, then the error
    await drain().catch(() => undefined);
    throw e;
  }
  await drain();
  // A trace with no calls still has its configuration checked.
  guest ??= await start();
  const summary: ReplaySummary = { calls, mismatches, guest };
  if (firstMismatch !== undefined) summary.firstMismatch = firstMismatch;
  if (header !== undefined) summary.header = header;
  return summary;
}
