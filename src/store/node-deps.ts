// The node implementations of what the archive codecs need: node:crypto SHA-256 (about
// 1.7 GB/s here, vs 0.13 GB/s for @noble/hashes) and node:zlib gunzip.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import type { Digest } from "../util/index.js";
import type { ArchiveCodecDeps } from "../image/archive/index.js";

export const nodeArchiveDeps: ArchiveCodecDeps = {
  createHash() {
    const h = createHash("sha256");
    return {
      update: (b) => void h.update(b),
      digest: () => `sha256:${h.digest("hex")}` as Digest,
    };
  },
  gunzip(src) {
    const gz = createGunzip({ chunkSize: 1 << 20 });
    Readable.from(src, { objectMode: false }).on("error", (e) => gz.destroy(e)).pipe(gz);
    return gz;
  },
};
