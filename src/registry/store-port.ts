// What pull and push need from a local image store (containers/image's ImageSource /
// ImageDestination idea, reduced to what a registry copy uses). store-adapter.ts adapts
// src/store's Store to it; tests may pass any implementation.
import type { Digest } from "../util/index.js";
import type { CompressedBlob } from "../image/index.js";

/** Builds the error for bytes that are not the blob expected: `got` is their digest, or "N bytes" for a wrong size. */
export type BlobMismatch = (what: "size" | "digest", got: string) => Error;

export interface StoredBlob {
  readonly digest: Digest;
  readonly size: number;
}

/** A blob written to a file by a helper thread: its path, with the digest and size it hashed. */
export interface WrittenFile extends StoredBlob {
  readonly path: string;
}

/** A compressed form of a stored layer that the store computed once and remembers. */
export interface CompressedLayer extends StoredBlob {
  readonly mediaType: string;
  /** Read the compressed bytes. */
  open(): AsyncIterable<Uint8Array>;
}

/**
 * A gzip form of a layer seen in a registry: pull verified that these bytes hash to
 * `digest` and inflate to the layer (containers/image's blob-info cache). A hint only: push
 * asks the registry (HEAD, mount) before it relies on one.
 */
export interface KnownBlob extends StoredBlob {
  /** Registry host as in references (`docker.io`, `localhost:5000`). */
  readonly registry: string;
  readonly repository: string;
}

/** A layer of an image to write: plain (blob digest = diff ID), or held as the compressed blob `compressed` (gzip unless its media type says zstd). */
export interface PendingLayer {
  readonly diffId: Digest;
  /** Plain size (for a pulled layer, the provisional one from its gzip trailer or zstd frame header). */
  readonly size: number;
  readonly compressed?: CompressedBlob;
}

/** An image to write: its config bytes, its layers in order, its tags. */
export interface PendingImage {
  readonly configBytes: Uint8Array;
  readonly layers: readonly PendingLayer[];
  readonly tags: readonly string[];
  /** The registry's manifest, to keep as it is when it describes exactly these blobs (OCI). */
  readonly manifestBytes?: Uint8Array;
}

/**
 * What the store records of a gzip layer it keeps as it came (store/layer-records.ts): the
 * blob, its plain size, and the registry repository it was verified in, when it came from
 * one (a pull, a registry cache; not a cache folder).
 */
export interface PulledLayerRecord extends StoredBlob, Partial<Pick<KnownBlob, "registry" | "repository">> {
  readonly diffId: Digest;
  /** From the gzip trailer, a zstd frame header or a cache's manifest: provisional until the store first inflates the layer. */
  readonly uncompressedSize: number;
  readonly provisional: true;
  /** Set for a zstd blob: recorded, but not as a gzip form for push hints. */
  readonly compression?: "zstd";
}

/** An image as the store keeps it: config plus layers (plain, or gzip as pulled). */
export interface LocalImage {
  readonly manifestDigest: Digest;
  /** The config digest. */
  readonly imageId: Digest;
  readonly configSize: number;
  /** Layer blobs as stored: plain tar (digest = diff ID) unless `mediaType` says otherwise. */
  readonly layers: readonly { readonly digest: Digest; readonly size: number; readonly mediaType?: string; readonly diffId: Digest }[];
}

/** Writes that become visible together, at commit (the store's staging). */
export interface TransferSession {
  /**
   * Write a blob that must hash to `expected` (and have `size` bytes, when given); it stays
   * invisible until commit. When the bytes differ it MUST throw the error `mismatch` builds
   * and keep nothing.
   */
  putBlob(source: AsyncIterable<Uint8Array>, expected: Digest, mismatch: BlobMismatch, size?: number): Promise<StoredBlob>;
  /**
   * As putBlob, for a blob that `write` puts into a new file in the folder it is given (a
   * download on a worker thread, which hashes and fsyncs it there). Optional.
   */
  putBlobFile?(write: (dir: string) => Promise<WrittenFile>, expected: Digest, mismatch: BlobMismatch, size?: number): Promise<StoredBlob>;
  /** Make the blobs durable, then write the image and tag it, atomically. */
  commit(image: PendingImage): Promise<{ readonly manifestDigest: Digest }>;
  /** Drop everything written (also after a failed commit). */
  abort(): Promise<void>;
}

export interface TransferStore {
  hasBlob(digest: Digest): Promise<boolean>;
  /** Stream a stored blob. */
  openBlob(digest: Digest): AsyncIterable<Uint8Array>;
  readBlob(digest: Digest): Promise<Uint8Array>;
  /**
   * Write a blob atomically (temp file → verify → rename). When `source` throws, the
   * store MUST keep nothing of it. When `expected` is given and the bytes differ (or, with
   * `check.size`, their size does), it MUST throw (`check.mismatch`'s error, when given)
   * and keep nothing.
   */
  putBlob(source: AsyncIterable<Uint8Array>, expected?: Digest, check?: { readonly mismatch?: BlobMismatch; readonly size?: number }): Promise<StoredBlob>;
  /** Write an image from its config bytes and stored layers and tag it, atomically. */
  putImage(image: PendingImage): Promise<{ readonly manifestDigest: Digest }>;
  /** The image a full normalised reference names, or undefined. */
  resolveImage(ref: string): Promise<LocalImage | undefined>;
  /** A staging session (optional): blobs fsynced in one parallel batch at commit. */
  begin?(): TransferSession;
  /**
   * Record a gzip layer kept as it came (pulled, or imported from a build cache): its diff
   * ID, provisional plain size, and the registry repository it was verified in, remembered
   * for push (optional; without it sizes fall back to the gzip size and push gzips the layer).
   */
  recordLayer?(record: PulledLayerRecord): Promise<void>;
  /** The gzip forms of the layer `diffId` recorded from registries, newest first (optional). */
  knownGzip?(diffId: Digest): Promise<readonly KnownBlob[]>;
  /**
   * The remembered compressed form of an uncompressed layer, computing it once (optional).
   * When it is computed now, `sink` gets the compressed bytes as they are made, and the
   * stored blob's identity once written; a failing sink does not fail this call.
   */
  compressedLayer?(diffId: Digest, sink?: (bytes: AsyncIterable<Uint8Array>, stored: Promise<StoredBlob>) => Promise<void>): Promise<CompressedLayer>;
}
