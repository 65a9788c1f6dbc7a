/**
 * The `hptlab` command line. Commands are registered by functions `(program, ctx) => void`, so a
 * module can add its own; the machine factory is injected (`buildProgram(deps)`), and `main` wires the
 * real ones, importing the WASM engine or the reference model only when a command needs a machine.
 *
 * Exit codes: 0 success, 1 `--check` found mismatches, 2 bad input (one line on stderr:
 * `hptlab: <message>`), 3 internal error (one line too; HPTLAB_DEBUG=1 adds the stack).
 */
import { pathToFileURL } from "node:url";
import { Command, CommanderError, Option } from "commander";
import { ConfigError, type MachineConfigInput } from "./config.js";
import { TraceError } from "./trace/hcall-trace.js";
import { formatResultLine, replayHcalls, type ReplayResult } from "./trace/replay.js";
import { DEFAULT_DTLB, DEFAULT_ITLB, formatLackeyReport, lackeyJson, LACKEY_MAX_SIZE, parsePageSize, parseTlbGeometry, replayLackey, type TlbGeometry } from "./trace/lackey.js";
import type { Semantics, SimMachine } from "./types.js";
import { registerScenario, registerPolicies, registerCosts, registerMachines } from "./cli-kvm.js";
import { registerStudy, registerMerge } from "./cli-study.js";
import { integerOption, choiceOption } from "./cli-options.js";
import { hptlabVersion } from "./version.js";
import { POLICY_NAMES, type PolicyName } from "./model/policies.js";
import { PAGE_SHIFTS } from "./model/page-sizes.js";

export type EngineName = "wasm" | "reference";

export interface CliDeps {
  makeMachine: (engine: EngineName, cfg: MachineConfigInput) => Promise<SimMachine> | SimMachine;
  /** Where results go (default process.stdout). */
  stdout?: NodeJS.WritableStream;
  /** Where the one-line errors go (default process.stderr). */
  stderr?: NodeJS.WritableStream;
}

/** What a command's action sees: the injected dependencies, resolved streams, and the exit code to return. */
export interface CliContext {
  makeMachine: CliDeps["makeMachine"];
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  exitCode: number;
}

export type RegisterCommand = (program: Command, ctx: CliContext) => void;

/** The output was closed under us (`hptlab hcalls t.jsonl | head`): stop quietly. */
class OutputClosed extends Error {}

/**
 * Buffered line output with backpressure: `line()` returns a promise only when the stream asks the
 * writer to wait, so a replay awaits nothing on the common path.
 */
class LineSink {
  #buf = "";
  #closed = false;
  readonly #out: NodeJS.WritableStream;
  constructor(out: NodeJS.WritableStream) {
    this.#out = out;
    out.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE" || e.code === "ERR_STREAM_DESTROYED") this.#closed = true;
    });
  }
  line(s: string): Promise<void> | undefined {
    if (this.#closed) throw new OutputClosed();
    this.#buf += s + "\n";
    return this.#buf.length >= 1 << 16 ? this.flush() : undefined;
  }
  async flush(): Promise<void> {
    if (this.#closed) throw new OutputClosed();
    if (this.#buf === "") return;
    const chunk = this.#buf;
    this.#buf = "";
    const out = this.#out;
    if (!out.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          out.off("drain", done);
          out.off("close", done);
          out.off("error", done);
          resolve();
        };
        out.on("drain", done);
        out.on("close", done);
        out.on("error", done);
      });
      if (this.#closed) throw new OutputClosed();
    }
  }
}

const TRACE_FORMAT_HELP = `
Trace format (JSON Lines, plain or gzip-compressed, detected by content): one JSON object per
line; blank lines are ignored. An optional first line {"config": {...}} gives the guest:
"semantics" ("kvm-hv" or "qemu"), "ram_bytes" (default 256 MiB), "hpt_order" (18..46, default
QEMU's rule from ram_bytes) and "hpt_max_page_shift" (12, 16 or 24, default 24); the options
below override it. Every other line is a call: {"hcall": "H_ENTER" | "H_REMOVE" | "H_PROTECT" |
"H_READ" | "H_BULK_REMOVE", "flags": V, "args": [V, ...]} with 3, 2, 2, 1 or 8 args (H_BULK_REMOVE:
the 8 words r4..r11, flags "0x0"), and optionally "ret" (expected r3, a signed integer), "out"
(expected r4.., 1, 2, 0, 2 or 8 with H_READ_4, and 8 values), "problem_state" (true/false), "cpu"
(issuing cpu, default 0) and "lpid". A value V is a "0x..." hex string of at most 16 digits or a
non-negative safe-integer number. The calls run in order on one guest with an empty HPT.

Output: one JSON line per call, {"line": N, "hcall": NAME, "ret": INT, "out": ["0x...", ...]},
values in lower-case hex. With --check nothing per call is printed: the first mismatch
(FILE:LINE: H_NAME: out[2]: expected 0x... got 0x...) and "N calls, M mismatches"; ret is
compared whenever the trace has it, out when the expected ret is 0 (or absent) and always for
H_BULK_REMOVE. Exit status: 0, 1 when --check finds mismatches, 2 for bad input.

Example:
  hptlab hcalls data/traces/linux-6.1-guest-boot-wl20.jsonl.gz --check`;

const BYTE_SUFFIX: Record<string, number> = { "": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** A byte count: decimal, 0x hex, or with a binary suffix K, M, G, T (optionally "iB"/"B"): 1G = 2^30. */
export function parseByteCount(text: string): number {
  let n = NaN;
  const hexMatch = /^0x([0-9a-f]{1,13})$/i.exec(text);
  const decMatch = /^([0-9]+)([KMGT]?)(?:i?B)?$/i.exec(text);
  if (hexMatch) n = Number.parseInt(hexMatch[1]!, 16);
  else if (decMatch) n = Number(decMatch[1]) * BYTE_SUFFIX[decMatch[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(n) || n < 1 || n > 2 ** 40) {
    throw new ConfigError("--ram-bytes", `${JSON.stringify(text)} is not a byte count in 1..2^40 (e.g. 1073741824, 0x40000000 or 1G)`);
  }
  return n;
}

function pageShiftOption(text: string): number {
  if (!PAGE_SHIFTS.map(String).includes(text)) throw new ConfigError("--hpt-max-page-shift", `${JSON.stringify(text)} is not ${PAGE_SHIFTS.slice(0, -1).join(", ")} or ${PAGE_SHIFTS[PAGE_SHIFTS.length - 1]}`);
  return Number(text);
}

interface HcallsFlags {
  check?: boolean;
  semantics?: Semantics;
  ramBytes?: number;
  hptOrder?: number;
  hptMaxPageShift?: number;
  engine: EngineName;
  json?: boolean;
}

/** `hptlab hcalls FILE`: replay a hypercall trace (docs/formats.md §1). */
export const registerHcalls: RegisterCommand = (program, ctx) => {
  program
    .command("hcalls")
    .summary("replay a hypercall trace (JSONL, plain or gzip) and optionally check its recorded results")
    .description(
      "Replay the HPT hypercalls of FILE (H_ENTER, H_REMOVE, H_PROTECT, H_READ, H_BULK_REMOVE) in order on one " +
        "simulated guest, printing each call's result, or with --check comparing them with the results the trace recorded.",
    )
    .argument("<file>", "hypercall trace, JSON Lines, plain or gzip")
    .option("--check", "compare with the trace's ret/out; print the first mismatch and a summary; exit 1 on any mismatch")
    .addOption(new Option("--semantics <name>", "hypercall semantics (overrides the header)").choices(["kvm-hv", "qemu"]).argParser(choiceOption("--semantics", ["kvm-hv", "qemu"])))
    .option("--ram-bytes <n>", "guest RAM, e.g. 1073741824, 0x40000000 or 1G (overrides the header)", parseByteCount)
    .option("--hpt-order <n>", "log2 of the HPT size in bytes, 18..46 (overrides the header)", integerOption("--hpt-order", 18, 46))
    .option("--hpt-max-page-shift <n>", "largest base page H_ENTER accepts, 12, 16 or 24 (overrides the header)", pageShiftOption)
    .addOption(new Option("--engine <name>", "simulator to run on").choices(["wasm", "reference"]).argParser(choiceOption("--engine", ["wasm", "reference"])).default("wasm"))
    .option("--json", "with --check: print one JSON object {calls, mismatches, firstMismatch}")
    .addHelpText("after", TRACE_FORMAT_HELP)
    .action(async (file: string, flags: HcallsFlags) => {
      const sink = new LineSink(ctx.stdout);
      const check = flags.check === true;
      const print = (r: ReplayResult) => sink.line(formatResultLine(r));
      try {
        const summary = await replayHcalls({
          file,
          makeMachine: (cfg) => ctx.makeMachine(flags.engine, cfg),
          semantics: flags.semantics,
          ramBytes: flags.ramBytes,
          hptOrder: flags.hptOrder,
          hptMaxPageShift: flags.hptMaxPageShift,
          check,
          onResult: check ? undefined : print,
        });
        if (check) {
          if (flags.json) {
            sink.line(JSON.stringify({ calls: summary.calls, mismatches: summary.mismatches, firstMismatch: summary.firstMismatch ?? null }));
          } else {
            if (summary.firstMismatch !== undefined) sink.line(summary.firstMismatch);
            sink.line(`${summary.calls} calls, ${summary.mismatches} mismatches`);
          }
          if (summary.mismatches > 0) ctx.exitCode = 1;
        }
        await sink.flush();
      } catch (e) {
        if (e instanceof OutputClosed) return;
        // Print what was replayed before the bad line, then report it.
        await sink.flush().catch(() => undefined);
        throw e;
      }
    });
};

const LACKEY_HELP = `
Trace format (valgrind --tool=lackey --trace-mem=yes --log-file=FILE, plain or gzip-compressed,
detected by content): one access per line, the address in hex without 0x (any case, below 2^64),
the size in decimal:
  I  0040a2f0,3      instruction fetch        -> I-TLB
   L 1ffefffd28,8    data load                -> D-TLB
   S 1ffefffd20,8    data store               -> D-TLB
   M 0060a1b0,4      data modify (load+store) -> D-TLB, one access
Lines beginning with == (valgrind's own) are skipped; blank lines are allowed only at the end;
CRLF line ends are accepted; other lines longer than 4096 bytes are refused. Any other line is an
error naming the file, the line and the field (kind, address or size): exit status 2.

Each TLB is set-associative with true LRU replacement, set = virtual page number mod SETS (SETS
need not be a power of two; WAYS at most 1024, SETS x WAYS at most 4194304). An access that
straddles a page boundary translates both pages in order and counts as one access, and as one
miss if either page misses (an access larger than a page translates every page it touches). A
size of 0 is taken as 1 byte: the page of the address. Sizes above ${LACKEY_MAX_SIZE} are refused.

Output: a table, or with --json one object {"file", "format": "lackey", "pageSize",
"itlb": {"sets", "ways", "accesses", "misses", "straddling", "pageLookups", "pageMisses"},
"dtlb": {...}, "lines", "skipped", "bytes", "seconds"}. "lines" counts every line of the file
(accesses, == lines and trailing blank lines), "skipped" the == lines, "bytes" the bytes read
after decompression, "seconds" the wall time; "misses" counts accesses that missed,
"pageMisses" pages filled. When stderr is a terminal, progress (lines/s) is shown on it during
long runs.

Example:
  hptlab trace prog.lackey.gz --itlb 64x2 --dtlb 128x4 --page-size 64k --json`;

interface TraceFlags {
  format: "lackey";
  itlb: TlbGeometry;
  dtlb: TlbGeometry;
  pageSize: number;
  json?: boolean;
}

/** `hptlab trace FILE`: replay a memory-access trace through an I-TLB and a D-TLB (docs/formats.md §2). */
export const registerTrace: RegisterCommand = (program, ctx) => {
  program
    .command("trace")
    .summary("replay a valgrind lackey memory-access trace (plain or gzip) through an I-TLB and a D-TLB")
    .description(
      "Replay the instruction fetches of FILE through a set-associative LRU I-TLB and its loads, stores and modifies " +
        "through a D-TLB, and print accesses and misses of each.",
    )
    .argument("<file>", "lackey trace, plain or gzip")
    .addOption(new Option("--format <name>", "trace format").choices(["lackey"]).argParser(choiceOption("--format", ["lackey"])).default("lackey"))
    .addOption(new Option("--itlb <SETSxWAYS>", "I-TLB sets and ways").argParser((t: string) => parseTlbGeometry(t, "--itlb")).default({ ...DEFAULT_ITLB }, `${DEFAULT_ITLB.sets}x${DEFAULT_ITLB.ways}`))
    .addOption(new Option("--dtlb <SETSxWAYS>", "D-TLB sets and ways").argParser((t: string) => parseTlbGeometry(t, "--dtlb")).default({ ...DEFAULT_DTLB }, `${DEFAULT_DTLB.sets}x${DEFAULT_DTLB.ways}`))
    .addOption(new Option("--page-size <size>", "page size: 4k, 64k or 16m").argParser((t: string) => parsePageSize(t)).default(4096, "4k"))
    .option("--json", "print one JSON object instead of a table")
    .option("--machine", "instead: drive a full simulated machine with the trace as one guest's accesses (docs/study.md)")
    .option("--cores <n>", "--machine: physical cores", integerOption("--cores", 1, 1024), 4)
    .option("--vcpus <n>", "--machine: the guest's vcpus (accesses round-robin over them)", integerOption("--vcpus", 1, 4096), 1)
    .addOption(new Option("--policy <id>", "--machine: invalidation policy").argParser(choiceOption("--policy", POLICY_NAMES)).default(POLICY_NAMES[0]))
    .addHelpText("after", LACKEY_HELP)
    .action(async (file: string, flags: TraceFlags & { machine?: boolean; cores: number; vcpus: number; policy: PolicyName }) => {
      if (flags.machine) {
        const { runLackeyOnMachine } = await import("./workload/lackey-machine.js");
        const { countersJson } = await import("./report/counters-table.js");
        const r = await runLackeyOnMachine(file, { cores: flags.cores, vcpus: flags.vcpus, policy: flags.policy });
        const kvm = Object.fromEntries(Object.entries(r.kvm).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : Object.fromEntries(Object.entries(v as Record<string, bigint>).map(([a, b]) => [a, Number(b)]))]));
        const out = { file, lines: r.lines, accesses: r.accesses, pages: r.pages, evictions: r.evictions, counters: countersJson(r.counters), kvm };
        if (flags.json) ctx.stdout.write(JSON.stringify(out) + "\n");
        else {
          const c = r.counters;
          ctx.stdout.write(`${file}: ${r.lines} lines, ${r.accesses} accesses over ${r.pages} pages on ${flags.cores} cores × SMT4 (${flags.policy})\n` +
            `translations ${c.translations}, TLB hits ${c.tlbHits} (${(Number(c.tlbHits) / Math.max(1, Number(c.translations)) * 100).toFixed(2)}%), HPT walks ${c.hptWalks}, H_ENTER ${c.hcalls.H_ENTER.H_SUCCESS}, remappings ${r.evictions}\n`);
        }
        return;
      }
      const err = ctx.stderr as NodeJS.WritableStream & { isTTY?: boolean };
      const tty = err.isTTY === true;
      let shown = false;
      const result = await replayLackey(file, {
        pageSize: flags.pageSize,
        itlb: flags.itlb,
        dtlb: flags.dtlb,
        onProgress: tty
          ? (p) => {
              if (p.seconds < 1) return;
              shown = true;
              err.write(`\rhptlab trace: ${(p.lines / 1e6).toFixed(1)} M lines, ${(p.lines / p.seconds / 1e6).toFixed(1)} M lines/s `);
            }
          : undefined,
      }).finally(() => {
        if (shown) err.write("\r\x1b[K");
      });
      ctx.stdout.write(flags.json ? `${lackeyJson(result)}\n` : formatLackeyReport(result));
    });
};

/** `hptlab demo`: a small machine exercising the engine through op batches, then its counters. */
export const registerDemo: RegisterCommand = (program, ctx) => {
  program
    .command("demo")
    .summary("run a small built-in workload on the engine and print its counters")
    .description(
      "Create a machine and a few guests (one in four with qemu semantics), map pages with H_ENTER, translate " +
        "from every cpu (90% on a hot 1/64 of each guest's pages), then H_REMOVE a quarter and H_PROTECT another quarter " +
        "of each guest's pages, all through op batches; print the machine's and each guest's counters.",
    )
    .option("--cores <n>", "physical cores, 1..1024", integerOption("--cores", 1, 1024), 16)
    .addOption(new Option("--smt <n>", "threads per core").choices(["1", "2", "4", "8"]).argParser(choiceOption("--smt", ["1", "2", "4", "8"])).default("4"))
    .option("--guests <n>", "guests, 1..64", integerOption("--guests", 1, 64), 4)
    .option("--pages <n>", "4 KiB pages each guest maps, 1..4096", integerOption("--pages", 1, 4096), 4096)
    .option("--translations <n>", "translations in all", integerOption("--translations", 0, 1e9), 1_000_000)
    .option("--seed <n>", "seed of the workload and of random replacement", integerOption("--seed", 0, 0xffffffff), 1)
    .option("--json", "print one JSON object instead of tables")
    .action(async (flags: { cores: number; smt: string; guests: number; pages: number; translations: number; seed: number; json?: boolean }) => {
      const { runDemo } = await import("./demo.js");
      const { countersTable, hcallTable, countersJson } = await import("./report/counters-table.js");
      const r = runDemo({ cores: flags.cores, smt: Number(flags.smt) as 1 | 2 | 4 | 8, guests: flags.guests, pagesPerGuest: flags.pages, translations: flags.translations, seed: flags.seed });
      if (flags.json) {
        ctx.stdout.write(JSON.stringify({ config: r.config, ops: r.ops, seconds: r.seconds, counters: countersJson(r.counters), guests: r.perGuest.map((g) => ({ lpid: g.lpid, semantics: g.semantics, counters: countersJson(g.counters) })) }) + "\n");
        return;
      }
      const c = r.counters;
      const pct = (a: bigint, b: bigint) => (b === 0n ? "-" : `${(Number((a * 10000n) / b) / 100).toFixed(2)}%`);
      ctx.stdout.write(
        `hptlab demo: ${r.config.cores} cores × SMT${r.config.smt}, POWER7 TLBs (128 × 4), ${r.config.guests} guests × ${r.config.pagesPerGuest} pages, seed ${r.config.seed}\n` +
          `${r.ops.toLocaleString("en-US")} ops in ${r.seconds.toFixed(2)} s (${(r.ops / r.seconds / 1e6).toFixed(2)} M ops/s, including writing them from JS)\n\n` +
          countersTable([{ title: "machine", counters: c }, ...r.perGuest.map((g) => ({ title: `LPID ${g.lpid} (${g.semantics})`, counters: g.counters }))]) + "\n\n" +
          hcallTable(c) + "\n\n" +
          `TLB hit rate ${pct(c.tlbHits, c.translations)}; ${c.globalTlbies} tlbie removed ${c.globalTlbieEntries} TLB entries across the cores.\n`,
      );
    });
};

/** Commands of `hptlab`, in help order. A module adds a command by adding its register function here. */
export const COMMANDS: readonly RegisterCommand[] = [registerStudy, registerMerge, registerScenario, registerPolicies, registerCosts, registerMachines, registerHcalls, registerTrace, registerDemo];

const contexts = new WeakMap<Command, CliContext>();

/** The `hptlab` program with every command registered; errors are thrown (exitOverride), not printed. */
export function buildProgram(deps: CliDeps, commands: readonly RegisterCommand[] = COMMANDS): Command {
  const ctx: CliContext = {
    makeMachine: deps.makeMachine,
    stdout: deps.stdout ?? process.stdout,
    stderr: deps.stderr ?? process.stderr,
    exitCode: 0,
  };
  const program = new Command("hptlab");
  program
    .description(
      "Simulator of the POWER hashed page table, per-core TLBs and the PAPR HPT hypercalls " +
        "(KVM Book3S HV and QEMU pseries semantics).",
    )
    .version(hptlabVersion(), "-V, --version")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void ctx.stdout.write(s),
      writeErr: (s) => void ctx.stderr.write(s),
      // Errors are printed once, by run(), in hptlab's one-line form.
      outputError: () => undefined,
    })
    .showSuggestionAfterError(true)
    .addHelpText("after", "\nRun 'hptlab help <command>' for a command's options and formats.");
  for (const register of commands) register(program, ctx);
  contexts.set(program, ctx);
  return program;
}

/**
 * An error message as hptlab's one line: its first line, without a prefix said twice — errors are
 * wrapped on their way up (`merge: merge: …`, `hptlab: hptlab: …`), and the reader needs it once.
 */
export function oneLine(message: string): string {
  let s = message.split("\n")[0]!.replace(/^(hptlab: |error: )+/, "");
  for (let m = /^([^\s:]+(?: [^\s:]+)?: )\1+/.exec(s); m; m = /^([^\s:]+(?: [^\s:]+)?: )\1+/.exec(s)) s = m[1]! + s.slice(m[0].length);
  return s;
}

/** Parses `argv` (node, script, args...), runs the command and returns the exit code. Never throws. */
export async function run(argv: readonly string[], deps: CliDeps, commands?: readonly RegisterCommand[]): Promise<number> {
  const program = buildProgram(deps, commands);
  const ctx = contexts.get(program)!;
  const fail = (message: string, code: number) => {
    ctx.stderr.write(`hptlab: ${oneLine(message)}\n`);
    return code;
  };
  try {
    await program.parseAsync(argv as string[]);
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0;
      // Help shown because no command was given: commander already wrote it to stderr.
      if (e.code === "commander.help" || e.code === "commander.helpDisplayed") return 2;
      return fail(e.message.replace(/^error: /, ""), 2);
    }
    if (e instanceof TraceError || e instanceof ConfigError) return fail(e.message, 2);
    if (process.env.HPTLAB_DEBUG) ctx.stderr.write(`${(e as Error).stack}\n`);
    return fail(`internal error: ${(e as Error)?.message ?? String(e)}`, 3);
  }
}

/** Loads lazily, so `hptlab --help` works without the WASM build; a missing build is one clear line. */
async function load<T>(importer: () => Promise<T>, what: string): Promise<T> {
  try {
    return await importer();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") throw new Error(`${what} is not built (npm run build): ${(e as Error).message}`);
    throw e;
  }
}

/** The real machine factory: the WASM engine or the plain-TypeScript reference model. */
export async function makeMachine(engine: EngineName, cfg: MachineConfigInput): Promise<SimMachine> {
  if (engine === "reference") {
    const ref = await load(() => import("./reference/index.js"), "the reference model");
    return ref.createReferenceMachine(cfg);
  }
  const wasm = await load(() => import("./engine/index.js"), "the wasm engine");
  return wasm.createMachine(cfg);
}

/** Entry point of bin/hptlab.js: runs the CLI and sets process.exitCode. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  // A closed pipe (`hptlab ... | head`) is not an error: output stops, the exit code stands.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
  });
  const code = await run(argv, { makeMachine });
  process.exitCode = code;
  return code;
}

// `tsx src/cli.ts ...` during development.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv);
}
