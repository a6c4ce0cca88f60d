// zstd.ts: reading zstd layers with fzstd, checked against real output of the zstd CLI
// (test/setup/install-tools.sh installs it): several frames, a skippable frame in front,
// frames with and without a content size, a 32 MiB window; and what is refused: a window
// over 32 MiB, a corrupt or truncated blob (nothing kept), bytes that are not zstd.
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Store, provisionalZstdSize, readLayerRecord, unzstd, writeLayerRecord } from "../../../src/store/index.js";
import { TbuildError, type Digest } from "../../../src/util/index.js";
import { buildTar } from "../../helpers/tar-builder.js";
import { tempDirs } from "../../helpers/temp-dirs.js";

const tmp = tempDirs();
const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}` as Digest;

/** `zstd` over `input`: through a file (the frame header then carries the content size) or a pipe (it does not). */
function zstd(input: Uint8Array, args: string[] = [], via: "file" | "pipe" = "file"): Buffer {
  if (via === "pipe") return run(spawnSync("zstd", ["-q", "-c", ...args], { input, maxBuffer: 1 << 30 }));
  const file = join(tmp("zstd-cli"), "in");
  writeFileSync(file, input);
  return run(spawnSync("zstd", ["-q", "-c", ...args, file], { maxBuffer: 1 << 30 }));
}

function run(r: SpawnSyncReturns<Buffer>): Buffer {
  expect(r.status, String(r.stderr)).toBe(0);
  return r.stdout;
}

/** A skippable frame (RFC 8878 3.1.2) with magic 0x184D2A5`nibble` around `data`. */
function skippable(data: Uint8Array, nibble = 0xa): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(0x184d2a50 + nibble, 0);
  h.writeUInt32LE(data.length, 4);
  return Buffer.concat([h, data]);
}

/** A layer-like tar: compressible text, random bytes, and a run of zeros. */
function layerTar(seed: string): Buffer {
  return buildTar([
    { name: `${seed}/text.txt`, content: Buffer.alloc(700_000, `${seed} tbuild zstd `) },
    { name: `${seed}/random.bin`, content: randomBytes(300_000) },
    { name: `${seed}/zeros.bin`, content: Buffer.alloc(2 << 20) },
  ]);
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let o = 0; o < bytes.length; o += size) yield bytes.subarray(o, o + size);
}

/** A store holding `blob` as layer `diffId`'s compressed form, with a provisional record (as a pull leaves it). */
async function storeWith(blob: Uint8Array, diffId: Digest): Promise<{ s: Store; digest: Digest }> {
  const s = await Store.open(tmp("zstd-store"));
  const b = await s.putBlob(blob);
  await writeLayerRecord(s.paths, { diffId, digest: b.digest, size: b.size, uncompressedSize: b.size, provisional: true, compression: "zstd" });
  return { s, digest: b.digest };
}

describe("unzstd", () => {
  it("decodes several frames from the zstd CLI, with and without content sizes, behind a skippable frame, fed in odd pieces", async () => {
    const parts = [layerTar("a"), layerTar("b"), layerTar("c")];
    const stream = Buffer.concat([skippable(Buffer.from("tbuild skippable frame")), zstd(parts[0]!), zstd(parts[1]!, ["-19"], "pipe"), skippable(Buffer.alloc(0), 0xf), zstd(parts[2]!, ["--no-check"])]);
    const plain = Buffer.concat(parts);
    // Byte by byte over the start (every header straddles a boundary there), then odd sizes.
    const byteByByte = async function* () {
      yield* pieces(stream.subarray(0, 65536), 1);
      yield stream.subarray(65536);
    };
    for (const [name, src] of [["bytes", byteByByte()], ["7", pieces(stream, 7)], ["4096", pieces(stream, 4096)], ["1 MiB", pieces(stream, 1 << 20)]] as const) {
      const out = await collect(unzstd(src));
      expect(out.length, `pieces of ${name}`).toBe(plain.length);
      expect(sha256(out)).toBe(sha256(plain));
    }
  });

  it("decodes a 32 MiB window whose matches reach back 20 MiB (zstd --long=25)", async () => {
    const block = randomBytes(20 << 20);
    const plain = Buffer.concat([block, block]);
    const z = zstd(plain, ["--long=25", "-1"]);
    expect(z.length).toBeLessThan(plain.length * 0.6); // the second copy is matched at long distance
    expect(sha256(await collect(unzstd(pieces(z, 1 << 20))))).toBe(sha256(plain));
  }, 60_000);

  it("refuses a window over 32 MiB before decoding it, as unsupported", async () => {
    const z = zstd(Buffer.alloc(1 << 20, "x"), ["--long=27"], "pipe");
    const err = await collect(unzstd(pieces(z, 1 << 20))).catch((e: unknown) => e);
    expect(err).toMatchObject({ unsupported: true, message: expect.stringMatching(/window is 134217728 bytes; tbuild reads zstd windows up to 33554432/) });
  });

  it("keeps memory bounded: a 1 GiB run of zeros (~40 KiB of zstd) yields its first piece without decoding the rest", async () => {
    const z = zstd(Buffer.alloc(1 << 30), ["-1"], "pipe");
    expect(z.length).toBeLessThan(1 << 20);
    // RSS: fzstd's output arrays are not counted in memoryUsage().arrayBuffers. Without the
    // cuts at block ends, the one push of this input holds all 1 GiB before the first yield.
    const before = process.memoryUsage().rss;
    const it = unzstd(pieces(z, 1 << 20))[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 << 20);
    await it.return(undefined);
  }, 60_000);

  it("rejects bytes that are not zstd, a truncated stream and an empty one with the caller's error", async () => {
    const invalid = (cause: Error) => new TbuildError("E_STORE_CORRUPT", `not valid zstd: ${cause.message}`, { cause });
    const z = zstd(layerTar("t"));
    const cases: [Uint8Array, RegExp][] = [
      [Buffer.from("plain text, not zstd at all"), /no zstd frame at a frame boundary/],
      [z.subarray(0, z.length - 100), /truncated/],
      [Buffer.concat([z, Buffer.from("trailing junk")]), /no zstd frame at a frame boundary/],
      [new Uint8Array(0), /holds no zstd frame/],
    ];
    for (const [bytes, message] of cases) {
      const err = await collect(unzstd(pieces(bytes, 4096), invalid)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TbuildError);
      expect((err as TbuildError).message).toMatch(message);
    }
  });
});

describe("unzstd against hostile or failing input", () => {
  /** A frame with a 32 MiB window (no content size) made of `n` raw blocks of 1 byte each. */
  function tinyBlocks(n: number): Buffer {
    const head = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 15 << 3]); // magic, descriptor, window 2^(10+15)
    const blocks = Array.from({ length: n }, (_, i) => Buffer.from([(1 << 3) | (i === n - 1 ? 1 : 0), 0, 0, 0x61]));
    return Buffer.concat([head, ...blocks]);
  }

  it("decodes a short run of 1-byte blocks, and refuses a long one (fzstd moves its whole window per block: ~1.5 ms each)", async () => {
    expect((await collect(unzstd(pieces(tinyBlocks(50), 4096)))).toString()).toBe("a".repeat(50));
    const err = await collect(unzstd(pieces(tinyBlocks(20_000), 64 << 10))).catch((e: unknown) => e);
    expect(String(err)).toMatch(/too many small blocks/);
  });

  it("passes an error of its input as it is, not as invalid zstd", async () => {
    const z = zstd(layerTar("src"));
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield z.subarray(0, 1000);
      throw Object.assign(new Error("EIO: i/o error, read"), { code: "EIO" });
    }
    const err = await collect(unzstd(failing(), (cause) => new Error(`not valid zstd: ${cause.message}`))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "EIO", message: "EIO: i/o error, read" });
  });
});

describe("provisionalZstdSize", () => {
  it("is the first frame's content size when it can be the whole stream's, behind a skippable frame too", () => {
    const plain = layerTar("p");
    const z = zstd(plain);
    expect(provisionalZstdSize(z.subarray(0, 64), z.length)).toBe(plain.length);
    const behind = Buffer.concat([skippable(Buffer.alloc(100, 1)), z]);
    expect(provisionalZstdSize(behind.subarray(0, 4096), behind.length)).toBe(plain.length);
  });

  it("falls back to the compressed size (a lower bound) without a content size, or when more frames must follow", () => {
    const piped = zstd(layerTar("q"), [], "pipe");
    expect(provisionalZstdSize(piped.subarray(0, 64), piped.length)).toBe(piped.length);
    // A small first frame in front of a big random one: its size cannot be the whole.
    const multi = Buffer.concat([zstd(Buffer.from("tiny frame")), zstd(randomBytes(500_000))]);
    expect(provisionalZstdSize(multi.subarray(0, 64), multi.length)).toBe(multi.length);
  });
});

describe("Store.plainLayer of a zstd layer", () => {
  it("inflates a multi-frame zstd blob (skippable frame in front) to its diff ID once, and records the exact size", async () => {
    const parts = [layerTar("x"), layerTar("y")];
    const plain = Buffer.concat(parts);
    const diffId = sha256(plain);
    const blob = Buffer.concat([skippable(Buffer.from("meta")), zstd(parts[0]!), zstd(parts[1]!, [], "pipe")]);
    const { s, digest } = await storeWith(blob, diffId);
    const [p1, p2] = await Promise.all([s.plainLayer(diffId), s.plainLayer(diffId)]);
    expect(p1).toEqual({ path: s.blobPath(diffId), size: plain.length });
    expect(p2).toEqual(p1);
    expect(sha256(readFileSync(p1.path))).toBe(diffId);
    expect(await readLayerRecord(s.paths, diffId)).toEqual({ diffId, digest, size: blob.length, uncompressedSize: plain.length, compression: "zstd" });
  });

  it("reads a zstd blob by its bytes when only the caller names it (a layer labelled gzip)", async () => {
    const plain = layerTar("g");
    const s = await Store.open(tmp("zstd-as-gzip"));
    const b = await s.putBlob(zstd(plain));
    expect(await s.plainLayer(sha256(plain), b.digest)).toEqual({ path: s.blobPath(sha256(plain)), size: plain.length });
    expect(await readLayerRecord(s.paths, sha256(plain))).toMatchObject({ digest: b.digest, compression: "zstd" });
  });

  it("refuses a corrupted zstd blob, keeping nothing; the same layer intact inflates after", async () => {
    const plain = layerTar("k");
    const diffId = sha256(plain);
    const good = zstd(plain, ["-3"]);
    // Flip bytes inside compressed blocks (past the frame header), and separately cut the end off.
    const flipped = Buffer.from(good);
    for (let i = 200; i < flipped.length - 8; i += 997) flipped[i] = flipped[i]! ^ 0x5a;
    for (const bad of [flipped, good.subarray(0, good.length - 50)]) {
      const { s } = await storeWith(bad, diffId);
      const err = await s.plainLayer(diffId).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TbuildError);
      expect((err as TbuildError).code).toBe("E_STORE_CORRUPT");
      expect((err as TbuildError).message).toMatch(new RegExp(`^layer ${diffId} \\(compressed blob sha256:[0-9a-f]{64}\\) (is not valid zstd|inflates to sha256:[0-9a-f]{64}, not to the diff ID)`));
      expect(await s.hasBlob(diffId)).toBe(false);
      expect(readdirSync(s.tmpDir)).toEqual([]);
      expect((await readLayerRecord(s.paths, diffId))?.provisional).toBe(true);
    }
    const { s } = await storeWith(good, diffId);
    expect((await s.plainLayer(diffId)).size).toBe(plain.length);
  });

  it("refuses a layer whose window is over 32 MiB as E_STORE_UNSUPPORTED, keeping nothing", async () => {
    const plain = layerTar("w");
    const { s } = await storeWith(zstd(plain, ["--long=27"], "pipe"), sha256(plain));
    const err = await s.plainLayer(sha256(plain)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "E_STORE_UNSUPPORTED", hint: expect.stringContaining("--dest-compress-format gzip") });
    expect((err as TbuildError).message).toContain("window is 134217728 bytes");
    expect(await s.hasBlob(sha256(plain))).toBe(false);
    expect(readdirSync(s.tmpDir)).toEqual([]);
  });
});
