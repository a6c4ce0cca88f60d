// The node implementations of what the archive codecs need: node:crypto SHA-256 (about
// 1.7 GB/s here, vs 0.13 GB/s for @noble/hashes), the store's gunzip (node:zlib) and its zstd reader.
import { createHash } from "node:crypto";
import type { Digest } from "../util/index.js";
import type { ArchiveCodecDeps } from "../image/archive/index.js";
import { gunzip } from "./layer-records.js";
import { unzstd } from "./zstd.js";

export const nodeArchiveDeps: ArchiveCodecDeps = {
  createHash() {
    const h = createHash("sha256");
    return {
      update: (b) => void h.update(b),
      digest: () => `sha256:${h.digest("hex")}` as Digest,
    };
  },
  // zlib's errors as they are: the codecs say where in the archive the stream broke.
  gunzip: (src) => gunzip(src),
  unzstd: (src) => unzstd(src),
};
