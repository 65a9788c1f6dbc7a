/**
 * The memories of disposed machines, kept for the next machine made on this thread with the same
 * engine module (the debug and release builds' static data differ). A fresh WASM memory page-faults
 * on the first touch of every 4 KiB page (about 2,000 faults, a fifth of the time, for a 256-core
 * study point); a reused one is already mapped and only needs zeroing, which each machine does
 * lazily: a byte is zeroed when the machine first takes the memory that holds it, so what a machine
 * sees is exactly what a fresh memory would show. Up to MEMORY_POOL_MAX memories of
 * MEMORY_POOL_BYTES in all are kept (the smallest let go first): a study task runs the machines of a
 * configuration's policy variants at once — with the sensitivity re-runs that share its generator, up
 * to ~100 small machines in the default study (TASK_MEMORY_BYTES of src/study/run.ts) — and the next
 * task reuses all of them (with a pool of one, a task of five 256-core points ran 1.9× slower on
 * 2 MiB pages: each fresh memory faults its huge pages in, and the kernel zeroes every page it faults
 * in; with a pool of 16, the default study let go of ~700 memories and spent ~10% of its CPU time
 * in the kernel's clear_page_erms).
 */
import { MAX_BYTES, MAX_PAGES } from "./layout.js";
import { adviseHugePages } from "./hugepages.js";

export const MEMORY_POOL_MAX = 256;
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

/**
 * The largest memory a disposed machine left in `pool`, if any (taken out of the pool; of equal ones,
 * the last left). The largest: a task's first machine is made first and holds the generator's state
 * (a trace-driven task's copy of the trace, ~25 MB) above what its mirrors take; handed the last
 * mirror's smaller memory, it grew into fresh pages every task — page faults and the kernel's
 * zeroing of each new page (clear_page_erms in a profile) — and left the large memory to a mirror.
 */
export function takePooledMemory(pool: MemoryPool | undefined): WebAssembly.Memory | undefined {
  if (!pool || pool.memories.length === 0) return undefined;
  const ms = pool.memories;
  let best = ms.length - 1;
  for (let i = ms.length - 2; i >= 0; i--) if (ms[i]!.buffer.byteLength > ms[best]!.buffer.byteLength) best = i;
  const m = ms[best]!;
  ms.splice(best, 1);
  pool.bytes -= m.buffer.byteLength;
  return m;
}

/** A new shared memory, advised for 2 MiB pages for all it will grow into where the native helper is built (speed only). */
export function freshMemory(): WebAssembly.Memory {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  const base = adviseHugePages(memory, MAX_BYTES);
  if (base !== 0) hugePagesBases.set(memory, base);
  return memory;
}

/**
 * Leave a disposed machine's memory for the next machine. Past MEMORY_POOL_MAX memories or
 * MEMORY_POOL_BYTES, the smallest memories held (this one, if it is) are let go.
 */
export function returnMemory(pool: MemoryPool, memory: WebAssembly.Memory): void {
  pool.memories.push(memory);
  pool.bytes += memory.buffer.byteLength;
  const ms = pool.memories;
  while (ms.length > MEMORY_POOL_MAX || pool.bytes > MEMORY_POOL_BYTES) {
    let small = 0;
    for (let i = 1; i < ms.length; i++) if (ms[i]!.buffer.byteLength < ms[small]!.buffer.byteLength) small = i;
    pool.bytes -= ms[small]!.buffer.byteLength;
    ms.splice(small, 1);
  }
}

/** Memories the pool of `module` holds now (tests: a machine made next starts fresh when it is 0). */
export function pooledMemories(module: WebAssembly.Module): number {
  return pools.get(module)?.memories.length ?? 0;
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
