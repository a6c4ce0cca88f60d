// Pull = copy registry → store; push = copy store → registry (containers/image copy.Image).
// Pull keeps each gzip or zstd layer as it came, verified against its compressed digest (the
// store inflates it on first use: store/layer-records.ts); push sends such layers as they are
// and gzips a plain (built) layer once.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { TbuildError, isDigest, type Digest } from "../util/index.js";
import { RegistryClient, isRetryable, type RegistryClientOptions } from "./client.js";
import type { BlobMismatch, CompressedLayer, LocalImage, PendingLayer, TransferSession, TransferStore } from "./store-port.js";
import {
  buildManifest,
  compressedBlob,
  describesSameBlobs,
  formatPlatform,
  formatReference,
  isIndexType,
  isManifestType,
  layerCompression,
  ociArchitecture,
  ociMediaType,
  parsePlatform,
  parseReference,
  type Descriptor,
  type EncodedBlob,
  type ImageConfig,
  type LayerCompression,
  type ImageIndex,
  type ImageManifest,
  type Platform,
  type Reference,
} from "../image/index.js";
import { loadStore } from "./store-module.js";
import { StreamHead, StreamTail } from "./stream-tail.js";
import { MEDIA, selectPlatform } from "./types.js";
import { WORKER_MIN_SIZE, WorkerDownloads, downloadHere } from "./worker-download.js";

/** Progress of a transfer, for the CLI to render (Docker's per-layer lines). */
export type TransferEvent =
  | { readonly kind: "resolved"; readonly ref: string; readonly digest: Digest; readonly platform?: string }
  | { readonly kind: "layer"; readonly digest: Digest; readonly status: LayerStatus }
  | { readonly kind: "bytes"; readonly digest: Digest; readonly done: number; readonly total: number };

export type LayerStatus = "exists" | "downloading" | "pulled" | "pushing" | "pushed" | "mounted";

export interface TransferOptions extends Omit<RegistryClientOptions, "registry"> {
  /** Parallel layer transfers (default: push 3, as Docker; pull 6, as containers/image). */
  readonly concurrency?: number;
  readonly onEvent?: (e: TransferEvent) => void;
}

export interface PullOptions extends TransferOptions {
  /** `os/arch[/variant]`; default the host's (linux/<node arch>). */
  readonly platform?: string;
  /**
   * Worker threads that download big layers beside this thread. Default: one per big layer
   * the store lacks beyond the first (that one downloads here), at most MAX_PULL_WORKERS;
   * 0 keeps every download on this thread (worker-download.ts has the measurements).
   */
  readonly workerThreads?: number;
}

export interface PullResult {
  /** The reference stored, fully normalised. */
  readonly ref: string;
  /** The digest the registry knows the image by (index digest for multi-platform tags). */
  readonly remoteDigest: Digest;
  /** The manifest in the store: the registry's own (OCI or Docker schema 2) when every layer was kept as it came. */
  readonly manifestDigest: Digest;
  /** The config digest: the image ID. */
  readonly imageId: Digest;
  /** False when every blob was already in the store. */
  readonly downloaded: boolean;
  readonly layers: readonly { readonly digest: Digest; readonly diffId: Digest; readonly status: "exists" | "pulled" }[];
}

export interface PushOptions extends TransferOptions {
  /** Other repositories on the same registry to mount blobs from before uploading. */
  readonly mountFrom?: readonly string[];
  /** Upload in PATCH chunks of this size instead of one streamed PUT. */
  readonly chunkSize?: number;
}

export interface PushResult {
  readonly ref: string;
  /** The digest of the manifest now in the registry. */
  readonly digest: Digest;
  readonly size: number;
  readonly layers: readonly { readonly digest: Digest; readonly status: "exists" | "mounted" | "pushed" }[];
}

/** The host platform as an OCI platform: linux/amd64 on x64. */
export function hostPlatform(): Platform {
  return { os: "linux", architecture: ociArchitecture(process.arch) };
}

const PULL_CONCURRENCY = 6;

/**
 * Pull `ref` from its registry into `store`, tagging it under its normalised name. `store`
 * may still be opening (a promise): the manifest and config are fetched meanwhile, and a
 * store that fails to open is reported before any registry error.
 */
export async function pullImage(opening: TransferStore | Promise<TransferStore>, refText: string, opts: PullOptions = {}): Promise<PullResult> {
  const storeReady = Promise.resolve(opening);
  storeReady.catch(() => undefined); // awaited below, or before a registry error is thrown
  try {
    return await pullInto(storeReady, refText, opts);
  } catch (e) {
    await storeReady;
    throw e;
  }
}

async function pullInto(storeReady: Promise<TransferStore>, refText: string, opts: PullOptions): Promise<PullResult> {
  const ref = parseReference(refText);
  const client = new RegistryClient({ ...opts, registry: ref.domain });
  const want = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
  const top = await client.getManifest(ref.path, ref.digest ?? ref.tag!);
  let manifestBytes = top.bytes;
  let manifestType = top.mediaType;
  let manifestDigest = top.digest;
  if (isIndexType(top.mediaType)) {
    const index = parseJson<ImageIndex>(top.bytes, "image index");
    const pick = selectPlatform(index, want);
    if (!pick) {
      const have = index.manifests.flatMap((d) => (d.platform ? [formatPlatform(d.platform)] : [])).join(", ");
      throw new TbuildError("E_REGISTRY", `no image for platform ${formatPlatform(want)} in ${formatReference(ref)}`, { hint: `available: ${have || "none"}; choose one with --platform` });
    }
    const m = await client.getManifest(ref.path, pick.digest);
    manifestBytes = m.bytes;
    manifestType = m.mediaType;
    manifestDigest = m.digest;
  }
  if (!isManifestType(manifestType)) throw new TbuildError("E_REGISTRY", `unsupported manifest type ${JSON.stringify(manifestType)} for ${formatReference(ref)}`, { hint: "tbuild reads OCI and Docker schema 2 images" });
  opts.onEvent?.({ kind: "resolved", ref: formatReference(ref), digest: top.digest, platform: formatPlatform(want) });
  const manifest = parseJson<ImageManifest>(manifestBytes, `manifest ${manifestDigest}`);
  const configBytes = await client.fetchBlob(ref.path, manifest.config.digest, manifest.config.size);
  const config = parseJson<ImageConfig>(configBytes, `config ${manifest.config.digest}`);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length || !diffIds.every(isDigest)) {
    throw new TbuildError("E_REGISTRY_DIGEST", `image ${formatReference(ref)} has ${manifest.layers.length} layers but its config lists ${diffIds.length} diff IDs`);
  }

  const store = await storeReady;
  const held = await Promise.all(manifest.layers.map((layer, i) => heldAs(store, layer, diffIds[i] as Digest)));
  // With a staging session (the real store), layers are written unsynced into a private
  // folder and fsynced in one parallel batch at commit; nothing is visible before it.
  const session = store.begin?.();
  const workers = startWorkers(session, manifest.layers.filter((_, i) => held[i] === undefined), opts);
  try {
    let downloaded = false;
    // 6 downloads at once, as containers/image (skopeo, podman): a pull now only streams
    // bytes to disk, and a fourth layer waiting for one of three cost ~4% on the bench.
    const layers = await mapLimit(manifest.layers, opts.concurrency ?? PULL_CONCURRENCY, async (layer, i) => {
      const diffId = diffIds[i] as Digest;
      if (held[i]) {
        opts.onEvent?.({ kind: "layer", digest: layer.digest, status: "exists" });
        const stored = held[i] === "compressed" ? { diffId, size: layer.size, compressed: compressedBlob(layer) } : { diffId, size: await blobSize(store, diffId) };
        return { digest: layer.digest, diffId, status: "exists" as const, stored };
      }
      opts.onEvent?.({ kind: "layer", digest: layer.digest, status: "downloading" });
      const stored = await withRetries(opts, () => downloadLayer(client, store, session, workers, ref, layer, diffId, opts));
      downloaded = true;
      opts.onEvent?.({ kind: "layer", digest: layer.digest, status: "pulled" });
      return { digest: layer.digest, diffId, status: "pulled" as const, stored };
    });

    // Only now, with every layer verified and stored, write the config and the image. A
    // manifest (OCI or Docker schema 2) whose layers are all kept as they came is kept byte
    // for byte, so the image keeps the registry's digest (and a push sends the same manifest
    // back), as Docker and containerd keep it.
    const full = formatReference(ref.tag ? { domain: ref.domain, path: ref.path, tag: ref.tag } : ref);
    const before = await store.resolveImage(full);
    const asCame = layers.every((l) => l.stored.compressed !== undefined);
    const pending = { configBytes, layers: layers.map((l) => l.stored), tags: ref.tag ? [full] : [], ...(asCame ? { manifestBytes } : {}) };
    let image: { readonly manifestDigest: Digest };
    if (session) image = await session.commit(pending);
    else {
      await store.putBlob(once(configBytes), manifest.config.digest);
      image = await store.putImage(pending);
    }
    await recordPulledLayers(store, ref, layers);
    return {
      ref: full,
      remoteDigest: top.digest,
      manifestDigest: image.manifestDigest,
      imageId: manifest.config.digest,
      downloaded: downloaded || before?.manifestDigest !== image.manifestDigest,
      layers: layers.map(({ digest, diffId, status }) => ({ digest, diffId, status })),
    };
  } catch (e) {
    await session?.abort().catch(() => undefined);
    throw e;
  } finally {
    await workers?.close();
  }
}

/**
 * Worker threads a pull starts at most by default: with this thread, two big downloads at
 * once (a third waits for a lane). worker-download.ts has the measurements.
 */
const MAX_PULL_WORKERS = 1;

/**
 * The worker threads for the big layers among `missing` (PullOptions.workerThreads),
 * started now so that they boot while the pull asks for the first blobs. They write into
 * the session's staging folder; a transport of the caller's own runs only on this thread.
 */
function startWorkers(session: TransferSession | undefined, missing: readonly Descriptor[], opts: PullOptions): WorkerDownloads | undefined {
  if (opts.workerThreads === 0 || !runsJobs(session, opts)) return undefined;
  const big = missing.filter((l) => l.size >= WORKER_MIN_SIZE).length;
  const threads = opts.workerThreads ?? Math.min(MAX_PULL_WORKERS, big - 1);
  if (big === 0 || threads <= 0) return undefined;
  const workers = new WorkerDownloads(threads, opts.signal);
  workers.warm();
  return workers;
}

/**
 * Whether big layers download as jobs (download-job.ts): into a staging session's files,
 * with the default transport (a caller's own runs only on this thread, through putBlob).
 */
function runsJobs(session: TransferSession | undefined, opts: PullOptions): boolean {
  return session?.putBlobFile !== undefined && !opts.transport;
}

/**
 * How the store already holds a layer ("Already exists"): as the compressed blob itself, or
 * as the plain layer (built here, or inflated); undefined when it must be downloaded.
 * Throws for an unknown media type.
 */
async function heldAs(store: TransferStore, layer: Descriptor, diffId: Digest): Promise<"compressed" | "plain" | undefined> {
  if (checkCompression(layer) !== "none" && (await store.hasBlob(layer.digest))) return "compressed";
  return (await store.hasBlob(diffId)) ? "plain" : undefined;
}

/** The layer's compression; throws for an unknown media type. */
function checkCompression(layer: Descriptor): LayerCompression {
  const compression = layerCompression(layer.mediaType);
  if (compression === undefined) throw new TbuildError("E_REGISTRY", `layer ${layer.digest} has an unknown media type ${layer.mediaType}`);
  return compression;
}

/**
 * Download one layer as it is (containerd's model): a gzip or zstd layer is stored under its
 * compressed digest, which the store's writer verifies (with the size) while it writes,
 * and not inflated (the store does that on first use, against the diff ID); its plain size
 * is taken from the gzip trailer or the zstd frame header, provisionally. A plain layer is
 * stored under its diff ID.
 */
async function downloadLayer(client: RegistryClient, store: TransferStore, session: TransferSession | undefined, workers: WorkerDownloads | undefined, ref: Reference, layer: Descriptor, diffId: Digest, opts: PullOptions): Promise<PendingLayer> {
  const compression = checkCompression(layer);
  const asIs = compression !== "none";
  // The gzip trailer and zstd head: seen here chunk by chunk, or sent back by a download job.
  const seen = new StreamTail();
  const seenHead = new StreamHead();
  let ends: { head: Uint8Array; tail: Uint8Array } | undefined;
  const progress = (done: number) => opts.onEvent?.({ kind: "bytes", digest: layer.digest, done, total: layer.size });
  const source = async function* () {
    // The store's writer hashes the bytes and keeps nothing that differs: the client need not hash them too.
    let done = 0;
    for await (const c of client.openBlob(ref.path, layer.digest, layer.size, { verifiedBy: "consumer" })) {
      done += c.byteLength;
      seen.see(c);
      seenHead.see(c);
      progress(done);
      yield c;
    }
  };
  const want = asIs ? layer.digest : diffId;
  const what = asIs ? `layer ${layer.digest}` : `layer ${layer.digest}: its content`;
  const mismatch: BlobMismatch = (kind, got) => new TbuildError("E_REGISTRY_DIGEST", `${what} is ${got}, but ${asIs ? "its descriptor" : "the config"} says ${kind === "size" ? `${layer.size} bytes` : want}`, { hint: "the image in the registry is inconsistent; nothing was stored" });
  // A big layer is a download job (download-job.ts: its body is read into one reused
  // buffer) on a lane: this thread or a worker's, so that every core hashes.
  const big = layer.size >= WORKER_MIN_SIZE && runsJobs(session, opts);
  const lane = big && workers ? await workers.lane() : big ? "here" : undefined;
  let stored;
  try {
    stored = lane
      ? await session!.putBlobFile!(async (dir) => {
          const file = lane === "worker" ? await workers!.download(client, ref.path, layer.digest, layer.size, dir) : await downloadHere(client, ref.path, layer.digest, layer.size, dir, opts.signal, progress);
          ends = file;
          progress(file.size);
          return file;
        }, want, mismatch, layer.size)
      : session
        ? await session.putBlob(source(), want, mismatch, layer.size)
        : await store.putBlob(checkDigest(source(), want, what), want);
  } finally {
    if (lane && workers) workers.release(lane);
  }
  if (!asIs) return { diffId, size: stored.size };
  const { provisionalPlainSize, provisionalZstdSize } = await loadStore();
  const compressed = compressedBlob({ mediaType: layer.mediaType, digest: stored.digest, size: stored.size });
  const size = compression === "zstd" ? provisionalZstdSize(ends?.head ?? seenHead.bytes(), stored.size) : provisionalPlainSize(ends?.tail ?? seen.bytes(), stored.size);
  return { diffId, size, compressed };
}

/**
 * Record each gzip layer this pull stored (layer-records.ts), side by side: its diff ID,
 * the provisional plain size from its trailer, and the repository it was verified in, so a
 * later push to that registry finds the blob instead of gzipping the layer (blob-info.ts).
 * After the commit, so a failed pull leaves no record; best effort: a record lost to a
 * crash right after it only means sizes show the gzip size until the layer is first
 * inflated (which writes the exact record), and a push gzips the layer.
 */
async function recordPulledLayers(store: TransferStore, ref: Reference, layers: readonly { status: "exists" | "pulled"; stored: PendingLayer }[]): Promise<void> {
  await Promise.all(
    layers.map(async ({ status, stored }) => {
      if (status !== "pulled" || !stored.compressed) return;
      const { digest, size, mediaType } = stored.compressed;
      const zstd = mediaType !== undefined && layerCompression(mediaType) === "zstd";
      await store.recordLayer?.({ diffId: stored.diffId, digest, size, uncompressedSize: stored.size, provisional: true, registry: ref.domain, repository: ref.path, ...(zstd ? { compression: "zstd" as const } : {}) }).catch(() => undefined);
    }),
  );
}

/** Push `ref` from `store` to its registry: layers gzipped (once), config, then the manifest. */
export async function pushImage(store: TransferStore, refText: string, opts: PushOptions = {}): Promise<PushResult> {
  const ref = parseReference(refText);
  const full = formatReference(ref);
  const image = await store.resolveImage(full);
  if (!image) throw new TbuildError("E_STORE_NOT_FOUND", `no image ${full} in the store`, { hint: `tag an image as ${full} first (tbuild tag)` });
  const client = new RegistryClient({ ...opts, registry: ref.domain });
  const mountFrom = opts.mountFrom ?? [];
  const workDir = await mkdtemp(join(tmpdir(), "tbuild-push-"));
  try {
    const layers = await mapLimit(image.layers, opts.concurrency ?? 3, async (layer) => {
      const known = await findKnownGzip(client, store, ref, layer, mountFrom);
      if (known) {
        opts.onEvent?.({ kind: "layer", digest: known.desc.digest, status: known.status });
        return known;
      }
      // A layer gzipped now is sent while it is compressed (as skopeo does); its digest is
      // known only at the end, so the registry cannot be asked first. If that upload fails,
      // the stored gzip is sent the usual way below, with HEAD, mounts and retries.
      let streamed = false;
      const stream = opts.chunkSize || mountFrom.length
        ? undefined
        : async (bytes: AsyncIterable<Uint8Array>, stored: Promise<{ digest: Digest }>) => {
            await client.uploadStream(ref.path, bytes, async () => (await stored).digest);
            streamed = true;
          };
      const blob = await compressedFor(store, layer, workDir, stream);
      opts.onEvent?.({ kind: "layer", digest: blob.digest, status: "pushing" });
      const r = streamed ? "uploaded" : await client.uploadBlob(ref.path, blob.digest, blob.size, () => blob.open(), { mountFrom, ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}) });
      const status = r === "uploaded" ? ("pushed" as const) : r;
      opts.onEvent?.({ kind: "layer", digest: blob.digest, status });
      return { desc: { mediaType: blob.mediaType, digest: blob.digest, size: blob.size }, status };
    });
    const cfg = { digest: image.imageId, size: image.configSize };
    await client.uploadBlob(ref.path, cfg.digest, cfg.size, () => store.openBlob(cfg.digest), { mountFrom });
    // Encoded as the store encodes the manifests it writes (canonical JSON), so an image
    // whose layers the store holds gzip (taken from a build cache) and the same image built
    // here (plain layers, gzipped now) reach the registry as the same bytes and digest. A
    // layer pulled with a Docker schema 2 manifest is stored under Docker's media type.
    const remote = buildManifest({ mediaType: MEDIA.ociConfig, ...cfg }, layers.map((l) => ({ ...l.desc, mediaType: ociMediaType(l.desc.mediaType) })));
    // Every layer sent as stored (a pulled image): the stored manifest already says this, and
    // sending its bytes keeps the digest the image was pulled with.
    const asStored = layers.every((l, i) => l.desc.digest === image.layers[i]!.digest);
    const { bytes, mediaType } = asStored ? await storedManifest(store, image.manifestDigest, remote) : { bytes: remote.bytes, mediaType: MEDIA.ociManifest };
    const digest = await client.putManifest(ref.path, ref.digest ?? ref.tag!, bytes, mediaType);
    return { ref: full, digest, size: bytes.byteLength, layers: layers.map((l) => ({ digest: l.desc.digest, status: l.status })) };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * A gzip form of a plain layer that a pull saw (blob-info) and the target repository has
 * or can mount (from the repository it was pulled from, on the same registry, or from
 * `mountFrom`): then the layer is neither gzipped nor sent.
 */
async function findKnownGzip(client: RegistryClient, store: TransferStore, ref: Reference, layer: LocalImage["layers"][number], mountFrom: readonly string[]): Promise<{ desc: Descriptor; status: "exists" | "mounted" } | undefined> {
  // A layer stored compressed (pulled) is known only as exactly that blob; the seen blobs
  // are gzip forms, so a zstd one never matches and goes as stored (compressedFor).
  const stored = layer.mediaType !== undefined && layerCompression(layer.mediaType) !== "none";
  for (const k of (await store.knownGzip?.(layer.diffId)) ?? []) {
    if (stored && k.digest !== layer.digest) continue;
    const from = k.registry === ref.domain ? [k.repository, ...mountFrom] : mountFrom;
    const found = await client.findBlob(ref.path, k.digest, { mountFrom: from });
    if (typeof found === "string") return { desc: { mediaType: MEDIA.ociLayerGzip, digest: k.digest, size: k.size }, status: found };
  }
  return undefined;
}

/** The stored manifest (OCI or Docker schema 2) when it describes exactly `remote`'s blobs, else `remote`, an OCI manifest. */
async function storedManifest(store: TransferStore, digest: Digest, remote: EncodedBlob<ImageManifest>): Promise<{ bytes: Uint8Array; mediaType: string }> {
  const bytes = await store.readBlob(digest);
  const stored = parseJson<ImageManifest>(bytes, `manifest ${digest}`);
  return describesSameBlobs(stored, remote.value) ? { bytes, mediaType: stored.mediaType ?? MEDIA.ociManifest } : { bytes: remote.bytes, mediaType: MEDIA.ociManifest };
}

/** The gzip form of a stored layer: the store's remembered one, else gzip it here once. */
async function compressedFor(store: TransferStore, layer: LocalImage["layers"][number], workDir: string, sink?: Parameters<NonNullable<TransferStore["compressedLayer"]>>[1]): Promise<CompressedLayer> {
  const c = layer.mediaType === undefined ? "none" : layerCompression(layer.mediaType);
  if (c === "gzip" || c === "zstd") return { digest: layer.digest, size: layer.size, mediaType: layer.mediaType!, open: () => store.openBlob(layer.digest) };
  if (store.compressedLayer) return await store.compressedLayer(layer.digest, sink);
  const file = join(workDir, layer.digest.slice(7) + ".gz");
  const hash = createHash("sha256");
  let size = 0;
  await pipeline(Readable.from(store.openBlob(layer.digest)), createGzip(), async function* (src: AsyncIterable<Buffer>) {
    for await (const chunk of src) {
      hash.update(chunk);
      size += chunk.byteLength;
      yield chunk;
    }
  }, createWriteStream(file));
  const digest = `sha256:${hash.digest("hex")}` as Digest;
  return { digest, size, mediaType: MEDIA.ociLayerGzip, open: () => createReadStream(file) as AsyncIterable<Uint8Array> };
}

// ---- helpers ---------------------------------------------------------------------------

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** Pass bytes through, throwing before the end when their SHA-256 is not `want`. */
export async function* checkDigest(src: AsyncIterable<Uint8Array>, want: Digest, what: string): AsyncGenerator<Uint8Array> {
  const hash = createHash("sha256");
  for await (const c of src) {
    hash.update(c);
    yield c;
  }
  const got = `sha256:${hash.digest("hex")}`;
  if (got !== want) throw new TbuildError("E_REGISTRY_DIGEST", `${what} is ${got}, but the config says ${want}`, { hint: "the image in the registry is inconsistent; nothing was stored" });
}

async function blobSize(store: TransferStore, digest: Digest): Promise<number> {
  let n = 0;
  for await (const c of store.openBlob(digest)) n += c.byteLength;
  return n;
}

/** Retry a whole blob download when the network or the registry failed (bounded, with backoff). */
async function withRetries<T>(opts: TransferOptions, fn: () => Promise<T>): Promise<T> {
  const retries = opts.retries ?? 4;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isRetryable(e) || attempt >= retries || opts.signal?.aborted) throw e;
      await new Promise((r) => setTimeout(r, (opts.backoffMs ?? 250) * 2 ** attempt));
    }
  }
}

/** Map with at most `limit` calls in flight; the first failure rejects (others finish first). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed: { e: unknown } | undefined;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (e) {
        failed ??= { e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed) throw failed.e;
  return out;
}

function parseJson<T>(bytes: Uint8Array, what: string): T {
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8")) as T;
  } catch (e) {
    throw new TbuildError("E_REGISTRY", `${what} is not valid JSON`, { cause: e });
  }
}
