// The image store: an OCI image layout at a root folder that skopeo, umoci and podman can
// read, plus tbuild's own folder beside it. The Store class is the API the build engine
// and the CLI write images through. Blobs: temp → verify → fsync → rename; index.json:
// replaced atomically under the one lock. A kill at any moment loses no tagged image.
import { createReadStream, promises as fsp } from "node:fs";
import { TbuildError, canonicalJson, shortDigest, type Digest } from "../util/index.js";
import {
  Annotation,
  MediaType,
  buildManifest,
  encodeConfig,
  familiarName,
  formatReference,
  parseConfig,
  parseReference,
  type BlobExpectation,
  type BlobInfo,
  type Descriptor,
  type EncodedBlob,
  type ImageConfig,
  describesSameBlobs,
  parseManifest,
  wrapInIndex,
  type ImageManifest,
  type Platform,
  type TransferLayer,
} from "../image/index.js";
import { blobPath, commitTemp, exists, writeTemp } from "./blobs.js";
import { groupByManifest, loadImage, namedTag, readVerifiedBlob, resolveImage, type StoredImage } from "./images.js";
import { initLayout, readIndex, storePaths, updateIndex, type StorePaths } from "./layout.js";
import { withLock } from "./lock.js";
import { inflateLayer, recordPath } from "./layer-records.js";
import { sha256Of } from "./sha256-stream.js";
import type { WriteTempOptions } from "./temp-file.js";

/** What putImage writes: a config and its layers (already in the store), and tags. */
export interface PutImageInput {
  /** The config value (encoded canonically), an encoded config, or exact config bytes to keep. */
  readonly config: ImageConfig | EncodedBlob<ImageConfig> | Uint8Array;
  /**
   * Layers in order; their diff IDs MUST equal the config's. Each is stored plain (blob
   * digest = diff ID) or, with `compressed`, as that gzip blob (a pulled layer).
   */
  readonly layers: readonly TransferLayer[];
  /** References to tag it with (normalised here); an untagged image is kept as dangling. */
  readonly tags?: readonly string[];
  /** Manifest bytes to keep (as PendingImage's, OCI or Docker schema 2): used when they describe exactly this image's blobs. */
  readonly manifestBytes?: Uint8Array;
}

export interface PutImageResult {
  readonly imageId: Digest;
  readonly manifestDigest: Digest;
  readonly manifestSize: number;
  readonly tags: readonly string[];
}

export interface RemoveResult {
  /** Normalised references removed. */
  readonly untagged: readonly string[];
  /** Image IDs deleted, then layer and other blobs deleted. */
  readonly deletedImages: readonly Digest[];
  readonly deletedBlobs: readonly Digest[];
  readonly reclaimedBytes: number;
}

/** A pending image for commitImages: config bytes and layers, with staged blob files. */
export interface PendingImage {
  readonly configBytes: Uint8Array;
  readonly layers: readonly TransferLayer[];
  readonly tags: readonly string[];
  /**
   * Exact manifest bytes to keep (a pulled OCI or Docker schema 2 manifest, so the image
   * keeps the registry's digest). They MUST describe this config and these layers' blobs;
   * else an OCI manifest is built. A Docker one is listed in index.json through a
   * one-entry OCI index (wrapInIndex says why).
   */
  readonly manifestBytes?: Uint8Array;
}

function normaliseTag(ref: string): string {
  const r = parseReference(ref);
  if (r.digest !== undefined) throw new TbuildError("E_REF_INVALID", `cannot tag with a digest reference: ${ref}`, { hint: "a tag is name[:tag]" });
  return formatReference(r);
}

/** The index.json descriptor of `target` (a manifest, or the index listing one), tagged `tag`. */
function indexEntry(target: IndexTarget, config: ImageConfig, tag?: string): Descriptor {
  return {
    mediaType: target.mediaType,
    digest: target.digest,
    size: target.size,
    ...(tag !== undefined ? { annotations: { [Annotation.REF_NAME]: tag } } : {}),
    platform: configPlatform(config),
  };
}

function configPlatform(config: ImageConfig): Platform {
  return { architecture: config.architecture, os: config.os, ...(config.variant ? { variant: config.variant } : {}) };
}

/** What an image's index.json entries point at: its manifest, or an index listing it. */
type IndexTarget = Pick<Descriptor, "mediaType" | "digest" | "size">;

/** Move `tags` onto `target` in an index; images left without tags stay as dangling entries. */
function retag(manifests: readonly Descriptor[], target: IndexTarget, tags: readonly string[], config: ImageConfig): Descriptor[] {
  const moving = new Set(tags);
  const kept: Descriptor[] = [];
  const lostTag = new Map<Digest, Descriptor>();
  for (const d of manifests) {
    const t = d.annotations?.[Annotation.REF_NAME];
    const tNorm = t === undefined ? undefined : safeNormalise(t);
    if (tNorm !== undefined && moving.has(tNorm)) {
      if (d.digest !== target.digest) lostTag.set(d.digest, d);
      continue;
    }
    kept.push(d);
  }
  for (const [digest, d] of lostTag) {
    if (!kept.some((k) => k.digest === digest)) kept.push({ mediaType: d.mediaType, digest, size: d.size, ...(d.platform ? { platform: d.platform } : {}) });
  }
  const out = tags.length ? kept.filter((d) => !(d.digest === target.digest && d.annotations?.[Annotation.REF_NAME] === undefined)) : kept;
  for (const t of tags) out.push(indexEntry(target, config, t));
  if (!out.some((d) => d.digest === target.digest)) out.push(indexEntry(target, config));
  return out;
}

/** Whether two index.json descriptor lists hold the same entries, in any order. */
function sameDescriptors(a: readonly Descriptor[], b: readonly Descriptor[]): boolean {
  if (a.length !== b.length) return false;
  const left = a.map(canonicalJson).sort();
  const right = b.map(canonicalJson).sort();
  return left.every((k, i) => k === right[i]);
}

/** The media type of `bytes` when they are a manifest naming exactly `want`'s config and layer blobs, else undefined. */
function keptManifestType(bytes: Uint8Array, want: ImageManifest): string | undefined {
  try {
    const m = parseManifest(bytes, "manifest", "E_ARCHIVE_INVALID");
    return describesSameBlobs(m, want) ? (m.mediaType ?? MediaType.OCI_MANIFEST) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The blobs that record an image's manifest (`bytes`, of type `mediaType`), and what its
 * index.json entries point at: the manifest itself when it is OCI, else a one-entry OCI
 * index over it (wrapInIndex), so that OCI layout readers find its tags.
 */
function manifestBlobs(bytes: Uint8Array, mediaType: string, config: ImageConfig): { blobs: Uint8Array[]; manifest: BlobInfo; target: IndexTarget } {
  const manifest = { digest: sha256Of(bytes), size: bytes.length };
  if (mediaType === MediaType.OCI_MANIFEST) return { blobs: [bytes], manifest, target: { mediaType, ...manifest } };
  const wrapper = wrapInIndex({ mediaType, ...manifest }, configPlatform(config));
  return { blobs: [bytes, wrapper.bytes], manifest, target: wrapper.descriptor };
}

function safeNormalise(name: string): string {
  try {
    return formatReference(parseReference(name));
  } catch {
    return name;
  }
}


/** An open store. Construct with `Store.open(root)`. */
export class Store {
  readonly paths: StorePaths;
  /** Inflates in progress in this process, by diff ID, each to the plain size (plainLayer). */
  private readonly inflating = new Map<Digest, Promise<number>>();

  private constructor(readonly root: string) {
    this.paths = storePaths(root);
  }

  /** Open (creating if needed) the store at `root`. */
  static async open(root: string): Promise<Store> {
    const s = new Store(root);
    try {
      await initLayout(s.paths);
    } catch (e) {
      if (e instanceof TbuildError) throw e;
      throw new TbuildError("E_IO", `cannot open the store at ${root}: ${(e as Error).message}`, { cause: e });
    }
    return s;
  }

  /** tbuild's own folder beside the layout (`<root>/tbuild`): cache index, snapshots, file hashes. */
  get dataDir(): string {
    return this.paths.data;
  }

  /** A folder for temporary files on the store's file system (`<pid>-…` names are cleaned by gc). */
  get tmpDir(): string {
    return this.paths.tmp;
  }

  blobPath(digest: Digest): string {
    return blobPath(this.paths.blobs, digest);
  }

  async hasBlob(digest: Digest): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  /**
   * Store a blob from bytes or a stream, verifying `expect` while streaming (a difference
   * throws `opts.mismatch`'s error, else E_ARCHIVE_INVALID, and keeps nothing). Identical
   * blobs are stored once. Unreferenced until an image uses it (gc may then remove it).
   */
  async putBlob(data: Uint8Array | AsyncIterable<Uint8Array>, expect: BlobExpectation = {}, opts: Pick<WriteTempOptions, "mismatch" | "hashInProcess"> = {}): Promise<BlobInfo> {
    const t = await writeTemp(this.paths.tmp, data, expect, opts);
    try {
      await commitTemp(t.path, this.blobPath(t.digest));
    } catch (e) {
      await fsp.rm(t.path, { force: true });
      throw e;
    }
    return { digest: t.digest, size: t.size };
  }

  /**
   * The path of layer `diffId`'s plain tar (digest = diff ID), inflating it first from its
   * compressed blob (`compressed`, else the one its layer record names) when the store has
   * only that (a pulled layer; layer-records.ts). Every reader of plain layers (the build's
   * snapshots and layer views, save to docker-archive) goes through here. Concurrent calls
   * in this process share one inflate; other processes may inflate too, safely.
   * Returns the path and the plain tar's size. Throws E_STORE_CORRUPT, naming the layer,
   * when the inflated bytes are not the diff ID.
   */
  async plainLayer(diffId: Digest, compressed?: Digest): Promise<{ readonly path: string; readonly size: number }> {
    const path = this.blobPath(diffId);
    const held = await fsp.stat(path).catch(() => undefined);
    if (held) return { path, size: held.size };
    let p = this.inflating.get(diffId);
    if (!p) {
      p = inflateLayer(this, diffId, compressed).finally(() => this.inflating.delete(diffId));
      this.inflating.set(diffId, p);
    }
    return { path, size: await p };
  }

  /** A stream of a blob's bytes. The caller consumes or destroys it. */
  openBlob(digest: Digest, opts: { start?: number; end?: number } = {}): NodeJS.ReadableStream & AsyncIterable<Uint8Array> {
    return createReadStream(this.blobPath(digest), { highWaterMark: 4 << 20, ...opts });
  }

  /** A whole blob, digest-verified. Meant for JSON blobs (configs, manifests). */
  async readBlob(digest: Digest): Promise<Uint8Array> {
    return readVerifiedBlob(this.paths, digest, "blob");
  }

  /** Run `fn` under the store lock (the one lock; do not nest). */
  withLock<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(this.paths.lock, fn);
  }

  /** Every image, tagged and dangling, in index order (sorted by first tag). */
  async listImages(): Promise<StoredImage[]> {
    const index = await readIndex(this.paths);
    const out: StoredImage[] = [];
    for (const { desc, tags } of groupByManifest(index.manifests).values()) {
      const img = await loadImage(this.paths, desc, tags);
      if (img) out.push(img);
    }
    return out;
  }

  /**
   * Find an image by reference (`busybox:test`, `name@sha256:<manifest>`), by ID
   * (`sha256:<id>`) or by a unique ID prefix (`3f5a`). Throws E_STORE_NOT_FOUND.
   */
  async resolve(nameOrId: string): Promise<StoredImage> {
    const found = await this.find(nameOrId);
    if (!found) throw new TbuildError("E_STORE_NOT_FOUND", `no such image: ${nameOrId}`, { hint: 'see "tbuild images" for what the store holds' });
    return found;
  }

  /**
   * Like resolve, but undefined when nothing matches. Goes through index.json and reads only
   * the blobs of the image it names, so one damaged image never hides the others.
   */
  find(nameOrId: string): Promise<StoredImage | undefined> {
    return resolveImage(this.paths, nameOrId);
  }

  /**
   * Write an image: its config blob, an OCI manifest over its layers (the given manifest
   * bytes when they describe it; see PendingImage), and index entries for its tags,
   * atomically. Layer blobs
   * MUST already be in the store.
   */
  async putImage(input: PutImageInput): Promise<PutImageResult> {
    const configBytes = input.config instanceof Uint8Array ? input.config : "bytes" in input.config ? input.config.bytes : encodeConfig(input.config).bytes;
    const [r] = await this.commitImages([{ configBytes, layers: input.layers, tags: input.tags ?? [], manifestBytes: input.manifestBytes }], new Map());
    return r!;
  }

  /**
   * Commit images under the lock: move `staged` blob files into place, write configs and
   * manifests, then replace index.json once. Used by putImage and by staged loads.
   */
  async commitImages(images: readonly PendingImage[], staged: ReadonlyMap<Digest, string>): Promise<PutImageResult[]> {
    const prepared = images.map((img) => {
      const config = parseConfig(img.configBytes, "image config", "E_ARCHIVE_INVALID");
      const diffIds = config.rootfs.diff_ids;
      if (diffIds.length !== img.layers.length || img.layers.some((l, i) => l.diffId !== diffIds[i])) {
        throw new TbuildError("E_ARCHIVE_INVALID", `image layers do not match the config's rootfs.diff_ids (${img.layers.length} layers, ${diffIds.length} diff IDs)`);
      }
      const tags = [...new Set(img.tags.map(normaliseTag))];
      return { img, config, tags };
    });
    return updateIndex(this.paths, async (current) => {
      let manifests = [...current];
      const results: PutImageResult[] = [];
      for (const { img, config, tags } of prepared) {
        // Renames and small writes side by side: a pull's commit waits for one fsync round, not three.
        const cfg = { digest: sha256Of(img.configBytes), size: img.configBytes.length };
        const built = buildManifest(cfg, img.layers);
        const keptType = img.manifestBytes && keptManifestType(img.manifestBytes, built.value);
        const { blobs, manifest, target } = keptType ? manifestBlobs(img.manifestBytes!, keptType, config) : manifestBlobs(built.bytes, MediaType.OCI_MANIFEST, config);
        await Promise.all([
          Promise.all(img.layers.map((l) => this.placeStaged(l.compressed?.digest ?? l.diffId, staged))),
          this.putSmallBlob(img.configBytes),
          ...blobs.map((b) => this.putSmallBlob(b)),
        ]);
        manifests = retag(manifests, target, tags, config);
        results.push({ imageId: cfg.digest, manifestDigest: manifest.digest, manifestSize: manifest.size, tags });
      }
      // A rebuild that changes nothing leaves index.json alone: no rewrite, no fsync.
      return { ...(sameDescriptors(current, manifests) ? {} : { manifests }), result: results };
    });
  }

  /** Move a staged layer blob into place; without one, the store MUST already hold it. */
  private async placeStaged(blob: Digest, staged: ReadonlyMap<Digest, string>): Promise<void> {
    const tmp = staged.get(blob);
    if (tmp !== undefined && (await exists(tmp))) await commitTemp(tmp, this.blobPath(blob));
    else if (!(await this.hasBlob(blob))) {
      throw new TbuildError("E_STORE_CONFLICT", `layer ${blob} is not in the store`, { hint: "it was never written, or a concurrent prune removed it; retry" });
    }
  }

  /**
   * Store a small blob (a config, a manifest) unless the store already holds exactly these
   * bytes: rereading a few hundred bytes costs less than a temp file, an fsync and a rename.
   * A missing or damaged copy is (re)written as by putBlob.
   */
  private async putSmallBlob(bytes: Uint8Array): Promise<BlobInfo> {
    const digest = sha256Of(bytes);
    const held = await fsp.readFile(this.blobPath(digest)).catch(() => undefined);
    if (held !== undefined && Buffer.compare(held, bytes) === 0) return { digest, size: bytes.length };
    return this.putBlob(bytes, { digest });
  }

  /** Add tag `target` to the image `source` names (moving it from any other image). */
  async tag(source: string, target: string): Promise<{ image: StoredImage; tag: string }> {
    const tag = normaliseTag(target);
    const image = await this.resolve(source);
    await updateIndex(this.paths, async (current) => {
      if (!current.some((d) => d.digest === image.entry.digest)) throw new TbuildError("E_STORE_NOT_FOUND", `image ${source} was removed meanwhile`);
      return { manifests: retag(current, image.entry, [tag], image.config), result: undefined };
    });
    return { image, tag };
  }

  /**
   * `rmi`: by reference, remove that tag (and the image with its unshared blobs when it was
   * the last one); by ID, remove the image, which needs `force` when it has several tags.
   * `keep` names blobs to leave although no image reaches them (the build cache's layers,
   * as `collectGarbage`'s `keep` does for prune); called under the lock, only when blobs would go.
   */
  async remove(nameOrId: string, opts: { force?: boolean; keep?: () => Promise<Iterable<Digest>> } = {}): Promise<RemoveResult> {
    const image = await this.find(nameOrId);
    if (!image) throw new TbuildError("E_STORE_NOT_FOUND", `no such image: ${nameOrId}`);
    const byName = namedTag(image, nameOrId);
    if (!byName && image.tags.length > 1 && !opts.force) {
      throw new TbuildError("E_STORE_CONFLICT", `unable to delete ${shortDigest(image.id)} (must be forced): image is referenced by ${image.tags.length} tags (${image.tags.map((t) => familiarName(parseReference(t))).join(", ")})`, { hint: "remove the tags one by one, or pass -f" });
    }
    const untag = byName ? [byName] : [...image.tags];
    return updateIndex(this.paths, async (current) => {
      const entry = image.entry.digest;
      let manifests = current.filter((d) => !(d.digest === entry && (untag.includes(safeNormalise(d.annotations?.[Annotation.REF_NAME] ?? "\0")))));
      const stillThere = manifests.some((d) => d.digest === entry && d.annotations?.[Annotation.REF_NAME] !== undefined);
      if (stillThere) return { manifests, result: { untagged: untag, deletedImages: [], deletedBlobs: [], reclaimedBytes: 0 } };
      manifests = manifests.filter((d) => d.digest !== entry);
      const { deleteUnreferenced } = await import("./gc.js");
      const blobs = [...new Set([entry, image.manifestDigest]), image.id, ...image.layers.map((l) => l.digest), ...image.rootfs.map((l) => l.diffId)];
      const gone = await deleteUnreferenced(this.paths, manifests, blobs, opts.keep ? await opts.keep() : []);
      return { manifests, result: { untagged: untag, deletedImages: [image.id], deletedBlobs: gone.deleted, reclaimedBytes: gone.bytes } };
    });
  }

  /** The file-system path of a layer's record (its gzip blob and plain size; layer-records.ts). */
  gzipMapPath(diffId: Digest): string {
    return recordPath(this.paths, diffId);
  }
}
