// Registry-side shapes: media types, descriptors and manifests as the distribution API
// carries them (OCI and Docker schema 2), and platform matching for indexes.
// Kept small and local; src/image owns the full image model.
import type { Digest } from "../util/index.js";

export const MEDIA = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
} as const;

/** What a GET/HEAD of a manifest accepts: every single-image and index type we read. */
export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest].join(", ");

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly "os.version"?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly platform?: Platform;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly urls?: readonly string[];
}

export interface ImageManifest {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageIndex {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly manifests: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The parts of an image config a transfer reads. */
export interface ImageConfigLike {
  readonly architecture?: string;
  readonly os?: string;
  readonly variant?: string;
  readonly rootfs?: { readonly type: string; readonly diff_ids: readonly string[] };
}

export function isIndexMediaType(mt: string): boolean {
  return mt === MEDIA.ociIndex || mt === MEDIA.dockerList;
}

export function isManifestMediaType(mt: string): boolean {
  return mt === MEDIA.ociManifest || mt === MEDIA.dockerManifest;
}

export type LayerCompression = "gzip" | "zstd" | "none";

/** How a layer media type is compressed, or undefined for a type we do not know. */
export function layerCompression(mt: string): LayerCompression | undefined {
  if (mt === MEDIA.ociLayerGzip || mt === MEDIA.dockerLayerGzip || mt === MEDIA.dockerForeignLayerGzip) return "gzip";
  if (mt === MEDIA.ociLayerZstd) return "zstd";
  if (mt === MEDIA.ociLayer || mt === "application/vnd.docker.image.rootfs.diff.tar") return "none";
  return undefined;
}

/** `linux/amd64`, `linux/arm64/v8` → Platform. */
export function parsePlatform(s: string): Platform {
  const [os, architecture, variant] = s.split("/");
  if (!os || !architecture) throw new Error(`invalid platform ${JSON.stringify(s)}: expected os/arch[/variant]`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

/** Node's process.arch → the OCI architecture name. */
export function ociArch(nodeArch: string): string {
  return ({ x64: "amd64", ia32: "386", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" } as Record<string, string>)[nodeArch] ?? nodeArch;
}

/**
 * Pick the manifest for `want` from an index, as containerd's platform matcher does:
 * exact os/arch, then variant (arm64 without a variant matches v8), first match wins.
 */
export function selectPlatform(index: ImageIndex, want: Platform): Descriptor | undefined {
  const normVariant = (p: Platform) => (p.architecture === "arm64" && (p.variant === undefined || p.variant === "v8") ? "v8" : p.variant);
  const candidates = index.manifests.filter((d) => d.platform && d.platform.os === want.os && d.platform.architecture === want.architecture);
  if (want.variant === undefined && want.architecture !== "arm64") return candidates[0];
  return candidates.find((d) => normVariant(d.platform!) === normVariant(want)) ?? (want.variant === undefined ? candidates[0] : undefined);
}
