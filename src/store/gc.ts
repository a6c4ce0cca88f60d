// Garbage collection: which blobs index.json still reaches (manifests → config, layers,
// the gzip copies of plain layers and the inflated plain copies of gzip layers, both
// derived data kept while the layer lives), and deleting the rest. Runs under the store lock
// (the callers hold it), so no load can be half-committed while it looks.
import { promises as fsp } from "node:fs";
import { join } from "node:path";
import { isDigest, type Digest } from "../util/index.js";
import { Annotation, isIndexType, isManifestType, isCompressedLayer, parseConfig, parseIndex, parseManifest, type Descriptor } from "../image/index.js";
import { blobPath } from "./blobs.js";
import { tempOwnerPid } from "./temp-file.js";
import { manifestDescriptor, readVerifiedBlob } from "./images.js";
import { updateIndex, type StorePaths } from "./layout.js";
import { pidAlive } from "./liveness.js";
import { readLayerRecord, recordPath } from "./layer-records.js";

export interface GcResult {
  /** Manifest digests of dangling images removed. */
  readonly deletedImages: readonly Digest[];
  readonly deletedBlobs: readonly Digest[];
  readonly reclaimedBytes: number;
  /** Stale temporary files and staging folders removed (left by killed processes). */
  readonly removedTemp: number;
}

/**
 * Every blob reachable from `manifests`. Throws E_STORE_CORRUPT rather than guess. With
 * `gzipCopies: false` the gzip copies tbuild made of plain layers do not count (prune -a).
 */
export async function liveBlobs(p: StorePaths, manifests: readonly Descriptor[], opts: { gzipCopies?: boolean } = {}): Promise<Set<Digest>> {
  const gzipCopies = opts.gzipCopies ?? true;
  const live = new Set<Digest>();
  const visit = async (d: Descriptor): Promise<void> => {
    if (live.has(d.digest)) return;
    live.add(d.digest);
    if (isIndexType(d.mediaType)) {
      const idx = parseIndex(await readVerifiedBlob(p, d.digest, "index"), `index ${d.digest}`, "E_STORE_CORRUPT");
      for (const m of idx.manifests) await visit(m);
    } else if (isManifestType(d.mediaType)) {
      const m = parseManifest(await readVerifiedBlob(p, d.digest, "manifest"), `manifest ${d.digest}`, "E_STORE_CORRUPT");
      live.add(m.config.digest);
      for (const l of m.layers) {
        live.add(l.digest);
        // A plain layer's record names its gzip copy; a compressed layer is the gzip blob itself
        // (its record is keyed by diff ID, so looking it up by this digest would always miss).
        if (!gzipCopies || isCompressedLayer(l.mediaType)) continue;
        const gz = await readLayerRecord(p, l.digest);
        if (gz) live.add(gz.digest);
      }
      // A compressed layer's plain copy (inflated on first use) lives as long as the layer.
      for (const d of await plainCopies(p, m)) live.add(d);
    }
  };
  for (const d of manifests) await visit(d);
  return live;
}

/** The diff IDs of a manifest's compressed layers: the names their plain copies have. Reads the config only when there are some. */
async function plainCopies(p: StorePaths, m: { config: { digest: Digest }; layers: readonly Descriptor[] }): Promise<Digest[]> {
  if (!m.layers.some((l) => isCompressedLayer(l.mediaType))) return [];
  return plainCopyNames(m.layers, parseConfig(await readVerifiedBlob(p, m.config.digest, "config"), `config ${m.config.digest}`, "E_STORE_CORRUPT").rootfs.diff_ids);
}

/** As plainCopies, for a caller that has already read the config (`diffIds`: its rootfs.diff_ids). */
export function plainCopyNames(layers: readonly Descriptor[], diffIds: readonly Digest[]): Digest[] {
  return layers.flatMap((l, i) => (isCompressedLayer(l.mediaType) && diffIds[i] !== undefined ? [diffIds[i]!] : []));
}

/**
 * The manifest digest of the image an index.json entry names: the entry's own, or, for an
 * index over one (a Docker schema 2 manifest kept as pulled), its manifest's; the entry's
 * when that index cannot be read (gc then deletes what it can).
 */
async function imageDigest(p: StorePaths, entry: Descriptor): Promise<Digest> {
  if (!isIndexType(entry.mediaType)) return entry.digest;
  return (await manifestDescriptor(p, entry).catch(() => undefined))?.digest ?? entry.digest;
}

async function removeBlob(p: StorePaths, digest: Digest): Promise<number> {
  const path = blobPath(p.blobs, digest);
  // A layer's record goes with it, also when its plain copy was never made (a pulled layer).
  await fsp.rm(recordPath(p, digest), { force: true });
  try {
    const st = await fsp.stat(path);
    await fsp.rm(path);
    return st.size;
  } catch {
    return -1;
  }
}

/** Delete those of `candidates` (and their gzip copies) that neither `remaining` reaches nor `keep` lists. Lock held. */
export async function deleteUnreferenced(p: StorePaths, remaining: readonly Descriptor[], candidates: readonly Digest[], keep: Iterable<Digest> = []): Promise<{ deleted: Digest[]; bytes: number }> {
  const live = await liveBlobs(p, remaining);
  await keepBlobs(p, live, keep);
  const all = new Set<Digest>();
  for (const c of candidates) {
    all.add(c);
    const gz = await readLayerRecord(p, c);
    if (gz) all.add(gz.digest);
  }
  const deleted: Digest[] = [];
  let bytes = 0;
  for (const c of all) {
    if (live.has(c)) continue;
    const n = await removeBlob(p, c);
    if (n >= 0) {
      deleted.push(c);
      bytes += n;
    }
  }
  return { deleted, bytes };
}

/** Add `keep` (blobs no image reaches that must stay, e.g. the build cache's layers) and, unless told not to, their gzip copies to `live`. */
async function keepBlobs(p: StorePaths, live: Set<Digest>, keep: Iterable<Digest>, gzipCopies = true): Promise<void> {
  for (const d of keep) {
    live.add(d);
    if (!gzipCopies) continue;
    const gz = await readLayerRecord(p, d);
    if (gz) live.add(gz.digest);
  }
}

/**
 * Whether gc keeps the layer record file `name`: its layer is live and, when gzip copies do
 * not count, so is the gzip blob it names (a pulled layer's). A stray name is left alone,
 * except by prune -a, which forgets every record it cannot read.
 */
async function keepsRecord(p: StorePaths, name: string, live: ReadonlySet<Digest>, gzipCopies: boolean): Promise<boolean> {
  const d = `sha256:${name}`;
  if (!isDigest(d)) return gzipCopies;
  if (!live.has(d)) return false;
  if (gzipCopies) return true;
  const r = await readLayerRecord(p, d);
  return r !== undefined && live.has(r.digest);
}

/** Remove temporary entries whose creating process is gone. */
export async function cleanTemp(p: StorePaths): Promise<number> {
  let n = 0;
  for (const name of await fsp.readdir(p.tmp).catch(() => [] as string[])) {
    const pid = tempOwnerPid(name);
    if (pid === undefined || pid === process.pid || pidAlive(pid)) continue;
    await fsp.rm(join(p.tmp, name), { recursive: true, force: true });
    n++;
  }
  return n;
}

export interface GcOptions {
  /** Drop images that have no tag first. */
  readonly dangling?: boolean;
  /**
   * Blobs to keep although no image reaches them, with their gzip copies: the layers the
   * build cache's records point at (the CLI reads them through build/; the store does not
   * know the cache's format). Called once, under the lock, before anything is deleted.
   */
  readonly keep?: () => Promise<Iterable<Digest>>;
  /**
   * `prune -a`: also delete the gzip copies tbuild made of plain layers (derived data, made
   * again on the next push) and their layer records. A layer an image holds compressed
   * (pulled) keeps its gzip blob and its record, which carries the plain size.
   */
  readonly forgetGzipCopies?: boolean;
}

/**
 * Prune: with `dangling`, drop images that have no tag; then delete every blob neither an
 * image nor `keep` reaches, the layer records of layers gone (with `forgetGzipCopies`, also
 * those naming a gzip blob gone), and stale temporary files. One walk of the images, under
 * the lock throughout.
 */
export async function collectGarbage(p: StorePaths, opts: GcOptions = {}): Promise<GcResult> {
  return updateIndex(p, async (current) => {
    const tagged = new Set(current.filter((d) => d.annotations?.[Annotation.REF_NAME] !== undefined).map((d) => d.digest));
    const keep = opts.dangling ? current.filter((d) => tagged.has(d.digest)) : [...current];
    const deletedImages = [...new Set(await Promise.all(current.filter((d) => !keep.includes(d)).map((d) => imageDigest(p, d))))];
    const gzipCopies = !opts.forgetGzipCopies;
    const live = await liveBlobs(p, keep, { gzipCopies });
    await keepBlobs(p, live, opts.keep ? await opts.keep() : [], gzipCopies);
    const deletedBlobs: Digest[] = [];
    let reclaimedBytes = 0;
    for (const hex of await fsp.readdir(p.sha256)) {
      const d = `sha256:${hex}`;
      if (!isDigest(d) || live.has(d)) continue;
      const n = await removeBlob(p, d);
      if (n >= 0) {
        deletedBlobs.push(d);
        reclaimedBytes += n;
      }
    }
    for (const name of await fsp.readdir(p.gzipMap).catch(() => [] as string[])) {
      if (!(await keepsRecord(p, name, live, gzipCopies))) await fsp.rm(join(p.gzipMap, name), { force: true });
    }
    const removedTemp = await cleanTemp(p);
    return { manifests: deletedImages.length ? keep : undefined, result: { deletedImages, deletedBlobs, reclaimedBytes, removedTemp } };
  });
}
