// Lazy layer compression: the store keeps plain tar; a layer is gzipped once, when an image
// leaves the store compressed, and the gzip digest is remembered in `tbuild/gzip/<diffid>`.
// Compression is parallel: fixed 4 MiB slices gzipped concurrently on libuv's thread pool
// and concatenated as gzip members (RFC 1952 §2.2 allows several; Go, zlib, pigz and
// containerd all read them). Fixed slices keep the output deterministic.
import { availableParallelism } from "node:os";
import { promisify } from "node:util";
import { deflateRaw as deflateRawCb, gzip as gzipCb, constants as zc } from "node:zlib";
import { stat } from "node:fs/promises";
import type { Digest } from "../util/index.js";
import type { BlobInfo } from "../image/index.js";
import { readLayerRecord, writeLayerRecord } from "./layer-records.js";
import type { Store } from "./store.js";

const gzip = promisify(gzipCb);
const deflateRaw = promisify(deflateRawCb);
const SLICE = 4 << 20;
const PROBE = 32 << 10;

/**
 * True when three 32 KiB samples of `slice` (start, middle, end) do not shrink at level 1:
 * random or already-compressed bytes. zlib spends ~30 ms per MiB failing to compress such
 * data at any level; stored blocks (level 0) cost a copy and a CRC. The choice depends on
 * the bytes only, so the output stays deterministic (klauspost/compress, which skopeo's
 * pgzip uses, skips incompressible blocks the same way).
 */
async function incompressible(slice: Buffer): Promise<boolean> {
  if (slice.length < 4 * PROBE) return false;
  const at = [0, (slice.length >> 1) - (PROBE >> 1), slice.length - PROBE];
  const sizes = await Promise.all(at.map((o) => deflateRaw(slice.subarray(o, o + PROBE), { level: 1 })));
  return sizes.every((b) => b.length >= PROBE * 0.97);
}

/**
 * One output buffer big enough for any slice's member (stored blocks add 5 bytes per
 * 64 KiB): zlib's default 16 KiB meant 256 pool round trips and a concat per random 4 MiB
 * slice. The size is fixed, so the bytes stay deterministic (level 0's block layout
 * depends on it).
 */
const MEMBER_BUFFER = SLICE + (64 << 10);

async function gzipSlice(slice: Buffer, level: number): Promise<Uint8Array> {
  return gzip(slice, { level: level !== 0 && (await incompressible(slice)) ? 0 : level, chunkSize: MEMBER_BUFFER });
}

/** Gzip a byte stream as concurrent fixed-size members, in order. */
export async function* gzipParallel(src: AsyncIterable<Uint8Array>, opts: { level?: number; concurrency?: number } = {}): AsyncGenerator<Uint8Array> {
  const level = opts.level ?? zc.Z_DEFAULT_COMPRESSION;
  const conc = Math.max(1, opts.concurrency ?? availableParallelism());
  const pending: Promise<Uint8Array>[] = [];
  let buf: Buffer[] = [];
  let len = 0;
  const flush = () => {
    const slice = Buffer.concat(buf, len);
    buf = [];
    len = 0;
    pending.push(gzipSlice(slice, level));
  };
  for await (const chunk of src) {
    let c = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (c.length) {
      const take = Math.min(c.length, SLICE - len);
      buf.push(c.subarray(0, take));
      len += take;
      c = c.subarray(take);
      if (len === SLICE) flush();
      while (pending.length >= conc) yield await pending.shift()!;
    }
  }
  if (len > 0 || pending.length === 0) flush();
  while (pending.length) yield await pending.shift()!;
}

/** Receives a layer's gzip bytes while they are made, and the stored blob once it is written. */
export type GzipSink = (bytes: AsyncIterable<Uint8Array>, stored: Promise<BlobInfo>) => Promise<void>;

/** Compressed bytes the sink may fall behind the store's writer before the writer waits. */
const SINK_AHEAD = 32 << 20;

/**
 * The gzip form of a stored layer, compressing it (once) if needed. When it must be
 * compressed now and `sink` is given, the sink gets the compressed bytes as they are made
 * (push uploads them while they are written, instead of after): a sink that fails or stops
 * reading never stops the store's copy. The sink is not called for a remembered gzip.
 */
export async function compressLayer(store: Store, diffId: Digest, sink?: GzipSink): Promise<BlobInfo> {
  const known = await readLayerRecord(store.paths, diffId);
  // A pulled zstd blob is no gzip form: the layer is gzipped (and the record then names that).
  if (known && known.compression === undefined && (await store.hasBlob(known.digest))) return { digest: known.digest, size: known.size };
  const gz = gzipParallel(store.openBlob(diffId));
  let info: BlobInfo;
  if (sink) {
    const { primary, secondary, stop } = tee(gz, SINK_AHEAD);
    const stored = store.putBlob(primary);
    stored.catch(() => undefined); // observed below; the sink may never await it
    const sent = sink(secondary, stored).finally(stop);
    sent.catch(() => undefined);
    info = await stored;
    await sent.catch(() => undefined);
  } else info = await store.putBlob(gz);
  const plain = await stat(store.blobPath(diffId));
  await writeLayerRecord(store.paths, { diffId, digest: info.digest, size: info.size, uncompressedSize: plain.size, seen: known?.seen });
  return info;
}

/**
 * Two readers of one stream. `primary` drives it; `secondary` gets each piece as well,
 * through a queue of at most `limit` bytes (then `primary` waits for it). After `stop()`
 * (or once `secondary` is returned from) `primary` goes on alone; when the source fails,
 * both fail.
 */
export function tee(src: AsyncIterable<Uint8Array>, limit: number): { primary: AsyncGenerator<Uint8Array>; secondary: AsyncGenerator<Uint8Array>; stop: () => void } {
  let queue: Uint8Array[] = [];
  let queued = 0;
  let end: { error?: unknown } | undefined;
  let closed = false;
  let wakeSecondary: (() => void) | undefined;
  let wakePrimary: (() => void) | undefined;
  const poke = (which: "primary" | "secondary") => {
    const w = which === "primary" ? wakePrimary : wakeSecondary;
    if (which === "primary") wakePrimary = undefined;
    else wakeSecondary = undefined;
    w?.();
  };
  const primary = async function* () {
    try {
      for await (const c of src) {
        if (!closed) {
          queue.push(c);
          queued += c.byteLength;
          poke("secondary");
          while (queued >= limit && !closed) await new Promise<void>((r) => (wakePrimary = r));
        }
        yield c;
      }
      end = {};
    } catch (e) {
      end = { error: e };
      throw e;
    } finally {
      end ??= { error: new Error("the primary reader stopped before the end") };
      poke("secondary");
    }
  };
  const stop = () => {
    closed = true;
    queue = [];
    queued = 0;
    poke("primary");
  };
  const secondary = async function* () {
    try {
      for (;;) {
        const c = queue.shift();
        if (c) {
          queued -= c.byteLength;
          poke("primary");
          yield c;
          continue;
        }
        if (end) {
          if ("error" in end) throw end.error;
          return;
        }
        await new Promise<void>((r) => (wakeSecondary = r));
      }
    } finally {
      stop();
    }
  };
  return { primary: primary(), secondary: secondary(), stop };
}
