// OCI image types: descriptors, platform, image config with history, manifest and index
// (image-spec v1.1). Docker schema2 shares these shapes with other media types. Pure data.
import type { Digest } from "../util/index.js";

/** A content descriptor (image-spec descriptor.md). */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: Platform;
  readonly urls?: readonly string[];
  readonly artifactType?: string;
}

/** The platform an image runs on (image-spec image-index.md). */
export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly "os.version"?: string;
  readonly "os.features"?: readonly string[];
}

/** Docker's HEALTHCHECK settings (durations in nanoseconds). */
export interface HealthConfig {
  readonly Test?: readonly string[];
  readonly Interval?: number;
  readonly Timeout?: number;
  readonly StartPeriod?: number;
  readonly StartInterval?: number;
  readonly Retries?: number;
}

/** The execution parameters of an image (`config` in the OCI config; Docker extras included). */
export interface ContainerConfig {
  readonly User?: string;
  readonly ExposedPorts?: Readonly<Record<string, Record<string, never>>>;
  readonly Env?: readonly string[];
  readonly Entrypoint?: readonly string[] | null;
  readonly Cmd?: readonly string[] | null;
  readonly Volumes?: Readonly<Record<string, Record<string, never>>>;
  readonly WorkingDir?: string;
  readonly Labels?: Readonly<Record<string, string>>;
  readonly StopSignal?: string;
  readonly ArgsEscaped?: boolean;
  /** Docker extensions, kept in the config as BuildKit writes them. */
  readonly Healthcheck?: HealthConfig;
  readonly Shell?: readonly string[];
  readonly OnBuild?: readonly string[] | null;
}

/** One history entry; `empty_layer` entries have no layer in `rootfs.diff_ids`. */
export interface HistoryEntry {
  readonly created?: string;
  readonly created_by?: string;
  readonly author?: string;
  readonly comment?: string;
  readonly empty_layer?: boolean;
}

/** The OCI image configuration (image-spec config.md). */
export interface ImageConfig {
  readonly created?: string;
  readonly author?: string;
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly "os.version"?: string;
  readonly config?: ContainerConfig;
  readonly rootfs: { readonly type: "layers"; readonly diff_ids: readonly Digest[] };
  readonly history?: readonly HistoryEntry[];
}

/** An image manifest (OCI or Docker schema2). */
export interface ImageManifest {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** An image index (OCI) or manifest list (Docker); the store's index.json is one. */
export interface ImageIndex {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly manifests: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

/** An entry of a docker-archive's manifest.json. */
export interface DockerArchiveManifestEntry {
  readonly Config: string;
  readonly RepoTags: readonly string[] | null;
  readonly Layers: readonly string[];
  readonly LayerSources?: Readonly<Record<string, Descriptor>>;
}

/** One layer of an image as the store keeps it: uncompressed, digest = diff ID. */
export interface LayerInfo {
  /** The digest of the uncompressed tar: the blob digest in the store and the diff ID. */
  readonly diffId: Digest;
  /** Uncompressed size in bytes. */
  readonly size: number;
}
