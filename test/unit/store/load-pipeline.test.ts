// The load pipeline's blob writer and staging destination, in-process against a temp root:
// large blobs hashed by the external program give node:crypto's digest, a background
// fsync is awaited before anything is renamed, and an interrupted or failed load leaves
// neither a blob nor a temporary file behind.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { buildConfig, eachPiece, type ImageDestination, type RandomAccessInput } from "../../../src/image/index.js";
import { ArchiveSource } from "../../../src/image/archive/index.js";
import { Store, StoreDestination, copyImages, nodeArchiveDeps } from "../../../src/store/index.js";
import { writeTemp } from "../../../src/store/blobs.js";
import { OFFLOAD_MIN, createBlobHasher, hashFile } from "../../../src/store/sha256-stream.js";
import { buildTar } from "../../helpers/tar-builder.js";
import { tempDirs } from "../../helpers/temp-dirs.js";

const tmp = tempDirs();

const root = () => tmp("unit-load");
const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

async function* chunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let o = 0; o < bytes.length; o += size) yield bytes.subarray(o, o + size);
}

/** A docker-archive of one image whose single layer is `layer`. */
function dockerArchive(layer: Buffer): { archive: Buffer; layerDigest: string } {
  const layerDigest = sha(layer);
  const config = Buffer.from(buildConfig({ platform: { os: "linux", architecture: "amd64" }, diffIds: [layerDigest as `sha256:${string}`] }).bytes);
  const configName = `blobs/sha256/${sha(config).slice(7)}`;
  const layerName = `blobs/sha256/${layerDigest.slice(7)}`;
  const manifest = JSON.stringify([{ Config: configName, RepoTags: ["docker.io/library/big:1"], Layers: [layerName] }]);
  return { archive: buildTar([{ name: layerName, content: layer }, { name: configName, content: config }, { name: "manifest.json", content: manifest }]), layerDigest };
}

describe("blob hashing", () => {
  it("the program hasher and node:crypto agree, however the bytes are split", async () => {
    const data = randomBytes(OFFLOAD_MIN + 12345);
    for (const split of [1 << 20, 4 << 20, 777_777]) {
      const h = createBlobHasher(data.length);
      for await (const c of chunks(data, split)) await h.update(c);
      expect(await h.digest()).toBe(sha(data));
    }
    const small = createBlobHasher(10);
    small.update(data.subarray(0, 10));
    expect(await small.digest()).toBe(sha(data.subarray(0, 10)));
  });

  it("writeTemp verifies a large stream and, on a digest mismatch, removes its temp file", async () => {
    const dir = root();
    const data = randomBytes(OFFLOAD_MIN * 2);
    const ok = await writeTemp(dir, chunks(data, 1 << 20), { size: data.length, digest: sha(data) as `sha256:${string}` });
    expect(ok.digest).toBe(sha(data));
    expect(readFileSync(ok.path).equals(data)).toBe(true);
    const wrong = sha(Buffer.from("other")) as `sha256:${string}`;
    await expect(writeTemp(dir, chunks(data, 1 << 20), { size: data.length, digest: wrong, label: "layer 1" })).rejects.toThrow(/layer 1: digest mismatch/);
    expect(readdirSync(dir)).toEqual([ok.path.split("/").pop()]);
  });

  it('sync: "background" returns before the fsync and settles `synced` once the file is durable and closed', async () => {
    const dir = root();
    const data = randomBytes(3 << 20);
    const t = await writeTemp(dir, chunks(data, 1 << 20), { size: data.length }, { sync: "background" });
    expect(t.synced).toBeInstanceOf(Promise);
    await t.synced;
    expect(statSync(t.path).size).toBe(data.length);
    expect(await hashFile(t.path)).toBe(sha(data));
    const plain = await writeTemp(dir, data);
    expect(plain.synced).toBeUndefined();
  });
});

describe("an interrupted load", () => {
  it("stopped mid-blob by its abort signal leaves no blob and no temporary file", async () => {
    const s = await Store.open(root());
    const { archive, layerDigest } = dockerArchive(randomBytes(24 << 20));
    const ac = new AbortController();
    let fed = 0;
    async function* input(): AsyncGenerator<Uint8Array> {
      for await (const c of chunks(archive, 1 << 20)) {
        fed += c.length;
        if (fed > 10 << 20) ac.abort(new Error("stop"));
        yield c;
      }
    }
    const dest = new StoreDestination(s);
    await expect(copyImages(new ArchiveSource(input(), nodeArchiveDeps), dest, ac.signal)).rejects.toThrow("stop");
    expect(fed).toBeLessThan(archive.length); // it stopped inside the layer, not at its end
    expect(existsSync(s.blobPath(layerDigest as `sha256:${string}`))).toBe(false);
    expect(readdirSync(s.paths.sha256)).toEqual([]);
    expect(readdirSync(s.paths.tmp)).toEqual([]);
  });

  it("by a failed put stops a gzip entry in flight mid-way, not at its end", async () => {
    const gz = gzipSync(randomBytes(16 << 20), { level: 1 });
    const archive = buildTar([{ name: "a/layer.tar", content: gz }, { name: "b/layer.tar", content: randomBytes(2 << 20) }]);
    let read = 0;
    const input: RandomAccessInput = {
      size: archive.length,
      async read(buf, position) {
        await new Promise((r) => setImmediate(r));
        const n = archive.copy(buf, 0, position, Math.min(position + buf.length, archive.length));
        read += n;
        return n;
      },
    };
    const dest: ImageDestination = {
      wantsCompressedLayers: false,
      hasBlob: async () => false,
      async putBlob(data) {
        let size = 0;
        await eachPiece(data, (c) => void (size += c.length));
        return { digest: sha(Buffer.alloc(0)) as `sha256:${string}`, size };
      },
      putBlobRange: async () => {
        throw new Error("disk full");
      },
      putImage: async () => undefined,
      commit: async () => undefined,
      abort: async () => undefined,
    };
    await expect(new ArchiveSource(input, nodeArchiveDeps).copyTo(dest)).rejects.toThrow("disk full");
    expect(read).toBeLessThan(gz.length / 2);
  });

  it("refuses a manifest.json whose tar header claims 3 GiB, before allocating it (streamed; from a file, as truncated)", async () => {
    // One ustar header with a valid checksum and a hostile size, and a few bytes of body.
    const header = Buffer.alloc(512);
    header.write("manifest.json", 0, "latin1");
    header.write("0000644\0", 100, "latin1");
    header.write("0000000\0", 108, "latin1");
    header.write("0000000\0", 116, "latin1");
    header.write(`${(3 * 1024 ** 3).toString(8).padStart(11, "0")}\0`, 124, "latin1");
    header.write("00000000000\0", 136, "latin1");
    header.write("0", 156, "latin1");
    header.write("ustar\x0000", 257, "latin1");
    header.fill(" ", 148, 156);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    const hostile = Buffer.concat([header, Buffer.alloc(1024, 0x7b)]);
    const s = await Store.open(root());
    await expect(copyImages(new ArchiveSource(chunks(hostile, 700), nodeArchiveDeps), new StoreDestination(s))).rejects.toMatchObject({ code: "E_ARCHIVE_INVALID", message: expect.stringContaining("manifest.json is 3221225472 bytes") });
    const file = join(root(), "hostile.tar");
    writeFileSync(file, hostile);
    const fh = await open(file);
    try {
      const input: RandomAccessInput = { size: hostile.length, read: async (buf, at) => (await fh.read(buf, 0, buf.length, at)).bytesRead };
      // From a file the header is checked against the file's size first: refused as truncated.
      await expect(copyImages(new ArchiveSource(input, nodeArchiveDeps), new StoreDestination(s))).rejects.toMatchObject({ code: "E_ARCHIVE_INVALID", message: expect.stringContaining("manifest.json") });
    } finally {
      await fh.close();
    }
  });

  it("cut short by a truncated archive leaves no blob and no temporary file, then a full load commits", async () => {
    const s = await Store.open(root());
    const { archive, layerDigest } = dockerArchive(randomBytes(12 << 20));
    await expect(copyImages(new ArchiveSource(chunks(archive.subarray(0, 9 << 20), 1 << 20), nodeArchiveDeps), new StoreDestination(s))).rejects.toMatchObject({ code: "E_ARCHIVE_INVALID" });
    expect(readdirSync(s.paths.sha256)).toEqual([]);
    expect(readdirSync(s.paths.tmp)).toEqual([]);
    const dest = new StoreDestination(s);
    await copyImages(new ArchiveSource(chunks(archive, 1 << 20), nodeArchiveDeps), dest);
    expect(existsSync(s.blobPath(layerDigest as `sha256:${string}`))).toBe(true);
    expect((await s.resolve("big:1")).layers[0]!.digest).toBe(layerDigest);
    expect(readdirSync(s.paths.tmp)).toEqual([]);
    expect(dest.timings.syncWaitMs).toBeGreaterThanOrEqual(0);
  });
});

describe("an archive with two entries of one name", () => {
  /** A docker-archive whose layer `layer.tar` is written once per item of `copies`; the config names `wanted`. */
  function archiveOf(copies: Buffer[], wanted: Buffer): Buffer {
    const config = Buffer.from(buildConfig({ platform: { os: "linux", architecture: "amd64" }, diffIds: [sha(wanted) as `sha256:${string}`] }).bytes);
    const manifest = JSON.stringify([{ Config: "config.json", RepoTags: ["docker.io/library/twice:1"], Layers: ["layer.tar"] }]);
    return buildTar([...copies.map((content) => ({ name: "layer.tar", content })), { name: "config.json", content: config }, { name: "manifest.json", content: manifest }]);
  }
  /** Load `archive` from a file, as `tbuild load -i` does (large ranges are copied on worker threads). */
  async function loadedLayer(archive: Buffer): Promise<string> {
    const dir = root();
    const path = join(dir, "archive.tar");
    writeFileSync(path, archive);
    const file = await open(path, "r");
    try {
      const input: RandomAccessInput = { size: archive.length, fd: file.fd, read: async (buf, position) => (await file.read(buf, 0, buf.length, position)).bytesRead };
      const s = await Store.open(join(dir, "store"));
      await copyImages(new ArchiveSource(input, nodeArchiveDeps), new StoreDestination(s));
      return (await s.resolve("twice:1")).layers[0]!.digest;
    } finally {
      await file.close();
    }
  }

  it("the later of two large ones wins, though the earlier (3x larger) one ends last", async () => {
    const later = randomBytes(8 << 20);
    expect(await loadedLayer(archiveOf([randomBytes(24 << 20), later], later))).toBe(sha(later));
  });

  it("a later small one (kept in memory) wins over a large one still being copied", async () => {
    const later = randomBytes(1000);
    expect(await loadedLayer(archiveOf([randomBytes(9 << 20), later], later))).toBe(sha(later));
  });
});

describe("ranges announced to the destination (it boots worker threads for them)", () => {
  /** The sizes an archive's source announces through expectRanges, or undefined when it announces none. */
  async function announced(archive: Buffer): Promise<readonly number[] | undefined> {
    let sizes: readonly number[] | undefined;
    const input: RandomAccessInput = { size: archive.length, read: async (buf, position) => archive.copy(buf, 0, position, Math.min(position + buf.length, archive.length)) };
    const dest: ImageDestination = {
      wantsCompressedLayers: false,
      hasBlob: async () => false,
      expectRanges: (_input, s) => void (sizes = s),
      async putBlob(data) {
        await eachPiece(data, () => undefined);
        return { digest: sha(Buffer.alloc(0)) as `sha256:${string}`, size: 0 };
      },
      putBlobRange: async (_input, _offset, size) => ({ digest: sha(Buffer.alloc(0)) as `sha256:${string}`, size }),
      putImage: async () => undefined,
      commit: async () => undefined,
      abort: async () => undefined,
    };
    await new ArchiveSource(input, nodeArchiveDeps).copyTo(dest).catch(() => undefined); // the manifest does not matter here
    return sizes;
  }

  it("an uncompressed archive with a large layer announces its large entries only", async () => {
    const { archive } = dockerArchive(randomBytes(9 << 20));
    expect(await announced(archive)).toEqual([9 << 20]);
  });

  it("a gzipped archive, or one whose entries are all small, announces none", async () => {
    expect(await announced(gzipSync(dockerArchive(randomBytes(9 << 20)).archive, { level: 1 }))).toBeUndefined();
    expect(await announced(dockerArchive(randomBytes(1 << 20)).archive)).toBeUndefined();
  });
});

describe("a blob the store already has", () => {
  it("is verified without being written; a size-only difference is reported as one, naming the blob", async () => {
    const s = await Store.open(root());
    const data = randomBytes(1000);
    const digest = sha(data) as `sha256:${string}`;
    await s.putBlob(data);
    const dest = new StoreDestination(s);
    expect(await dest.putBlob(chunks(data, 100), { digest, size: 1000 })).toEqual({ digest, size: 1000 });
    await expect(dest.putBlob(chunks(data, 100), { digest, size: 999 })).rejects.toThrow(`blob ${digest}: size mismatch: expected 999, got 1000`);
    await expect(dest.putBlob(chunks(randomBytes(1000), 100), { digest, label: "layer 2" })).rejects.toThrow(/^layer 2: digest mismatch/);
    expect(readdirSync(s.paths.tmp)).toEqual([]);
  });
});

// Last in this file: after a failed spawn the module sends later blobs to node:crypto.
describe("without the openssl program", () => {
  it("a large blob is still hashed correctly (from the written file)", async () => {
    const dir = root();
    const data = randomBytes(OFFLOAD_MIN + 1);
    const path = process.env.PATH;
    process.env.PATH = join(dir, "no-such-bin");
    try {
      const t = await writeTemp(dir, chunks(data, 1 << 20), { size: data.length, digest: sha(data) as `sha256:${string}` });
      expect(t.digest).toBe(sha(data));
    } finally {
      process.env.PATH = path;
    }
  });
});
