// `tbuild import`: a root file system tar (plain or gzipped) becomes a one-layer image, as
// a transport source. The layer is stored uncompressed; the config gets a history entry.
import { TbuildError } from "../../util/index.js";
import { buildConfig } from "../manifest.js";
import type { ImageDestination, ImageSource, TransferImage } from "../transport.js";
import type { ContainerConfig, Platform } from "../types.js";
import { maybeGunzip, prepend, type ArchiveCodecDeps } from "./deps.js";

export interface ImportOptions {
  readonly platform: Platform;
  /** RFC 3339 creation time. */
  readonly created: string;
  readonly config?: ContainerConfig;
  readonly tags?: readonly string[];
  /** History comment, e.g. `Imported from rootfs.tar`. */
  readonly comment?: string;
}

/** True when a 512-byte block looks like a tar header (ustar/gnu magic, or the all-zero end block). */
function looksLikeTar(b: Uint8Array): boolean {
  if (b.length < 512) return false;
  const magic = String.fromCharCode(...b.subarray(257, 262));
  return magic === "ustar" || b.subarray(0, 512).every((x) => x === 0);
}

export class ImportSource implements ImageSource {
  constructor(
    private readonly input: AsyncIterable<Uint8Array>,
    private readonly deps: ArchiveCodecDeps,
    private readonly opts: ImportOptions,
  ) {}

  async copyTo(dest: ImageDestination): Promise<readonly TransferImage[]> {
    const { stream } = await maybeGunzip(this.input, this.deps);
    // Check the first block is a tar header before storing anything.
    const it = stream[Symbol.asyncIterator]();
    let head = new Uint8Array(0);
    while (head.length < 512) {
      const r = await it.next();
      if (r.done) break;
      const n = new Uint8Array(head.length + r.value.length);
      n.set(head);
      n.set(r.value, head.length);
      head = n;
    }
    if (!looksLikeTar(head)) throw new TbuildError("E_ARCHIVE_INVALID", "the input is not a tar archive (no ustar header in its first block)", { hint: "import takes a root file system as a tar, optionally gzipped" });
    const layer = await dest.putBlob(prepend(head, it), { label: "imported layer" });
    const comment = this.opts.comment ?? "Imported";
    const config = buildConfig({
      platform: this.opts.platform,
      created: this.opts.created,
      config: this.opts.config ?? {},
      diffIds: [layer.digest],
      history: [{ created: this.opts.created, created_by: "tbuild import", comment }],
    });
    const img: TransferImage = { configDigest: config.descriptor.digest, configBytes: config.bytes, config: config.value, layers: [{ diffId: layer.digest, size: layer.size }], tags: [...(this.opts.tags ?? [])] };
    await dest.putImage(img);
    return [img];
  }
}
