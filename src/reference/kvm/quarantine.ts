/**
 * lazy-reuse's quarantine (docs/model/policies.md §9), after LATR (Kumar et al., "LATR: Lazy
 * Translation Coherence", ASPLOS 2018): a lazy host page-out issues no tlbie and holds the frame —
 * still the guest's — until every core that may hold the VM's entries has flushed its LPID once after
 * the frame came in (an epoch). Frames held while an epoch closes form the next one, whose cores are
 * taken when the closing epoch ends.
 */
import type { KvmGuestState, KvmHost } from "./state.js";

/** The scheme, and its broken forms: the frame handed out one epoch early; the mask of running cores only; the frame freed at once (its flush still pending). */
export type LazyVariant = "epoch" | "early" | "running" | "free-first";

export interface Quarantine {
  readonly variant: LazyVariant;
  /** Frames it may hold: the guest's RAM in host pages; a page-out beyond it is eager. */
  readonly cap: number;
  /** Held frames, oldest first; the first `closing` are the closing epoch's. */
  held: number[];
  closing: number;
  /** Cores that must still flush for the closing epoch. */
  readonly pending: boolean[];
  /** Cores that ran the VM since their last flush of its LPID. */
  readonly mayHold: boolean[];
}

export function newQuarantine(variant: LazyVariant, cap: number, cores: number): Quarantine {
  return { variant, cap, held: [], closing: 0, pending: Array.from({ length: cores }, () => false), mayHold: Array.from({ length: cores }, () => false) };
}

/** A lazy page-out's frame: held until its epoch ends. */
export function hold(k: KvmHost, g: KvmGuestState, frame: number): void {
  const q = g.quarantineState!;
  q.held.push(frame);
  if (q.variant === "free-first") k.freeFrame(frame); // the bug: free now, flush later
  k.countKvm(g, "quarantined");
  k.quarantinePeak(g, q.held.length);
  if (q.closing === 0) openEpoch(k, g, q);
}

/** Whether a lazy page-out can hold one more frame (else it is done eagerly: tlbie, frame freed). */
export function hasRoom(g: KvmGuestState): boolean {
  return g.quarantineState !== null && g.quarantineState.held.length < g.quarantineState.cap;
}

/** The VM entered `core` (after need_tlb_flush's check; `flushed`: it flushed thread 0's TLB). */
export function entered(k: KvmHost, g: KvmGuestState, thread0Cpu: number, flushed: boolean): void {
  const q = g.quarantineState;
  if (!q) return;
  const core = k.coreOf(thread0Cpu);
  q.mayHold[core] = true;
  if (!q.pending[core]) return;
  k.epochFlush(thread0Cpu, g, flushed);
  q.pending[core] = false;
  if (!q.pending.includes(true)) closeEpoch(k, g, q);
}

/** The VM leaves `core`, its LPID still loaded: a pending core flushes here and then holds nothing of it. */
export function exited(k: KvmHost, g: KvmGuestState, thread0Cpu: number): void {
  const q = g.quarantineState;
  if (!q) return;
  const core = k.coreOf(thread0Cpu);
  if (!q.pending[core]) return;
  k.epochFlush(thread0Cpu, g, false);
  q.pending[core] = false;
  q.mayHold[core] = false;
  if (!q.pending.includes(true)) closeEpoch(k, g, q);
}

/** Every held frame becomes the closing epoch's; its cores: those that may hold entries (running: those running the VM). */
function openEpoch(k: KvmHost, g: KvmGuestState, q: Quarantine): void {
  q.closing = q.held.length;
  for (let c = 0; c < q.pending.length; c++) q.pending[c] = q.variant === "running" ? false : q.mayHold[c]!;
  if (q.variant === "running") for (const vc of g.vcoreTab) if (vc.running) q.pending[k.coreOf(vc.pcpu!)] = true;
  if (!q.pending.includes(true)) closeEpoch(k, g, q);
}

/** The closing epoch's frames are freed (early: every held frame), the rest open the next epoch. */
function closeEpoch(k: KvmHost, g: KvmGuestState, q: Quarantine): void {
  const n = q.variant === "early" ? q.held.length : q.closing;
  if (q.variant !== "free-first") for (const f of q.held.slice(0, n)) k.freeFrame(f);
  q.held = q.held.slice(n);
  q.closing = 0;
  k.countKvm(g, "quarantineReleased", n);
  if (q.held.length > 0) openEpoch(k, g, q);
}
