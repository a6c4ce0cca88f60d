// The transport contract (containers/image's ImageSource/ImageDestination, STYLE.md
// example 7): save, load, import, and later push and pull are copies from a source to a
// destination. Types only; pure.
import type { Digest } from "../util/index.js";
import type { PushedBytes } from "./pushed.js";
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

/**
 * A file a source may read at any offset: an uncompressed archive on disk, whose layers a
 * destination can copy range by range instead of receiving them as a stream.
 */
export interface RandomAccessInput {
  readonly size: number;
  /** Read into `buf` from `position`; resolves to the bytes read (0 at the end of the file). */
  read(buf: Uint8Array, position: number): Promise<number>;
  /**
   * The open file's descriptor, when the input is one: lets a destination read ranges on
   * another thread of this process. It MUST stay open until every put given this input settles.
   */
  readonly fd?: number;
}

/** A layer's compressed form: gzip unless `mediaType` says otherwise (a pulled zstd layer). */
export interface CompressedBlob extends BlobInfo {
  readonly mediaType?: string;
}

/** A layer in transit: uncompressed identity plus, optionally, a compressed form. */
export interface TransferLayer extends LayerInfo {
  /** Set when the layer travels compressed (the digest/size of the compressed bytes). */
  readonly compressed?: CompressedBlob;
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
 * - putBlob MUST consume `data` (a stream, or pushed pieces each valid only until its sink
 *   is done with it: pushed.ts), and MUST verify `expect.digest`/`expect.size` when given,
 *   throwing TbuildError(E_ARCHIVE_INVALID) naming `expect.label` on mismatch.
 * - Nothing a destination receives may become visible before commit; abort MUST leave the
 *   destination as it was (temporary data removed).
 */
export interface ImageDestination {
  /** True when layers should arrive gzipped (a compressed OCI archive, a registry). */
  readonly wantsCompressedLayers: boolean;
  /** Whether the destination already has this blob (lets a copy skip sending it). */
  hasBlob(digest: Digest): Promise<boolean>;
  putBlob(data: AsyncIterable<Uint8Array> | PushedBytes, expect?: BlobExpectation): Promise<BlobInfo>;
  /**
   * Optional, as putBlob with the `size` bytes at `offset` of `input` as the data: lets a
   * destination copy a file's range with its own buffers. A source calls it only for bytes
   * it sends as they are (no gunzip), and MAY have several in flight at once; `signal`
   * stops a copy mid-way.
   */
  putBlobRange?(input: RandomAccessInput, offset: number, size: number, expect?: BlobExpectation, signal?: AbortSignal): Promise<BlobInfo>;
  /**
   * Optional hint, given once before the putBlobRange calls: the sizes of the ranges of
   * `input` the source will send, so a destination can get ready (start worker threads)
   * while the first is read. Not given for a gzipped archive, whose entries are streamed.
   */
  expectRanges?(input: RandomAccessInput, sizes: readonly number[]): void;
  putImage(image: TransferImage): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** Where images come from. `copyTo` sends blobs and images but does not commit. */
export interface ImageSource {
  copyTo(dest: ImageDestination, signal?: AbortSignal): Promise<readonly TransferImage[]>;
}
