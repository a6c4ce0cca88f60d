// Which gzip blob in which registry repository holds a layer (containers/image's blob-info
// cache). Pull records what it verified (compressed digest and diff ID); push asks the
// registry for those blobs (HEAD, cross-repository mount) before gzipping a layer itself,
// so pushing a pulled image compresses nothing and sends only what the registry lacks.
// One small JSON list per layer, newest first; a missing or unreadable file counts as empty
// (these are hints, never trusted without the registry's answer).
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { digestHex, isDigest, type Digest } from "../util/index.js";
import { writeFileAtomic } from "../store/index.js";
import type { KnownBlob } from "./store-port.js";

/** Locations kept per layer: enough for a few registries and mirrors. */
const KEEP = 8;

export class BlobInfoCache {
  /** `dir` holds the lists; `tmpDir` is on the same file system, for atomic replaces. */
  constructor(
    private readonly dir: string,
    private readonly tmpDir: string,
  ) {}

  async known(diffId: Digest): Promise<KnownBlob[]> {
    let text: string;
    try {
      text = await readFile(this.path(diffId), "utf8");
    } catch {
      return [];
    }
    try {
      const list = JSON.parse(text) as unknown;
      return Array.isArray(list) ? list.filter(isKnownBlob) : [];
    } catch {
      return [];
    }
  }

  async remember(diffId: Digest, blob: KnownBlob): Promise<void> {
    const same = (k: KnownBlob) => k.digest === blob.digest && k.registry === blob.registry && k.repository === blob.repository;
    const rest = (await this.known(diffId)).filter((k) => !same(k));
    const entry: KnownBlob = { digest: blob.digest, size: blob.size, registry: blob.registry, repository: blob.repository };
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.tmpDir, this.path(diffId), JSON.stringify([entry, ...rest].slice(0, KEEP)));
  }

  private path(diffId: Digest): string {
    return join(this.dir, digestHex(diffId));
  }
}

function isKnownBlob(v: unknown): v is KnownBlob {
  const k = v as Partial<KnownBlob> | null;
  return typeof k === "object" && k !== null && typeof k.digest === "string" && isDigest(k.digest) && Number.isSafeInteger(k.size) && k.size! >= 0 && typeof k.registry === "string" && typeof k.repository === "string";
}
