/**
 * Counter blocks (docs/semantics.md "Counters"). The machine keeps one global block and one per guest.
 */
import { HCALL_NAMES, RET_BUCKETS, SCALAR_COUNTERS } from "../types.js";
import type { CounterBlock, HcallName, RetBucket, ScalarCounter } from "../types.js";
import { H_NOT_FOUND, H_PARAMETER, H_PRIVILEGE, H_PTEG_FULL, H_SUCCESS } from "./constants.js";

export function newCounterBlock(): CounterBlock {
  const hcalls = {} as Record<HcallName, Record<RetBucket, bigint>>;
  for (const name of HCALL_NAMES) {
    const buckets = {} as Record<RetBucket, bigint>;
    for (const b of RET_BUCKETS) buckets[b] = 0n;
    hcalls[name] = buckets;
  }
  const block = { hcalls } as CounterBlock;
  for (const c of SCALAR_COUNTERS) block[c] = 0n;
  return block;
}

/** A deep copy, so callers cannot change the model's counters. */
export function copyCounterBlock(src: CounterBlock): CounterBlock {
  const out = newCounterBlock();
  for (const c of SCALAR_COUNTERS) out[c] = src[c];
  for (const name of HCALL_NAMES) for (const b of RET_BUCKETS) out.hcalls[name][b] = src.hcalls[name][b];
  return out;
}

/** Return code → bucket: the five named codes, everything else (incl. the kvm-hv reflection) `other`. */
export function retBucket(ret: number): RetBucket {
  switch (ret) {
    case H_SUCCESS: return "H_SUCCESS";
    case H_PARAMETER: return "H_PARAMETER";
    case H_PTEG_FULL: return "H_PTEG_FULL";
    case H_NOT_FOUND: return "H_NOT_FOUND";
    case H_PRIVILEGE: return "H_PRIVILEGE";
    default: return "other";
  }
}

/** Adds to several blocks at once (global, and the guest's when there is one). */
export class CounterSink {
  constructor(private readonly blocks: readonly CounterBlock[]) {}
  add(counter: ScalarCounter, n: number | bigint = 1): void {
    const d = BigInt(n);
    if (d === 0n) return;
    for (const b of this.blocks) b[counter] += d;
  }
  hcall(name: HcallName, ret: number): void {
    const bucket = retBucket(ret);
    for (const b of this.blocks) b.hcalls[name][bucket] += 1n;
  }
}
