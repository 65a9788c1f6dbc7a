/**
 * Raw byte chunks of a trace file, plain or gzip (recognised by the magic bytes 1f 8b, whatever the
 * file's name), for parsers that work on bytes rather than strings (the lackey replay).
 *
 * A plain file is read with two buffers in turn: while the caller works on one chunk, the next read
 * is already under way in the thread pool. A gzip file goes through zlib's stream, which inflates
 * ahead of the caller in the same way. Memory use is a few chunks, never the file.
 */
import { open, type FileHandle } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import { TraceError } from "./hcall-trace.js";

/** Bytes per read of a plain file, and zlib's output chunk size. */
export const CHUNK_BYTES = 1 << 20;

/** A file that cannot be opened or read, as a TraceError on the file as a whole (line 0). */
export function openError(file: string, e: NodeJS.ErrnoException): TraceError {
  const why: Record<string, string> = {
    ENOENT: "no such file",
    EISDIR: "is a directory",
    EACCES: "permission denied",
  };
  return new TraceError(file, 0, undefined, `cannot read: ${why[e.code ?? ""] ?? e.message}`);
}

/** True when a read error came from zlib (corrupt or truncated gzip data). */
export function isGzipError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return typeof code === "string" && (code.startsWith("Z_") || code === "ERR_STREAM_PREMATURE_CLOSE");
}

/**
 * The bytes of `path`, decompressed when it is gzip, as a sequence of chunks. A yielded chunk is
 * only valid until the next one is requested (its buffer is reused): copy what must outlive it.
 * Opening errors are TraceErrors (`FILE: cannot read: no such file`); errors while reading (I/O,
 * corrupt gzip) are thrown as they come, for the caller to place on a line (see `isGzipError`).
 */
export async function* readByteChunks(path: string, chunkBytes = CHUNK_BYTES): AsyncGenerator<Uint8Array, void, undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw openError(path, e as NodeJS.ErrnoException);
  }
  try {
    const magic = Buffer.alloc(2);
    let gzip: boolean;
    try {
      const { bytesRead } = await fh.read(magic, 0, 2, 0);
      gzip = bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
    } catch (e) {
      throw openError(path, e as NodeJS.ErrnoException);
    }
    if (gzip) {
      const raw = fh.createReadStream({ start: 0, autoClose: false, highWaterMark: chunkBytes });
      const gunzip = createGunzip({ chunkSize: chunkBytes });
      raw.on("error", (e) => gunzip.destroy(e));
      raw.pipe(gunzip);
      try {
        for await (const chunk of gunzip) yield chunk as Buffer;
      } finally {
        gunzip.destroy();
        raw.destroy();
      }
      return;
    }
    // Plain: double-buffered positional reads, the next one issued before the current chunk is yielded.
    const bufs = [Buffer.allocUnsafe(chunkBytes), Buffer.allocUnsafe(chunkBytes)];
    let position = 0;
    let which = 0;
    let pending = fh.read(bufs[0]!, 0, chunkBytes, 0);
    try {
      for (;;) {
        const { bytesRead } = await pending;
        if (bytesRead === 0) return;
        const current = bufs[which]!;
        position += bytesRead;
        which ^= 1;
        pending = fh.read(bufs[which]!, 0, chunkBytes, position);
        yield bytesRead === chunkBytes ? current : current.subarray(0, bytesRead);
      }
    } finally {
      // Never leave a read running on a handle about to be closed.
      await pending.catch(() => undefined);
    }
  } finally {
    await fh.close();
  }
}
