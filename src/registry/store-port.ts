// What pull and push need from a local image store (containers/image's ImageSource /
// ImageDestination idea, reduced to what a registry copy uses). src/store's Store is
// adapted to it; tests may pass any implementation.
import type { Digest } from "../util/index.js";

export interface StoredBlob {
  readonly digest: Digest;
  readonly size: number;
}

/** A compressed form of a stored layer that the store computed once and remembers. */
export interface CompressedLayer extends StoredBlob {
  readonly mediaType: string;
  /** Read the compressed bytes. */
  open(): AsyncIterable<Uint8Array>;
}

export interface TransferStore {
  hasBlob(digest: Digest): Promise<boolean>;
  /** Stream a stored blob. */
  openBlob(digest: Digest): AsyncIterable<Uint8Array>;
  readBlob(digest: Digest): Promise<Uint8Array>;
  /**
   * Write a blob atomically (temp file → verify → rename). When `source` throws, the
   * store MUST keep nothing of it. When `expected` is given and the bytes differ, it
   * MUST throw and keep nothing.
   */
  putBlob(source: AsyncIterable<Uint8Array>, expected?: Digest): Promise<StoredBlob>;
  /** Point `refs` (full normalised references) at a stored manifest. */
  tagManifest(manifest: StoredBlob & { readonly mediaType: string }, refs: readonly string[]): Promise<void>;
  /** The manifest a full normalised reference points at, or undefined. */
  resolveManifest(ref: string): Promise<(StoredBlob & { readonly mediaType: string }) | undefined>;
  /** All tags of a repository (`docker.io/library/alpine`), as full references. */
  listTags?(repository: string): Promise<string[]>;
  /** The remembered compressed form of an uncompressed layer, computing it once (optional). */
  compressedLayer?(diffId: Digest, compression: "gzip"): Promise<CompressedLayer>;
  /** Remember that `diffId` compresses to `compressed` (a pull learns this for free). */
  rememberCompressed?(diffId: Digest, compressed: StoredBlob & { readonly mediaType: string }): Promise<void>;
}
