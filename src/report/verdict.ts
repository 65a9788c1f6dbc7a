/**
 * The study's answer in a few rows, for the top of report.html and summary.md: for each guest
 * shape, what honouring H_LOCAL saves (or costs) under the cheapest safe policy at the largest
 * machine, and each policy's safety verdict (src/report/safety.ts).
 *
 * - Synthetic sweeps (first finding's slice, honest H_LOCAL): the cheapest safe variant that
 *   honours H_LOCAL (fewest invalidation cycles per guest operation) against the baseline policy, which
 *   decides local vs global itself and ignores the guest's H_LOCAL — same guests, same workload.
 * - Real guests (trace sweeps, H_LOCAL never and honest replay the same calls): the cheapest safe
 *   variant with honest H_LOCAL against the same variant with H_LOCAL never.
 */
import type { StudyResults } from "../study/results.js";
import { headlineSlice } from "./findings.js";
import { isTracePoint } from "./real-guest.js";
import { baselinePolicy, policiesOf } from "../model/policies.js";
import { safeVariants } from "./safety.js";
import { type Cell, cellsOf, distinct, fmtCycles, fmtPct, shapesOf, sliceWords, describeField } from "./study-data.js";

/** The policy savings are stated against (the registry's baseline family), which decides by itself. */
const BASELINE = baselinePolicy().name;
/** Policies that act on the guest's H_LOCAL with a tlbiel when it asks (the registry's local family). */
const HONOURS_H_LOCAL: readonly string[] = policiesOf("local").map((p) => p.name);

export interface ShapeVerdict {
  shape: string;
  /** "synthetic" or the real guest's section title. */
  kind: "synthetic" | "real guest";
  cores: number;
  /** The slice in words. */
  slice: string;
  /** What the saving is measured against, in words. */
  against: string;
  /** The cheapest safe variant (label), or null when no safe variant was run there. */
  policy: string | null;
  /** Fraction of invalidation cycles saved (negative: cost). */
  saving: number | null;
  /** The comparison in words: "saves 1.8% (2,120 vs 2,159 cycles)". */
  text: string;
  /** Where the evidence is in report.html. */
  anchor: string;
}

const inv = (c: Cell) => c.invalidationCyclesPerGuestOp;

function savingWords(saving: number, x: number, base: number): string {
  const pct = fmtPct(Math.abs(saving));
  if (pct === "0.0%") return `saves nothing (${fmtCycles(x)} cycles either way)`;
  return `${saving > 0 ? `saves ${pct}` : `costs ${pct} more`} (${fmtCycles(x)} vs ${fmtCycles(base)} cycles)`;
}

/** The cheapest of some cells by invalidation cycles; on a tie, the one that honours H_LOCAL. */
function cheapest(cells: readonly Cell[]): Cell | undefined {
  const honours = (c: Cell) => (HONOURS_H_LOCAL.includes(c.variant.policy) ? 0 : 1);
  return cells.length ? [...cells].sort((a, b) => inv(a) - inv(b) || honours(a) - honours(b))[0] : undefined;
}

/** One row per guest shape: the synthetic sweeps' (first finding's slice), then each real guest's. */
export function shapeVerdicts(results: StudyResults): ShapeVerdict[] {
  const safe = safeVariants(results);
  const out: ShapeVerdict[] = [];
  const head = headlineSlice(results);
  if (head) {
    const top = head.slice.cells.filter((c) => c.context.cores === head.cores);
    for (const shape of shapesOf(top).reverse()) {
      const here = top.filter((c) => c.context.shape === shape);
      const base = here.find((c) => c.variant.policy === BASELINE);
      const honouring = here.filter((c) => HONOURS_H_LOCAL.includes(c.variant.policy) && safe.has(c.variant.label));
      const best = cheapest(honouring);
      const row = { shape, kind: "synthetic" as const, cores: head.cores, slice: sliceWords(head.slice), anchor: "finding-1", against: `${BASELINE}, which ignores H_LOCAL` };
      if (!best || !base || !(inv(base) > 0)) {
        out.push({ ...row, policy: null, saving: null, text: best ? `no ${BASELINE} run to compare with` : "no safe policy that honours H_LOCAL was run here" });
        continue;
      }
      const saving = 1 - inv(best) / inv(base);
      out.push({ ...row, policy: best.variant.label, saving, text: savingWords(saving, inv(best), inv(base)) });
    }
  }
  const trace = results.points.filter(isTracePoint);
  for (const [i, sweep] of distinct(trace.map((p) => p.params.sweep)).entries()) {
    const cells = cellsOf(trace.filter((p) => p.params.sweep === sweep));
    const cores = Math.max(...cells.map((c) => c.context.cores));
    const slice = [`sweep ${sweep}`, ...distinct(cells.map((c) => c.context.pageOutsPerMop)).map((r) => describeField("pageOutsPerMop", r))].join(", ");
    for (const shape of shapesOf(cells).reverse()) {
      const here = cells.filter((c) => c.context.shape === shape && c.context.cores === cores);
      const honest = here.filter((c) => c.context.hLocal === "honest" && safe.has(c.variant.label));
      const row = { shape, kind: "real guest" as const, cores, slice, anchor: `real-guest-${i + 1}`, against: "the same policy with H_LOCAL never" };
      const best = cheapest(honest);
      const never = best && here.find((c) => c.context.hLocal === "never" && c.variant.key === best.variant.key);
      if (!best || !never || !(inv(never) > 0)) {
        out.push({ ...row, policy: best?.variant.label ?? null, saving: null, text: best ? "no run with H_LOCAL never to compare with" : "no safe policy was run with honest H_LOCAL" });
        continue;
      }
      const saving = 1 - inv(best) / inv(never);
      out.push({ ...row, policy: best.variant.label, saving, text: savingWords(saving, inv(best), inv(never)) });
    }
  }
  return out;
}
