// Disk usage (`tbuild df`): what each image holds alone and what it shares, counting a
// shared layer once in the total.
import { promises as fsp } from "node:fs";
import { join } from "node:path";
import type { Digest } from "../util/index.js";
import type { StoredImage } from "./images.js";
import type { Store } from "./store.js";

export interface ImageUsage {
  readonly image: StoredImage;
  /** Bytes of layers this image shares with at least one other image. */
  readonly shared: number;
  /** Bytes of layers only this image uses. */
  readonly unique: number;
}

export interface DiskUsage {
  readonly images: readonly ImageUsage[];
  /** Distinct layers over all images, each counted once. */
  readonly layersSize: number;
  /** Everything under blobs/ (layers, configs, manifests, gzip copies, unreferenced). */
  readonly blobsSize: number;
  readonly blobCount: number;
  /** Bytes that `prune` would reclaim now (dangling images' unique layers + unreferenced blobs, approximate). */
  readonly reclaimable: number;
}

export async function diskUsage(store: Store): Promise<DiskUsage> {
  const images = await store.listImages();
  const users = new Map<Digest, number>();
  const sizes = new Map<Digest, number>();
  // Layers by diff ID at their plain size: a pulled (gzip) layer and a plain copy of it are one layer.
  for (const img of images) {
    for (const l of new Set(img.rootfs.map((x) => x.diffId))) users.set(l, (users.get(l) ?? 0) + 1);
    for (const l of img.rootfs) sizes.set(l.diffId, l.size);
  }
  const usage = images.map((image) => {
    let shared = 0;
    let unique = 0;
    for (const l of new Set(image.rootfs.map((x) => x.diffId))) {
      const s = sizes.get(l) ?? 0;
      if ((users.get(l) ?? 0) > 1) shared += s;
      else unique += s;
    }
    return { image, shared, unique };
  });
  let blobsSize = 0;
  let blobCount = 0;
  const referenced = new Set<string>();
  for (const img of images) {
    referenced.add(img.entry.digest).add(img.manifestDigest).add(img.id);
    for (const l of img.rootfs) referenced.add(l.blob.digest).add(l.diffId);
  }
  let unreferenced = 0;
  for (const hex of await fsp.readdir(store.paths.sha256).catch(() => [] as string[])) {
    const st = await fsp.stat(join(store.paths.sha256, hex)).catch(() => undefined);
    if (!st) continue;
    blobsSize += st.size;
    blobCount++;
    if (!referenced.has(`sha256:${hex}`)) unreferenced += st.size;
  }
  const danglingUnique = usage.filter((u) => u.image.tags.length === 0).reduce((n, u) => n + u.unique, 0);
  const layersSize = [...sizes.values()].reduce((a, b) => a + b, 0);
  return { images: usage, layersSize, blobsSize, blobCount, reclaimable: danglingUnique + unreferenced };
}
