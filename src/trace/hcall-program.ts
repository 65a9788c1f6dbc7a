/**
 * A hypercall trace compiled for use as a study workload (docs/study.md, "Real guests"): the calls
 * of a docs/formats.md §1 trace (plain or gzip, streamed) in flat typed arrays, with what the KVM-HV
 * handlers do with each of them — the slot H_ENTER used, whether a remove or protect found its
 * entry, which requests of an H_BULK_REMOVE removed one — and, for every entry H_ENTER installs, the
 * segment word and effective address that translate through it (recovered from the HPTE and its
 * PTEG the way compute_tlbie_rb does, docs/model/tlb.md §5).
 *
 * The results come from one replay on the engine under kvm-hv semantics. They do not depend on the
 * invalidation policy, the schedule or host paging (a paged-out HPTE keeps its slot), so every point
 * of a study replays the same program; the arrays live in SharedArrayBuffers, so study workers
 * receive them without a copy.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { Machine } from "../engine/machine.js";
import { type Guest } from "../engine/guest.js";
import { recoverVa } from "../reference/hash.js";
import { kvmHvPageShift } from "../reference/pagesize.js";
import { slbVsidWord, type PageShift } from "../hpte.js";
import { replayHcalls } from "./replay.js";
import { TraceError } from "./hcall-trace.js";
import type { HcallName } from "../types.js";
import { fileSha256, readCachedProgram, traceCacheFile, writeCachedProgram } from "./program-cache.js";

/** Kind of each call, as stored in `HcallProgram.kind`. */
export const HC = { ENTER: 0, REMOVE: 1, PROTECT: 2, READ: 3, BULK: 4 } as const;
const KIND_OF: Record<HcallName, number> = { H_ENTER: HC.ENTER, H_REMOVE: HC.REMOVE, H_PROTECT: HC.PROTECT, H_READ: HC.READ, H_BULK_REMOVE: HC.BULK };

/** u32 words per call in `words`: flags (lo, hi), then up to 8 argument registers (lo, hi). */
export const CALL_WORDS = 18;
/** u32 words per call in `touch`: slb VSID word (lo, hi), effective address (lo, hi), guest frame (in 64 KiB host pages). */
export const TOUCH_WORDS = 5;

/** A trace vcpu beyond this is refused (a study guest has at most 4096 vcpus). */
export const MAX_TRACE_VCPUS = 4096;

export interface HcallProgram {
  /** The trace as named by the user. */
  file: string;
  calls: number;
  /** Highest `cpu` of the trace + 1. */
  vcpus: number;
  /** Guest configuration from the header (docs/formats.md §1 defaults). */
  ramBytes: number;
  hptOrder: number;
  hptMaxPageShift: number;
  /** Calls per kind, and entries H_ENTER installed. */
  counts: Record<HcallName, number>;
  /** First 16 hex digits of a SHA-256 over the calls (kind, cpu, flags, args): the trace's identity in results. */
  digest: string;
  /** Source line of each call (for messages). */
  line: Uint32Array;
  kind: Uint8Array;
  vcpu: Uint16Array;
  /** CALL_WORDS per call. */
  words: Uint32Array;
  /** r3 under kvm-hv. */
  ret: Int32Array;
  /** H_ENTER: slot used (−1 when it failed); H_REMOVE / H_PROTECT / H_READ: the ptex argument; H_BULK_REMOVE: −1. */
  slot: Int32Array;
  /** H_REMOVE / H_PROTECT: 1 when the entry was found (ret 0). H_BULK_REMOVE: bit j = request j removed an entry. */
  hit: Uint8Array;
  /** H_BULK_REMOVE: the ptex of each of the 4 requests (−1 for none). */
  bulkSlot: Int32Array;
  /** TOUCH_WORDS per call; only H_ENTER calls that installed an entry have them (else zeros). */
  touch: Uint32Array;
}

function shared<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array>(Ctor: new (b: SharedArrayBuffer) => T, bytesPer: number, n: number): T {
  return new Ctor(new SharedArrayBuffer(Math.max(1, n) * bytesPer));
}

export interface LoadProgramOptions {
  /** Replay only the first N calls. */
  maxCalls?: number;
  /** Called every 16384 calls while loading. */
  onProgress?: (calls: number) => void;
  /**
   * Read the program from, and write it to, the compiled-trace cache in `dir` (src/trace/program-cache.ts;
   * whole traces only: not with maxCalls). `onNote` is told, in one line, of a cache file that failed
   * its checks (the trace is then compiled again) or could not be written.
   */
  cache?: { dir: string; onNote?: (line: string) => void };
}

/**
 * How to reach the entry (v, r) in slot ptex of an HPT of 2^hptOrder bytes: the SLB VSID word of its
 * segment and an effective address (segment offset; ESID 0) whose translation finds it, and the
 * guest real address of its page. The page number's bits below VA bit 23 come from the PTEG, the
 * rest from the AVPN (docs/model/translation.md §2.3, docs/model/tlb.md §5; reference/hash.ts recoverVa). Page size by KVM's decoder.
 */
export function hpteTouch(v: bigint, r: bigint, ptex: bigint, hptOrder: number): { slbV: bigint; ea: bigint; gpa: bigint; pageShift: number } {
  const shift = kvmHvPageShift(v, r) || 12;
  const va = recoverVa(v, ptex, (1n << BigInt(hptOrder - 7)) - 1n, shift);
  const segBits = va.b === 1 ? 40n : 28n;
  const slbV = slbVsidWord(va.va >> segBits, shift as PageShift, va.b === 1 ? "1T" : "256M");
  const ea = va.va & ((1n << segBits) - 1n);
  const gpa = r & 0x0ffffffffffff000n & ~((1n << BigInt(shift)) - 1n);
  return { slbV, ea, gpa, pageShift: shift };
}

const lo = (x: bigint) => Number(x & 0xffffffffn);
const hi = (x: bigint) => Number((x >> 32n) & 0xffffffffn);

/**
 * Read, check and compile a hypercall trace. Errors are TraceErrors naming the file, line and field
 * (a bad line, a cpu beyond MAX_TRACE_VCPUS, an entry whose page size KVM refuses), or ConfigErrors
 * for a header the engine cannot hold. With `cache`, the program compiled earlier from the same bytes
 * by the same build is read from the cache instead (equal in every field), and a compiled one is written there.
 */
export async function loadHcallProgram(file: string, opts: LoadProgramOptions = {}): Promise<HcallProgram> {
  const cache = opts.maxCalls === undefined ? opts.cache : undefined;
  if (!cache) return compileHcallProgram(file, opts);
  const note = (line: string) => cache.onNote?.(`trace cache: ${line}`);
  let key: { sha: string; path: string } | undefined;
  try {
    const sha = fileSha256(file);
    key = { sha, path: traceCacheFile(cache.dir, sha) };
  } catch (e) {
    // an unreadable trace: the compiler names it; anything else (the cache key): compile without the cache
    if (existsSync(file)) note(`${(e as Error).message}; compiling ${file} without the cache`);
  }
  if (key) {
    const r = readCachedProgram(key.path, file, key.sha);
    if ("program" in r) {
      opts.onProgress?.(r.program.calls);
      return r.program;
    }
    if ("bad" in r) note(`${key.path} ${r.bad}: not used; compiling ${file} again`);
  }
  const program = await compileHcallProgram(file, opts);
  if (key) {
    try {
      writeCachedProgram(key.path, program, key.sha);
    } catch (e) {
      note(`cannot write ${key.path} (${(e as Error).message.split("\n")[0]}): the trace is compiled on every run (HPTLAB_TRACE_CACHE=off, or --no-trace-cache, stops trying)`);
    }
  }
  return program;
}

/** loadHcallProgram without the cache: parse, replay and compile. */
async function compileHcallProgram(file: string, opts: LoadProgramOptions): Promise<HcallProgram> {
  const max = opts.maxCalls ?? Infinity;
  // grow the arrays as the trace streams in (its length is not known up front)
  let cap = 1 << 14;
  let line = new Uint32Array(cap), kind = new Uint8Array(cap), vcpu = new Uint16Array(cap), words = new Uint32Array(cap * CALL_WORDS);
  let ret = new Int32Array(cap), slot = new Int32Array(cap), hit = new Uint8Array(cap), bulkSlot = new Int32Array(cap * 4), touch = new Uint32Array(cap * TOUCH_WORDS);
  const grow = () => {
    cap *= 2;
    const g = <T extends { length: number; set(a: T): void }>(a: T, Ctor: new (n: number) => T, per = 1): T => {
      const b = new Ctor(cap * per);
      b.set(a);
      return b;
    };
    line = g(line, Uint32Array); kind = g(kind, Uint8Array); vcpu = g(vcpu, Uint16Array); words = g(words, Uint32Array, CALL_WORDS);
    ret = g(ret, Int32Array); slot = g(slot, Int32Array); hit = g(hit, Uint8Array); bulkSlot = g(bulkSlot, Int32Array, 4); touch = g(touch, Uint32Array, TOUCH_WORDS);
  };
  const counts: Record<HcallName, number> = { H_ENTER: 0, H_REMOVE: 0, H_PROTECT: 0, H_READ: 0, H_BULK_REMOVE: 0 };
  let n = 0;
  let vcpus = 1;
  let hptOrder = 0;
  const hash = createHash("sha256");
  let digestText = ""; // hashed 64 KiB at a time (the same digest as line by line)
  const stop = new Error("enough calls");
  let guest: Guest | undefined;
  try {
    await replayHcalls({
      file, check: false, semantics: "kvm-hv",
      cores: MAX_TRACE_VCPUS / 4, smt: 4,
      makeMachine: (cfg) => {
        // keep the guest the replay creates: its HPT order and RAM are the header's, defaults filled in
        const m = new Machine(cfg);
        const create = m.createGuest.bind(m);
        m.createGuest = (o) => (guest = create(o));
        return m;
      },
      onResult: (r, call) => {
        if (n >= max) throw stop;
        if (n === cap) grow();
        hptOrder ||= guest!.hptOrder;
        const i = n++;
        line[i] = call.line;
        kind[i] = KIND_OF[call.hcall];
        vcpu[i] = call.cpu;
        if (call.cpu + 1 > vcpus) vcpus = call.cpu + 1;
        counts[call.hcall]++;
        const w = i * CALL_WORDS;
        words[w] = lo(call.flags); words[w + 1] = hi(call.flags);
        call.args.forEach((a, k) => { words[w + 2 + 2 * k] = lo(a); words[w + 3 + 2 * k] = hi(a); });
        digestText += `${call.hcall} ${call.cpu} ${call.flags} ${call.args.join(",")}\n`;
        if (digestText.length > 1 << 16) { hash.update(digestText); digestText = ""; }
        ret[i] = r.ret;
        slot[i] = -1;
        switch (call.hcall) {
          case "H_ENTER":
            if (r.ret === 0) {
              const ptex = r.out[0]!;
              slot[i] = Number(ptex);
              const x = hpteTouch(call.args[1]!, call.args[2]!, ptex, hptOrder);
              const t = i * TOUCH_WORDS;
              touch[t] = lo(x.slbV); touch[t + 1] = hi(x.slbV); touch[t + 2] = lo(x.ea); touch[t + 3] = hi(x.ea);
              touch[t + 4] = Number(x.gpa >> 12n);
            }
            break;
          case "H_REMOVE":
          case "H_PROTECT":
          case "H_READ":
            slot[i] = Number(call.args[0]! & 0x7fffffffn);
            hit[i] = r.ret === 0 ? 1 : 0;
            break;
          case "H_BULK_REMOVE": {
            let bits = 0;
            for (let j = 0; j < 4; j++) {
              const tsh = call.args[2 * j]!;
              const type = Number(tsh >> 62n);
              bulkSlot[i * 4 + j] = type === 1 ? Number(tsh & 0x7fffffffn) : -1;
              const resp = r.out[2 * j]!;
              if (type === 1 && Number(resp >> 62n) === 2 && Number((resp >> 60n) & 3n) === 0) bits |= 1 << j;
            }
            hit[i] = bits;
            break;
          }
        }
        if ((n & 16383) === 0) opts.onProgress?.(n);
      },
    });
  } catch (e) {
    if (e !== stop) throw e;
  }
  hash.update(digestText);
  if (n === 0) throw new TraceError(file, 0, undefined, "has no hypercalls to replay");
  // copy into shared memory, exactly sized
  const sh = <T extends Uint8Array | Uint16Array | Uint32Array | Int32Array>(a: T, Ctor: new (b: SharedArrayBuffer) => T, per = 1): T => {
    const b = shared(Ctor, a.BYTES_PER_ELEMENT, n * per);
    b.set(a.subarray(0, n * per) as never);
    return b;
  };
  return {
    file, calls: n, vcpus, counts,
    ramBytes: guest!.options.ramBytes, hptOrder, hptMaxPageShift: guest!.options.hptMaxPageShift,
    digest: hash.digest("hex").slice(0, 16),
    line: sh(line, Uint32Array), kind: sh(kind, Uint8Array), vcpu: sh(vcpu, Uint16Array), words: sh(words, Uint32Array, CALL_WORDS),
    ret: sh(ret, Int32Array), slot: sh(slot, Int32Array), hit: sh(hit, Uint8Array), bulkSlot: sh(bulkSlot, Int32Array, 4), touch: sh(touch, Uint32Array, TOUCH_WORDS),
  };
}
