// Content digests of context files (edge): node:crypto SHA-256 over streamed reads into
// reused buffers (memory stays flat whatever the file size), the file-hash cache in front,
// small files read synchronously (cheaper than four promise round trips each) and large
// files pipelined with bounded concurrency so reading overlaps hashing.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import type { Digest } from "../util/index.js";
import type { FileHashCache } from "./file-hash-cache.js";
import type { ContextEntry, FileStamp } from "./tree-hash.js";

const CHUNK = 1 << 20;
/** Files up to this size are hashed with one synchronous read. */
const SMALL = 1 << 20;

export interface HashFilesOptions {
  /** The file-hash cache (or anything with its get and set). */
  readonly cache?: Pick<FileHashCache, "get" | "set">;
  /** Large files hashed at once (default 4). Each holds two 1 MiB buffers. */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  /** Wall clock in ns (for the cache's racy rule); injectable for tests. */
  readonly now?: () => bigint;
}

export interface HashFilesStats {
  /** Files whose bytes were read. */
  filesRead: number;
  bytesRead: number;
  /** Files answered by the cache without reading. */
  cacheHits: number;
}

/**
 * The SHA-256 of every regular file in `entries` (paths relative to `root`), by path.
 * A file whose stamp changed while it was read is hashed but not cached.
 */
export async function hashFiles(root: string, entries: Iterable<ContextEntry>, opts: HashFilesOptions = {}): Promise<{ digests: Map<string, Digest>; stats: HashFilesStats }> {
  const now = opts.now ?? (() => BigInt(Date.now()) * 1_000_000n);
  const cache = opts.cache;
  const digests = new Map<string, Digest>();
  const stats: HashFilesStats = { filesRead: 0, bytesRead: 0, cacheHits: 0 };
  const large: ContextEntry[] = [];
  const buf = Buffer.allocUnsafe(SMALL + 1);
  const seen = new Set<string>();
  for (const e of entries) {
    if (e.type !== "file" || seen.has(e.path)) continue;
    seen.add(e.path);
    const hit = e.stamp && cache ? cache.get(e.stamp) : undefined;
    if (hit) {
      digests.set(e.path, hit);
      stats.cacheHits++;
      continue;
    }
    if (e.size > SMALL) {
      large.push(e);
      continue;
    }
    opts.signal?.throwIfAborted();
    const start = now();
    const fd = fs.openSync(`${root}/${e.path}`, "r");
    try {
      const h = createHash("sha256");
      let total = 0;
      for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) {
        h.update(buf.subarray(0, n));
        total += n;
      }
      const d: Digest = `sha256:${h.digest("hex")}`;
      digests.set(e.path, d);
      stats.filesRead++;
      stats.bytesRead += total;
      if (cache && e.stamp && sameStamp(e.stamp, fs.fstatSync(fd, { bigint: true }))) cache.set(e.stamp, d, start);
    } finally {
      fs.closeSync(fd);
    }
  }
  // Large files: a small pool of workers, each pipelining reads into two buffers.
  let next = 0;
  const worker = async () => {
    const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)] as const;
    while (next < large.length) {
      const e = large[next++]!;
      opts.signal?.throwIfAborted();
      const start = now();
      const fh = await fs.promises.open(`${root}/${e.path}`, "r");
      try {
        const h = createHash("sha256");
        let total = 0;
        let k = 0;
        let pending = fh.read(bufs[0], 0, CHUNK, null);
        for (;;) {
          const { bytesRead } = await pending;
          if (bytesRead === 0) break;
          const cur = bufs[k]!;
          k ^= 1;
          pending = fh.read(bufs[k]!, 0, CHUNK, null);
          h.update(cur.subarray(0, bytesRead));
          total += bytesRead;
          if (opts.signal?.aborted) {
            await pending.catch(() => undefined);
            opts.signal.throwIfAborted();
          }
        }
        const d: Digest = `sha256:${h.digest("hex")}`;
        digests.set(e.path, d);
        stats.filesRead++;
        stats.bytesRead += total;
        if (cache && e.stamp && sameStamp(e.stamp, await fh.stat({ bigint: true }))) cache.set(e.stamp, d, start);
      } finally {
        await fh.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 4, large.length)) }, worker));
  return { digests, stats };
}

function sameStamp(a: FileStamp, s: fs.BigIntStats): boolean {
  return a.ino === s.ino && a.dev === s.dev && a.size === s.size && a.mtimeNs === s.mtimeNs && a.ctimeNs === s.ctimeNs;
}
