/**
 * A deliberately simple lackey TLB replay, written for reading, against which the fast one
 * (lackey.ts) is tested: the whole text as a string, split into lines, regular expressions,
 * BigInt addresses, one Map per set kept in recency order. Same rules (docs/formats.md §2 and the
 * decisions listed in lackey.ts); it reports errors as TraceErrors naming the same line and field,
 * with its own wording.
 */
import { TraceError } from "./hcall-trace.js";
import type { TlbGeometry, TlbStats } from "./lackey.js";

export interface ReferenceLackeyOptions {
  file?: string;
  pageSize?: number;
  itlb?: TlbGeometry;
  dtlb?: TlbGeometry;
}

export interface ReferenceLackeyResult {
  itlb: TlbStats;
  dtlb: TlbStats;
  lines: number;
  skipped: number;
}

class ReferenceTlb {
  readonly sets: Map<bigint, true>[] = [];
  readonly stats: TlbStats;
  constructor(readonly geometry: TlbGeometry) {
    this.stats = { sets: geometry.sets, ways: geometry.ways, accesses: 0, misses: 0, straddling: 0, pageLookups: 0, pageMisses: 0 };
  }

  /** true on a hit; on a miss the page is filled, evicting the least recently used page of its set. */
  lookup(page: bigint): boolean {
    const index = Number(page % BigInt(this.geometry.sets));
    const set = (this.sets[index] ??= new Map());
    if (set.has(page)) {
      set.delete(page);
      set.set(page, true);
      return true;
    }
    if (set.size === this.geometry.ways) set.delete(set.keys().next().value!);
    set.set(page, true);
    return false;
  }

  access(first: bigint, last: bigint): void {
    this.stats.accesses++;
    if (last > first) this.stats.straddling++;
    let missed = false;
    for (let page = first; page <= last; page++) {
      this.stats.pageLookups++;
      if (!this.lookup(page)) {
        this.stats.pageMisses++;
        missed = true;
      }
    }
    if (missed) this.stats.misses++;
  }
}

/** Replays the lackey trace `text` (the whole file) through an I-TLB and a D-TLB. */
export function referenceReplayLackey(text: string, opts: ReferenceLackeyOptions = {}): ReferenceLackeyResult {
  const file = opts.file ?? "lackey";
  const pageSize = BigInt(opts.pageSize ?? 4096);
  const itlb = new ReferenceTlb(opts.itlb ?? { sets: 64, ways: 2 });
  const dtlb = new ReferenceTlb(opts.dtlb ?? { sets: 64, ways: 4 });
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop(); // the newline that ends the last line
  let skipped = 0;
  let firstBlank = 0;
  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "") {
      if (firstBlank === 0) firstBlank = n;
      return;
    }
    if (firstBlank !== 0) throw new TraceError(file, firstBlank, "kind", "blank line before the end of the trace");
    if (line.startsWith("==")) {
      skipped++;
      return;
    }
    const m = /^(I  | L | S | M )(.*)$/s.exec(line);
    if (m === null) throw new TraceError(file, n, "kind", "not an I, L, S, M or == line");
    if (Buffer.byteLength(line) > 4096) throw new TraceError(file, n, undefined, "too long");
    const fields = m[2]!.split(",");
    const addr = fields[0]!;
    if (!/^[0-9a-f]+$/i.test(addr)) throw new TraceError(file, n, "address", "not hex");
    const address = BigInt(`0x${addr}`);
    if (address >= 2n ** 64n) throw new TraceError(file, n, "address", "too big");
    if (fields.length !== 2 || !/^[0-9]+$/.test(fields[1]!)) throw new TraceError(file, n, "size", "not a decimal number");
    let size = BigInt(fields[1]!);
    if (size > 16777216n) throw new TraceError(file, n, "size", "too big");
    if (size === 0n) size = 1n;
    if (address + size > 2n ** 64n) throw new TraceError(file, n, "size", "past the top");
    const first = address / pageSize;
    const last = (address + size - 1n) / pageSize;
    (m[1] === "I  " ? itlb : dtlb).access(first, last);
  });
  return { itlb: itlb.stats, dtlb: dtlb.stats, lines: lines.length, skipped };
}
