// Lazy layer compression: the store keeps plain tar; a layer is gzipped once, when an image
// leaves the store compressed, and the gzip digest is remembered in `tbuild/gzip/<diffid>`.
// Compression is parallel: fixed 4 MiB slices gzipped concurrently on libuv's thread pool
// and concatenated as gzip members (RFC 1952 §2.2 allows several; Go, zlib, pigz and
// containerd all read them). Fixed slices keep the output deterministic.
import { availableParallelism } from "node:os";
import { promisify } from "node:util";
import { gzip as gzipCb, constants as zc } from "node:zlib";
import { digestHex, type Digest } from "../util/index.js";
import type { BlobInfo } from "../image/index.js";
import { writeFileAtomic } from "./blobs.js";
import { readGzipEntry } from "./gc.js";
import type { Store } from "./store.js";

const gzip = promisify(gzipCb);
const SLICE = 4 << 20;

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
    pending.push(gzip(slice, { level }));
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
