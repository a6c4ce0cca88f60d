// Writes images as a tar archive, as a transport destination. Both formats put every blob
// at `blobs/sha256/<hex>`, as Docker 25+ does:
// - docker: plus `manifest.json` and `repositories` (what `docker load`/`podman load` read);
// - oci: plus `oci-layout` and `index.json` (an OCI image layout; layers optionally gzipped).
// The archive is a stream (`.stream`), piped by the caller to a file or stdout; blobs are
// written as they arrive, the small index files last, as skopeo does.
import tar from "tar-stream";
import { TbuildError, canonicalJson, digestHex, type Digest } from "../../util/index.js";
import { buildManifest } from "../manifest.js";
import { Annotation, MediaType } from "../media-types.js";
import { familiarRepository, formatReference, parseReference } from "../reference.js";
import type { BlobExpectation, BlobInfo, ImageDestination, TransferImage } from "../transport.js";
import type { Descriptor, DockerArchiveManifestEntry } from "../types.js";
import { copyOf, eachPiece, isPushed, type PushedBytes } from "../pushed.js";
import { hashBytes, type ArchiveCodecDeps } from "./deps.js";

export interface ArchiveWriterOptions {
  readonly format: "docker" | "oci";
  /** Compressed layers (oci format only): a layer arriving compressed (gzip, or a pulled zstd one) as it is, a plain one gzipped by the source. */
  readonly compress?: boolean;
  /** Entry modification time (default the epoch: archives are reproducible). */
  readonly mtime?: Date;
}

const encoder = new TextEncoder();

export class ArchiveDestination implements ImageDestination {
  readonly wantsCompressedLayers: boolean;
  /** The archive bytes. The caller MUST consume it while the copy runs. */
  readonly stream: tar.Pack;
  private readonly written = new Set<Digest>();
  private readonly images: TransferImage[] = [];
  private readonly mtime: Date;

  constructor(
    private readonly deps: ArchiveCodecDeps,
    private readonly opts: ArchiveWriterOptions,
  ) {
    this.wantsCompressedLayers = opts.format === "oci" && opts.compress === true;
    this.stream = tar.pack();
    this.mtime = opts.mtime ?? new Date(0);
  }

  async hasBlob(digest: Digest): Promise<boolean> {
    return this.written.has(digest);
  }

  private entry(name: string, size: number): ReturnType<tar.Pack["entry"]> & { done: Promise<void> } {
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const sink = this.stream.entry({ name, size, mode: 0o644, mtime: this.mtime, uid: 0, gid: 0 }, (err) => (err ? reject(err) : resolve()));
    return Object.assign(sink, { done });
  }

  private async writeBytes(name: string, bytes: Uint8Array): Promise<void> {
    const e = this.entry(name, bytes.length);
    e.end(bytes);
    await e.done;
  }

  /** Write a blob entry. `expect.size` and `expect.digest` are required (tar headers need the size). */
  async putBlob(data: AsyncIterable<Uint8Array> | PushedBytes, expect: BlobExpectation = {}): Promise<BlobInfo> {
    const { digest, size } = expect;
    if (digest === undefined || size === undefined) throw new TbuildError("E_INTERNAL", "archive writer needs each blob's digest and size up front");
    if (this.written.has(digest)) {
      await eachPiece(data, () => undefined);
      return { digest, size };
    }
    const e = this.entry(`blobs/sha256/${digestHex(digest)}`, size);
    let n = 0;
    // The tar stream keeps what it is given: a pushed piece (reused after the sink) is copied.
    const reused = isPushed(data);
    await eachPiece(data, (chunk) => {
      n += chunk.length;
      if (n > size) return undefined;
      if (!e.write(reused ? copyOf(chunk) : chunk)) return new Promise<void>((r) => e.once("drain", () => r()));
    });
    if (n !== size) {
      const err = new TbuildError("E_STORE_CORRUPT", `${expect.label ?? digest}: size changed while saving (expected ${size} bytes, read ${n})`);
      e.destroy(err);
      throw err;
    }
    e.end(undefined);
    await e.done;
    this.written.add(digest);
    return { digest, size };
  }

  async putImage(image: TransferImage): Promise<void> {
    if (!this.written.has(image.configDigest)) {
      await this.writeBytes(`blobs/sha256/${digestHex(image.configDigest)}`, image.configBytes);
      this.written.add(image.configDigest);
    }
    this.images.push(image);
  }

  async commit(): Promise<void> {
    if (this.opts.format === "docker") await this.commitDocker();
    else await this.commitOci();
    this.stream.finalize();
  }

  async abort(): Promise<void> {
    this.stream.destroy(new TbuildError("E_INTERRUPTED", "archive writing aborted"));
  }

  private async commitDocker(): Promise<void> {
    const manifest: DockerArchiveManifestEntry[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const img of this.images) {
      const tags = img.tags.map((t) => parseReference(t));
      manifest.push({
        Config: `blobs/sha256/${digestHex(img.configDigest)}`,
        // Full names: `podman load` maps a short `busybox:test` to localhost/; docker accepts both.
        RepoTags: tags.map((r) => formatReference(r)),
        Layers: img.layers.map((l) => `blobs/sha256/${digestHex(l.diffId)}`),
      });
      const top = img.layers.at(-1);
      for (const r of tags) {
        if (r.tag === undefined || !top) continue;
        (repositories[familiarRepository(r)] ??= {})[r.tag] = digestHex(top.diffId);
      }
    }
    await this.writeBytes("manifest.json", encoder.encode(JSON.stringify(manifest)));
    await this.writeBytes("repositories", encoder.encode(JSON.stringify(repositories)));
  }

  private async commitOci(): Promise<void> {
    const entries: Descriptor[] = [];
    for (const img of this.images) {
      const m = buildManifest({ digest: img.configDigest, size: img.configBytes.length }, img.layers);
      if (hashBytes(this.deps, m.bytes) !== m.descriptor.digest) throw new TbuildError("E_INTERNAL", "manifest digest mismatch");
      if (!this.written.has(m.descriptor.digest)) {
        await this.writeBytes(`blobs/sha256/${digestHex(m.descriptor.digest)}`, m.bytes);
        this.written.add(m.descriptor.digest);
      }
      const platform = { architecture: img.config.architecture, os: img.config.os };
      if (img.tags.length === 0) entries.push({ ...m.descriptor, platform });
      for (const t of img.tags) entries.push({ ...m.descriptor, platform, annotations: { [Annotation.CONTAINERD_IMAGE_NAME]: t, [Annotation.REF_NAME]: t } });
    }
    await this.writeBytes("oci-layout", encoder.encode(JSON.stringify({ imageLayoutVersion: MediaType.OCI_LAYOUT_VERSION })));
    await this.writeBytes("index.json", encoder.encode(canonicalJson({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: entries })));
  }
}
