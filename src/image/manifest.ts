// Builders for configs and manifests with canonical bytes: the same value always
// serialises to the same bytes, so the same build gives the same digests. Pure.
import { TbuildError, canonicalJson, isDigest, sha256Digest, type Digest } from "../util/index.js";
import { MediaType, isIndexType, isManifestType, layerCompression, ociMediaType } from "./media-types.js";
import type { ContainerConfig, Descriptor, HistoryEntry, ImageConfig, ImageIndex, ImageManifest, Platform } from "./types.js";
import type { CompressedBlob, TransferLayer } from "./transport.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Canonical JSON bytes of `value` (keys sorted, no whitespace). */
export function encodeCanonical(value: unknown): Uint8Array {
  return encoder.encode(canonicalJson(value));
}

/** A JSON blob ready to store: its bytes and descriptor. */
export interface EncodedBlob<T> {
  readonly value: T;
  readonly bytes: Uint8Array;
  readonly descriptor: Descriptor;
}

function encodeBlob<T>(value: T, mediaType: string): EncodedBlob<T> {
  const bytes = encodeCanonical(value);
  return { value, bytes, descriptor: { mediaType, digest: sha256Digest(bytes), size: bytes.length } };
}

export interface BuildConfigInput {
  readonly platform: Platform;
  /** RFC 3339 time; omitted from the config when absent (reproducible builds). */
  readonly created?: string;
  readonly author?: string;
  readonly config?: ContainerConfig;
  readonly diffIds: readonly Digest[];
  readonly history?: readonly HistoryEntry[];
}

/** Build an OCI image config. Checks that non-empty history entries match the layers. */
export function buildConfig(input: BuildConfigInput): EncodedBlob<ImageConfig> {
  const p = input.platform;
  const value: ImageConfig = {
    ...(input.created !== undefined ? { created: input.created } : {}),
    ...(input.author !== undefined ? { author: input.author } : {}),
    architecture: p.architecture,
    os: p.os,
    ...(p.variant !== undefined ? { variant: p.variant } : {}),
    ...(p["os.version"] !== undefined ? { "os.version": p["os.version"] } : {}),
    config: input.config ?? {},
    rootfs: { type: "layers", diff_ids: [...input.diffIds] },
    ...(input.history !== undefined ? { history: [...input.history] } : {}),
  };
  if (input.history !== undefined) {
    const nonEmpty = input.history.filter((h) => !h.empty_layer).length;
    if (nonEmpty !== input.diffIds.length) {
      throw new TbuildError("E_INTERNAL", `image config has ${input.diffIds.length} layers but ${nonEmpty} non-empty history entries`);
    }
  }
  return encodeBlob(value, MediaType.OCI_CONFIG);
}

/** Encode an existing config value (e.g. after editing one). */
export function encodeConfig(config: ImageConfig): EncodedBlob<ImageConfig> {
  return encodeBlob(config, MediaType.OCI_CONFIG);
}

/**
 * Build an OCI manifest for `config` and `layers`. Layers default to uncompressed tar
 * (how the store keeps them); pass descriptors to describe compressed ones.
 */
export function buildManifest(config: { digest: Digest; size: number; mediaType?: string }, layers: readonly (TransferLayer | Descriptor)[], annotations?: Record<string, string>): EncodedBlob<ImageManifest> {
  const value: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OCI_MANIFEST,
    config: { mediaType: config.mediaType ?? MediaType.OCI_CONFIG, digest: config.digest, size: config.size },
    layers: layers.map((l) => ("diffId" in l ? layerDescriptor(l) : l)),
    ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
  };
  return encodeBlob(value, MediaType.OCI_MANIFEST);
}

/**
 * Whether `a` is an image manifest (OCI, or Docker schema 2) naming exactly `b`'s config
 * and layer blobs: the same digests and sizes, with media types that agree once Docker's
 * names are read as their OCI equivalents (a Docker gzip layer is an OCI gzip layer).
 */
export function describesSameBlobs(a: ImageManifest, b: ImageManifest): boolean {
  const key = (d: Descriptor) => `${ociMediaType(d.mediaType)} ${d.digest} ${d.size}`;
  // An OCI manifest may leave its mediaType out (image-spec): it is still an OCI manifest.
  return isManifestType(a.mediaType ?? MediaType.OCI_MANIFEST) && key(a.config) === key(b.config) && a.layers.length === b.layers.length && a.layers.every((l, i) => key(l) === key(b.layers[i]!));
}

/**
 * A one-entry OCI index over `manifest`, with canonical bytes. The store lists an image
 * whose manifest is Docker schema 2 through one, because OCI layout readers look a tag up
 * only among index.json's OCI manifest and index entries (containers/image's
 * getManifestDescriptor skips any other type), while the manifest keeps its own bytes.
 */
export function wrapInIndex(manifest: Descriptor, platform: Platform): EncodedBlob<ImageIndex> {
  const value: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [{ mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size, platform }] };
  return encodeBlob(value, MediaType.OCI_INDEX);
}

/** A layer's descriptor: its compressed form when it has one (gzip unless it says otherwise), else the plain tar. */
function layerDescriptor(l: TransferLayer): Descriptor {
  return l.compressed
    ? { mediaType: l.compressed.mediaType ?? MediaType.OCI_LAYER_GZIP, digest: l.compressed.digest, size: l.compressed.size }
    : { mediaType: MediaType.OCI_LAYER, digest: l.diffId, size: l.size };
}

/**
 * The compressed form of a stored layer descriptor `d` as a TransferLayer carries it: the
 * media type is kept only for zstd (a gzip layer under any name travels as OCI gzip).
 */
export function compressedBlob(d: Descriptor): CompressedBlob {
  return { digest: d.digest, size: d.size, ...(layerCompression(d.mediaType) === "zstd" ? { mediaType: MediaType.OCI_LAYER_ZSTD } : {}) };
}

/** Parse JSON bytes, throwing `code` with `what` named on failure. */
export function decodeJson(bytes: Uint8Array, what: string, code: "E_STORE_CORRUPT" | "E_ARCHIVE_INVALID" = "E_ARCHIVE_INVALID"): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw new TbuildError(code, `${what} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkDescriptor(v: unknown, what: string, code: "E_STORE_CORRUPT" | "E_ARCHIVE_INVALID"): Descriptor {
  if (!isObject(v) || typeof v.mediaType !== "string" || typeof v.digest !== "string" || !isDigest(v.digest) || typeof v.size !== "number" || !Number.isSafeInteger(v.size) || v.size < 0) {
    throw new TbuildError(code, `${what} is not a valid descriptor (mediaType, sha256 digest, size)`);
  }
  return v as unknown as Descriptor;
}

/** Validate the shape of a manifest. */
export function parseManifest(bytes: Uint8Array, what: string, code: "E_STORE_CORRUPT" | "E_ARCHIVE_INVALID" = "E_ARCHIVE_INVALID"): ImageManifest {
  const v = decodeJson(bytes, what, code);
  if (!isObject(v) || v.schemaVersion !== 2 || !Array.isArray(v.layers)) throw new TbuildError(code, `${what} is not an image manifest (schemaVersion 2 with layers)`);
  if (v.mediaType !== undefined && !isManifestType(String(v.mediaType))) throw new TbuildError(code, `${what} has unsupported media type ${String(v.mediaType)}`);
  checkDescriptor(v.config, `${what} config`, code);
  v.layers.forEach((l, i) => checkDescriptor(l, `${what} layer ${i}`, code));
  return v as unknown as ImageManifest;
}

/** Validate the shape of an index (or index.json). */
export function parseIndex(bytes: Uint8Array, what: string, code: "E_STORE_CORRUPT" | "E_ARCHIVE_INVALID" = "E_ARCHIVE_INVALID"): ImageIndex {
  const v = decodeJson(bytes, what, code);
  if (!isObject(v) || v.schemaVersion !== 2 || !Array.isArray(v.manifests)) throw new TbuildError(code, `${what} is not an image index (schemaVersion 2 with manifests)`);
  if (v.mediaType !== undefined && !isIndexType(String(v.mediaType))) throw new TbuildError(code, `${what} has unsupported media type ${String(v.mediaType)}`);
  v.manifests.forEach((m, i) => checkDescriptor(m, `${what} entry ${i}`, code));
  return v as unknown as ImageIndex;
}

/** Validate the shape of an image config. */
export function parseConfig(bytes: Uint8Array, what: string, code: "E_STORE_CORRUPT" | "E_ARCHIVE_INVALID" = "E_ARCHIVE_INVALID"): ImageConfig {
  const v = decodeJson(bytes, what, code);
  if (!isObject(v) || !isObject(v.rootfs) || !Array.isArray(v.rootfs.diff_ids)) throw new TbuildError(code, `${what} is not an image config (rootfs.diff_ids missing)`);
  for (const d of v.rootfs.diff_ids) if (typeof d !== "string" || !isDigest(d)) throw new TbuildError(code, `${what} has an invalid diff ID ${JSON.stringify(d)}`);
  if (typeof v.architecture !== "string" || typeof v.os !== "string") throw new TbuildError(code, `${what} lacks architecture or os`);
  return v as unknown as ImageConfig;
}

/** Map history entries to layer indexes: `layerIndexOfHistory[i]` is the layer of entry i, or -1. */
export function historyLayers(config: ImageConfig): number[] {
  let n = 0;
  return (config.history ?? []).map((h) => (h.empty_layer ? -1 : n++));
}
