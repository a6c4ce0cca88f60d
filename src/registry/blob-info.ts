// Which gzip blob in which registry repository holds a layer (containers/image's blob-info
// cache). Pull records what it verified (compressed digest and diff ID) in the layer's
// record (store/layer-records.ts `seen`), in the one write that also keeps the layer's gzip
// blob and provisional size; push asks the registry for those blobs (HEAD,
// cross-repository mount) before gzipping a layer itself, so pushing a pulled image
// compresses nothing and sends only what the registry lacks. These are hints, never
// trusted without the registry's answer.
// tbuild versions before the hints moved into the record kept them apart, one JSON list per
// layer in `tbuild/blob-info/<diff ID hex>`, newest first: those are still read, never written.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { digestHex, type Digest } from "../util/index.js";
import type { StorePaths } from "../store/index.js";
import type { KnownBlob, PulledLayerRecord } from "./store-port.js";
import { loadStore } from "./store-module.js";

/** Locations kept per layer: enough for a few registries and mirrors. */
const KEEP = 8;

/**
 * Record a layer kept as it came (its blob, provisional plain size and, for a gzip one
 * verified in a registry repository, where it was found, ahead of the places known before)
 * in one write. A zstd blob is no gzip form, so it adds no push hint: push sends it only as
 * the layer of the image it came with.
 */
export async function recordPulledLayer(paths: StorePaths, r: PulledLayerRecord): Promise<void> {
  const here: KnownBlob[] = !r.compression && r.registry !== undefined && r.repository !== undefined ? [{ digest: r.digest, size: r.size, registry: r.registry, repository: r.repository }] : [];
  const seen = distinct([...here, ...(await knownGzip(paths, r.diffId))]);
  const { writeLayerRecord } = await loadStore();
  await writeLayerRecord(paths, { diffId: r.diffId, digest: r.digest, size: r.size, uncompressedSize: r.uncompressedSize, provisional: true, seen, ...(r.compression ? { compression: r.compression } : {}) });
}

/** The gzip forms of layer `diffId` that pulls saw, newest first: its record's, then those an older tbuild kept apart. */
export async function knownGzip(paths: StorePaths, diffId: Digest): Promise<KnownBlob[]> {
  const rec = await (await loadStore()).readLayerRecord(paths, diffId);
  return distinct([...(rec?.seen ?? []), ...(await legacyHints(paths, diffId))]);
}

/** The list an older tbuild kept for `diffId`; a missing or unreadable file counts as empty. */
async function legacyHints(paths: StorePaths, diffId: Digest): Promise<KnownBlob[]> {
  const { seenBlobs } = await loadStore();
  try {
    return seenBlobs(JSON.parse(await readFile(join(paths.data, "blob-info", digestHex(diffId)), "utf8")));
  } catch {
    return [];
  }
}

/** Each location once (the first, newest, wins), at most KEEP. */
function distinct(list: readonly KnownBlob[]): KnownBlob[] {
  const out: KnownBlob[] = [];
  for (const k of list) if (!out.some((o) => o.digest === k.digest && o.registry === k.registry && o.repository === k.repository)) out.push(k);
  return out.slice(0, KEEP);
}
