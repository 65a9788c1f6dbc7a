/** Terminal tables of counters (formatting lives here, never in the engine). */
import Table from "cli-table3";
import { HCALL_NAMES, RET_BUCKETS, SCALAR_COUNTERS, type CounterBlock } from "../types.js";

const fmt = (n: bigint) => n.toLocaleString("en-US");
/** Borders without a rule between rows. */
const COMPACT = { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" };

/** Scalar counters, one row each, one column per block (e.g. machine, then each guest). */
export function countersTable(columns: { title: string; counters: CounterBlock }[]): string {
  const t = new Table({ head: ["counter", ...columns.map((c) => c.title)], style: { head: [], border: [] }, chars: COMPACT });
  for (const name of SCALAR_COUNTERS) t.push([name, ...columns.map((c) => fmt(c.counters[name]))]);
  return t.toString();
}

/** Hypercalls by name and return code (rows with no calls are left out). */
export function hcallTable(counters: CounterBlock): string {
  const t = new Table({ head: ["hcall", ...RET_BUCKETS], style: { head: [], border: [] }, chars: COMPACT });
  for (const h of HCALL_NAMES) {
    const row = counters.hcalls[h];
    if (RET_BUCKETS.every((b) => row[b] === 0n)) continue;
    t.push([h, ...RET_BUCKETS.map((b) => fmt(row[b]))]);
  }
  return t.toString();
}

/** A CounterBlock with bigints as decimal strings, for JSON output. */
export function countersJson(c: CounterBlock): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of SCALAR_COUNTERS) out[name] = c[name].toString();
  out.hcalls = Object.fromEntries(HCALL_NAMES.map((h) => [h, Object.fromEntries(RET_BUCKETS.map((b) => [b, c.hcalls[h][b].toString()]))]));
  return out;
}
