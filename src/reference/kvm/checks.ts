/** Argument checks of the host API (the engine's wording: RangeError naming the argument). */
import { isU64 } from "../slb.js";

export function checkInt(name: string, x: number, limit: number): number {
  if (!Number.isInteger(x) || x < 0 || x >= limit) throw new RangeError(`${name}: ${x} is not an integer in [0, ${limit})`);
  return x;
}
export function checkU64(name: string, x: bigint): bigint {
  if (typeof x !== "bigint" || !isU64(x)) throw new RangeError(`${name}: ${String(x)} is not an unsigned 64-bit value`);
  return x;
}
