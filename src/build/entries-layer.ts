// build/entries-layer.ts: a deterministic layer tar from a list of entries whose metadata
// the build decides (COPY/ADD/WORKDIR: owners from --chown, modes from --chmod, parents from
// the parent rootfs) and whose bytes come straight from their source files, so a COPY reads
// each context file once and never stages a copy. Same rules as exec's writeLayer: sorted,
// parents first, numeric ids, whole-second mtimes clamped to SOURCE_DATE_EPOCH. Streams
// into the store: the layer is never held in memory.
import { closeSync, openSync, readSync } from "node:fs";
import { PassThrough, type Writable } from "node:stream";
import { TbuildError, type Digest } from "../util/index.js";
import type { RootStat } from "./root-view.js";
import type { Store } from "../store/index.js";

/**
 * One tar entry: a path's metadata as a root view reports it (type, mode, owner, whole-second
 * mtime, size) plus where its bytes come from. `path` is relative, slash-separated, with no
 * leading or trailing slash.
 */
export interface LayerEntry extends RootStat {
  readonly path: string;
  /** Where a regular file's bytes are read (absolute host path), or its inline content. */
  readonly source?: string;
  readonly content?: Uint8Array;
  readonly linkname?: string;
  readonly devmajor?: number;
  readonly devminor?: number;
}

export interface LayerOutcome {
  readonly diffId: Digest;
  readonly size: number;
  readonly entries: number;
}

const CHUNK = 1 << 20;
/** Files up to this size are read with one synchronous call (cheaper than async round trips). */
const SMALL = 256 << 10;

/** Sort by path components (parents before children, siblings by code unit). */
function compareEntryPaths(a: string, b: string): number {
  const as = a.split("/");
  const bs = b.split("/");
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const x = as[i]!;
    const y = bs[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return as.length - bs.length;
}

/** Write `entries` (deduplicated by path, last wins; sorted here) as a tar to `out`. */
export async function writeEntriesLayer(entries: readonly LayerEntry[], out: Writable, opts: { sourceDateEpoch?: number; signal?: AbortSignal } = {}): Promise<LayerOutcome> {
  const byPath = new Map<string, LayerEntry>();
  for (const e of entries) if (e.path !== "" && e.path !== ".") byPath.set(e.path, e);
  const sorted = [...byPath.values()].sort((a, b) => compareEntryPaths(a.path, b.path));
  // exec/ is loaded on first use: a fully cached build never needs it.
  const { encodeHeader, paddingFor, writeTarStream } = await import("../exec/index.js");
  const clamp = (t: number): number => Math.max(0, opts.sourceDateEpoch === undefined ? Math.floor(t) : Math.min(Math.floor(t), opts.sourceDateEpoch));
  const written = await writeTarStream(
    out,
    async ({ put, putFile }) => {
      for (const e of sorted) {
        opts.signal?.throwIfAborted();
        const fileSize = e.type === "file" ? (e.content ? e.content.length : e.size) : 0;
        await put(
          encodeHeader({
            path: e.type === "dir" ? `${e.path}/` : e.path,
            type: e.type,
            mode: e.mode & 0o7777,
            uid: e.uid,
            gid: e.gid,
            size: fileSize,
            mtime: clamp(e.mtime),
            ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
            ...(e.devmajor !== undefined ? { devmajor: e.devmajor, devminor: e.devminor ?? 0 } : {}),
          }),
        );
        if (e.type !== "file") continue;
        if (e.content) await put(Buffer.from(e.content));
        else if (e.source && fileSize <= SMALL) await put(readSmall(e.source, e.path, fileSize));
        else if (e.source) {
          await putFile(e.source, fileSize, {
            open: (err) => cannotRead(e.path, err),
            shrunk: (done) => shrankError(e.path, fileSize, done),
          });
        }
        await put(paddingFor(fileSize));
      }
    },
    opts.signal ? { signal: opts.signal } : {},
  );
  return { ...written, entries: sorted.length };
}

const cannotRead = (rel: string, e: unknown): TbuildError => new TbuildError("E_IO", `cannot read ${rel}: ${(e as Error).message}`, { cause: e });
const shrankError = (rel: string, size: number, done: number): TbuildError =>
  new TbuildError("E_CONTEXT_CHANGED", `${rel} shrank while it was read (expected ${size} bytes, got ${done})`, { hint: "do not change the context during a build" });

function readSmall(abs: string, rel: string, size: number): Buffer {
  let fd: number;
  try {
    fd = openSync(abs, "r");
  } catch (e) {
    throw cannotRead(rel, e);
  }
  try {
    const buf = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, buf, done, size - done, done);
      if (n === 0) throw shrankError(rel, size, done);
      done += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

/**
 * Stream a layer into the store as a blob while `write` produces it: the digest is taken
 * while streaming and checked against the writer's diff ID. On failure nothing is stored.
 */
export async function streamLayerToStore(store: Store, write: (out: Writable) => Promise<{ diffId: Digest; size: number }>): Promise<{ diffId: Digest; size: number }> {
  const pass = new PassThrough({ highWaterMark: CHUNK });
  const stored = store.putBlob(pass);
  let written: { diffId: Digest; size: number };
  try {
    written = await write(pass);
  } catch (e) {
    pass.destroy(e as Error);
    await stored.catch(() => undefined);
    throw e;
  }
  const blob = await stored;
  if (blob.digest !== written.diffId || blob.size !== written.size) {
    throw new TbuildError("E_INTERNAL", `layer digest mismatch: wrote ${written.diffId} (${written.size} bytes), stored ${blob.digest} (${blob.size} bytes)`);
  }
  return written;
}
