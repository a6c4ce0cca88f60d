// The archive reader's header index (image/archive/tar-index.ts) against tar-stream, the
// streaming reader's parser, on archives GNU tar wrote in its gnu, pax and ustar formats
// (long names, links, a directory) and on hostile ones; and the file path of ArchiveSource
// against its streaming path on the same archive.
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, symlinkSync, linkSync, writeFileSync, promises as fsp } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { spawnSync } from "node:child_process";
import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { buildConfig, type RandomAccessInput } from "../../../src/image/index.js";
import { ArchiveSource } from "../../../src/image/archive/index.js";
import { TarIndexError, indexTar } from "../../../src/image/archive/tar-index.js";
import { TarPushParser } from "../../../src/image/archive/tar-push.js";
import { Store, StoreDestination, copyImages, nodeArchiveDeps } from "../../../src/store/index.js";
import { buildTar } from "../../helpers/tar-builder.js";
import { tempDirs } from "../../helpers/temp-dirs.js";

const tempDir = tempDirs();
const temp = () => tempDir("unit-tar-index");
const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}` as `sha256:${string}`;

/** `bytes` read at offsets, counting the reads. */
function memoryInput(bytes: Uint8Array): RandomAccessInput & { reads: number } {
  const input = {
    size: bytes.length,
    reads: 0,
    read: async (buf: Uint8Array, position: number) => {
      input.reads++;
      const part = bytes.subarray(position, position + buf.length);
      buf.set(part);
      return part.length;
    },
  };
  return input;
}

/** What tar-stream reports: name, type, linkname, size and the body of each entry. */
async function viaTarStream(bytes: Uint8Array): Promise<{ name: string; type: string; linkname: string; size: number; sha: string }[]> {
  const ex = tar.extract();
  Readable.from([bytes]).pipe(ex);
  const out = [];
  for await (const e of ex) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c as Buffer);
    const t = e.header.type === "contiguous-file" ? "file" : e.header.type;
    out.push({ name: e.header.name, type: ["file", "link", "symlink", "directory"].includes(t ?? "") ? t! : "other", linkname: e.header.linkname ?? "", size: e.header.size ?? 0, sha: sha(Buffer.concat(chunks)) });
  }
  return out;
}

async function viaIndex(bytes: Uint8Array) {
  return (await indexTar(memoryInput(bytes))).map((e) => ({ name: e.name, type: e.type, linkname: e.linkname, size: e.size, sha: sha(bytes.subarray(e.offset, e.offset + e.size)) }));
}

/** Archives GNU tar writes of one tree (long names, links, unicode, an empty file), in its gnu, pax and ustar formats. */
function gnuTarArchives(): { format: string; bytes: Buffer; long: string }[] {
  const src = temp();
  const long = `${"d".repeat(90)}/${"e".repeat(90)}/${"f".repeat(120)}.bin`;
  mkdirSync(join(src, "tree", long.split("/").slice(0, 2).join("/")), { recursive: true });
  writeFileSync(join(src, "tree", long), randomBytes(5000));
  writeFileSync(join(src, "tree", "small"), "x");
  writeFileSync(join(src, "tree", "empty"), "");
  writeFileSync(join(src, "tree", "ünïcode"), randomBytes(700));
  symlinkSync(`../tree/${long}`, join(src, "tree", "link-to-long"));
  linkSync(join(src, "tree", "small"), join(src, "tree", "hard"));
  return ["gnu", "pax", "ustar"].map((format) => {
    const file = join(src, `${format}.tar`);
    const args = ["-cf", file, "-C", src, "--sort=name", `--format=${format}`, "tree"];
    // ustar cannot hold a 120-byte base name: leave that entry out there.
    const r = spawnSync("tar", format === "ustar" ? [...args.slice(0, -1), "--exclude", "*fff*", "--exclude", "link-to-long", "tree"] : args, { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    return { format, bytes: readFileSync(file), long };
  });
}

/**
 * What TarPushParser reports, fed `bytes` as a pipe's reads are: pieces of the sizes `sizes`
 * cycles through, each in one reused buffer that is scribbled over once the parser is done
 * with it (a parser or sink that kept a view would see the scribble).
 */
async function viaPush(bytes: Uint8Array, sizes: readonly number[]) {
  const out: { name: string; type: string; linkname: string; size: number; sha: string }[] = [];
  const parser = new TarPushParser((e) => {
    const h = createHash("sha256");
    return {
      piece: async (p) => {
        await new Promise((r) => setImmediate(r)); // holds the piece across a turn
        h.update(p);
      },
      end: () => void out.push({ ...e, sha: `sha256:${h.digest("hex")}` }),
    };
  });
  const reused = new Uint8Array(Math.max(...sizes));
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, bytes.length - at);
    reused.set(bytes.subarray(at, at + n));
    await parser.write(reused.subarray(0, n));
    reused.fill(0xaa);
    at += n;
  }
  parser.end();
  return out;
}

/** Odd read sizes: a byte, less and more than a block, and a pipe's usual 64 KiB. */
const ODD_PIECES = [1, 3, 511, 513, 1000, 65536, 7];

describe("indexTar", () => {
  it("reads what GNU tar writes, as tar-stream does, in the gnu, pax and ustar formats", async () => {
    for (const { format, bytes, long } of gnuTarArchives()) {
      const got = await viaIndex(bytes);
      expect(got, format).toEqual(await viaTarStream(bytes));
      expect(got.map((e) => e.name)).toContain("tree/ünïcode");
      if (format !== "ustar") {
        expect(got.find((e) => e.name === `tree/${long}`)?.size, format).toBe(5000);
        expect(got.find((e) => e.name === "tree/link-to-long"), format).toMatchObject({ type: "symlink", linkname: `../tree/${long}` });
      }
      expect(got.filter((e) => e.name === "tree/hard" || e.name === "tree/small").map((e) => e.type).sort(), format).toEqual(["file", "link"]);
    }
  });

  it("reads headers only: a 3-entry archive with a 4 MiB body takes a read per header and end block", async () => {
    const bytes = buildTar([{ name: "big", content: randomBytes(4 << 20) }, { name: "a", content: "1" }, { name: "b", content: "2" }]);
    const input = memoryInput(bytes);
    const entries = await indexTar(input);
    expect(entries.map((e) => [e.name, e.size])).toEqual([["big", 4 << 20], ["a", 1], ["b", 1]]);
    expect(input.reads).toBe(3 + (bytes.length - (entries[2]!.offset + 512)) / 512);
  });

  it("refuses a bad checksum, an unknown format and bodies or headers past the end, naming the entry", async () => {
    const good = buildTar([{ name: "first", content: "a".repeat(600) }, { name: "second", content: "b".repeat(2000) }]);
    await expect(indexTar(memoryInput(buildTar([{ name: "x", content: "1", badChecksum: true }])))).rejects.toThrow(/Invalid tar header/);
    await expect(indexTar(memoryInput(Buffer.from("hello world\n".repeat(100))))).rejects.toThrow(TarIndexError);
    // Cut in first's body, in second's header (the last entry read is named, as tar-stream's reader does) and in second's body.
    for (const [cut, entry] of [[900, "first"], [1536 + 100, "first"], [1536 + 512 + 1000, "second"]] as const) {
      const e = await indexTar(memoryInput(good.subarray(0, cut))).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TarIndexError);
      expect(e, `cut at ${cut}`).toMatchObject({ message: "it is truncated", entry });
    }
    const lying = buildTar([{ name: "liar", content: "abc", headerSize: 1 << 30 }]);
    await expect(indexTar(memoryInput(lying))).rejects.toMatchObject({ message: "it is truncated", entry: "liar" });
    expect(await indexTar(memoryInput(new Uint8Array(0)))).toEqual([]);
  });
});

describe("TarPushParser (a piped archive, read front to back)", () => {
  it("reports what indexTar reports, fed in odd-sized pieces of a reused buffer, in the gnu, pax and ustar formats", async () => {
    for (const { format, bytes } of gnuTarArchives()) {
      const pushed = await viaPush(bytes, ODD_PIECES);
      expect(pushed, format).toEqual(await viaIndex(bytes));
      expect(await viaPush(bytes, [bytes.length]), format).toEqual(pushed);
    }
  });

  it("refuses a bad checksum, and an archive cut in a header or a body, naming the entry as indexTar does", async () => {
    const good = buildTar([{ name: "first", content: "a".repeat(600) }, { name: "second", content: "b".repeat(2000) }]);
    await expect(viaPush(buildTar([{ name: "x", content: "1", badChecksum: true }]), ODD_PIECES)).rejects.toThrow(/Invalid tar header/);
    for (const [cut, entry] of [[900, "first"], [1536 + 100, "first"], [1536 + 512 + 1000, "second"]] as const) {
      const e = await viaPush(good.subarray(0, cut), ODD_PIECES).catch((x: unknown) => x);
      expect(e, `cut at ${cut}`).toBeInstanceOf(TarIndexError);
      expect(e, `cut at ${cut}`).toMatchObject({ message: "it is truncated", entry });
    }
    // Cut in the padding after the last body: what indexTar accepts too.
    expect((await viaPush(good.subarray(0, 1536 + 512 + 2000 + 10), ODD_PIECES)).map((e) => e.name)).toEqual(["first", "second"]);
    expect(await viaPush(new Uint8Array(0), ODD_PIECES)).toEqual([]);
  });
});

describe("ArchiveSource on a file", () => {
  it("sends large uncompressed layers as ranges and gives the store the streaming path gives", async () => {
    const layer = randomBytes(5 << 20);
    const config = Buffer.from(buildConfig({ platform: { os: "linux", architecture: "amd64" }, diffIds: [sha(layer)] }).bytes);
    const layerName = `blobs/sha256/${sha(layer).slice(7)}`;
    const configName = `blobs/sha256/${sha(config).slice(7)}`;
    const manifest = JSON.stringify([{ Config: configName, RepoTags: ["docker.io/library/ranged:1"], Layers: [layerName] }]);
    const archive = buildTar([{ name: layerName, content: layer }, { name: configName, content: config }, { name: "manifest.json", content: manifest }]);
    const stores: string[][] = [];
    for (const input of [memoryInput(archive), Readable.from([archive.subarray(0, 777_777), archive.subarray(777_777)])]) {
      const s = await Store.open(temp());
      const dest = new StoreDestination(s);
      const ranges: number[] = [];
      const putBlobRange = dest.putBlobRange.bind(dest);
      dest.putBlobRange = (inp, offset, size, expect) => {
        ranges.push(size);
        return putBlobRange(inp, offset, size, expect);
      };
      await copyImages(new ArchiveSource(input, nodeArchiveDeps), dest);
      expect(ranges).toEqual(input instanceof Readable ? [] : [layer.length]);
      expect(readFileSync(s.blobPath(sha(layer))).equals(layer)).toBe(true);
      expect(readdirSync(s.paths.tmp)).toEqual([]);
      stores.push([readFileSync(join(s.root, "index.json"), "utf8"), ...readdirSync(s.paths.sha256).sort()]);
    }
    expect(stores[0]).toEqual(stores[1]);
  });

  it("a tampered layer is named, and nothing is left in the store or its temp folder", async () => {
    const layer = randomBytes(3 << 20);
    const layerName = `blobs/sha256/${sha(layer).slice(7)}`;
    const tampered = Buffer.from(layer);
    tampered[tampered.length - 10]! ^= 1;
    const archive = buildTar([{ name: layerName, content: tampered }, { name: "manifest.json", content: "[]" }]);
    const s = await Store.open(temp());
    const dest = new StoreDestination(s);
    await expect(copyImages(new ArchiveSource(memoryInput(archive), nodeArchiveDeps), dest)).rejects.toThrow(`blob ${layerName} in the archive: digest mismatch: expected ${sha(layer)}, got ${sha(tampered)}`);
    expect(readdirSync(s.paths.sha256)).toEqual([]);
    expect(readdirSync(s.paths.tmp)).toEqual([]);
  });

  /** An archive of three 3 MiB layers (`bad` of them with a flipped byte) and a manifest naming them. */
  function threeLayers(bad: number[]) {
    const layers = [0, 1, 2].map(() => randomBytes(3 << 20));
    const names = layers.map((l) => `blobs/sha256/${sha(l).slice(7)}`);
    const sent = layers.map((l, i) => {
      if (!bad.includes(i)) return l;
      const b = Buffer.from(l);
      b[1000]! ^= 1;
      return b;
    });
    const manifest = JSON.stringify([{ Config: "c.json", RepoTags: [], Layers: names }]);
    return { layers, names, archive: buildTar([...sent.map((content, i) => ({ name: names[i]!, content })), { name: "manifest.json", content: manifest }]) };
  }

  it("a layer whose bytes change in the file while it is copied is a digest mismatch, and nothing is kept", async () => {
    const { layers, names, archive } = threeLayers([]);
    const path = join(temp(), "changing.tar");
    writeFileSync(path, archive);
    const at = archive.indexOf(layers[0]!.subarray(0, 64));
    const fh = await fsp.open(path, "r+");
    try {
      let changed = false;
      const input: RandomAccessInput = {
        size: archive.length,
        read: async (buf, position) => {
          const got = (await fh.read(buf, 0, buf.length, position)).bytesRead;
          // After the layer's first read: another process rewrites a byte near its end.
          if (!changed && position === at) {
            changed = true;
            await fh.write(Buffer.from([layers[0]![(3 << 20) - 5]! ^ 1]), 0, 1, at + (3 << 20) - 5);
          }
          return got;
        },
      };
      const s = await Store.open(temp());
      await expect(copyImages(new ArchiveSource(input, nodeArchiveDeps), new StoreDestination(s))).rejects.toThrow(`blob ${names[0]} in the archive: digest mismatch: expected ${sha(layers[0]!)}, got sha256:`);
      expect(changed).toBe(true);
      expect(readdirSync(s.paths.sha256)).toEqual([]);
      expect(readdirSync(s.paths.tmp)).toEqual([]);
    } finally {
      await fh.close();
    }
  });

  it("starts the next large entry when any copy in flight ends, not only the oldest", async () => {
    const layers = [0, 1, 2].map(() => randomBytes(3 << 20));
    const names = layers.map((l) => `blobs/sha256/${sha(l).slice(7)}`);
    const config = Buffer.from(buildConfig({ platform: { os: "linux", architecture: "amd64" }, diffIds: layers.map(sha) }).bytes);
    const manifest = JSON.stringify([{ Config: "config.json", RepoTags: ["docker.io/library/three:1"], Layers: names }]);
    const whole = buildTar([...layers.map((content, i) => ({ name: names[i]!, content })), { name: "config.json", content: config }, { name: "manifest.json", content: manifest }]);
    const first = whole.indexOf(layers[0]!.subarray(0, 64));
    const mem = memoryInput(whole);
    // The first layer's reads are slow: the third copy must not wait for it.
    const slowFirst: RandomAccessInput = {
      size: mem.size,
      read: async (buf, position) => {
        if (position >= first && position < first + layers[0]!.length) await new Promise((r) => setTimeout(r, 30));
        return mem.read(buf, position);
      },
    };
    const s = await Store.open(temp());
    const dest = new StoreDestination(s);
    const events: string[] = [];
    const putBlobRange = dest.putBlobRange.bind(dest);
    dest.putBlobRange = async (inp, offset, size, expect, signal) => {
      const i = names.findIndex((n) => expect?.label?.includes(n));
      events.push(`start ${i}`);
      try {
        return await putBlobRange(inp, offset, size, expect, signal);
      } finally {
        events.push(`end ${i}`);
      }
    };
    await copyImages(new ArchiveSource(slowFirst, nodeArchiveDeps), dest);
    expect(events.indexOf("start 2")).toBeLessThan(events.indexOf("end 0"));
    for (const l of layers) expect(readFileSync(s.blobPath(sha(l))).equals(l)).toBe(true);
  });

  it("of two large entries with one name the later wins, as when streamed, even when its copy ends first", async () => {
    const [first, later] = [randomBytes(3 << 20), randomBytes(3 << 20)];
    const config = Buffer.from(buildConfig({ platform: { os: "linux", architecture: "amd64" }, diffIds: [sha(later)] }).bytes);
    const manifest = JSON.stringify([{ Config: "config.json", RepoTags: ["docker.io/library/dup:1"], Layers: ["l/layer.tar"] }]);
    const archive = buildTar([
      { name: "l/layer.tar", content: first },
      { name: "l/layer.tar", content: later },
      { name: "config.json", content: config },
      { name: "manifest.json", content: manifest },
    ]);
    // Reads of the first entry are slow, so a reader that copied entries at once would finish it last.
    const mem = memoryInput(archive);
    const slowFirst: RandomAccessInput = {
      size: mem.size,
      read: async (buf, position) => {
        if (position > 0 && position < first.length) await new Promise((r) => setTimeout(r, 20));
        return mem.read(buf, position);
      },
    };
    for (const input of [slowFirst, Readable.from([archive])]) {
      const s = await Store.open(temp());
      await copyImages(new ArchiveSource(input, nodeArchiveDeps), new StoreDestination(s));
      expect(readFileSync(s.blobPath(sha(later))).equals(later)).toBe(true);
    }
  });
});
