// Build cache kept outside the store (`--cache-to` / `--cache-from`, as BuildKit's registry
// and local cache exporters): the cache index's records (step key → layer) and the layers
// themselves, written as one OCI artifact to a registry tag or an OCI layout folder.
//
// The format (version 1), an OCI image manifest:
//
//   {
//     "schemaVersion": 2,
//     "mediaType": "application/vnd.oci.image.manifest.v1+json",
//     "artifactType": "application/vnd.tbuild.cache.v1+json",
//     "config": { "mediaType": "application/vnd.tbuild.cache.v1+json", "digest", "size" },
//     "layers": [ { "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
//                   "digest": <gzip digest>, "size": <gzip size>,
//                   "annotations": { "io.tbuild.cache.diffid": <diff ID> } }, … ]
//   }
//
// The config blob is the cache manifest, canonical JSON (keys sorted, records sorted by key,
// layers in manifest order):
//
//   { "version": 1,
//     "layers":  [ { "diffId", "size", "digest", "compressedSize" }, … ],   // same order as manifest.layers
//     "records": [ { "key", "kind", "text", "layer": <index into layers>, "created", "preimage" }, … ] }
//
// `key` is the step's cache key (plan/keys.ts), `preimage` what was hashed into it (so a
// consumer can explain a miss), `created` when the layer was made (history and the image's
// `created` reuse it, so an image rebuilt from a cache has the same ID). Layers are the
// store's deterministic gzip (compressLayer), each listed once however many keys use it.
// A reader ignores a manifest whose config media type is not this one, and records whose
// layer index is out of range. Registries that accept ORAS artifacts accept this (checked
// against distribution 2.8).
import { TbuildError, canonicalJson, isDigest, sha256Digest, type Digest } from "../util/index.js";
import { MediaType } from "../image/index.js";
import { localBackend, registryBackend, type CacheBackend } from "./cache-backends.js";
import type { RegistryClientOptions } from "./client.js";
import type { BlobMismatch, PendingLayer, TransferStore } from "./store-port.js";
import { mapLimit } from "./transfer.js";

export const CACHE_MEDIA_TYPE = "application/vnd.tbuild.cache.v1+json";
export const DIFF_ID_ANNOTATION = "io.tbuild.cache.diffid";

/** One step's record: what the build cache index keeps per key (src/build/cache-index.ts adds only a version). */
export interface CacheEntry {
  readonly key: Digest;
  /** Step kind (`run`, `copy`, `add`, `workdir`). */
  readonly kind: string;
  /** The instruction, for humans reading the records. */
  readonly text: string;
  readonly layer: { readonly diffId: Digest; readonly size: number };
  /** When the layer was made (RFC 3339): history entries and the image's `created` reuse it. */
  readonly created: string;
  /** The canonical object hashed into `key` (plan/keys.ts). */
  readonly preimage: unknown;
}

/** A layer of the cache: its uncompressed and its gzip identity. */
export interface CacheLayer {
  readonly diffId: Digest;
  readonly size: number;
  readonly digest: Digest;
  readonly compressedSize: number;
}

/** The config blob of a cache artifact. */
export interface CacheManifest {
  readonly version: 1;
  readonly layers: readonly CacheLayer[];
  readonly records: readonly (Omit<CacheEntry, "layer"> & { readonly layer: number })[];
}

/** `--cache-to` / `--cache-from` as parsed: where, and for exports which steps. */
export type CacheSpec =
  | { readonly type: "registry"; readonly ref: string; readonly mode: "min" | "max"; readonly ignoreError: boolean }
  | { readonly type: "local"; readonly dir: string; readonly tag: string; readonly mode: "min" | "max"; readonly ignoreError: boolean };

const IGNORED_ATTRS = new Set(["oci-mediatypes", "compression", "compression-level", "force-compression", "image-manifest"]);

/**
 * Parse buildx's cache syntax: `type=registry,ref=R[,mode=min|max]`, `type=local,dest=DIR`
 * (export) or `type=local,src=DIR` (import), or a bare reference (a registry cache).
 * `resolvePath` makes a local folder absolute.
 */
export function parseCacheSpec(text: string, direction: "to" | "from", resolvePath: (p: string) => string): CacheSpec {
  const flag = `--cache-${direction}`;
  if (!text.includes("=")) return { type: "registry", ref: text, mode: "min", ignoreError: false };
  const attrs = new Map<string, string>();
  for (const part of text.split(",")) {
    const i = part.indexOf("=");
    if (i <= 0) throw new TbuildError("E_USAGE", `invalid ${flag} ${JSON.stringify(text)}: ${JSON.stringify(part)} is not KEY=VALUE`, { hint: `write ${flag} type=registry,ref=REGISTRY/REPO:TAG` });
    attrs.set(part.slice(0, i).trim().toLowerCase(), part.slice(i + 1).trim());
  }
  const type = attrs.get("type") ?? "registry";
  const mode = attrs.get("mode") ?? "min";
  if (mode !== "min" && mode !== "max") throw new TbuildError("E_USAGE", `invalid ${flag} mode ${JSON.stringify(mode)}`, { hint: "use mode=min (the final image's steps) or mode=max (every stage)" });
  const ignoreError = attrs.get("ignore-error") === "true";
  const known = new Set(["type", "mode", "ignore-error", ...(type === "registry" ? ["ref"] : ["dest", "src", "tag"])]);
  for (const k of attrs.keys()) {
    if (!known.has(k) && !IGNORED_ATTRS.has(k)) throw new TbuildError("E_USAGE", `invalid ${flag} ${JSON.stringify(text)}: unknown attribute ${JSON.stringify(k)} for type=${type}`);
  }
  if (type === "registry") {
    const ref = attrs.get("ref");
    if (!ref) throw new TbuildError("E_USAGE", `${flag} type=registry needs ref=REGISTRY/REPO:TAG`);
    return { type, ref, mode, ignoreError };
  }
  if (type === "local") {
    const key = direction === "to" ? "dest" : "src";
    const dir = attrs.get(key);
    if (!dir) throw new TbuildError("E_USAGE", `${flag} type=local needs ${key}=DIR`);
    return { type, dir: resolvePath(dir), tag: attrs.get("tag") || "latest", mode, ignoreError };
  }
  throw new TbuildError("E_USAGE", `unsupported ${flag} type ${JSON.stringify(type)}`, { hint: "tbuild keeps caches in a registry (type=registry) or a folder (type=local)" });
}

/** The backend a spec names; registry options (credentials, TLS) apply to registry caches. */
export function cacheBackend(spec: CacheSpec, opts: Omit<RegistryClientOptions, "registry">): CacheBackend {
  return spec.type === "registry" ? registryBackend(spec.ref, opts) : localBackend(spec.dir, spec.tag);
}

export interface ExportCacheResult {
  readonly digest: Digest;
  readonly records: number;
  readonly layers: readonly { readonly digest: Digest; readonly status: "exists" | "uploaded" }[];
}

/**
 * Export `entries` and their layers from `store` to `backend`: layers (gzipped once by the
 * store, uploaded only when missing), then the config, then the manifest. The store MUST
 * offer compressedLayer and hold every entry's layer.
 */
export async function exportCache(backend: CacheBackend, store: TransferStore, entries: readonly CacheEntry[], opts: { concurrency?: number } = {}): Promise<ExportCacheResult> {
  if (!store.compressedLayer) throw new TbuildError("E_INTERNAL", "cache export needs a store that compresses layers");
  const compress = store.compressedLayer.bind(store);
  const sorted = [...new Map(entries.map((e) => [e.key, e])).values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const diffIds = [...new Set(sorted.map((e) => e.layer.diffId))];
  const sizes = new Map(sorted.map((e) => [e.layer.diffId, e.layer.size]));
  const pushed = await mapLimit(diffIds, opts.concurrency ?? 3, async (diffId) => {
    const gz = await compress(diffId);
    const status = await backend.putBlob({ digest: gz.digest, size: gz.size }, () => gz.open());
    const layer: CacheLayer = { diffId, size: sizes.get(diffId)!, digest: gz.digest, compressedSize: gz.size };
    return { layer, status };
  });
  const layers = pushed.map((p) => p.layer);
  const index = new Map(diffIds.map((d, i) => [d, i]));
  const manifest: CacheManifest = {
    version: 1,
    layers,
    records: sorted.map((e) => ({ key: e.key, kind: e.kind, text: e.text, layer: index.get(e.layer.diffId)!, created: e.created, preimage: e.preimage })),
  };
  const config = Buffer.from(canonicalJson(manifest));
  const configRef = { digest: sha256Digest(config), size: config.byteLength };
  await backend.putBlob(configRef, () => once(config));
  const oci = {
    schemaVersion: 2,
    mediaType: MediaType.OCI_MANIFEST,
    artifactType: CACHE_MEDIA_TYPE,
    config: { mediaType: CACHE_MEDIA_TYPE, ...configRef },
    layers: layers.map((l) => ({ mediaType: MediaType.OCI_LAYER_GZIP, digest: l.digest, size: l.compressedSize, annotations: { [DIFF_ID_ANNOTATION]: l.diffId } })),
  };
  const digest = await backend.putManifest(Buffer.from(JSON.stringify(oci)));
  return { digest, records: manifest.records.length, layers: pushed.map((p) => ({ digest: p.layer.digest, status: p.status })) };
}

/** A cache read from a backend: its records by key, and a way to fetch their layers. */
export class ImportedCache {
  private readonly inflight = new Map<Digest, Promise<PendingLayer>>();
  /** Layers downloaded so far (compressed digests). */
  readonly downloaded: Digest[] = [];

  constructor(
    readonly backend: CacheBackend,
    private readonly entries: ReadonlyMap<Digest, CacheEntry>,
    private readonly layers: ReadonlyMap<Digest, CacheLayer>,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: Digest): CacheEntry | undefined {
    return this.entries.get(key);
  }

  /**
   * Make the layer with `diffId` exist in `store`, once however many callers ask, and say
   * how the store holds it: plain when it already was, else as the cache's gzip blob
   * (`compressed`), downloaded as it is and verified against its compressed digest, as a
   * pull stores a layer (transfer.ts). The store inflates it against the diff ID only when
   * something needs the plain tar (Store.plainLayer); an image can name the gzip blob.
   */
  fetchLayer(store: TransferStore, diffId: Digest): Promise<PendingLayer> {
    let p = this.inflight.get(diffId);
    if (!p) {
      p = this.download(store, diffId);
      this.inflight.set(diffId, p);
      p.catch(() => this.inflight.delete(diffId));
    }
    return p;
  }

  private async download(store: TransferStore, diffId: Digest): Promise<PendingLayer> {
    const layer = this.layers.get(diffId);
    if (!layer) throw new TbuildError("E_INTERNAL", `layer ${diffId} is not in ${this.backend.name}`);
    const compressed = { digest: layer.digest, size: layer.compressedSize };
    const held = { diffId, size: layer.size, compressed };
    if (await store.hasBlob(diffId)) return { diffId, size: layer.size };
    // Pulled or exported before: its record (layer-records.ts) is already there.
    if (await store.hasBlob(layer.digest)) return held;
    const what = `layer ${layer.digest} of ${this.backend.name}`;
    const mismatch: BlobMismatch = (kind, got) => new TbuildError("E_REGISTRY_DIGEST", `${what} is ${got}, but the cache's manifest says ${kind === "size" ? `${layer.compressedSize} bytes` : layer.digest}`, { hint: "the cache is damaged or was changed; nothing was stored" });
    await store.putBlob(this.backend.openBlob(compressed, { verifiedBy: "consumer" }), layer.digest, { mismatch, size: layer.compressedSize });
    // Not best effort, unlike a pull's: no image names this blob yet, so the record is
    // what keeps it from gc (as the build cache's layer) and lets the store inflate it.
    await store.recordLayer?.({ diffId, ...compressed, uncompressedSize: layer.size, provisional: true, ...this.backend.location });
    this.downloaded.push(layer.digest);
    return held;
  }
}

/** Read the cache at `backend`; undefined when there is none yet. */
export async function importCache(backend: CacheBackend): Promise<ImportedCache | undefined> {
  const bytes = await backend.readManifest();
  if (!bytes) return undefined;
  const m = parseJson<{ config?: { mediaType?: string; digest?: string; size?: number } }>(bytes, `${backend.name}: manifest`);
  const cfg = m.config;
  if (cfg?.mediaType !== CACHE_MEDIA_TYPE || !isDigest(cfg.digest ?? "") || typeof cfg.size !== "number") {
    throw new TbuildError("E_REGISTRY", `${backend.name} is not a tbuild build cache (config media type ${JSON.stringify(cfg?.mediaType ?? null)})`, { hint: "export one there with --cache-to" });
  }
  const parts: Uint8Array[] = [];
  for await (const c of backend.openBlob({ digest: cfg.digest as Digest, size: cfg.size })) parts.push(c);
  const manifest = parseJson<CacheManifest>(Buffer.concat(parts), `${backend.name}: cache manifest`);
  if (manifest.version !== 1 || !Array.isArray(manifest.layers) || !Array.isArray(manifest.records)) {
    throw new TbuildError("E_REGISTRY", `${backend.name} holds a cache format tbuild does not know (version ${JSON.stringify(manifest.version)})`, { hint: "export it again with this tbuild" });
  }
  const layers = new Map<Digest, CacheLayer>();
  for (const l of manifest.layers) if (isDigest(l.diffId) && isDigest(l.digest)) layers.set(l.diffId, l);
  const entries = new Map<Digest, CacheEntry>();
  for (const r of manifest.records) {
    const l = manifest.layers[r.layer];
    if (!l || !layers.has(l.diffId) || !isDigest(r.key)) continue;
    entries.set(r.key, { key: r.key, kind: r.kind, text: r.text, layer: { diffId: l.diffId, size: l.size }, created: r.created, preimage: r.preimage });
  }
  return new ImportedCache(backend, entries, layers);
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}


function parseJson<T>(bytes: Uint8Array, what: string): T {
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8")) as T;
  } catch (e) {
    throw new TbuildError("E_REGISTRY", `${what} is not valid JSON`, { cause: e });
  }
}
