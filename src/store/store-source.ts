// The store as a transport source: sends the chosen images' layers (plain or gzipped, as
// the destination wants) and configs. Used by save, and later by push.
import { TbuildError, type Digest } from "../util/index.js";
import { layerCompression, type ImageDestination, type ImageSource, type TransferImage, type TransferLayer } from "../image/index.js";
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
      for (const [i, l] of image.layers.entries()) {
        signal?.throwIfAborted();
        if (layerCompression(l.mediaType) !== "none") {
          throw new TbuildError("E_STORE_CONFLICT", `layer ${i + 1} of ${name} is stored compressed (${l.mediaType}); tbuild saves only images whose layers are plain tar`, { hint: "this image was written into the store by another tool" });
        }
        const label = `layer ${i + 1} of ${name} (${l.digest})`;
        if (dest.wantsCompressedLayers) {
          const gz = await compressLayer(this.store, l.digest);
          if (!sent.has(gz.digest)) {
            await dest.putBlob(this.store.openBlob(gz.digest), { ...gz, label });
            sent.add(gz.digest);
          }
          layers.push({ diffId: l.digest, size: l.size, compressed: gz });
        } else {
          if (!sent.has(l.digest)) {
            await dest.putBlob(this.store.openBlob(l.digest), { digest: l.digest, size: l.size, label });
            sent.add(l.digest);
          }
          layers.push({ diffId: l.digest, size: l.size });
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
