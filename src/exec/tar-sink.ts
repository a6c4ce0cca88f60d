// exec/tar-sink.ts: the streaming end of every layer writer. Bytes go into a Writable while
// their SHA-256 (the diff ID) and count are taken, waiting on backpressure. exec's writeLayer
// (changes from a tree) and build's writeEntriesLayer (entries with sources) both use it.
import { createHash } from "node:crypto";
import { once } from "node:events";
import { open } from "node:fs/promises";
import type { Writable } from "node:stream";
import type { Digest } from "../util/index.js";
import { endOfArchive } from "./tar-header.js";

/** What a tar body writes through. */
export interface TarSink {
  /** Hash, count and write `buf`, waiting for "drain" when `out` is full. Empty buffers are skipped. */
  put(buf: Buffer): Promise<void>;
  /**
   * Stream exactly `size` bytes of the file at `path` in 1 MiB reads (no padding). `errors.open`
   * maps a failure to open it (default: rethrown as is); `errors.shrunk` is thrown when the file
   * ends after `done` bytes. The abort signal is checked before every read.
   */
  putFile(path: string, size: number, errors: { open?: (e: unknown) => Error; shrunk: (done: number) => Error }): Promise<void>;
}

export interface TarStreamOptions {
  /** End `out` once the archive is complete (default true). */
  readonly end?: boolean;
  /** After ending `out`, wait for its "finish" event (default false). */
  readonly waitForFinish?: boolean;
  readonly signal?: AbortSignal;
}

const CHUNK = 1 << 20;

/**
 * Run `body` against a sink on `out`, then write the end-of-archive blocks and end `out`.
 * Returns the diff ID and byte count of everything written. On failure `out` is destroyed
 * with the error, which is rethrown; the caller MUST discard what was written.
 */
export async function writeTarStream(out: Writable, body: (sink: TarSink) => Promise<void>, opts: TarStreamOptions = {}): Promise<{ diffId: Digest; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  const drainOpts = opts.signal ? { signal: opts.signal } : {};
  const put = async (buf: Buffer): Promise<void> => {
    if (buf.length === 0) return;
    hash.update(buf);
    size += buf.length;
    if (!out.write(buf)) await once(out, "drain", drainOpts);
  };
  const putFile: TarSink["putFile"] = async (path, fileSize, errors) => {
    const fh = await open(path, "r").catch((e: unknown) => {
      throw errors.open ? errors.open(e) : e;
    });
    try {
      let done = 0;
      while (done < fileSize) {
        opts.signal?.throwIfAborted();
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, fileSize - done));
        const { bytesRead } = await fh.read(buf, 0, buf.length, done);
        if (bytesRead === 0) throw errors.shrunk(done);
        await put(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
        done += bytesRead;
      }
    } finally {
      await fh.close();
    }
  };
  try {
    await body({ put, putFile });
    await put(endOfArchive());
    if (opts.end ?? true) {
      out.end();
      if (opts.waitForFinish && !out.writableFinished) await once(out, "finish");
    }
  } catch (e) {
    out.destroy(e as Error);
    throw e;
  }
  return { diffId: `sha256:${hash.digest("hex")}`, size };
}
