// Lazy layer compression: the store keeps plain tar; a layer is gzipped once, when an image
// leaves the store compressed, and the gzip digest is remembered in `tbuild/gzip/<diffid>`.
// Compression is parallel: fixed 4 MiB slices gzipped concurrently on libuv's thread pool
// and concatenated as gzip members (RFC 1952 §2.2 allows several; Go, zlib, pigz and
// containerd all read them). Fixed slices keep the output deterministic.
import { availableParallelism } from "node:os";
import { promisify } from "node:util";
import { deflateRaw as deflateRawCb, gzip as gzipCb, constants as zc } from "node:zlib";
import { digestHex, type Digest } from "../util/index.js";
import type { BlobInfo } from "../image/index.js";
import { writeFileAtomic } from "./blobs.js";
import { readGzipEntry } from "./gc.js";
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

async function gzipSlice(slice: Buffer, level: number): Promise<Uint8Array> {
  return gzip(slice, { level: level !== 0 && (await incompressible(slice)) ? 0 : level });
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

/** The gzip form of a stored layer, compressing it (once) if needed. */
export async function compressLayer(store: Store, diffId: Digest): Promise<BlobInfo> {
  const known = await readGzipEntry(store.paths, diffId);
  if (known && (await store.hasBlob(known.digest))) return known;
  const info = await store.putBlob(gzipParallel(store.openBlob(diffId)));
  await writeFileAtomic(store.paths.tmp, store.gzipMapPath(diffId), JSON.stringify({ digest: info.digest, size: info.size, diffId: `sha256:${digestHex(diffId)}` }));
  return info;
}
