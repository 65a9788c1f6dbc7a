/**
 * Memory-access traces of valgrind's lackey tool (docs/formats.md §2) and their TLB replay.
 *
 * ```
 * ==12345== Lackey, an example Valgrind tool        <- skipped
 * I  0040a2f0,3                                     <- instruction fetch → I-TLB
 *  L 1ffefffd28,8                                   <- load   → D-TLB
 *  S 1ffefffd20,8                                   <- store  → D-TLB
 *  M 0060a1b0,4                                     <- modify → D-TLB, ONE access
 * ```
 *
 * The parser works on bytes, straight from the chunks a file is read in: no string per line, no
 * split, no regular expression, nothing allocated per line. A line cut by a chunk boundary is
 * finished in a small carry buffer. Accesses are written into caller-provided typed arrays
 * (`AccessBatch`), which the TLBs (`LruTlb`, typed-array state, true LRU) then consume.
 *
 * Layers, each usable on its own:
 * - `LackeyParser.parse(chunk, start, batch)` / `parseLackeyChunk`: bytes → accesses in a batch;
 * - `LruTlb`: one set-associative TLB with LRU replacement;
 * - `LackeyReplayer`: `feed(chunk)` … `end()` → counts (parser + I-TLB + D-TLB);
 * - `replayLackey(fileOrChunks, opts)`: a whole file (plain or gzip, streamed) → `LackeyResult`;
 * - `lackeyBatches(fileOrChunks, opts)`: the accesses of a file as reused batches.
 *
 * Errors are `TraceError`s with one line `FILE:LINE: field: message`, the field being `kind`,
 * `address` or `size`: `t.lackey:7: address: "00zz" is not a hex number`.
 *
 * Decisions (also in `hptlab help trace`):
 * - a size of 0 is taken as 1 byte: the access translates the page of its address;
 * - sizes are 0..16777216 (lackey writes 1..512); an access may touch more than two pages (only
 *   with sizes above the page size): each page is translated in order, one access, one miss if any
 *   page missed; an access that runs past the top of the 64-bit address space is an error;
 * - `lines` counts every line of the file: accesses, valgrind's `==` lines and trailing blank lines;
 * - a blank line is accepted only at the end of the file (after it, only blank lines);
 * - a line may end in CRLF; a line longer than 4096 bytes is refused, except a `==` line;
 * - addresses are 1 or more hex digits, either case, leading zeros allowed, value below 2^64.
 */
import Table from "cli-table3";
import { ConfigError } from "../config.js";
import { isGzipError, readByteChunks } from "./byte-chunks.js";
import { TraceError } from "./hcall-trace.js";
import { PAGE_SIZES as MODEL_PAGE_SIZES } from "../model/page-sizes.js";

// ---- access kinds, page sizes, limits ----

/** Access kinds as stored in `AccessBatch.kind`. I goes to the I-TLB, the others to the D-TLB. */
export const ACCESS_I = 0;
export const ACCESS_L = 1;
export const ACCESS_S = 2;
export const ACCESS_M = 3;
export const ACCESS_KIND_NAMES = ["I", "L", "S", "M"] as const;

/** The page sizes of `--page-size`: the page-size table's (src/model/page-sizes.ts), by lower-case name. */
export const PAGE_SIZES = Object.fromEntries(MODEL_PAGE_SIZES.map((s) => [s.name.toLowerCase(), 2 ** s.shift])) as { readonly "4k": 4096; readonly "64k": 65536; readonly "16m": 16777216 };
export type PageSizeName = keyof typeof PAGE_SIZES;
export type PageSize = (typeof PAGE_SIZES)[PageSizeName];

/** A line (without its line end) longer than this is refused — except a valgrind `==` line. */
export const LACKEY_MAX_LINE = 4096;
/** The largest access size accepted (lackey itself writes 1..512). */
export const LACKEY_MAX_SIZE = 16777216;

// ---- batches of accesses ----

/**
 * Accesses as a structure of typed arrays, filled by the parser from index `length` up to
 * `capacity`. For access i: `kind[i]` (ACCESS_I, _L, _S, _M), the address as two 32-bit halves
 * `addrHi[i]`, `addrLo[i]`, the size as written (`size[i]`, 0 kept as 0), the first virtual page
 * number `page[i]` (exact: below 2^52) and the number of pages the access touches, `pages[i]`
 * (1, or 2 when it straddles a page boundary).
 */
export class AccessBatch {
  readonly capacity: number;
  readonly kind: Uint8Array;
  readonly addrHi: Uint32Array;
  readonly addrLo: Uint32Array;
  readonly size: Uint32Array;
  readonly page: Float64Array;
  readonly pages: Uint32Array;
  length = 0;
  constructor(capacity = 8192) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`AccessBatch: capacity ${capacity} is not a positive integer`);
    this.capacity = capacity;
    this.kind = new Uint8Array(capacity);
    this.addrHi = new Uint32Array(capacity);
    this.addrLo = new Uint32Array(capacity);
    this.size = new Uint32Array(capacity);
    this.page = new Float64Array(capacity);
    this.pages = new Uint32Array(capacity);
  }
  /** The address of access i as a bigint (for display and tests; not for hot loops). */
  address(i: number): bigint {
    return (BigInt(this.addrHi[i]!) << 32n) | BigInt(this.addrLo[i]!);
  }
}

// ---- the parser ----

/** Hex digit values by byte, -1 for every other byte. */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[0x41 + i] = 10 + i;
  HEX[0x61 + i] = 10 + i;
}

const NL = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const EQ = 0x3d;
const COMMA = 0x2c;

const utf8 = new TextDecoder("utf-8");

/** A value shown in a message, quoted and cut short. */
function show(s: string): string {
  const j = JSON.stringify(s);
  return j.length > 48 ? `${j.slice(0, 44)}..."` : j;
}

const TWO64 = 1n << 64n;

/**
 * Why a lackey line is refused, as [field, message], or undefined when it is valid. `text` is the
 * line without its line end (at most LACKEY_MAX_LINE + 1 characters of it), `tooLong` whether the
 * whole line is longer than LACKEY_MAX_LINE bytes. The parser's fast path only detects that a line
 * is bad; this, on the slow path, says why.
 */
export function describeLackeyLine(text: string, tooLong: boolean): [string | undefined, string] | undefined {
  if (text.startsWith("==")) return undefined;
  if (text === "") return ["kind", "missing (a blank line inside the trace; blank lines are only allowed at the end)"];
  const head = text.slice(0, 3);
  if (head !== "I  " && head !== " L " && head !== " S " && head !== " M ") {
    return ["kind", `${show(text)} does not start with "I  ", " L ", " S ", " M " or "=="`];
  }
  if (tooLong) return [undefined, `line is longer than ${LACKEY_MAX_LINE} bytes`];
  const rest = text.slice(3);
  const comma = rest.indexOf(",");
  const addr = comma < 0 ? rest : rest.slice(0, comma);
  if (addr === "") return ["address", "missing"];
  if (!/^[0-9a-fA-F]+$/.test(addr)) return ["address", `${show(addr)} is not a hex number`];
  const a = BigInt(`0x${addr}`);
  if (a >= TWO64) return ["address", `${show(addr)} does not fit in 64 bits`];
  if (comma < 0) return ["size", `missing (no "," after the address)`];
  const size = rest.slice(comma + 1);
  if (size === "") return ["size", "missing"];
  if (!/^[0-9]+$/.test(size)) return ["size", `${show(size)} is not a decimal number`];
  const s = BigInt(size);
  if (s > BigInt(LACKEY_MAX_SIZE)) return ["size", `${show(size)} is more than ${LACKEY_MAX_SIZE}`];
  if (a + (s === 0n ? 1n : s) > TWO64) return ["size", `${size} bytes at 0x${a.toString(16)} run past the top of the 64-bit address space`];
  return undefined;
}

/**
 * Parses lackey bytes into `AccessBatch`es. Feed the chunks of a file in order with `parse`, then
 * call `end` once. Counts `lines` (every line: accesses, `==` lines, blank lines) and `skipped`
 * (`==` lines). Throws a `TraceError` on the first bad line; the parser is unusable afterwards.
 */
export class LackeyParser {
  readonly file: string;
  readonly pageSize: number;
  readonly pageShift: number;
  /** Complete lines consumed so far. */
  lines = 0;
  /** Valgrind `==` lines skipped so far. */
  skipped = 0;
  /** Line number of the first of the blank lines seen since the last non-blank one (0: none). */
  #firstBlank = 0;
  /** The beginning of a line cut by a chunk boundary, and room for a '\n' after it. */
  readonly #carry = new Uint8Array(LACKEY_MAX_LINE + 2);
  #carryLen = 0;
  /** In a `==` line cut by a chunk boundary: drop bytes up to the next newline. */
  #skipping = false;
  #ended = false;
  readonly #maxPage: number;

  constructor(file = "lackey", pageSize: number = PAGE_SIZES["4k"]) {
    const shift = Math.log2(pageSize);
    if (shift !== 12 && shift !== 16 && shift !== 24) throw new ConfigError("pageSize", `${pageSize} is not 4096, 65536 or 16777216`);
    this.file = file;
    this.pageSize = pageSize;
    this.pageShift = shift;
    this.#maxPage = 2 ** (64 - shift) - 1;
  }

  /**
   * Parses the lines of `chunk` from byte `start`, appending accesses to `batch` until the chunk is
   * consumed or the batch is full. Returns the offset where it stopped: `chunk.length` when the
   * whole chunk is consumed (a cut last line is kept, to be finished by the next chunk), or less
   * when the batch filled up — empty the batch and call again from there. Keeps no reference to
   * `chunk`, so its buffer may be reused once this returns.
   */
  parse(chunk: Uint8Array, start: number, batch: AccessBatch): number {
    if (this.#ended) throw new Error("LackeyParser: parse() after end()");
    const len = chunk.length;
    let p = start;
    if (p >= len) return len;
    if (this.#skipping || this.#carryLen > 0) {
      if (batch.length >= batch.capacity) return p;
      const nl = chunk.indexOf(NL, p);
      if (this.#skipping) {
        if (nl < 0) return len;
        this.#skipping = false;
        this.lines++;
        this.skipped++;
      } else {
        this.#appendCarry(chunk, p, nl < 0 ? len : nl);
        if (nl < 0) return len;
        if (this.#skipping) {
          this.#skipping = false;
          this.lines++;
          this.skipped++;
        } else {
          this.#carry[this.#carryLen] = NL;
          this.#parseLines(this.#carry, 0, this.#carryLen + 1, batch);
          this.#carryLen = 0;
        }
      }
      p = nl + 1;
      if (p >= len) return len;
    }
    const last = chunk.lastIndexOf(NL);
    if (last >= p) {
      p = this.#parseLines(chunk, p, last + 1, batch);
      if (p <= last) return p;
    }
    this.#appendCarry(chunk, p, len);
    return len;
  }

  /**
   * The end of the input: parses a last line that has no newline (the batch needs room for one
   * access; returns false, doing nothing, when it is full).
   */
  end(batch: AccessBatch): boolean {
    if (this.#ended) return true;
    if (this.#skipping) {
      this.#skipping = false;
      this.lines++;
      this.skipped++;
    } else if (this.#carryLen > 0) {
      if (batch.length >= batch.capacity) return false;
      this.#carry[this.#carryLen] = NL;
      this.#parseLines(this.#carry, 0, this.#carryLen + 1, batch);
      this.#carryLen = 0;
    }
    this.#ended = true;
    return true;
  }

  /** Keeps bytes [from, to) of a cut line; switches to skipping for `==`; refuses an over-long line. */
  #appendCarry(b: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (n <= 0) return;
    const take = Math.min(n, LACKEY_MAX_LINE + 1 - this.#carryLen);
    this.#carry.set(b.subarray(from, from + take), this.#carryLen);
    this.#carryLen += take;
    const c = this.#carry;
    if (this.#carryLen >= 2 && c[0] === EQ && c[1] === EQ) {
      if (this.#firstBlank !== 0) throw this.#blankError();
      this.#skipping = true;
      this.#carryLen = 0;
      return;
    }
    if (take < n) {
      // Longer than any valid line can be: refused now, with the message the fast path would give.
      if (this.#firstBlank !== 0) throw this.#blankError();
      throw this.#error(this.lines + 1, utf8.decode(c.subarray(0, LACKEY_MAX_LINE + 1)), true);
    }
  }

  #blankError(): TraceError {
    const [field, message] = describeLackeyLine("", false)!;
    return new TraceError(this.file, this.#firstBlank, field, message);
  }

  #error(line: number, text: string, tooLong: boolean): TraceError {
    const why = describeLackeyLine(text, tooLong);
    if (why === undefined) throw new Error(`LackeyParser: internal error: line ${line} (${JSON.stringify(text)}) was refused but is valid`);
    return new TraceError(this.file, line, why[0], why[1]);
  }

  /** The error for the bad line starting at `p` in `b` (which holds its newline). */
  #lineError(b: Uint8Array, p: number, line: number): TraceError {
    if (this.#firstBlank !== 0) return this.#blankError();
    let e = b.indexOf(NL, p);
    if (e < 0) e = b.length;
    if (e > p && b[e - 1] === CR) e--;
    const tooLong = e - p > LACKEY_MAX_LINE;
    return this.#error(line, utf8.decode(b.subarray(p, Math.min(e, p + LACKEY_MAX_LINE + 1))), tooLong);
  }

  /**
   * The hot loop: parses complete lines of `b` from `p` (`b[end - 1]` is a newline) into `batch`
   * until `end` or a full batch; returns where it stopped.
   */
  #parseLines(b: Uint8Array, p: number, end: number, batch: AccessBatch): number {
    const cap = batch.capacity;
    let n = batch.length;
    const kinds = batch.kind;
    const addrHi = batch.addrHi;
    const addrLo = batch.addrLo;
    const sizes = batch.size;
    const pageOut = batch.page;
    const pagesOut = batch.pages;
    const shift = this.pageShift;
    const up = 32 - shift;
    const pageMask = this.pageSize - 1;
    const maxPage = this.#maxPage;
    let lines = this.lines;
    let firstBlank = this.#firstBlank;
    while (p < end && n < cap) {
      const c0 = b[p]!;
      let kind: number;
      bad: {
        if (c0 === SPACE) {
          const c1 = b[p + 1]!;
          kind = c1 === 0x4c ? ACCESS_L : c1 === 0x53 ? ACCESS_S : c1 === 0x4d ? ACCESS_M : -1;
          if (kind < 0 || b[p + 2] !== SPACE) break bad;
        } else if (c0 === 0x49) {
          if (b[p + 1] !== SPACE || b[p + 2] !== SPACE) break bad;
          kind = ACCESS_I;
        } else if (c0 === EQ && b[p + 1] === EQ) {
          if (firstBlank !== 0) break bad;
          p = b.indexOf(NL, p) + 1;
          lines++;
          this.skipped++;
          continue;
        } else if (c0 === NL || (c0 === CR && b[p + 1] === NL)) {
          lines++;
          if (firstBlank === 0) firstBlank = this.#firstBlank = lines;
          p += c0 === NL ? 1 : 2;
          continue;
        } else {
          break bad;
        }
        if (firstBlank !== 0) break bad;

        // address: 1+ hex digits, value below 2^64, as two 32-bit halves
        let q = p + 3;
        let d = HEX[b[q]!]!;
        if (d < 0) break bad;
        let hi = 0;
        let lo = 0;
        do {
          if (hi >>> 28 !== 0) break bad;
          hi = (hi << 4) | (lo >>> 28);
          lo = (lo << 4) | d;
          d = HEX[b[++q]!]!;
        } while (d >= 0);
        if (b[q] !== COMMA) break bad;

        // size: 1+ decimal digits, at most LACKEY_MAX_SIZE
        let c = b[++q]! - 0x30;
        if (c < 0 || c > 9) break bad;
        let size = 0;
        do {
          size = size * 10 + c;
          if (size > LACKEY_MAX_SIZE) break bad;
          c = b[++q]! - 0x30;
        } while (c >= 0 && c <= 9);

        // line end: LF or CRLF
        let nl = q;
        const ce = b[q];
        if (ce !== NL) {
          if (ce !== CR || b[q + 1] !== NL) break bad;
          nl = q + 1;
        }
        if (q - p > LACKEY_MAX_LINE) break bad;

        // pages: the first virtual page number (exact, < 2^52) and how many pages the access touches
        const vpnLo = ((lo >>> shift) | (hi << up)) >>> 0;
        const page = (hi >>> shift) * 4294967296 + vpnLo;
        const span = (lo & pageMask) + (size === 0 ? 0 : size - 1);
        const pages = (span >>> shift) + 1;
        if (pages !== 1 && page + (pages - 1) > maxPage) break bad;

        kinds[n] = kind;
        addrHi[n] = hi;
        addrLo[n] = lo;
        sizes[n] = size;
        pageOut[n] = page;
        pagesOut[n] = pages;
        n++;
        lines++;
        p = nl + 1;
        continue;
      }
      this.lines = lines;
      batch.length = n;
      this.#ended = true;
      throw this.#lineError(b, p, lines + 1);
    }
    this.lines = lines;
    batch.length = n;
    return p;
  }
}

/**
 * Parses lackey bytes of `chunk` from `start` into `batch` (see `LackeyParser.parse`): the
 * allocation-free way to get accesses, e.g. to drive another simulator.
 */
export function parseLackeyChunk(parser: LackeyParser, chunk: Uint8Array, start: number, batch: AccessBatch): number {
  return parser.parse(chunk, start, batch);
}

// ---- the TLB ----

/** A TLB's shape: SETS × WAYS entries. */
export interface TlbGeometry {
  sets: number;
  ways: number;
}

/** Default I-TLB and D-TLB of `hptlab trace`: 64 sets × 2 ways and 64 sets × 4 ways. */
export const DEFAULT_ITLB: Readonly<TlbGeometry> = { sets: 64, ways: 2 };
export const DEFAULT_DTLB: Readonly<TlbGeometry> = { sets: 64, ways: 4 };
export const MAX_TLB_WAYS = 1024;
export const MAX_TLB_ENTRIES = 1 << 22;

/** Why a geometry is refused, or undefined. SETS need not be a power of two (set = page mod SETS). */
function geometryProblem(g: TlbGeometry): string | undefined {
  const { sets, ways } = g;
  if (!Number.isSafeInteger(sets) || sets < 1) return `sets ${sets} is not a positive integer`;
  if (!Number.isSafeInteger(ways) || ways < 1 || ways > MAX_TLB_WAYS) return `ways ${ways} is not an integer in 1..${MAX_TLB_WAYS}`;
  if (sets * ways > MAX_TLB_ENTRIES) return `${sets}x${ways} is more than ${MAX_TLB_ENTRIES} entries`;
  return undefined;
}

/** Validates a geometry given through the API; a ConfigError naming `name` when it is refused. */
export function checkTlbGeometry(g: TlbGeometry, name = "geometry"): TlbGeometry {
  const problem = geometryProblem(g);
  if (problem !== undefined) throw new ConfigError(name, problem);
  return { sets: g.sets, ways: g.ways };
}

/** `SETSxWAYS` (e.g. `64x4`) as given to `--itlb` / `--dtlb`; a ConfigError naming `flag` otherwise. */
export function parseTlbGeometry(text: string, flag = "geometry"): TlbGeometry {
  const m = /^([1-9][0-9]{0,15})[xX]([1-9][0-9]{0,15})$/.exec(text);
  if (m === null) throw new ConfigError(flag, `${JSON.stringify(text)} is not SETSxWAYS (two positive integers, e.g. 64x4)`);
  const g = { sets: Number(m[1]), ways: Number(m[2]) };
  const problem = geometryProblem(g);
  if (problem !== undefined) throw new ConfigError(flag, `${JSON.stringify(text)}: ${problem}`);
  return g;
}

/** `4k`, `64k` or `16m` (any case) → bytes; a ConfigError naming `flag` otherwise. */
export function parsePageSize(text: string, flag = "--page-size"): PageSize {
  const size = (PAGE_SIZES as Record<string, PageSize>)[text.toLowerCase()];
  if (size === undefined) throw new ConfigError(flag, `${JSON.stringify(text)} is not ${Object.keys(PAGE_SIZES).slice(0, -1).join(", ")} or ${Object.keys(PAGE_SIZES).at(-1)}`);
  return size;
}

/** Counters of one TLB. `misses` counts accesses with at least one missing page; `pageMisses` the page fills. */
export interface TlbStats {
  sets: number;
  ways: number;
  /** Accesses (an access touching two pages counts once). */
  accesses: number;
  /** Accesses that missed (on any of their pages). */
  misses: number;
  /** Accesses touching more than one page. */
  straddling: number;
  /** Pages looked up (≥ accesses). */
  pageLookups: number;
  /** Pages that missed and were filled. */
  pageMisses: number;
}

/**
 * A set-associative TLB of virtual page numbers with true LRU replacement. Set index = page mod
 * SETS. Each set is kept in recency order in a Float64Array (most recent first, -1 empty): a hit
 * moves its page to the front, a miss shifts the set down by one, evicting the least recently used
 * (or an empty way, always at the back), and puts the new page in front. The page last looked up
 * is remembered: looking it up again is a hit that changes nothing.
 */
export class LruTlb {
  readonly sets: number;
  readonly ways: number;
  /** sets × ways page numbers, each set most recent first; -1 is an empty way. */
  readonly tags: Float64Array;
  readonly #mask: number;
  #last = -1;
  accesses = 0;
  misses = 0;
  straddling = 0;
  pageLookups = 0;
  pageMisses = 0;

  constructor(geometry: TlbGeometry) {
    const g = checkTlbGeometry(geometry);
    this.sets = g.sets;
    this.ways = g.ways;
    this.tags = new Float64Array(g.sets * g.ways).fill(-1);
    this.#mask = (g.sets & (g.sets - 1)) === 0 && g.sets <= 2 ** 30 ? g.sets - 1 : -1;
  }

  /** Looks up virtual page `vpn` (an integer, 0 ≤ vpn < 2^52), filling it on a miss. 1 on a miss, 0 on a hit. */
  lookup(vpn: number): number {
    if (vpn === this.#last) return 0;
    this.#last = vpn;
    const ways = this.ways;
    const set = vpn < 2147483648 ? (this.#mask >= 0 ? vpn & this.#mask : (vpn | 0) % this.sets) : vpn % this.sets;
    const base = set * ways;
    const tags = this.tags;
    if (tags[base] === vpn) return 0;
    let w = 1;
    while (w < ways && tags[base + w] !== vpn) w++;
    const miss = w === ways ? 1 : 0;
    if (miss === 1) w = ways - 1;
    for (let j = base + w; j > base; j--) tags[j] = tags[j - 1]!;
    tags[base] = vpn;
    return miss;
  }

  /** One access touching `pages` consecutive pages from `vpn`: counted once, a miss if any page missed. */
  access(vpn: number, pages: number): number {
    this.accesses++;
    if (pages === 1) {
      this.pageLookups++;
      const m = this.lookup(vpn);
      this.misses += m;
      this.pageMisses += m;
      return m;
    }
    this.straddling++;
    this.pageLookups += pages;
    let any = 0;
    for (let k = 0; k < pages; k++) {
      const m = this.lookup(vpn + k);
      this.pageMisses += m;
      any |= m;
    }
    this.misses += any;
    return any;
  }

  /** The pages held by set `set`, most recently used first. */
  setContents(set: number): number[] {
    const out: number[] = [];
    for (let w = 0; w < this.ways; w++) {
      const t = this.tags[set * this.ways + w]!;
      if (t >= 0) out.push(t);
    }
    return out;
  }

  stats(): TlbStats {
    return {
      sets: this.sets,
      ways: this.ways,
      accesses: this.accesses,
      misses: this.misses,
      straddling: this.straddling,
      pageLookups: this.pageLookups,
      pageMisses: this.pageMisses,
    };
  }
}

// ---- the replay ----

export interface LackeyReplayOptions {
  /** The name errors carry (default: the path, or "lackey"). */
  file?: string;
  /** 4096 (default), 65536 or 16777216. */
  pageSize?: number;
  /** Default 64 × 2. */
  itlb?: TlbGeometry;
  /** Default 64 × 4. */
  dtlb?: TlbGeometry;
  /** Accesses per batch between the parser and the TLBs (default 8192). */
  batchSize?: number;
}

/** What a replay counted. JSON-ready; `seconds` is the wall time of the whole replay. */
export interface LackeyResult {
  file: string;
  format: "lackey";
  pageSize: number;
  itlb: TlbStats;
  dtlb: TlbStats;
  /** Every line read: accesses, valgrind's `==` lines, trailing blank lines. */
  lines: number;
  /** Valgrind `==` lines. */
  skipped: number;
  /** Bytes read (after decompression). */
  bytes: number;
  seconds: number;
}

/**
 * The TLB replay on chunks: `feed(chunk)` for each chunk of the file in order, then `end()`.
 * Nothing is allocated per line or per access.
 */
export class LackeyReplayer {
  readonly parser: LackeyParser;
  readonly itlb: LruTlb;
  readonly dtlb: LruTlb;
  readonly batch: AccessBatch;
  bytes = 0;

  constructor(opts: LackeyReplayOptions = {}) {
    this.parser = new LackeyParser(opts.file ?? "lackey", opts.pageSize ?? PAGE_SIZES["4k"]);
    this.itlb = new LruTlb(checkTlbGeometry(opts.itlb ?? DEFAULT_ITLB, "itlb"));
    this.dtlb = new LruTlb(checkTlbGeometry(opts.dtlb ?? DEFAULT_DTLB, "dtlb"));
    this.batch = new AccessBatch(opts.batchSize ?? 8192);
  }

  /** Replays the lines of `chunk` (a line cut at its end is finished by the next chunk). */
  feed(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    const len = chunk.length;
    let p = 0;
    while (p < len) {
      p = this.parser.parse(chunk, p, this.batch);
      this.#run();
    }
  }

  /** Ends the input (a last line without newline is replayed) and returns the counts. */
  end(): LackeyResult {
    while (!this.parser.end(this.batch)) this.#run();
    this.#run();
    return this.result();
  }

  /** The counts so far (`seconds` 0: timing is the caller's). */
  result(): LackeyResult {
    return {
      file: this.parser.file,
      format: "lackey",
      pageSize: this.parser.pageSize,
      itlb: this.itlb.stats(),
      dtlb: this.dtlb.stats(),
      lines: this.parser.lines,
      skipped: this.parser.skipped,
      bytes: this.bytes,
      seconds: 0,
    };
  }

  #run(): void {
    const b = this.batch;
    const n = b.length;
    const kind = b.kind;
    const page = b.page;
    const pages = b.pages;
    const itlb = this.itlb;
    const dtlb = this.dtlb;
    for (let i = 0; i < n; i++) (kind[i] === ACCESS_I ? itlb : dtlb).access(page[i]!, pages[i]!);
    b.length = 0;
  }
}

export interface LackeyProgress {
  lines: number;
  bytes: number;
  seconds: number;
}

export interface ReplayLackeyOptions extends LackeyReplayOptions {
  /** Called between chunks, at most every `progressMs` (default 500) milliseconds. */
  onProgress?: (p: LackeyProgress) => void;
  progressMs?: number;
}

/** A read error (I/O, corrupt gzip) placed on the line being read. */
function readError(file: string, line: number, e: unknown): unknown {
  if (e instanceof TraceError) return e;
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code !== "string") return e;
  if (isGzipError(err)) return new TraceError(file, line, undefined, `gzip data is corrupt or truncated (${err.message})`);
  return new TraceError(file, line, undefined, `cannot read: ${err.message}`);
}

function chunksOf(source: string | AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  return typeof source === "string" ? readByteChunks(source) : source;
}

/**
 * Replays a lackey trace through an I-TLB and a D-TLB: `source` is a file path (plain or gzip,
 * streamed) or any async iterable of byte chunks. Errors are TraceErrors (`FILE:LINE: field: …`)
 * or ConfigErrors (a bad page size or geometry).
 */
export async function replayLackey(source: string | AsyncIterable<Uint8Array>, opts: ReplayLackeyOptions = {}): Promise<LackeyResult> {
  const file = opts.file ?? (typeof source === "string" ? source : "lackey");
  const replayer = new LackeyReplayer({ ...opts, file });
  const t0 = performance.now();
  const every = opts.progressMs ?? 500;
  let next = t0 + every;
  try {
    for await (const chunk of chunksOf(source)) {
      replayer.feed(chunk);
      if (opts.onProgress !== undefined) {
        const now = performance.now();
        if (now >= next) {
          next = now + every;
          opts.onProgress({ lines: replayer.parser.lines, bytes: replayer.bytes, seconds: (now - t0) / 1000 });
        }
      }
    }
  } catch (e) {
    throw readError(file, replayer.parser.lines + 1, e);
  }
  const result = replayer.end();
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}

/**
 * The accesses of a lackey trace as batches. The same `AccessBatch` object is yielded every time,
 * refilled: read it before asking for the next. Returns the line counts when done.
 */
export async function* lackeyBatches(
  source: string | AsyncIterable<Uint8Array>,
  opts: { file?: string; pageSize?: number; batchSize?: number } = {},
): AsyncGenerator<AccessBatch, { lines: number; skipped: number }, undefined> {
  const file = opts.file ?? (typeof source === "string" ? source : "lackey");
  const parser = new LackeyParser(file, opts.pageSize ?? PAGE_SIZES["4k"]);
  const batch = new AccessBatch(opts.batchSize ?? 8192);
  const iterator = chunksOf(source)[Symbol.asyncIterator]();
  for (;;) {
    let r: IteratorResult<Uint8Array>;
    try {
      r = await iterator.next();
    } catch (e) {
      throw readError(file, parser.lines + 1, e);
    }
    if (r.done) break;
    const chunk = r.value;
    let p = 0;
    while (p < chunk.length) {
      p = parser.parse(chunk, p, batch);
      if (batch.length === batch.capacity) {
        yield batch;
        batch.length = 0;
      }
    }
  }
  while (!parser.end(batch)) {
    yield batch;
    batch.length = 0;
  }
  if (batch.length > 0) {
    yield batch;
    batch.length = 0;
  }
  return { lines: parser.lines, skipped: parser.skipped };
}

// ---- reports ----

/** The `--json` object: the result as is. */
export function lackeyJson(r: LackeyResult): string {
  return JSON.stringify(r);
}

const COMPACT = { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" };
const int = (n: number) => n.toLocaleString("en-US");
const pct = (a: number, b: number) => (b === 0 ? "-" : `${((100 * a) / b).toFixed(2)}%`);
const PAGE_NAMES: Record<number, string> = { 4096: "4 KiB", 65536: "64 KiB", 16777216: "16 MiB" };

/** The human report: what was read, then one row per TLB. */
export function formatLackeyReport(r: LackeyResult): string {
  const t = new Table({
    head: ["TLB", "sets × ways", "accesses", "misses", "miss rate", "straddling", "page lookups", "page misses"],
    style: { head: [], border: [] },
    chars: COMPACT,
    colAligns: ["left", "left", "right", "right", "right", "right", "right", "right"],
  });
  for (const [name, s] of [["I-TLB", r.itlb], ["D-TLB", r.dtlb]] as const) {
    t.push([name, `${s.sets} × ${s.ways}`, int(s.accesses), int(s.misses), pct(s.misses, s.accesses), int(s.straddling), int(s.pageLookups), int(s.pageMisses)]);
  }
  const rate = r.seconds > 0 ? `, ${(r.lines / r.seconds / 1e6).toFixed(1)} M lines/s` : "";
  return (
    `hptlab trace ${r.file}: lackey, ${PAGE_NAMES[r.pageSize] ?? `${r.pageSize}-byte`} pages\n` +
    `${int(r.lines)} lines (${int(r.skipped)} valgrind lines skipped) in ${r.seconds.toFixed(2)} s${rate}\n\n` +
    `${t.toString()}\n`
  );
}
