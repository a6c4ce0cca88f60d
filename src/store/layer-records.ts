// Layer records and lazy inflation: the store's one place that knows how a layer's
// compressed blob and its plain tar relate (`tbuild/gzip/<diff ID hex>`).
//
// Deviation from DESIGN.md ("the store keeps layers as plain tar"), as containerd does:
// a pulled layer is kept exactly as the registry sent it (gzip or zstd), verified against its
// compressed digest and stored under it; the image's manifest references that blob
// (application/vnd.oci.image.layer.v1.tar+gzip or +zstd) and its config (diff IDs) is unchanged.
// The plain tar (digest = diff ID) is made once, on first use (a build FROM the image,
// save to docker-archive), by `Store.plainLayer`, verified against the diff ID, and kept
// beside the gzip blob as derived data while an image references the layer. A layer a
// build takes from an imported build cache (--cache-from) is kept the same way: the
// cache's gzip blob as it came, recorded here, named by the image and the local cache
// record, and inflated on first use (a later step that needs the root file system). Layers
// that tbuild builds are still stored plain and gzipped lazily (compress.ts), as before.
//
// One record per diff ID: `{ diffId, digest, size, uncompressedSize, provisional?, seen? }`:
// the gzip blob (`digest`, `size`) holding the layer, the plain tar's size, and where pulls
// found gzip forms of it (registry/blob-info.ts: push hints); `compression: "zstd"` marks a
// zstd blob (zstd.ts reads it; a zstd frame header may carry the content size, which a pull
// records as provisional the same way). A pull
// knows a gzip layer's plain size only from the gzip trailer (ISIZE: the last member's size mod
// 2^32), so it records it as provisional; it is wrong for a layer of 4 GiB or more and
// for a multi-member gzip (pigz, tbuild's own parallel gzip), where it is the last
// member's size (then the compressed size, a lower bound, is recorded instead). The
// exact size replaces it when the layer is first inflated.
import { once as onceEvent } from "node:events";
import { promises as fsp } from "node:fs";
import { join } from "node:path";
import { createGunzip } from "node:zlib";
import { TbuildError, digestHex, isDigest, type Digest } from "../util/index.js";
import { isZstd } from "../image/index.js";
import { commitTemp, readHead, writeFileAtomic, writeTemp } from "./blobs.js";
import type { StorePaths } from "./layout.js";
import { ZstdFormatError, unzstd } from "./zstd.js";

/** What the store knows of a layer beyond its diff ID: its gzip blob and its plain size. */
export interface LayerRecord {
  readonly diffId: Digest;
  /** The gzip blob's digest and size. */
  readonly digest: Digest;
  readonly size: number;
  /** The plain tar's size in bytes (absent in records written before it was kept). */
  readonly uncompressedSize?: number;
  /** True while `uncompressedSize` comes from the gzip trailer and no inflate confirmed it. */
  readonly provisional?: boolean;
  /** Set when the blob is zstd (a pulled zstd layer), absent for gzip: push never sends it as a gzip form. */
  readonly compression?: "zstd";
  /** Gzip forms of the layer that pulls verified in registries, newest first (push hints; never trusted without the registry's answer). */
  readonly seen?: readonly SeenBlob[];
}

/** A gzip form of a layer in a registry repository: `digest` and `size` there. */
export interface SeenBlob {
  readonly digest: Digest;
  readonly size: number;
  /** Registry host as in references (`docker.io`, `localhost:5000`). */
  readonly registry: string;
  readonly repository: string;
}

/** Where layer `diffId`'s record lives. */
export function recordPath(p: StorePaths, diffId: Digest): string {
  return join(p.gzipMap, digestHex(diffId));
}

/** The record for layer `diffId`, or undefined (a missing or unreadable record counts as none). */
export async function readLayerRecord(p: StorePaths, diffId: Digest): Promise<LayerRecord | undefined> {
  let v: Partial<LayerRecord>;
  try {
    v = JSON.parse(await fsp.readFile(recordPath(p, diffId), "utf8")) as Partial<LayerRecord>;
  } catch {
    return undefined;
  }
  if (typeof v.digest !== "string" || !isDigest(v.digest) || !Number.isSafeInteger(v.size)) return undefined;
  const exact = Number.isSafeInteger(v.uncompressedSize) && v.uncompressedSize! >= 0;
  const seen = seenBlobs(v.seen);
  return {
    diffId,
    digest: v.digest,
    size: v.size!,
    ...(exact ? { uncompressedSize: v.uncompressedSize!, ...(v.provisional === true ? { provisional: true } : {}) } : {}),
    ...(v.compression === "zstd" ? { compression: "zstd" as const } : {}),
    ...(seen.length ? { seen } : {}),
  };
}

/** The well-formed entries of a list of seen blobs read from disk (anything else: none). */
export function seenBlobs(v: unknown): SeenBlob[] {
  return Array.isArray(v) ? v.filter(isSeenBlob) : [];
}

function isSeenBlob(v: unknown): v is SeenBlob {
  const k = v as Partial<SeenBlob> | null;
  return typeof k === "object" && k !== null && typeof k.digest === "string" && isDigest(k.digest) && Number.isSafeInteger(k.size) && k.size! >= 0 && typeof k.registry === "string" && typeof k.repository === "string";
}

/** Replace the record for `r.diffId` atomically. */
export async function writeLayerRecord(p: StorePaths, r: LayerRecord): Promise<void> {
  const v = {
    digest: r.digest,
    size: r.size,
    diffId: r.diffId,
    ...(r.uncompressedSize !== undefined ? { uncompressedSize: r.uncompressedSize } : {}),
    ...(r.provisional ? { provisional: true } : {}),
    ...(r.compression ? { compression: r.compression } : {}),
    ...(r.seen?.length ? { seen: r.seen.map(({ digest, size, registry, repository }) => ({ digest, size, registry, repository })) } : {}),
  };
  await writeFileAtomic(p.tmp, recordPath(p, r.diffId), JSON.stringify(v));
}

/**
 * The plain size a gzip stream's trailer claims: ISIZE, the last 4 bytes (little endian),
 * mod 2^32 and of the last member only. When it cannot be the whole stream's size (the
 * deflated bytes could not have come from so few: a multi-member stream or one of 4 GiB or
 * more), the compressed size minus the framing, a lower bound, is returned instead.
 */
export function provisionalPlainSize(trailer: Uint8Array, compressedSize: number): number {
  if (trailer.length < 4) return compressedSize;
  const isize = (trailer[trailer.length - 4]! | (trailer[trailer.length - 3]! << 8) | (trailer[trailer.length - 2]! << 16) | (trailer[trailer.length - 1]! << 24)) >>> 0;
  // Deflate expands incompressible data by 5 bytes per stored block (zlib's are 16 KiB or
  // more): far less than 1%. A smaller ISIZE cannot be the size of the whole stream.
  const floor = Math.max(0, Math.floor((compressedSize - 18) * 0.99));
  return isize >= floor ? isize : floor;
}

/** Inflated pieces (1 MiB each) held before zlib is paused. */
const INFLATED_AHEAD = 8;

/**
 * Inflate a gzip stream (all members); zlib works on libuv's pool while the consumer
 * hashes and writes. Pieces are taken with 'data' events, not an async iterator over the
 * zlib stream (its read() concatenates whatever is buffered: a copy of most bytes on the
 * main thread). Invalid gzip throws `invalid(cause)` (without it, zlib's error as is, for a
 * caller that names the failure itself); a TbuildError from `src` passes as is. The one
 * gunzip of the store, pull, the registry cache and the archive codecs (node-deps.ts).
 */
export async function* gunzip(src: AsyncIterable<Uint8Array>, invalid: (cause: Error) => Error = (cause) => cause): AsyncGenerator<Uint8Array> {
  // 1 MiB output pieces: the default 16 KiB meant 32 pool round trips and buffers per MiB.
  const z = createGunzip({ chunkSize: 1 << 20 });
  const ready: Buffer[] = [];
  let ended = false;
  let failure: { e: unknown } | undefined;
  let wake: (() => void) | undefined;
  const poke = () => {
    wake?.();
    wake = undefined;
  };
  const fail = (e: unknown) => {
    failure ??= { e };
    poke();
  };
  z.on("data", (c: Buffer) => {
    ready.push(c);
    if (ready.length >= INFLATED_AHEAD) z.pause();
    poke();
  });
  z.on("end", () => {
    ended = true;
    poke();
  });
  z.on("error", fail);
  const stop = new AbortController();
  const feed = async () => {
    for await (const c of src) {
      if (!z.write(c)) await onceEvent(z, "drain", { signal: stop.signal });
    }
    z.end();
  };
  feed().catch(fail);
  try {
    for (;;) {
      if (failure) throw failure.e;
      const c = ready.shift();
      if (c) {
        yield c;
        continue;
      }
      if (ended) return;
      z.resume();
      await new Promise<void>((r) => (wake = r));
    }
  } catch (e) {
    if (e instanceof TbuildError) throw e;
    throw invalid(e as Error);
  } finally {
    // Stops the feeder (which closes the source) if the consumer gave up early.
    stop.abort();
    z.destroy();
  }
}

/** What inflating needs from the store (the Store class passes itself). */
export interface InflateStore {
  readonly paths: StorePaths;
  blobPath(digest: Digest): string;
  hasBlob(digest: Digest): Promise<boolean>;
  openBlob(digest: Digest): AsyncIterable<Uint8Array>;
}

/**
 * Make the plain tar of layer `diffId` from its gzip or zstd blob (`compressed`, else the
 * record's): inflate into a temporary file, verify it hashes to the diff ID, rename it into
 * place and record the exact size, which it returns. On a mismatch nothing is kept and the error names the
 * layer. Safe to run in several processes at once: each writes its own temporary file and
 * the renames put identical bytes in place.
 */
export async function inflateLayer(store: InflateStore, diffId: Digest, compressed?: Digest): Promise<number> {
  const rec = await readLayerRecord(store.paths, diffId);
  const source = compressed !== undefined && compressed !== diffId ? compressed : rec?.digest;
  if (source === undefined || !(await store.hasBlob(source))) {
    throw new TbuildError("E_STORE_CORRUPT", `layer ${diffId} is not in the store${source ? ` (neither plain nor as its compressed blob ${source})` : ""}`, { hint: 'run "tbuild store check", then pull the image again' });
  }
  const what = `layer ${diffId} (compressed blob ${source})`;
  // Judged by the bytes, where every compressed → plain path starts, as containerd's
  // DecompressStream does: a zstd blob under a gzip media type (a mislabelled image) still
  // reads, and the diff ID check below decides whether what came out is the layer.
  const zstd = isZstd(await readHead(store.blobPath(source), 4));
  const corrupt = (cause: Error) =>
    cause instanceof ZstdFormatError && cause.unsupported
      ? new TbuildError("E_STORE_UNSUPPORTED", `${what} cannot be read: ${cause.message}`, { cause, hint: "recompress the image (skopeo copy --dest-compress-format gzip) and bring it in again" })
      : new TbuildError("E_STORE_CORRUPT", `${what} is not valid ${zstd ? "zstd" : "gzip"}: ${cause.message}`, { cause, hint: "remove the image (tbuild rmi) and pull it again" });
  const plain = (zstd ? unzstd : gunzip)(store.openBlob(source), corrupt);
  const t = await writeTemp(store.paths.tmp, plain, { digest: diffId }, {
    mismatch: (kind, _want, got) =>
      new TbuildError("E_STORE_CORRUPT", `${what} inflates to ${kind === "digest" ? got : `${got} bytes`}, not to the diff ID ${diffId} its image's config names; nothing was kept`, {
        hint: "the image is inconsistent: remove it (tbuild rmi) and pull it again",
      }),
  });
  try {
    await commitTemp(t.path, store.blobPath(diffId));
  } catch (e) {
    await fsp.rm(t.path, { force: true });
    throw e;
  }
  // A record naming another compressed blob that is still there (tbuild's own gzip, for push) keeps it.
  const keep = rec !== undefined && (rec.digest === source || (await store.hasBlob(rec.digest)));
  const blob = keep
    ? { digest: rec.digest, size: rec.size, ...(rec.compression ? { compression: rec.compression } : {}) }
    : { digest: source, size: (await fsp.stat(store.blobPath(source))).size, ...(zstd ? { compression: "zstd" as const } : {}) };
  await writeLayerRecord(store.paths, { diffId, ...blob, uncompressedSize: t.size, seen: rec?.seen });
  return t.size;
}
