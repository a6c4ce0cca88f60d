// Big streamed blobs (a pull's layers) written around the page cache: temp-file.ts's
// writeVerifiedTemp through direct-file.ts's ChunkWriter, and every failure path leaving
// no file behind.
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DIRECT_ALIGN } from "../../../src/store/direct-file.js";
import { KICK } from "../../../src/store/writeback.js";
import type { PushedBytes } from "../../../src/image/index.js";
import { writeVerifiedTemp } from "../../../src/store/temp-file.js";
import type { Digest } from "../../../src/util/index.js";
import { withFailingFdatasync, withoutODirect } from "../../helpers/fs-faults.js";
import { tempDirs } from "../../helpers/temp-dirs.js";

const tmp = tempDirs();

/** Bytes of `path` in the page cache (util-linux fincore). */
function cachedBytes(path: string): number {
  return Number(execFileSync("fincore", ["--bytes", "--noheadings", "--output", "RES", path]).toString().trim());
}

/** `bytes` in pieces of uneven sizes (as HTTP bodies come), none aligned to a 4 KiB block. */
async function* pieces(bytes: Uint8Array, fault?: Error): AsyncGenerator<Uint8Array> {
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = 60_000 + ((i * 7919) % 9000);
    yield bytes.subarray(at, at + n);
    at += n;
    if (fault && at > bytes.length / 2) throw fault;
  }
}

const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}` as Digest;
const mismatch = (what: string, want: unknown, got: unknown) => new Error(`${what} mismatch: want ${want}, got ${got}`);

describe("writeVerifiedTemp of a big stream", () => {
  const data = randomBytes((9 << 20) + 12345);

  it("writes the bytes around the page cache (all but the last partial block), verified and fsynced", async () => {
    const dir = tmp("temp-file");
    const t = await writeVerifiedTemp(dir, pieces(data), { size: data.length, digest: sha(data) }, mismatch, { hashInProcess: true });
    expect(t).toMatchObject({ size: data.length, digest: sha(data) });
    expect(cachedBytes(t.path)).toBe(DIRECT_ALIGN);
    expect(readFileSync(t.path).equals(data)).toBe(true);
  });

  it("with sync: background, settles `synced` once the file is fsynced and closed", async () => {
    const dir = tmp("temp-file");
    const t = await writeVerifiedTemp(dir, pieces(data), { size: data.length }, mismatch, { sync: "background" });
    await t.synced;
    expect(readFileSync(t.path).equals(data)).toBe(true);
  });

  it.each([
    ["more bytes than expected", data.length - 1, /size mismatch: want 9449528, got more than 9449528/],
    ["fewer bytes than expected", data.length + 1, /size mismatch: want 9449530, got 9449529/],
  ])("removes the file on %s", async (_, size, error) => {
    const dir = tmp("temp-file");
    await expect(writeVerifiedTemp(dir, pieces(data), { size }, mismatch)).rejects.toThrow(error);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("removes the file on a wrong digest and when the stream breaks off", async () => {
    const dir = tmp("temp-file");
    await expect(writeVerifiedTemp(dir, pieces(data), { size: data.length, digest: sha(data.subarray(1)) }, mismatch)).rejects.toThrow(/digest mismatch/);
    await expect(writeVerifiedTemp(dir, pieces(data, new Error("connection reset")), { size: data.length }, mismatch)).rejects.toThrow("connection reset");
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("writeVerifiedTemp after a writeback error", () => {
  const big = randomBytes(KICK + 4096);

  it("of bytes in memory (through the page cache) fails and removes the file", async () => {
    const dir = tmp("temp-file");
    await withFailingFdatasync(() => expect(writeVerifiedTemp(dir, big, { size: big.length, digest: sha(big) }, mismatch)).rejects.toThrow(/EIO/));
    expect(readdirSync(dir)).toEqual([]);
  });

  it("of a big stream on a file system without O_DIRECT fails and removes the file", async () => {
    const dir = tmp("temp-file");
    await withoutODirect(() => withFailingFdatasync(() => expect(writeVerifiedTemp(dir, pieces(big), { size: big.length, digest: sha(big) }, mismatch)).rejects.toThrow(/EIO/)));
    expect(readdirSync(dir)).toEqual([]);
  });
});

/**
 * `bytes` pushed as a source that reuses one buffer for every piece (as registry/http-direct.ts's
 * reader does) and scribbles over it once the sink is done with a piece: a writer that
 * kept a piece instead of its bytes would write the scribbles.
 */
function pushedReusing(bytes: Uint8Array, kind: "Uint8Array" | "Buffer" = "Uint8Array"): PushedBytes {
  return {
    async pushTo(sink) {
      // A Buffer as a socket's or pipe's `onread` buffer is (whose slice() is a view, not a copy).
      const buffer = kind === "Buffer" ? Buffer.alloc(70_000) : new Uint8Array(70_000);
      for (let at = 0, i = 0; at < bytes.length; i++) {
        const n = Math.min(bytes.length - at, 50_000 + ((i * 7919) % 20_000));
        buffer.set(bytes.subarray(at, at + n));
        const pending = sink(buffer.subarray(0, n));
        if (pending) await pending;
        buffer.fill(0xee);
        at += n;
      }
    },
  };
}

describe("writeVerifiedTemp of pushed bytes whose buffer is reused", () => {
  it.each([
    ["a big blob (around the page cache)", (9 << 20) + 4321, "Uint8Array"],
    ["a small blob (through the page cache, in batches)", (5 << 20) + 77, "Uint8Array"],
    ["a big blob from a reused Buffer", (9 << 20) + 4321, "Buffer"],
    ["a small blob from a reused Buffer", (5 << 20) + 77, "Buffer"],
  ] as const)("writes %s with the bytes as they were pushed", async (_what, size, kind) => {
    const data = randomBytes(size);
    const dir = tmp("temp-pushed");
    const t = await writeVerifiedTemp(dir, pushedReusing(data, kind), { size, digest: sha(data) }, mismatch, { hashInProcess: true });
    expect(sha(readFileSync(t.path))).toBe(sha(data));
  });

  it("hashes a big pushed blob in process even when not asked to (the openssl pipe would keep a piece past its sink)", async () => {
    const data = randomBytes((24 << 20) + 5);
    const dir = tmp("temp-pushed");
    const t = await writeVerifiedTemp(dir, pushedReusing(data, "Buffer"), { size: data.length }, mismatch);
    expect(t.digest).toBe(sha(data));
    expect(sha(readFileSync(t.path))).toBe(sha(data));
  });

  it("stops with the size mismatch when more bytes are pushed than expected, leaving no file", async () => {
    const data = randomBytes(9 << 20);
    const dir = tmp("temp-pushed");
    await expect(writeVerifiedTemp(dir, pushedReusing(data), { size: data.length - 1 }, mismatch, { hashInProcess: true })).rejects.toThrow(/size mismatch/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
