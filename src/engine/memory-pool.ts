/**
 * The memories of disposed machines, kept for the next machine made on this thread with the same
 * engine module (the debug and release builds' static data differ). A fresh WASM memory page-faults
 * on the first touch of every 4 KiB page (about 2,000 faults, a fifth of the time, for a 256-core
 * study point); a reused one is already mapped and only needs zeroing, which each machine does
 * lazily: a byte is zeroed when the machine first takes the memory that holds it, so what a machine
 * sees is exactly what a fresh memory would show. Up to MEMORY_POOL_MAX memories of
 * MEMORY_POOL_BYTES in all are kept: a study task runs the machines of a configuration's policy
 * variants at once (5 or 14 in the default study), and the next task reuses all of them (with a pool
 * of one, a task of five 256-core points ran 1.9× slower on 2 MiB pages: each fresh memory faults
 * its huge pages in).
 */
import { MAX_BYTES, MAX_PAGES } from "./layout.js";
import { adviseHugePages } from "./hugepages.js";

export const MEMORY_POOL_MAX = 16;
const MEMORY_POOL_BYTES = 2 ** 30;

export interface MemoryPool {
  memories: WebAssembly.Memory[];
  /** Bytes of the memories held. */
  bytes: number;
  /** End of the engine's static data and scratch areas (its layoutBase): every machine zeroes them on a reused memory. */
  staticEnd: number;
}

/** One pool per engine build used on this thread (the builds are compiled once per process). */
const pools = new Map<WebAssembly.Module, MemoryPool>();

/** Memories advised for 2 MiB pages, and their addresses (a pooled memory keeps its advice). */
const hugePagesBases = new WeakMap<WebAssembly.Memory, number>();

/** The pool of an engine module, if a machine of it was made on this thread. */
export function poolOf(module: WebAssembly.Module): MemoryPool | undefined {
  return pools.get(module);
}

/** The pool of an engine module, made with the module's static end on its first machine. */
export function ensurePool(module: WebAssembly.Module, staticEnd: number): MemoryPool {
  let pool = pools.get(module);
  if (!pool) pools.set(module, (pool = { memories: [], bytes: 0, staticEnd }));
  return pool;
}

/** A memory a disposed machine left in `pool`, if any (taken out of the pool). */
export function takePooledMemory(pool: MemoryPool | undefined): WebAssembly.Memory | undefined {
  const m = pool?.memories.pop();
  if (m) pool!.bytes -= m.buffer.byteLength;
  return m;
}

/** A new shared memory, advised for 2 MiB pages for all it will grow into where the native helper is built (speed only). */
export function freshMemory(): WebAssembly.Memory {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  const base = adviseHugePages(memory, MAX_BYTES);
  if (base !== 0) hugePagesBases.set(memory, base);
  return memory;
}

/** Leave a disposed machine's memory for the next machine, if the pool has room. */
export function returnMemory(pool: MemoryPool, memory: WebAssembly.Memory): void {
  const bytes = memory.buffer.byteLength;
  if (pool.memories.length < MEMORY_POOL_MAX && pool.bytes + bytes <= MEMORY_POOL_BYTES) {
    pool.memories.push(memory);
    pool.bytes += bytes;
  }
}

/** The memory's address in this process when it is advised for 2 MiB pages, else 0. */
export function hugePagesBaseOf(memory: WebAssembly.Memory): number {
  return hugePagesBases.get(memory) ?? 0;
}

/**
 * Zero bytes [from, to) of a shared memory: 8 bytes at a time where aligned (a fill of a shared
 * Uint8Array goes byte by byte, 3× slower than a Float64Array's), bytes at the ragged ends.
 */
export function zeroBytes(buf: ArrayBufferLike, from: number, to: number): void {
  const a = Math.min(to, Math.ceil(from / 8) * 8);
  const b = Math.max(a, Math.floor(to / 8) * 8);
  if (a > from) new Uint8Array(buf, from, a - from).fill(0);
  if (b > a) new Float64Array(buf, a, (b - a) / 8).fill(0);
  if (to > b) new Uint8Array(buf, b, to - b).fill(0);
}

/**
 * Let go of the memories that disposed machines left for reuse on this thread (up to 1 GiB): the
 * garbage collector can then return them. Returns how many bytes were held. For long-lived embedders
 * between bursts of machines; machines made afterwards start on fresh memory.
 */
export function releaseMachineMemory(): number {
  let bytes = 0;
  for (const pool of pools.values()) {
    bytes += pool.bytes;
    pool.memories.length = 0;
    pool.bytes = 0;
  }
  return bytes;
}
