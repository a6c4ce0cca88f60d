// Reading images out of the layout: index.json descriptors grouped by manifest, with the
// manifest and config blobs read and verified. Tags are normalised references. Resolving
// one name reads index.json first and only the blobs of the image it names.
import { promises as fsp } from "node:fs";
import { TbuildError, digestHex, shortDigest, type Digest } from "../util/index.js";
import { Annotation, isCompressedLayer, isIndexType, isManifestType, parseConfig, parseIndex, parseManifest, parseReference, formatReference, type Descriptor, type ImageConfig, type ImageManifest } from "../image/index.js";
import { blobPath } from "./blobs.js";
import { readIndex, type StorePaths } from "./layout.js";
import { readLayerRecord } from "./layer-records.js";
import { sha256Of } from "./sha256-stream.js";

/** An image in the store. Its ID is the config digest; its RepoDigest the manifest digest. */
export interface StoredImage {
  /** Image ID: the config digest. */
  readonly id: Digest;
  readonly manifestDigest: Digest;
  readonly manifestSize: number;
  readonly manifest: ImageManifest;
  /**
   * What its index.json entries point at: the manifest, or an index listing it (a Docker
   * schema 2 manifest kept as pulled, or a multi-platform index another tool wrote).
   */
  readonly entry: Pick<Descriptor, "mediaType" | "digest" | "size">;
  readonly config: ImageConfig;
  readonly configSize: number;
  /** Full normalised references (`docker.io/library/busybox:test`), sorted; empty when dangling. */
  readonly tags: readonly string[];
  /** The layer blobs as the manifest lists them, in order: plain tar, or gzip for pulled layers. */
  readonly layers: readonly Descriptor[];
  /** The same layers as file-system changes: diff ID, plain size, and the blob holding them. */
  readonly rootfs: readonly ImageLayer[];
  /** Sum of the layers' plain (uncompressed) sizes. */
  readonly size: number;
}

/** One layer of an image by its diff ID, with the plain tar's size. */
export interface ImageLayer {
  readonly diffId: Digest;
  /**
   * Plain tar size in bytes. For a compressed layer never inflated here it is the gzip
   * trailer's claim, or the compressed size when there is no record (layer-records.ts).
   */
  readonly size: number;
  /** The manifest's descriptor of the stored blob: the plain tar, or its compressed form. */
  readonly blob: Descriptor;
}

/** The tag `nameOrId` names on `image` (normalised), or undefined when it is an ID or a digest reference. */
export function namedTag(image: StoredImage, nameOrId: string): string | undefined {
  try {
    const r = parseReference(nameOrId);
    const n = formatReference(r);
    return r.digest === undefined && image.tags.includes(n) ? n : undefined;
  } catch {
    return undefined; // an ID
  }
}

/** The tag a descriptor carries, normalised when it parses (skopeo writes what it is given). */
export function descriptorTag(d: Descriptor): string | undefined {
  const name = d.annotations?.[Annotation.REF_NAME];
  if (name === undefined) return undefined;
  try {
    return formatReference(parseReference(name));
  } catch {
    return name;
  }
}

/** Read a blob and verify its digest (for small JSON blobs). */
export async function readVerifiedBlob(p: StorePaths, digest: Digest, what: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(blobPath(p.blobs, digest));
  } catch (e) {
    throw new TbuildError("E_STORE_CORRUPT", `${what} ${digest} is missing from the store`, { cause: e, hint: 'run "tbuild store check"' });
  }
  const got = sha256Of(bytes);
  if (got !== digest) throw new TbuildError("E_STORE_CORRUPT", `${what} ${digest} does not match its digest (got ${got})`, { hint: 'run "tbuild store check"' });
  return bytes;
}

/** The manifest an index entry leads to (a nested index's first manifest), or undefined for other media types. */
export async function manifestDescriptor(p: StorePaths, desc: Descriptor): Promise<Descriptor | undefined> {
  if (isIndexType(desc.mediaType)) {
    const idx = parseIndex(await readVerifiedBlob(p, desc.digest, "index"), `index ${desc.digest}`, "E_STORE_CORRUPT");
    return idx.manifests.find((m) => isManifestType(m.mediaType));
  }
  return isManifestType(desc.mediaType) ? desc : undefined;
}

interface ReadManifest {
  readonly digest: Digest;
  readonly bytes: Uint8Array;
  readonly manifest: ImageManifest;
}

async function readManifest(p: StorePaths, d: Descriptor): Promise<ReadManifest> {
  const bytes = await readVerifiedBlob(p, d.digest, "manifest");
  return { digest: d.digest, bytes, manifest: parseManifest(bytes, `manifest ${d.digest}`, "E_STORE_CORRUPT") };
}

async function imageFrom(p: StorePaths, entry: Descriptor, m: ReadManifest, tags: readonly string[]): Promise<StoredImage> {
  const { manifest } = m;
  const cbytes = await readVerifiedBlob(p, manifest.config.digest, "config");
  const config = parseConfig(cbytes, `config ${manifest.config.digest}`, "E_STORE_CORRUPT");
  const rootfs = await imageLayers(p, manifest.layers, config.rootfs.diff_ids);
  return {
    id: manifest.config.digest,
    manifestDigest: m.digest,
    manifestSize: m.bytes.length,
    manifest,
    entry: { mediaType: entry.mediaType, digest: entry.digest, size: entry.size },
    config,
    configSize: cbytes.length,
    tags: [...tags].sort(),
    layers: manifest.layers,
    rootfs,
    size: rootfs.reduce((n, l) => n + l.size, 0),
  };
}

/** The layers by diff ID, with plain sizes from the layer records for compressed ones. */
async function imageLayers(p: StorePaths, layers: readonly Descriptor[], diffIds: readonly Digest[]): Promise<ImageLayer[]> {
  return Promise.all(
    layers.map(async (blob, i) => {
      const diffId = diffIds[i] ?? blob.digest;
      if (!isCompressedLayer(blob.mediaType)) return { diffId, size: blob.size, blob };
      const rec = await readLayerRecord(p, diffId);
      return { diffId, size: rec?.uncompressedSize ?? blob.size, blob };
    }),
  );
}

/** Load one image by manifest descriptor. Follows a nested index to its first manifest. */
export async function loadImage(p: StorePaths, desc: Descriptor, tags: readonly string[]): Promise<StoredImage | undefined> {
  const d = await manifestDescriptor(p, desc);
  return d && imageFrom(p, desc, await readManifest(p, d), tags);
}

const FULL_ID = /^(?:sha256:)?([a-f0-9]{64})$/;
const ID_PREFIX = /^(?:sha256:)?([a-f0-9]{1,64})$/;

/**
 * Find the image `nameOrId` names among index.json's `manifests` (read when not given),
 * reading only the blobs the answer needs: a tag is matched on the index's annotations and
 * loads one image; a manifest digest reads nested indexes only; an ID or ID prefix reads
 * the manifests (for their config digests) and loads the one that matches. Matches
 * in this order: a full ID, then a manifest digest; a reference; a unique ID prefix.
 * Undefined when nothing matches; E_STORE_NOT_FOUND for an ambiguous prefix.
 */
export async function resolveImage(p: StorePaths, nameOrId: string, manifests?: readonly Descriptor[]): Promise<StoredImage | undefined> {
  const groups = [...groupByManifest(manifests ?? (await readIndex(p)).manifests).values()];
  const full = FULL_ID.exec(nameOrId);
  if (full) {
    const id = `sha256:${full[1]}` as Digest;
    return (await byConfig(p, groups, (c) => c === id))[0] ?? (await byManifestDigest(p, groups, id));
  }
  let ref;
  try {
    ref = parseReference(nameOrId);
  } catch (e) {
    if (!ID_PREFIX.test(nameOrId)) throw e;
  }
  if (ref?.digest !== undefined) {
    const hit = await byManifestDigest(p, groups, ref.digest);
    if (hit) return hit;
  } else if (ref) {
    const name = formatReference(ref);
    const g = groups.find((x) => x.tags.includes(name));
    const hit = g && (await loadImage(p, g.desc, g.tags));
    if (hit) return hit;
  }
  const m = ID_PREFIX.exec(nameOrId);
  if (!m) return undefined;
  const hits = await byConfig(p, groups, (c) => digestHex(c).startsWith(m[1]!));
  if (hits.length > 1) throw new TbuildError("E_STORE_NOT_FOUND", `image ID prefix ${nameOrId} is ambiguous: ${hits.map((h) => shortDigest(h.id)).join(", ")}`, { hint: "give more digits" });
  return hits[0];
}

type Group = { desc: Descriptor; tags: string[] };

/** Images whose config digest passes `test`, reading every manifest but only the matching configs. */
async function byConfig(p: StorePaths, groups: readonly Group[], test: (config: Digest) => boolean): Promise<StoredImage[]> {
  const out: StoredImage[] = [];
  for (const g of groups) {
    const d = await manifestDescriptor(p, g.desc);
    if (!d) continue;
    const m = await readManifest(p, d);
    if (test(m.manifest.config.digest)) out.push(await imageFrom(p, g.desc, m, g.tags));
  }
  return out;
}

async function byManifestDigest(p: StorePaths, groups: readonly Group[], digest: Digest): Promise<StoredImage | undefined> {
  for (const g of groups) {
    // A plain manifest entry's digest is in the index; only a nested index must be read.
    if (isManifestType(g.desc.mediaType) && g.desc.digest !== digest) continue;
    const d = await manifestDescriptor(p, g.desc);
    if (d?.digest === digest) return imageFrom(p, g.desc, await readManifest(p, d), g.tags);
  }
  return undefined;
}

/** Group index descriptors by manifest digest, in index order. */
export function groupByManifest(manifests: readonly Descriptor[]): Map<Digest, { desc: Descriptor; tags: string[] }> {
  const out = new Map<Digest, { desc: Descriptor; tags: string[] }>();
  for (const d of manifests) {
    let g = out.get(d.digest);
    if (!g) out.set(d.digest, (g = { desc: d, tags: [] }));
    const t = descriptorTag(d);
    if (t !== undefined && !g.tags.includes(t)) g.tags.push(t);
  }
  return out;
}
