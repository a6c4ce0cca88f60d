// Media types of the OCI image spec and their Docker schema2 equivalents. Pure.

export const MediaType = {
  OCI_LAYOUT_VERSION: "1.0.0",
  OCI_INDEX: "application/vnd.oci.image.index.v1+json",
  OCI_MANIFEST: "application/vnd.oci.image.manifest.v1+json",
  OCI_CONFIG: "application/vnd.oci.image.config.v1+json",
  OCI_LAYER: "application/vnd.oci.image.layer.v1.tar",
  OCI_LAYER_GZIP: "application/vnd.oci.image.layer.v1.tar+gzip",
  OCI_LAYER_ZSTD: "application/vnd.oci.image.layer.v1.tar+zstd",
  OCI_LAYER_NONDIST: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  OCI_LAYER_NONDIST_GZIP: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  DOCKER_MANIFEST_LIST: "application/vnd.docker.distribution.manifest.list.v2+json",
  DOCKER_MANIFEST: "application/vnd.docker.distribution.manifest.v2+json",
  DOCKER_CONFIG: "application/vnd.docker.container.image.v1+json",
  DOCKER_LAYER: "application/vnd.docker.image.rootfs.diff.tar",
  DOCKER_LAYER_GZIP: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  DOCKER_FOREIGN_LAYER_GZIP: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
} as const;

export type LayerCompression = "none" | "gzip" | "zstd";

/** OCI annotation keys tbuild reads and writes. */
export const Annotation = {
  REF_NAME: "org.opencontainers.image.ref.name",
  CREATED: "org.opencontainers.image.created",
  /** containerd and Docker 25+ put the full image name here in archives. */
  CONTAINERD_IMAGE_NAME: "io.containerd.image.name",
} as const;

export function isManifestType(mt: string | undefined): boolean {
  return mt === MediaType.OCI_MANIFEST || mt === MediaType.DOCKER_MANIFEST;
}

export function isIndexType(mt: string | undefined): boolean {
  return mt === MediaType.OCI_INDEX || mt === MediaType.DOCKER_MANIFEST_LIST;
}

/** The compression a layer media type declares (`undefined` for a non-layer type). */
export function layerCompression(mt: string): LayerCompression | undefined {
  switch (mt) {
    case MediaType.OCI_LAYER:
    case MediaType.OCI_LAYER_NONDIST:
    case MediaType.DOCKER_LAYER:
      return "none";
    case MediaType.OCI_LAYER_GZIP:
    case MediaType.OCI_LAYER_NONDIST_GZIP:
    case MediaType.DOCKER_LAYER_GZIP:
    case MediaType.DOCKER_FOREIGN_LAYER_GZIP:
      return "gzip";
    case MediaType.OCI_LAYER_ZSTD:
      return "zstd";
    default:
      return undefined;
  }
}

/** Docker schema 2 media types and the OCI ones that name the same bytes (image-spec's compatibility matrix). */
const OCI_NAME_OF_DOCKER: ReadonlyMap<string, string> = new Map([
  [MediaType.DOCKER_MANIFEST, MediaType.OCI_MANIFEST],
  [MediaType.DOCKER_MANIFEST_LIST, MediaType.OCI_INDEX],
  [MediaType.DOCKER_CONFIG, MediaType.OCI_CONFIG],
  [MediaType.DOCKER_LAYER, MediaType.OCI_LAYER],
  [MediaType.DOCKER_LAYER_GZIP, MediaType.OCI_LAYER_GZIP],
  [MediaType.DOCKER_FOREIGN_LAYER_GZIP, MediaType.OCI_LAYER_NONDIST_GZIP],
]);

/** The OCI media type a Docker schema 2 type stands for; any other type as it is. */
export function ociMediaType(mt: string): string {
  return OCI_NAME_OF_DOCKER.get(mt) ?? mt;
}

/** Whether a layer of media type `mt` is stored compressed (its digest is not its diff ID). */
export function isCompressedLayer(mt: string): boolean {
  const c = layerCompression(mt);
  return c === "gzip" || c === "zstd";
}

/**
 * Whether `b` starts a zstd stream: a frame (magic 0xFD2FB528) or a skippable frame
 * (0x184D2A50 to 0x184D2A5F), little endian (RFC 8878 3.1.1 and 3.1.2). Layers are judged
 * by these bytes where they are decompressed, whatever their media type says.
 */
export function isZstd(b: Uint8Array | undefined): boolean {
  if (b === undefined || b.length < 4) return false;
  const magic = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  return magic === ZSTD_FRAME_MAGIC || (magic & 0xfffffff0) >>> 0 === ZSTD_SKIPPABLE_MAGIC;
}

export const ZSTD_FRAME_MAGIC = 0xfd2fb528;
/** The first of the 16 skippable-frame magic numbers (the low 4 bits are free). */
export const ZSTD_SKIPPABLE_MAGIC = 0x184d2a50;
