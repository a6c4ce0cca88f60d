// The store as a transport source: sends the chosen images' layers (plain or compressed, as
// the destination wants; a pulled layer is inflated once for a plain destination, and
// goes as it came, gzip or zstd, to a compressed one) and configs. Used by save.
import { TbuildError, type Digest } from "../util/index.js";
import { compressedBlob, isCompressedLayer, layerCompression, type ImageDestination, type ImageSource, type TransferImage, type TransferLayer } from "../image/index.js";
import { compressLayer } from "./lazy.js";
import type { StoredImage } from "./images.js";
import type { Store } from "./store.js";

export interface SourceImage {
  readonly image: StoredImage;
  /** The tags to carry (normalised references). */
  readonly tags: readonly string[];
}

export class StoreSource implements ImageSource {
  constructor(
    private readonly store: Store,
    private readonly images: readonly SourceImage[],
  ) {}

  async copyTo(dest: ImageDestination, signal?: AbortSignal): Promise<readonly TransferImage[]> {
    const sent = new Set<Digest>();
    const out: TransferImage[] = [];
    for (const { image, tags } of this.images) {
      const name = tags[0] ?? image.id;
      const layers: TransferLayer[] = [];
      for (const [i, l] of image.rootfs.entries()) {
        signal?.throwIfAborted();
        const label = `layer ${i + 1} of ${name} (${l.blob.digest})`;
        const c = layerCompression(l.blob.mediaType);
        if (c === undefined && l.blob.digest !== l.diffId) {
          throw new TbuildError("E_STORE_UNSUPPORTED", `layer ${i + 1} of ${name} is stored as ${l.blob.mediaType}, which tbuild cannot read`, { hint: "this image was written into the store by another tool" });
        }
        const held = isCompressedLayer(l.blob.mediaType);
        if (dest.wantsCompressedLayers) {
          // A pulled layer goes as the blob it came as (gzip or zstd); a plain one is gzipped once.
          const gz = held ? compressedBlob(l.blob) : await compressLayer(this.store, l.diffId);
          if (!sent.has(gz.digest)) {
            await dest.putBlob(this.store.openBlob(gz.digest), { ...gz, label });
            sent.add(gz.digest);
          }
          layers.push({ diffId: l.diffId, size: l.size, compressed: gz });
        } else {
          const size = held ? (await this.store.plainLayer(l.diffId, l.blob.digest)).size : l.size;
          if (!sent.has(l.diffId)) {
            await dest.putBlob(this.store.openBlob(l.diffId), { digest: l.diffId, size, label });
            sent.add(l.diffId);
          }
          layers.push({ diffId: l.diffId, size });
        }
      }
      const configBytes = await this.store.readBlob(image.id);
      const t: TransferImage = { configDigest: image.id, configBytes, config: image.config, layers, tags };
      await dest.putImage(t);
      out.push(t);
    }
    return out;
  }
}

/** Copy every image `src` sends into `dest`, committing on success and aborting on failure. */
export async function copyImages(src: ImageSource, dest: ImageDestination, signal?: AbortSignal): Promise<readonly TransferImage[]> {
  try {
    const images = await src.copyTo(dest, signal);
    await dest.commit();
    return images;
  } catch (e) {
    await dest.abort().catch(() => undefined);
    throw e;
  }
}
