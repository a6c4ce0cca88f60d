// Large layers of an archive file copied on worker threads (range-copy.ts, blobs.ts
// copyRangeInWorker): the copy loop itself in-process, the worker round trip (run compiled
// from dist/), and whole loads through ArchiveSource from a real file, where a tampered,
// rewritten or truncated layer is named and nothing is kept.
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync, truncateSync, writeFileSync, promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildConfig, type RandomAccessInput } from "../../../src/image/index.js";
import { ArchiveSource } from "../../../src/image/archive/index.js";
import { JobCancelled, Store, StoreDestination, copyImages, nodeArchiveDeps } from "../../../src/store/index.js";
import { RANGE_WORKER_MIN, copyRangeInWorker } from "../../../src/store/blobs.js";
import { CHUNK } from "../../../src/store/direct-file.js";
import { KICK } from "../../../src/store/writeback.js";
import { copyRangeToFile } from "../../../src/store/range-copy.js";
import { withFailingFdatasync, withoutODirect } from "../../helpers/fs-faults.js";
import { buildTar } from "../../helpers/tar-builder.js";
import { tempDirs } from "../../helpers/temp-dirs.js";

const tmp = tempDirs();

const temp = () => tmp("unit-range-copy");
const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}` as `sha256:${string}`;

/** `path` opened as load -i opens it: reads at offsets, the descriptor shared; counts the bytes read through `read`. */
async function fileInput(path: string): Promise<{ fh: FileHandle; input: RandomAccessInput & { bytesRead: number } }> {
  const fh = await fsp.open(path, "r");
  const input = {
    size: (await fh.stat()).size,
    fd: fh.fd,
    bytesRead: 0,
    read: async (buf: Uint8Array, position: number) => {
      const n = (await fh.read(buf, 0, buf.length, position)).bytesRead;
      input.bytesRead += n;
      return n;
    },
  };
  return { fh, input };
}

/** A docker-archive file of one image with two layers above the worker threshold (`tamper`: one with a flipped byte). */
function twoLargeLayers(tamper?: number) {
  const layers = [randomBytes(RANGE_WORKER_MIN + 4096), randomBytes(RANGE_WORKER_MIN * 2 - 512)];
  const names = layers.map((l) => `blobs/sha256/${sha(l).slice(7)}`);
  const config = Buffer.from(buildConfig({ platform: { os: "linux", architecture: "amd64" }, diffIds: layers.map(sha) }).bytes);
  const configName = `blobs/sha256/${sha(config).slice(7)}`;
  const manifest = JSON.stringify([{ Config: configName, RepoTags: ["docker.io/library/large:1"], Layers: names }]);
  const sent = layers.map((l, i) => {
    if (i !== tamper) return l;
    const b = Buffer.from(l);
    b[b.length - 3000]! ^= 1;
    return b;
  });
  // Config and manifest first, so a cut after the first layer hits only the second.
  const archive = buildTar([{ name: configName, content: config }, { name: "manifest.json", content: manifest }, ...sent.map((content, i) => ({ name: names[i]!, content }))]);
  const path = join(temp(), "large.tar");
  writeFileSync(path, archive);
  return { layers, names, archive, path };
}

/** Load `path` into a fresh store; the store, the input and the outcome. */
async function load(path: string, hook?: (input: RandomAccessInput, position: number) => Promise<void>) {
  const s = await Store.open(temp());
  const { fh, input } = await fileInput(path);
  const hooked: RandomAccessInput = hook ? { size: input.size, fd: input.fd!, read: async (b, p) => (await hook(input, p), input.read(b, p)) } : input;
  try {
    const outcome = await copyImages(new ArchiveSource(hooked, nodeArchiveDeps), new StoreDestination(s)).then(
      () => undefined,
      (e: unknown) => e,
    );
    return { s, input, error: outcome };
  } finally {
    await fh.close();
  }
}

/** Bytes of `path` in the page cache (util-linux fincore). */
function cachedBytes(path: string): number {
  return Number(execFileSync("fincore", ["--bytes", "--noheadings", "--output", "RES", path]).toString().trim());
}

describe("copyRangeToFile (the worker's loop, run in-process)", () => {
  // Two chunks and a partial block: the tail goes the plain way.
  const data = randomBytes(CHUNK + (3 << 20) + 123);
  const source = () => {
    const path = join(temp(), "src");
    writeFileSync(path, Buffer.concat([Buffer.alloc(700), data]));
    return path;
  };

  it("copies and hashes the range; stops short at the end of the file and removes its output", async () => {
    const fh = await fsp.open(source(), "r");
    try {
      const out = join(temp(), "blob");
      expect(await copyRangeToFile({ fd: fh.fd, offset: 700, size: data.length, path: out }, () => false)).toEqual({ digest: sha(data), size: data.length });
      // Written around the page cache (O_DIRECT), all but the last partial block.
      expect(cachedBytes(out)).toBeLessThanOrEqual(4096);
      expect(readFileSync(out).equals(data)).toBe(true);
      const short = join(temp(), "short");
      expect(await copyRangeToFile({ fd: fh.fd, offset: 700, size: data.length + 10, path: short }, () => false)).toEqual({ digest: sha(data), size: data.length });
      expect(existsSync(short)).toBe(false);
    } finally {
      await fh.close();
    }
  });

  it("checks for a cancel between chunks: it stops, removes its output and throws JobCancelled", async () => {
    const fh = await fsp.open(source(), "r");
    try {
      const out = join(temp(), "blob");
      let asked = 0;
      await expect(copyRangeToFile({ fd: fh.fd, offset: 700, size: data.length, path: out }, () => ++asked > 1)).rejects.toBeInstanceOf(JobCancelled);
      expect(asked).toBe(2); // one chunk copied, then the cancel seen
      expect(existsSync(out)).toBe(false);
    } finally {
      await fh.close();
    }
  });

  it("on a file system without O_DIRECT, a writeback error fails the copy and removes its output (the caller's fsync opens the file anew and would not see it)", async () => {
    const big = randomBytes(KICK + CHUNK);
    const path = join(temp(), "src");
    writeFileSync(path, big);
    const fh = await fsp.open(path, "r");
    try {
      const out = join(temp(), "blob");
      await withoutODirect(() => withFailingFdatasync(() => expect(copyRangeToFile({ fd: fh.fd, offset: 0, size: big.length, path: out }, () => false)).rejects.toThrow(/EIO/)));
      expect(existsSync(out)).toBe(false);
    } finally {
      await fh.close();
    }
  });
});

describe("copyRangeInWorker", () => {
  it("returns the verified file, fsynced in the background; a mismatch names the blob and leaves nothing", async () => {
    const dir = temp();
    const data = randomBytes(RANGE_WORKER_MIN);
    const src = join(dir, "src");
    writeFileSync(src, Buffer.concat([Buffer.alloc(512), data]));
    const fh = await fsp.open(src, "r");
    try {
      const t = await copyRangeInWorker(dir, fh.fd, 512, data.length, { digest: sha(data), size: data.length }, { sync: "background" });
      expect(t.synced).toBeInstanceOf(Promise);
      await t.synced;
      expect(readFileSync(t.path).equals(data)).toBe(true);
      const wrong = sha(Buffer.from("other"));
      await expect(copyRangeInWorker(dir, fh.fd, 512, data.length, { digest: wrong, label: "layer 2" })).rejects.toThrow(`layer 2: digest mismatch: expected ${wrong}, got ${sha(data)}`);
      await expect(copyRangeInWorker(dir, fh.fd, 1024, data.length, { label: "layer 3" })).rejects.toThrow(`layer 3: size mismatch: expected ${data.length}, got ${data.length - 512}`);
      expect(readdirSync(dir).sort()).toEqual([t.path.split("/").pop(), "src"].sort());
    } finally {
      await fh.close();
    }
  });
});

describe("ArchiveSource on a file with large layers", () => {
  it("copies them on worker threads (not through `read`) and stores exactly their bytes", async () => {
    const { layers, path } = twoLargeLayers();
    const { s, input, error } = await load(path);
    expect(error).toBeUndefined();
    expect(input.bytesRead).toBeLessThan(1 << 20); // headers, magic bytes, config and manifest only
    for (const l of layers) expect(readFileSync(s.blobPath(sha(l))).equals(l)).toBe(true);
    expect((await s.resolve("large:1")).layers.map((l) => l.digest)).toEqual(layers.map(sha));
    expect(readdirSync(s.paths.tmp)).toEqual([]);
  });

  it("a tampered layer is named, and nothing is left in the store or its temp folder", async () => {
    const { layers, names, path } = twoLargeLayers(1);
    const { s, error } = await load(path);
    expect(error).toMatchObject({ code: "E_ARCHIVE_INVALID", message: expect.stringContaining(`blob ${names[1]} in the archive: digest mismatch: expected ${sha(layers[1]!)}, got sha256:`) });
    expect(readdirSync(s.paths.sha256)).toEqual([]);
    expect(readdirSync(s.paths.tmp)).toEqual([]);
  });

  it("a layer rewritten in the file after the load has started is a digest mismatch, and nothing is kept", async () => {
    const { layers, names, archive, path } = twoLargeLayers();
    const at = archive.indexOf(layers[0]!.subarray(0, 64));
    let changed = false;
    const { s, error } = await load(path, async (_input, position) => {
      // When the first layer's magic bytes are read, just before its copy starts.
      if (!changed && position === at) {
        changed = true;
        const w = await fsp.open(path, "r+");
        await w.write(Buffer.from([layers[0]![layers[0]!.length - 5]! ^ 1]), 0, 1, at + layers[0]!.length - 5);
        await w.close();
      }
    });
    expect(changed).toBe(true);
    expect(error).toMatchObject({ message: expect.stringContaining(`blob ${names[0]} in the archive: digest mismatch: expected ${sha(layers[0]!)}, got sha256:`) });
    expect(readdirSync(s.paths.sha256)).toEqual([]);
    expect(readdirSync(s.paths.tmp)).toEqual([]);
  });

  it("a file cut short after it was indexed is a size mismatch naming the layer, and nothing is kept", async () => {
    const { layers, names, archive, path } = twoLargeLayers();
    const at = archive.indexOf(layers[1]!.subarray(0, 64));
    const { s, error } = await load(path, async (_input, position) => {
      if (position === at) truncateSync(path, at + 1000);
    });
    expect(error).toMatchObject({ message: `blob ${names[1]} in the archive: size mismatch: expected ${layers[1]!.length}, got 1000` });
    expect(readdirSync(s.paths.sha256)).toEqual([]);
    expect(readdirSync(s.paths.tmp)).toEqual([]);
  });
});
