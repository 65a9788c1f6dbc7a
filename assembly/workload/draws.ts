// The generator kernels' draws (assembly/workload/synthetic.ts and trace.ts): mulberry32 as
// src/workload/scheduler.ts's mulberry32Fill computes it, and the integer forms of the twins'
// floating-point comparisons and scalings, exact for every output (docs/memory.md, the generator
// sections). Both kernels keep the stream's state in a local and step it by RNG_STEP.

/** mulberry32's state increment. */
// @ts-ignore: decorator
@inline export const RNG_STEP: i32 = 0x6d2b79f5;

/** mulberry32's output for state a as a u32 (the draw is this × 2^−32, without the state update). */
// @ts-ignore: decorator
@inline export function hash(a: i32): u32 {
  let t = (a ^ (a >>> 15)) * (a | 1);
  t ^= t + (t ^ (t >>> 7)) * (t | 61);
  return <u32>(t ^ (t >>> 14));
}

/** The draw in [0, 1) of output t (× 2^−32 is the division by 2^32, exactly). */
// @ts-ignore: decorator
@inline export function unit(t: u32): f64 {
  return <f64>t * 2.3283064365386963e-10;
}

/**
 * The outputs t whose draw is below `share` are those with t < below(share): t · 2^−32 < share
 * ⟺ t < share · 2^32 (a product by a power of two: exact) ⟺ t < ⌈share · 2^32⌉ for an integer t.
 * Negative, zero or NaN shares give 0 (never), shares of 1 and more 2^32 or 2^33 (always).
 */
// @ts-ignore: decorator
@inline export function below(share: f64): u64 {
  const x = Math.ceil(share * 4294967296.0);
  return x > 0 ? (x < 8589934592.0 ? <u64>x : 8589934592) : 0;
}

/**
 * ⌊draw · n⌋ for output t, as the twin computes it (⌊(t · 2^−32) · n⌋ in doubles). When `exact`
 * (n ≤ 2^21, so t · n < 2^53 and the double product is exact) it is (t · n) >> 32 in integers.
 */
// @ts-ignore: decorator
@inline export function scaled(t: u32, n: u32, exact: bool): u32 {
  return exact ? <u32>((<u64>t * <u64>n) >> 32) : <u32>Math.floor(unit(t) * <f64>n);
}

/** The Zipf alias table's draw for outputs ta (the column) and tb (the coin), without a branch. */
// @ts-ignore: decorator
@inline export function zipfPick(prob: usize, alias: usize, n: u32, exact: bool, ta: u32, tb: u32): u32 {
  const i = scaled(ta, n, exact);
  const p = load<f64>(prob + (<usize>i << 3));
  const a = load<u32>(alias + (<usize>i << 2));
  return select<u32>(i, a, unit(tb) < p);
}
