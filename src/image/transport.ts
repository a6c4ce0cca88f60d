// The transport contract (containers/image's ImageSource/ImageDestination, STYLE.md
// example 7): save, load, import, and later push and pull are copies from a source to a
// destination. Types only; pure.
import type { Digest } from "../util/index.js";
import type { ImageConfig, LayerInfo } from "./types.js";

export interface BlobInfo {
  readonly digest: Digest;
  readonly size: number;
}

/** What a destination may check a blob against while it receives it. */
export interface BlobExpectation {
  readonly digest?: Digest;
  readonly size?: number;
  /** A name for messages: an archive path, `layer 2 of busybox:test`. */
  readonly label?: string;
}

/** A layer in transit: uncompressed identity plus, optionally, a compressed form. */
export interface TransferLayer extends LayerInfo {
  /** Set when the layer travels gzipped (the digest/size of the gzip bytes). */
  readonly compressed?: BlobInfo;
}

/** An image in transit. Its ID is `configDigest`. */
export interface TransferImage {
  readonly configDigest: Digest;
  readonly configBytes: Uint8Array;
  readonly config: ImageConfig;
  readonly layers: readonly TransferLayer[];
  /** Full normalised references (`docker.io/library/busybox:test`); may be empty. */
  readonly tags: readonly string[];
}

/**
 * Where images go. A copy calls putBlob for every layer, then putImage per image, then
 * commit; on any failure it calls abort. Contracts:
 * - putBlob MUST consume `data`, and MUST verify `expect.digest`/`expect.size` when given,
 *   throwing TbuildError(E_ARCHIVE_INVALID) naming `expect.label` on mismatch.
 * - Nothing a destination receives may become visible before commit; abort MUST leave the
 *   destination as it was (temporary data removed).
 */
export interface ImageDestination {
  /** True when layers should arrive gzipped (a compressed OCI archive, a registry). */
  readonly wantsCompressedLayers: boolean;
  /** Whether the destination already has this blob (lets a copy skip sending it). */
  hasBlob(digest: Digest): Promise<boolean>;
  putBlob(data: AsyncIterable<Uint8Array>, expect?: BlobExpectation): Promise<BlobInfo>;
  putImage(image: TransferImage): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** Where images come from. `copyTo` sends blobs and images but does not commit. */
export interface ImageSource {
  copyTo(dest: ImageDestination, signal?: AbortSignal): Promise<readonly TransferImage[]>;
}
