// Reading images out of the layout: index.json descriptors grouped by manifest, with the
// manifest and config blobs read and verified. Tags are normalised references.
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import { TbuildError, type Digest } from "../util/index.js";
import { Annotation, isIndexType, isManifestType, parseConfig, parseIndex, parseManifest, parseReference, formatReference, type Descriptor, type ImageConfig, type ImageManifest } from "../image/index.js";
import { blobPath } from "./blobs.js";
import type { StorePaths } from "./layout.js";

/** An image in the store. Its ID is the config digest; its RepoDigest the manifest digest. */
export interface StoredImage {
  /** Image ID: the config digest. */
  readonly id: Digest;
  readonly manifestDigest: Digest;
  readonly manifestSize: number;
  readonly manifest: ImageManifest;
  readonly config: ImageConfig;
  readonly configSize: number;
  /** Full normalised references (`docker.io/library/busybox:test`), sorted; empty when dangling. */
  readonly tags: readonly string[];
  /** The layer blobs, in order (uncompressed tar for images tbuild wrote). */
  readonly layers: readonly Descriptor[];
  /** Sum of the layer blob sizes (uncompressed for images tbuild wrote). */
  readonly size: number;
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
  const got = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  if (got !== digest) throw new TbuildError("E_STORE_CORRUPT", `${what} ${digest} does not match its digest (got ${got})`, { hint: 'run "tbuild store check"' });
  return bytes;
}

/** Load one image by manifest descriptor. Follows a nested index to its first manifest. */
export async function loadImage(p: StorePaths, desc: Descriptor, tags: readonly string[]): Promise<StoredImage | undefined> {
  let d = desc;
  if (isIndexType(d.mediaType)) {
    const idx = parseIndex(await readVerifiedBlob(p, d.digest, "index"), `index ${d.digest}`, "E_STORE_CORRUPT");
    const first = idx.manifests.find((m) => isManifestType(m.mediaType));
    if (!first) return undefined;
    d = first;
  } else if (!isManifestType(d.mediaType)) {
    return undefined;
  }
  const mbytes = await readVerifiedBlob(p, d.digest, "manifest");
  const manifest = parseManifest(mbytes, `manifest ${d.digest}`, "E_STORE_CORRUPT");
  const cbytes = await readVerifiedBlob(p, manifest.config.digest, "config");
  const config = parseConfig(cbytes, `config ${manifest.config.digest}`, "E_STORE_CORRUPT");
  return {
    id: manifest.config.digest,
    manifestDigest: d.digest,
    manifestSize: mbytes.length,
    manifest,
    config,
    configSize: cbytes.length,
    tags: [...tags].sort(),
    layers: manifest.layers,
    size: manifest.layers.reduce((n, l) => n + l.size, 0),
  };
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
