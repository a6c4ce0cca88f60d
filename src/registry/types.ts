// Registry-side helpers over src/image's model: the Accept header for manifests, the
// media-type short names the transfer uses, and platform selection in an index.
import { MediaType, type Descriptor, type ImageIndex, type Platform } from "../image/index.js";

export const MEDIA = {
  ociManifest: MediaType.OCI_MANIFEST,
  ociIndex: MediaType.OCI_INDEX,
  ociConfig: MediaType.OCI_CONFIG,
  ociLayer: MediaType.OCI_LAYER,
  ociLayerGzip: MediaType.OCI_LAYER_GZIP,
  dockerManifest: MediaType.DOCKER_MANIFEST,
  dockerList: MediaType.DOCKER_MANIFEST_LIST,
} as const;

/** What a GET/HEAD of a manifest accepts: every single-image and index type we read. */
export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest].join(", ");

/**
 * Pick the manifest for `want` from an index, as containerd's platform matcher does:
 * same os and architecture; then the variant (arm64 without a variant means v8); first wins.
 */
export function selectPlatform(index: ImageIndex, want: Platform): Descriptor | undefined {
  const norm = (p: Platform) => (p.architecture === "arm64" && (p.variant === undefined || p.variant === "v8") ? "v8" : p.variant);
  const candidates = index.manifests.filter((d) => d.platform && d.platform.os === want.os && d.platform.architecture === want.architecture);
  if (want.variant === undefined && want.architecture !== "arm64") return candidates[0];
  return candidates.find((d) => norm(d.platform!) === norm(want)) ?? (want.variant === undefined ? candidates[0] : undefined);
}
