// A small on-disk OCI layout implementing the registry's TransferStore port, for the
// registry suites until src/store's Store is adapted (kept separate from src/store so the
// registry tests do not depend on it). Blobs: temp file → verify → rename.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { LocalImage, TransferStore, StoredBlob } from "../../../src/registry/index.js";
import type { Digest } from "../../../src/util/index.js";

interface IndexEntry {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
}

export class FakeStore implements TransferStore {
  readonly puts: Digest[] = [];
  constructor(readonly dir: string) {}

  async init(): Promise<this> {
    await mkdir(join(this.dir, "blobs/sha256"), { recursive: true });
    await mkdir(join(this.dir, "tmp"), { recursive: true });
    await writeFile(join(this.dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    try {
      await stat(join(this.dir, "index.json"));
    } catch {
      await writeFile(join(this.dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [] }));
    }
    return this;
  }

  path(d: Digest): string {
    return join(this.dir, "blobs/sha256", d.slice(7));
  }

  async hasBlob(d: Digest): Promise<boolean> {
    try {
      await stat(this.path(d));
      return true;
    } catch {
      return false;
    }
  }

  openBlob(d: Digest): AsyncIterable<Uint8Array> {
    return createReadStream(this.path(d));
  }

  async readBlob(d: Digest): Promise<Uint8Array> {
    return await readFile(this.path(d));
  }

  async putBlob(source: AsyncIterable<Uint8Array>, expected?: Digest): Promise<StoredBlob> {
    const tmp = join(this.dir, "tmp", Math.random().toString(36).slice(2));
    const fh = await open(tmp, "w");
    const hash = createHash("sha256");
    let size = 0;
    try {
      for await (const c of source) {
        hash.update(c);
        size += c.byteLength;
        await fh.write(c);
      }
      await fh.close();
      const digest = `sha256:${hash.digest("hex")}` as Digest;
      if (expected && digest !== expected) throw new Error(`digest mismatch: ${digest} != ${expected}`);
      await rename(tmp, this.path(digest));
      this.puts.push(digest);
      return { digest, size };
    } catch (e) {
      await fh.close().catch(() => {});
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async index(): Promise<IndexEntry[]> {
    return (JSON.parse(await readFile(join(this.dir, "index.json"), "utf8")) as { manifests: IndexEntry[] }).manifests;
  }

  async tagManifest(m: StoredBlob & { mediaType: string }, refs: readonly string[]): Promise<void> {
    let entries = await this.index();
    entries = entries.filter((e) => !refs.includes(e.annotations?.["org.opencontainers.image.ref.name"] ?? ""));
    for (const r of refs) entries.push({ mediaType: m.mediaType, digest: m.digest, size: m.size, annotations: { "org.opencontainers.image.ref.name": r } });
    const tmp = join(this.dir, "tmp", "index.json");
    await writeFile(tmp, JSON.stringify({ schemaVersion: 2, manifests: entries }));
    await rename(tmp, join(this.dir, "index.json"));
  }

  async resolveManifest(ref: string) {
    const e = (await this.index()).find((x) => x.annotations?.["org.opencontainers.image.ref.name"] === ref);
    return e ? { digest: e.digest, size: e.size, mediaType: e.mediaType } : undefined;
  }

  async putImage(img: { configBytes: Uint8Array; layers: readonly { diffId: Digest; size: number }[]; tags: readonly string[] }): Promise<{ manifestDigest: Digest }> {
    const c = await this.putBlob((async function* () { yield img.configBytes; })());
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: c.digest, size: c.size }, layers: img.layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: l.diffId, size: l.size })) }));
    const m = await this.putBlob((async function* () { yield manifest; })());
    await this.tagManifest({ ...m, mediaType: "application/vnd.oci.image.manifest.v1+json" }, img.tags);
    return { manifestDigest: m.digest };
  }

  async resolveImage(ref: string): Promise<LocalImage | undefined> {
    const d = await this.resolveManifest(ref);
    if (!d) return undefined;
    const m = JSON.parse(Buffer.from(await this.readBlob(d.digest)).toString()) as { config: { digest: Digest; size: number }; layers: { digest: Digest; size: number; mediaType: string }[] };
    return { manifestDigest: d.digest, imageId: m.config.digest, configSize: m.config.size, layers: m.layers };
  }

  /** Files left in tmp/ and blobs whose content does not match their name. */
  async check(): Promise<{ temps: string[]; bad: string[]; blobs: string[] }> {
    const temps = await readdir(join(this.dir, "tmp"));
    const blobs = await readdir(join(this.dir, "blobs/sha256"));
    const bad: string[] = [];
    for (const b of blobs) {
      const h = createHash("sha256").update(await readFile(join(this.dir, "blobs/sha256", b))).digest("hex");
      if (h !== b) bad.push(b);
    }
    return { temps, bad, blobs };
  }
}
