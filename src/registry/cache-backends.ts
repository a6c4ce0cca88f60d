// Where an exported build cache lives (cache.ts defines what it is): a tag in a registry
// repository, or an OCI image layout folder on disk (CI caches kept as folders). Both hold
// the same manifest, config blob and layer blobs; reads are verified against their digests.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { TbuildError, digestHex, isDigest, sha256Digest, type Digest } from "../util/index.js";
import { Annotation, MediaType, parseReference } from "../image/index.js";
import { RegistryClient, type RegistryClientOptions } from "./client.js";
import { loadStore } from "./store-module.js";

/** A descriptor as the cache needs it. */
export interface BlobRef {
  readonly digest: Digest;
  readonly size: number;
}

/**
 * One place a cache is read from or written to. Reads MUST verify digests (a blob whose
 * bytes differ throws E_REGISTRY_DIGEST before its iterator ends), unless the caller says
 * it hashes them itself. putManifest MUST be the last write, so a reader never sees a
 * manifest whose blobs are missing.
 */
export interface CacheBackend {
  /** For messages: `127.0.0.1:5000/app:cache`, `local cache /ci/cache`. */
  readonly name: string;
  /** The registry repository a registry cache is in (recorded with its layers: push hints). */
  readonly location?: { readonly registry: string; readonly repository: string };
  /** The manifest bytes, or undefined when there is no cache there yet. */
  readManifest(): Promise<Uint8Array | undefined>;
  /**
   * A blob's bytes. With `verifiedBy: "consumer"` only its size is checked here: the
   * consumer MUST hash the bytes itself and keep nothing that differs (the store's writer does).
   */
  openBlob(blob: BlobRef, opts?: { readonly verifiedBy?: "consumer" }): AsyncIterable<Uint8Array>;
  /** Make the blob exist; `body` is called (maybe more than once) only when it is missing. */
  putBlob(blob: BlobRef, body: () => AsyncIterable<Uint8Array>): Promise<"exists" | "uploaded">;
  putManifest(bytes: Uint8Array): Promise<Digest>;
}

/** A cache at `REGISTRY/REPO:TAG` (tag default `latest`, as buildx's `ref=`). */
export function registryBackend(refText: string, opts: Omit<RegistryClientOptions, "registry">): CacheBackend {
  const ref = parseReference(refText);
  const client = new RegistryClient({ ...opts, registry: ref.domain });
  const tag = ref.digest ?? ref.tag ?? "latest";
  const name = `${ref.domain}/${ref.path}${ref.digest ? "@" : ":"}${tag}`;
  return {
    name,
    location: { registry: ref.domain, repository: ref.path },
    readManifest: async () => {
      const head = await client.headManifest(ref.path, tag);
      if (!head) return undefined;
      return (await client.getManifest(ref.path, tag, MediaType.OCI_MANIFEST)).bytes;
    },
    openBlob: (b, o) => client.openBlob(ref.path, b.digest, b.size, o),
    putBlob: async (b, body) => ((await client.uploadBlob(ref.path, b.digest, b.size, body)) === "exists" ? "exists" : "uploaded"),
    putManifest: async (bytes) => {
      if (ref.digest) throw new TbuildError("E_USAGE", `cannot export a cache to a digest reference: ${name}`, { hint: "give a tag, e.g. ref=REGISTRY/REPO:cache" });
      return client.putManifest(ref.path, tag, bytes, MediaType.OCI_MANIFEST);
    },
  };
}

/**
 * A cache kept as an OCI image layout folder (`oci-layout`, `index.json`, `blobs/sha256`),
 * its manifest named by `tag` in index.json (`org.opencontainers.image.ref.name`). Writes
 * are temp file → verify → rename; index.json is replaced last, and blobs no manifest of
 * the folder uses any more are then removed, so a CI cache folder does not grow forever.
 */
export function localBackend(dir: string, tag = "latest"): CacheBackend {
  const blobPath = (d: Digest) => join(dir, "blobs", "sha256", digestHex(d));
  const tmpDir = join(dir, "blobs", ".tmp");
  const name = `local cache ${dir}`;
  return {
    name,
    readManifest: async () => {
      const index = await readLayoutIndex(dir);
      const entry = index?.manifests.find((m) => m.annotations?.[Annotation.REF_NAME] === tag);
      if (!entry) return undefined;
      return readVerified(blobPath(entry.digest), entry.digest, `${name}: manifest`);
    },
    openBlob: (b, o) => verifyStream(createReadStream(blobPath(b.digest), { highWaterMark: 1 << 20 }), b, `${name}: blob ${b.digest}`, o?.verifiedBy !== "consumer"),
    putBlob: async (b, body) => {
      const dest = blobPath(b.digest);
      const st = await stat(dest).catch(() => undefined);
      if (st?.size === b.size) return "exists";
      await mkdir(tmpDir, { recursive: true });
      const tmp = join(tmpDir, (await loadStore()).tempName());
      const fh = await open(tmp, "wx");
      try {
        for await (const c of verifyStream(body(), b, `blob ${b.digest}`)) await fh.write(c);
        await fh.sync();
        await fh.close();
        await mkdir(dirname(dest), { recursive: true });
        await rename(tmp, dest);
      } catch (e) {
        await fh.close().catch(() => undefined);
        await rm(tmp, { force: true });
        throw e;
      }
      return "uploaded";
    },
    putManifest: async (bytes) => {
      const digest = sha256Digest(bytes);
      const { writeFileAtomic } = await loadStore();
      await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
      await mkdir(tmpDir, { recursive: true });
      await writeFileAtomic(tmpDir, blobPath(digest), bytes);
      await writeFileAtomic(tmpDir, join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
      const old = (await readLayoutIndex(dir))?.manifests ?? [];
      const manifests = [
        ...old.filter((m) => m.annotations?.[Annotation.REF_NAME] !== tag),
        { mediaType: MediaType.OCI_MANIFEST, digest, size: bytes.byteLength, annotations: { [Annotation.REF_NAME]: tag } },
      ];
      await writeFileAtomic(tmpDir, join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests }));
      await removeUnused(dir, manifests.map((m) => m.digest));
      return digest;
    },
  };
}

interface LayoutIndex {
  manifests: { mediaType: string; digest: Digest; size: number; annotations?: Record<string, string> }[];
}

async function readLayoutIndex(dir: string): Promise<LayoutIndex | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, "index.json"), "utf8");
  } catch {
    return undefined;
  }
  try {
    const j = JSON.parse(text) as Partial<LayoutIndex>;
    return { manifests: (j.manifests ?? []).filter((m) => isDigest(m.digest)) };
  } catch (e) {
    throw new TbuildError("E_IO", `${dir}/index.json is not valid JSON`, { cause: e, hint: "remove the folder to start a fresh cache" });
  }
}

/** Blobs used by the manifests still named in index.json: the manifests, configs and layers. */
async function removeUnused(dir: string, manifests: readonly Digest[]): Promise<void> {
  const keep = new Set<string>();
  for (const d of manifests) {
    keep.add(digestHex(d));
    try {
      const m = JSON.parse(await readFile(join(dir, "blobs", "sha256", digestHex(d)), "utf8")) as { config?: BlobRef; layers?: BlobRef[] };
      for (const b of [m.config, ...(m.layers ?? [])]) if (b && isDigest(b.digest)) keep.add(digestHex(b.digest));
    } catch {
      return; // cannot tell what is used: keep everything
    }
  }
  for (const name of await readdir(join(dir, "blobs", "sha256")).catch(() => [] as string[])) {
    if (/^[a-f0-9]{64}$/.test(name) && !keep.has(name)) await rm(join(dir, "blobs", "sha256", name), { force: true });
  }
}

async function readVerified(path: string, digest: Digest, what: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of verifyStream(createReadStream(path), { digest, size: -1 }, what)) parts.push(c);
  return Buffer.concat(parts);
}

/**
 * Pass bytes through; throw E_REGISTRY_DIGEST at the end when size (unless -1) or, with
 * `hashing` (the default), digest differ.
 */
async function* verifyStream(src: AsyncIterable<Uint8Array>, want: BlobRef, what: string, hashing = true): AsyncGenerator<Uint8Array> {
  const hash = hashing ? createHash("sha256") : undefined;
  let n = 0;
  try {
    for await (const c of src) {
      n += c.byteLength;
      hash?.update(c);
      yield c;
    }
  } catch (e) {
    if (e instanceof TbuildError) throw e;
    throw new TbuildError("E_IO", `${what}: ${(e as Error).message}`, { cause: e });
  }
  const got = hash ? `sha256:${hash.digest("hex")}` : want.digest;
  if ((want.size >= 0 && n !== want.size) || got !== want.digest) {
    throw new TbuildError("E_REGISTRY_DIGEST", `${what} does not match its ${got !== want.digest ? `digest (got ${got}, ${n} bytes)` : `size (${n} bytes, expected ${want.size})`}`, { hint: "the cache is damaged; export it again" });
  }
}
