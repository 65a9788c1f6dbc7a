/**
 * What a hypercall handler may see and do: the guest's tables and the machine services it calls
 * (the invalidation hook of docs/semantics.md, counters).
 */
import type { HcallName } from "../types.js";
import type { CounterSink } from "./counters.js";
import type { Hpt } from "./hpt.js";

export interface HcallEnv {
  readonly hpt: Hpt;
  /** Number of HPTEs. */
  readonly npte: bigint;
  /** Guest RAM is [0, ramBytes); everything above is I/O. */
  readonly ramBytes: bigint;
  readonly hostPageShift: number;
  /** QEMU's cap-hpt-max-page-size (qemu only). */
  readonly hptMaxPageShift: number;
  /** Host frame backing host page `gfn` of guest RAM, or −1 when not present. */
  frameOf(gfn: number): number;
  /**
   * The invalidation hook (docs/semantics.md): called once per valid HPTE an hcall invalidates, with
   * the HPTE as it was when invalidated. Today it always issues a global tlbie of the recovered VA.
   */
  invalidateHpte(v: bigint, r: bigint, ptex: number, flags: bigint, kind: HcallName): void;
  /** Counts into the global block and the guest's block (rmapLinks, rmapUnlinks). */
  readonly count: CounterSink;
}

/**
 * Registers r4..r11. They start as the call's inputs; a handler overwrites the ones it outputs and
 * leaves the others alone (docs/semantics.md "Registers").
 */
export type Regs = bigint[];
