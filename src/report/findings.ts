/**
 * The study's conclusions in plain words, computed from the points. Each finding compares like
 * with like: the cells it compares come from one slice (src/report/study-data.ts: one sweep, one
 * H_LOCAL use, one paging rate, one workload… — honest H_LOCAL and host paging preferred, the
 * thread's case), and differ only in policy variant, guest shape and core count, which the
 * sentence names. A finding is left out when the points it needs are absent: a study may hold any
 * subset of the sweep.
 */
import type { StudyResults } from "../study/results.js";
import { isBaselineSynthetic, isTracePoint, realGuestSections } from "./real-guest.js";
import { POLICIES, policiesOf, policyByName } from "../model/policies.js";
import type { PointResult } from "../study/results.js";
import type { Generation } from "../model/machines.js";
import { GENERATIONS } from "../model/machines.js";
import { outsideWords, policySafety, runWords, scenarioWords } from "./safety.js";
import { robustnessOf } from "./sensitivity.js";
import {
  type Cell, type Slice, BASELINE as BASELINE_POLICY, SWEPT, cellsOf, compareVariants, describeField, fmtCycles, fmtInt, fmtPct, fmtRatio,
  distinct, hLocalWords, listWords, pickSlice, plural, pooled, shapeGuests, shapesOf, sliceWords,
} from "./study-data.js";

/** The policy every saving is stated against (src/model/policies.ts, family "baseline"). */
const BASELINE = BASELINE_POLICY.name;
/** The policies that honour H_LOCAL with a tlbiel (family "local"), compared with the baseline: the safe ones first. */
export const LOCAL_FAMILIES: readonly string[] = policiesOf("local").sort((a, b) => Number(b.safe) - Number(a.safe)).map((p) => p.name);
/** The policy that flushes the whole TLB at every entry and exit (family "full-flush"; it pins memory). */
const FULL_FLUSH: string | undefined = policiesOf("full-flush")[0]?.name;
/** The policy whose parameter the cap findings sweep (the deferred-VA list). */
const CAPPED: string | undefined = SWEPT?.policy.name;
/** A cap "as good as the best" spends at most this much more on invalidation. */
const KNEE = 0.05;

/**
 * The findings, one sentence each, in the order a reader of the thread would ask them: the synthetic
 * sweeps', then each real guest's (prefixed with its section title).
 */
export function findings(results: StudyResults): string[] {
  return [
    ...syntheticFindings(results),
    ...realGuestSections(results).flatMap((s) => s.findings.map((f) => `${s.title} (${s.slice}): ${f}`)),
  ];
}

/** The findings of the synthetic sweeps (trace-driven points left out: they have their own section). */
export function syntheticFindings(results: StudyResults): string[] {
  return taggedFindings(results).map((f) => f.text);
}

/**
 * The synthetic findings, each marked headline or not: the report lists the headlines (the first
 * finding, the safety verdicts, tlbie queueing) and folds the rest.
 */
export function taggedFindings(results: StudyResults): { text: string; headline: boolean }[] {
  const cells = cellsOf(results.points.filter(isBaselineSynthetic));
  const tag = (xs: string[], headline: boolean | ((i: number) => boolean)) =>
    xs.map((text, i) => ({ text, headline: typeof headline === "boolean" ? headline : headline(i) }));
  // with a sensitivity analysis (docs/study.md, "Sensitivity"), each finding it covers ends with its robustness
  const robust = (text: string, key: string) => {
    const w = robustnessOf(results, key);
    return w ? `${text} ${w}` : text;
  };
  const safetyText = safety(results).map((t) => (/ safe here: /.test(t) ? robust(t, "safety") : t));
  if (cells.length === 0) return [...tag(safetyText, true), ...tag(generationFindings(results), false)];
  return [
    ...tag(localWins(cells).map((w) => robust(w.text, `local-win ${w.shape}`)), (i) => i === 0),
    ...tag(winVsCores(cells), false),
    ...tag(safetyText, true),
    ...tag(leaks(cells), false),
    ...tag(tlbieQueueing(cells).map((t) => robust(t, "tlbie-queueing")), true),
    ...tag(flushAlwaysCost(cells), false),
    ...tag(bestDeferredCap(cells), false),
    ...tag(generationFindings(results), false),
  ];
}

/** A point's machine generation (absent from POWER7 points). */
const genOf = (c: Cell): Generation => (c.points[0]!.params as { generation?: Generation }).generation ?? "power7";

/**
 * 7. What changed between generations (docs/model/policies.md §10–§12): for each generation other
 * than the baseline's that the synthetic sweeps ran, at its largest machine (one slice, honest
 * H_LOCAL and host paging preferred, guest shapes pooled): the rule of that generation (the safe
 * policy that does not pin memory and whose generations include it) against the baseline, in
 * invalidation cycles per guest operation, with why from the counters — the share of invalidations
 * done locally (tlbiel), the extra errata tlbies per global sequence, the LPID flushes at guest
 * entry, and the baseline's leaking runs there (outside its generations); then each generation
 * against the one before.
 */
function generationFindings(results: StudyResults): string[] {
  const cells = cellsOf(results.points.filter((p) => !isTracePoint(p) && !isBaselineSynthetic(p)));
  if (cells.length === 0) return [];
  const out: string[] = [];
  const seen: { gen: Generation; rule: string; perOp: number; errata: number; cores: number; wait: number }[] = [];
  for (const gen of GENERATIONS.filter((g) => cells.some((c) => genOf(c) === g))) {
    const mine = cells.filter((c) => genOf(c) === gen);
    const slice = pickSlice(mine, (c) => `${c.variant.key}|${c.context.shape}|${c.context.cores}`);
    const cores = Math.max(...slice.cells.map((c) => c.context.cores));
    const top = slice.cells.filter((c) => c.context.cores === cores);
    const rule = POLICIES.find((p) => p.safe && !p.broken && !p.pinsMemory && p.generations.includes(gen) && top.some((c) => c.variant.policy === p.name));
    const base = top.filter((c) => c.variant.policy === BASELINE);
    if (!rule || base.length === 0) continue;
    const of = (policy: string) => top.filter((c) => c.variant.policy === policy);
    const sum = (xs: Cell[], f: (p: PointResult) => number) => xs.reduce((a, c) => a + c.points.reduce((b, p) => b + f(p), 0), 0);
    const stats = (xs: Cell[]) => {
      const local = sum(xs, (p) => p.counters.localInvalidations ?? 0), global = sum(xs, (p) => p.counters.globalInvalidations ?? 0);
      const seqs = sum(xs, (p) => p.counters.tlbieSequences ?? 0);
      return {
        perOp: pooled(xs).invalidationCyclesPerGuestOp, waitShare: pooled(xs).tlbieWaitShare, localShare: local + global > 0 ? local / (local + global) : 0,
        errata: seqs > 0 ? sum(xs, (p) => p.counters.errataTlbies ?? 0) / seqs : 0,
        flushesPerMop: 1e6 * sum(xs, (p) => p.counters.entryFlushes ?? 0) / Math.max(1, sum(xs, (p) => p.guestOps)),
        leaking: xs.reduce((a, c) => a + c.leakingRuns, 0), runs: xs.reduce((a, c) => a + c.runs, 0),
      };
    };
    const r = stats(of(rule.name)), b = stats(base);
    const m = top[0]!.context;
    const tlbs = (top[0]!.points[0]!.params as { tlbThreadsPerGroup?: number }).tlbThreadsPerGroup;
    const machine = `${cores} cores × SMT${m.smt}${tlbs && tlbs < m.smt ? `, ${m.smt / tlbs} TLBs per core` : ""}`;
    const leak = b.leaking > 0
      ? ` ${BASELINE} leaks there in ${fmtInt(b.leaking)} of ${plural(b.runs, "run")} — outside its generations (${listWords([...BASELINE_POLICY.generations])}): ${BASELINE_POLICY.generationsWhy}`
      : ` ${BASELINE} has no violation in its ${plural(b.runs, "run")} there`;
    out.push(`On ${gen} (${sliceWords(slice)}, ${machine}): ${rule.name}, the rule for ${gen}, spends ${fmtCycles(r.perOp)} invalidation cycles per guest operation, ${fmtRatio(r.perOp / b.perOp)} ${BASELINE}'s ${fmtCycles(b.perOp)}`
      + ` — it invalidates ${fmtPct(r.localShare)} locally (${BASELINE}: ${fmtPct(b.localShare)}), its global sequences carry ${r.errata.toFixed(1)} errata tlbies each (${BASELINE}: ${b.errata.toFixed(1)})`
      + `, it flushes at guest entry ${fmtInt(Math.round(r.flushesPerMop))} times per M guest ops (${BASELINE}: ${fmtInt(Math.round(b.flushesPerMop))})`
      + ` and waits for the tlbie lock and fabric ${fmtPct(r.waitShare)} of its invalidation cycles (${BASELINE}: ${fmtPct(b.waitShare)}).${leak}.`);
    seen.push({ gen, rule: rule.name, perOp: r.perOp, errata: r.errata, cores, wait: r.waitShare });
  }
  for (let i = 1; i < seen.length; i++) {
    const a = seen[i - 1]!, b = seen[i]!;
    if (a.rule !== b.rule) continue;
    out.push(`From ${a.gen} to ${b.gen}, ${b.rule} goes from ${fmtCycles(a.perOp)} to ${fmtCycles(b.perOp)} invalidation cycles per guest operation (${fmtRatio(b.perOp / a.perOp)}; ${a.cores} vs ${b.cores} cores): `
      + `errata tlbies per global sequence ${a.errata.toFixed(1)} → ${b.errata.toFixed(1)}, waiting for the tlbie lock and fabric ${fmtPct(a.wait)} → ${fmtPct(b.wait)} of its invalidation cycles, under each generation's cost profile and tlbie fabric (docs/model/costs.md §6, §8).`);
  }
  return out;
}

/**
 * The slice of the first finding, which the terminal's table and the report's verdict show too:
 * the local-flush comparison's (honest H_LOCAL, the baseline and the local families), or when
 * the study has no such comparison the slice a plot of every synthetic point would show; and the
 * largest machine in it.
 */
export function headlineSlice(results: StudyResults): { slice: Slice; cores: number } | undefined {
  const cells = cellsOf(results.points.filter(isBaselineSynthetic));
  if (cells.length === 0) return undefined;
  const slice = localSlice(cells) ?? pickSlice(cells, (c) => `${c.variant.key}|${c.context.shape}|${c.context.cores}`);
  return { slice, cores: Math.max(...slice.cells.map((c) => c.context.cores)) };
}

/** The slice of the local-flush comparisons: honest H_LOCAL, the baseline and the local families. */
export function localSlice(cells: Cell[]): Slice | undefined {
  const mine = cells.filter((c) => c.context.hLocal === "honest"
    && (c.variant.policy === BASELINE || LOCAL_FAMILIES.includes(c.variant.policy)));
  if (!mine.some((c) => c.variant.policy === BASELINE) || !mine.some((c) => c.variant.policy !== BASELINE)) return undefined;
  return pickSlice(mine, (c) => `${c.variant.key}|${c.context.shape}|${c.context.cores}`);
}

/**
 * 1. At the largest machine, for each guest shape that passes H_LOCAL honestly (largest first): how
 * much less than the baseline each local family (its best cap) spends on invalidation.
 */
function localWins(cells: Cell[]): { text: string; shape: string }[] {
  const slice = localSlice(cells);
  if (!slice) return [];
  const out: { text: string; shape: string }[] = [];
  const comparable = slice.cells.filter((c) => c.variant.policy === BASELINE && c.invalidationCyclesPerGuestOp > 0
    && slice.cells.some((d) => d.variant.policy !== BASELINE && sameCoresShape(c, d)));
  if (comparable.length === 0) return [];
  const cores = Math.max(...comparable.map((c) => c.context.cores));
  for (const shape of shapesOf(comparable).reverse()) {
    const base = comparable.find((c) => c.context.cores === cores && c.context.shape === shape);
    if (!base) continue;
    const clauses: string[] = [];
    for (const family of LOCAL_FAMILIES) {
      const candidates = slice.cells.filter((c) => c.variant.policy === family && sameCoresShape(c, base));
      if (candidates.length === 0) continue;
      // Best = fewest invalidation cycles; ties go to the smaller cap (cells are in cap order).
      const best = candidates.reduce((a, b) => (b.invalidationCyclesPerGuestOp < a.invalidationCyclesPerGuestOp ? b : a));
      const [b, x] = [base.invalidationCyclesPerGuestOp, best.invalidationCyclesPerGuestOp];
      const violations = `with ${plural(best.violations, "violation")}`;
      if (clauses.length === 0) {
        const all = change(base.cyclesPerGuestOp, best.cyclesPerGuestOp);
        clauses.push(`${best.variant.label} spends ${compared(b, x, "cycles on invalidation per guest operation")} ${BASELINE} `
          + `(${same(b, x) ? fmtCycles(x) : `${fmtCycles(x)} vs ${fmtCycles(b)}`}) and ${all ? `${all} cycles in all` : "as many in all"}, ${violations}`);
      } else {
        clauses.push(`${best.variant.label} ${change(b, x) ?? "the same"} on invalidation (${fmtCycles(x)}), ${violations}`);
      }
    }
    out.push({ text: `On ${coresWord(cores)}${qualifier(slice)}, for ${shapeGuests(shape)}, ${clauses.join("; ")}.`, shape });
  }
  return out;
}

/**
 * 2. How the saving of each local-flush family over the baseline changes with the machine size,
 * for the largest guest shape that has the comparison at two sizes or more.
 */
function winVsCores(cells: Cell[]): string[] {
  const slice = localSlice(cells);
  if (!slice) return [];
  const out: string[] = [];
  for (const family of LOCAL_FAMILIES) {
    for (const shape of shapesOf(slice.cells).reverse()) {
      const at = (cores: number) => slice.cells.filter((c) => c.context.shape === shape && c.context.cores === cores);
      // The family's best variant at each size (as in finding 1) against the baseline there.
      const savings: { cores: number; label: string; saving: number }[] = [];
      for (const cores of distinct(slice.cells.map((c) => c.context.cores))) {
        const base = at(cores).find((c) => c.variant.policy === BASELINE);
        const mine = at(cores).filter((c) => c.variant.policy === family);
        if (!base || mine.length === 0 || !(base.invalidationCyclesPerGuestOp > 0)) continue;
        const best = mine.reduce((a, b) => (b.invalidationCyclesPerGuestOp < a.invalidationCyclesPerGuestOp ? b : a));
        savings.push({ cores, label: best.variant.label, saving: 1 - best.invalidationCyclesPerGuestOp / base.invalidationCyclesPerGuestOp });
      }
      if (savings.length < 2) continue;
      const labels = distinct(savings.map((s) => s.label));
      const who = labels.length === 1 ? labels[0]! : `${family} (best cap at each size)`;
      const [first, last] = [savings[0]!, savings[savings.length - 1]!];
      // "grows" / "shrinks" only when every step goes that way.
      const steps = savings.slice(1).map((s, i) => s.saving - savings[i]!.saving);
      const verb = steps.every((d) => d >= 0) && last.saving > first.saving ? "grows"
        : steps.every((d) => d <= 0) && last.saving < first.saving ? "shrinks" : "goes";
      out.push(`For ${shapeGuests(shape)}${qualifier(slice)}, the invalidation saving of ${who} over ${BASELINE} `
        + `${verb} from ${progression(savings.map((s) => ({ cores: s.cores, text: fmtPct(s.saving) })))}.`);
      break;
    }
  }
  return out;
}

/**
 * 3. Each policy's safety verdict from all the evidence (src/report/safety.ts): the scenario
 * catalogue and every random run of every sweep, the real guest's included.
 */
function safety(results: StudyResults): string[] {
  const all = policySafety(results);
  if (all.length === 0) return [];
  const scope = "every sweep, the real guest's included";
  const out: string[] = [];
  for (const s of all.filter((x) => x.verdict === "unsafe")) {
    const parts: string[] = [];
    if (s.leakingScenarios.length > 0) parts.push(`leaks in scenario${s.leakingScenarios.length > 1 ? "s" : ""} ${scenarioWords(s)}`);
    if (!s.inStudy) parts.push("; the study does not run it");
    else if (s.runs.leakingRuns > 0) parts.push(`${parts.length > 0 ? "and " : "leaks "}in ${runWords(s.runs)}`);
    else parts.push(`and in none of its ${plural(s.runs.runs, "random run")}: the random workloads did not produce the scenario's timeline`);
    out.push(`${s.label} is unsafe${s.inStudy ? ` (${scope})` : ""}: it ${parts.join(" ").replace(/ ;/g, ";")}.`);
  }
  const safe = all.filter((x) => x.verdict === "safe");
  if (safe.length > 0) {
    const runs = safe.reduce((a, x) => a + x.runs.runs, 0);
    const paged = safe.reduce((a, x) => a + x.runs.pagedRuns, 0);
    const catalogue = results.scenarios?.catalogue ?? [];
    // the scenarios of each one's generations (docs/model/policies.md §12)
    const counts = distinct(safe.map((x) => catalogue.filter((c) => (policyByName(x.policy)?.generations ?? GENERATIONS).includes(c.generation ?? "power7")).length));
    const scen = counts.length === 1 && counts[0] === catalogue.length ? `the ${plural(catalogue.length, "scenario")}` : `the scenarios of ${safe.length === 1 ? "its" : "their"} generations`;
    out.push(`${listWords(safe.map((x) => x.label))} ${safe.length === 1 ? "is" : "are"} safe here: no violation in ${scen} `
      + `(under every variant) nor in ${plural(runs, "random run")} (${plural(paged, "run")} with host paging; ${scope}).`);
  }
  for (const s of all.filter((x) => x.verdict === "untested")) {
    out.push(`${s.label} is untested${s.inStudy ? "" : " (the study does not run it on its generations)"}: ${s.evidence.replace(/^untested: /, "").replace(/; outside its generations.*$/, "")}.`);
  }
  // what the policies did on machines they are not the rule for: reported, never counted
  for (const s of all.filter((x) => x.outside.leakingScenarios.length > 0 || x.outside.runs.leakingRuns > 0)) {
    out.push(`Outside its generations, ${s.label}${outsideWords(s).replace(/^; outside its generations \(([^)]*)\), on ([^:]*):/, " ($1) on $2")} — not counted in its verdict: ${policyByName(s.policy)?.generationsWhy ?? ""}.`);
  }
  return out;
}

/** 4. Each variant that let a guest reach a frame it no longer owns in the synthetic runs, and where. */
function leaks(cells: Cell[]): string[] {
  const out: string[] = [];
  const sweeps = distinct(cells.map((c) => c.context.sweep));
  for (const variant of variantLabels(cells)) {
    const mine = cells.filter((c) => c.variant.label === variant);
    const leaking = mine.filter((c) => c.leakingRuns > 0);
    if (leaking.length === 0) continue;
    const paging = mine.filter((c) => c.context.pageOutsPerMop > 0);
    const pinned = mine.filter((c) => c.context.pageOutsPerMop === 0);
    const counts = paging.length === 0
      ? `${leakingRuns(pinned)} of ${runs(pinned)} runs, all without host paging`
      : `${leakingRuns(paging)} of ${runs(paging)} runs with host paging` + (pinned.length > 0 ? ` and ${leakingRuns(pinned)} of ${runs(pinned)} without` : "");
    const total = plural(leaking.reduce((s, c) => s + c.violations, 0), "violation");
    out.push(`In the synthetic sweep${sweeps.length > 1 ? "s" : ""} ${listWords(sweeps)}, ${variant} leaks in ${counts} (${total}, ${where(mine, leaking)}).`);
  }
  return out;
}

/** Where a variant's violations happened: guest shapes and H_LOCAL use. */
function where(mine: Cell[], leaking: Cell[]): string {
  const leakShapes = shapesOf(leaking);
  const passing = shapesOf(mine.filter((c) => c.context.hLocal !== "never"));
  const onlyPassing = leaking.every((c) => c.context.hLocal !== "never");
  if (onlyPassing && passing.length > 1 && leakShapes.length === passing.length) return "in every guest shape that passes H_LOCAL";
  const modes = distinct(leaking.map((c) => c.context.hLocal));
  return `with ${shapesGuests(leakShapes)}, H_LOCAL ${listWords(modes)}`;
}

/**
 * 5. The share of the baseline's invalidation cycles spent queueing for the tlbie fabric, from
 * the largest machine down, pooled over the guest shapes run at every size shown.
 */
function tlbieQueueing(cells: Cell[]): string[] {
  const base = cells.filter((c) => c.variant.policy === BASELINE);
  if (base.length === 0) return [];
  const slice = pickSlice(base, (c) => `${c.context.shape}|${c.context.cores}`);
  const sizes = distinct(slice.cells.map((c) => c.context.cores));
  if (sizes.length < 2) return [];
  // Shapes run at every size, so each size pools the same configurations.
  const shapes = shapesOf(slice.cells).filter((s) => sizes.every((n) => slice.cells.some((c) => c.context.shape === s && c.context.cores === n)));
  if (shapes.length === 0) return [];
  const steps = sizes.map((cores) => {
    const p = pooled(slice.cells.filter((c) => c.context.cores === cores && shapes.includes(c.context.shape)));
    return { cores, share: p.tlbieWaitShare, lock: p.tlbieLockWaitShare, perOp: p.tlbieWaitShare * p.invalidationCyclesPerGuestOp };
  }).filter((s) => Number.isFinite(s.share));
  if (steps.length < 2) return [];
  // The largest size, then the middle one and the smallest.
  const [hi, ...shown] = pickProgression(steps, 3).reverse() as [typeof steps[0], ...typeof steps];
  // the concurrent fabric tells the tlbie lock's part from the fabric's (docs/model/costs.md §8); the exclusive one cannot
  const split = (s: typeof steps[0]) => Number.isFinite(s.lock) ? ` (lock ${fmtPct(s.lock)}, fabric ${fmtPct(s.share - s.lock)})` : "";
  const what = Number.isFinite(hi.lock) ? "waiting for the tlbie lock and the fabric" : "waiting for the fabric";
  return [`tlbie queueing (${what}) is ${fmtPct(hi.share)}${split(hi)} of ${BASELINE}'s invalidation cycles on ${coresWord(hi.cores)} `
    + `(${fmtCycles(hi.perOp)} cycles per guest operation)${shown.map((s) => `, ${fmtPct(s.share)}${split(s)} on ${coresWord(s.cores)}`).join("")}`
    + `${qualifier(slice, shapes.length === 1 ? [shapeGuests(shapes[0]!)] : [`${shapesGuests(shapes)} pooled`])}.`];
}

/**
 * 6. What flushing the whole TLB at every entry and exit (PPC970) costs at the largest machine,
 * against the baseline in the same configurations, pooled over guest shapes and per shape.
 */
function flushAlwaysCost(cells: Cell[]): string[] {
  const mine = cells.filter((c) => c.variant.policy === FULL_FLUSH || c.variant.policy === BASELINE);
  if (!mine.some((c) => c.variant.policy === FULL_FLUSH) || !mine.some((c) => c.variant.policy === BASELINE)) return [];
  const slice = pickSlice(mine, (c) => `${c.variant.key}|${c.context.shape}|${c.context.cores}`);
  const pairs = slice.cells.filter((c) => c.variant.policy === FULL_FLUSH).flatMap((fa) => {
    // A pinned full-flush cell (no paging) pairs with the baseline at the slice's paging rate.
    const base = slice.cells.find((c) => c.variant.policy === BASELINE && sameCoresShape(c, fa));
    return base ? [[fa, base] as const] : [];
  });
  if (pairs.length === 0) return [];
  const cores = Math.max(...pairs.map(([fa]) => fa.context.cores));
  const top = pairs.filter(([fa]) => fa.context.cores === cores);
  const ratioOf = (ps: typeof top) => pooled(ps.map(([fa]) => fa)).cyclesPerGuestOp / pooled(ps.map(([, b]) => b)).cyclesPerGuestOp;
  const ratio = ratioOf(top);
  if (!Number.isFinite(ratio)) return [];
  const shapes = shapesOf(top.map(([fa]) => fa));
  const detail: string[] = [];
  if (shapes.length === 1) detail.push(shapeGuests(shapes[0]!));
  else {
    const perShape = shapes.map((s) => ({ s, r: ratioOf(top.filter(([fa]) => fa.context.shape === s)) })).filter((x) => Number.isFinite(x.r));
    const min = perShape.reduce((a, b) => (b.r < a.r ? b : a));
    const max = perShape.reduce((a, b) => (b.r > a.r ? b : a));
    detail.push(min === max ? `${shapesGuests(shapes)} pooled` : `from ${fmtRatio(min.r)} for ${shapeGuests(min.s)} to ${fmtRatio(max.r)} for ${shapeGuests(max.s)}`);
  }
  // docs/kvm-model.md: the full-flush policy pins guest memory, the engine refuses its page-outs (KVM_PINNED).
  if (slice.pinned.length > 0) detail.push(`${FULL_FLUSH} without host paging as it pins memory`);
  else if (top.some(([fa]) => fa.context.pageOutsPerMop > 0)) detail.push(`${FULL_FLUSH} pins memory, so the host's page-outs are refused`);
  return [`${FULL_FLUSH} costs ${fmtCycles(pooled(top.map(([fa]) => fa)).cyclesPerGuestOp)} cycles per guest operation on ${coresWord(cores)}, `
    + `${fmtRatio(ratio)} ${BASELINE}${qualifier(slice, detail)}.`];
}

/**
 * 7. The cap of the capped policy that spends the fewest invalidation cycles, per guest shape, at the
 * machine size with the most caps, with the baseline in the same configuration for reference.
 */
function bestDeferredCap(cells: Cell[]): string[] {
  const dva = cells.filter((c) => c.variant.policy === CAPPED && c.variant.deferredCap !== null);
  const capsAt = new Map<number, Set<number>>();
  for (const c of dva) capsAt.set(c.context.cores, (capsAt.get(c.context.cores) ?? new Set()).add(c.variant.deferredCap!));
  // The size with the most caps; the larger one on a tie.
  let cores: number | undefined;
  for (const [n, caps] of [...capsAt.entries()].sort(([a], [b]) => a - b)) {
    if (caps.size >= 2 && (cores === undefined || caps.size >= capsAt.get(cores)!.size)) cores = n;
  }
  if (cores === undefined) return [];
  const here = cells.filter((c) => c.context.cores === cores && (c.variant.policy === BASELINE || dva.includes(c)));
  const slice = pickSlice(here, (c) => `${c.variant.key}|${c.context.shape}`);
  const out: string[] = [];
  for (const shape of shapesOf(slice.cells).reverse()) {
    const mine = slice.cells.filter((c) => c.context.shape === shape);
    for (const overflow of distinct(mine.map((c) => c.variant.deferredOverflow)).filter((o) => o !== null)) {
      const caps = mine.filter((c) => c.variant.policy === CAPPED && c.variant.deferredOverflow === overflow);
      if (caps.length < 2) continue;
      const best = caps.reduce((a, b) => (b.invalidationCyclesPerGuestOp < a.invalidationCyclesPerGuestOp ? b : a));
      const ends = [caps[0]!, caps[caps.length - 1]!].filter((c) => c !== best);
      const vs = ends.map((c) => `${fmtCycles(c.invalidationCyclesPerGuestOp)} at cap ${c.variant.deferredCap}`);
      const base = mine.find((c) => c.variant.policy === BASELINE);
      if (base) vs.push(`${fmtCycles(base.invalidationCyclesPerGuestOp)} for ${BASELINE}`);
      const rule = overflow !== "flush" ? ` (${overflow} overflow)` : "";
      // The knee: the smallest cap within KNEE of the best (a cap bounds the host memory the list takes).
      const knee = caps.find((c) => c.invalidationCyclesPerGuestOp <= best.invalidationCyclesPerGuestOp * (1 + KNEE));
      const kneeWords = knee && knee !== best
        ? `; cap ${knee.variant.deferredCap} comes within ${fmtPct(KNEE)} of it (${fmtCycles(knee.invalidationCyclesPerGuestOp)})` : "";
      out.push(`For ${shapeGuests(shape)} on ${coresWord(cores)}${qualifier(slice)}, `
        + `${CAPPED} cap ${best.variant.deferredCap}${rule} spends the fewest invalidation cycles per guest operation of caps `
        + `${caps[0]!.variant.deferredCap} to ${caps[caps.length - 1]!.variant.deferredCap}: ${fmtCycles(best.invalidationCyclesPerGuestOp)}`
        + (vs.length > 0 ? `, vs ${listWords(vs)}` : "")
        + `, with ${plural(caps.reduce((s, c) => s + c.violations, 0), "violation")} across all caps${kneeWords}.`);
    }
  }
  return out;
}

// ─── helpers ─────────────────────────────────────────────────────────────────────────────────────

/** "37.2% fewer" / "4.0% more", relative to `base`; undefined when they round to the same. */
function change(base: number, x: number): string | undefined {
  if (same(base, x)) return undefined;
  const d = (base - x) / base;
  return `${fmtPct(Math.abs(d))} ${d >= 0 ? "fewer" : "more"}`;
}

/** Equal to the printed precision of a percentage (0.0%). */
function same(base: number, x: number): boolean {
  return base === x || fmtPct(Math.abs((base - x) / base)) === "0.0%";
}

/** "37.2% fewer WHAT than" / "as many WHAT as". */
function compared(base: number, x: number, what: string): string {
  const c = change(base, x);
  return c ? `${c} ${what} than` : `as many ${what} as`;
}

function sameCoresShape(a: Cell, b: Cell): boolean {
  return a.context.cores === b.context.cores && a.context.shape === b.context.shape;
}

function coresWord(n: number): string {
  return `${n} ${n === 1 ? "core" : "cores"}`;
}

function runs(cells: readonly Cell[]): number {
  return cells.reduce((s, c) => s + c.runs, 0);
}

function leakingRuns(cells: readonly Cell[]): number {
  return cells.reduce((s, c) => s + c.leakingRuns, 0);
}

/** Variant labels of some cells, in variant order. */
function variantLabels(cells: readonly Cell[]): string[] {
  const vs = new Map<string, Cell["variant"]>();
  for (const c of cells) vs.set(c.variant.label, c.variant);
  return [...vs.values()].sort(compareVariants).map((v) => v.label);
}

/** "4-vcore and 64-vcore guests". */
function shapesGuests(shapes: readonly string[]): string {
  const adjectives = shapes.map((s) => /^(.*) guests$/.exec(shapeGuests(s))![1]!);
  return `${listWords(adjectives)} guests`;
}

/**
 * The slice in words after `lead` (other notes), in parentheses, e.g.
 * " (sweep scaling, H_LOCAL honest, 2000 page-outs per M guest ops)" or
 * " (4-vcore guests; sweep scaling, H_LOCAL honest, 2000 page-outs per M guest ops)".
 */
function qualifier(s: Slice, lead: readonly string[] = []): string {
  const words = sliceWords(s);
  const groups = [...lead, ...(words ? [words] : [])];
  return groups.length > 0 ? ` (${groups.join("; ")})` : "";
}

/** At most `n` steps spread over a list (first, last, then the middle). */
export function pickProgression<T>(xs: readonly T[], n: number): T[] {
  if (xs.length <= n) return [...xs];
  if (n === 1) return [xs[xs.length - 1]!];
  return [xs[0]!, ...(n > 2 ? [xs[Math.floor((xs.length - 1) / 2)]!] : []), xs[xs.length - 1]!];
}

/** "0.0% on 1 core to 12.0% on 16 cores and 37.2% on 256 cores" (first, middle, last). */
function progression(steps: readonly { cores: number; text: string }[]): string {
  const shown = pickProgression(steps, 3);
  const [first, ...rest] = shown.map((s) => `${s.text} on ${coresWord(s.cores)}`);
  return `${first} to ${listWords(rest)}`;
}
