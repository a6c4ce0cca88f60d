// layer-records.ts: the provisional plain size a pull takes from a gzip trailer, and the
// one inflate (Store.plainLayer) that later replaces it with the exact size.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { Store, provisionalPlainSize, readLayerRecord, writeLayerRecord } from "../../../src/store/index.js";
import { TbuildError, type Digest } from "../../../src/util/index.js";

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}` as Digest;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function newStore(): Promise<Store> {
  const d = mkdtempSync(join(tmpdir(), "tbuild-layer-records-"));
  dirs.push(d);
  return Store.open(d);
}

describe("provisionalPlainSize", () => {
  it("is ISIZE for a single-member gzip", () => {
    const plain = Buffer.alloc(300_000, "text ");
    const gz = gzipSync(plain);
    expect(provisionalPlainSize(gz.subarray(-4), gz.length)).toBe(plain.length);
    const rnd = randomBytes(200_000);
    const gzr = gzipSync(rnd);
    expect(provisionalPlainSize(gzr.subarray(-4), gzr.length)).toBe(rnd.length);
  });

  it("falls back to a lower bound when ISIZE cannot be the whole size (a multi-member stream)", () => {
    const a = randomBytes(500_000);
    const b = randomBytes(1000);
    const gz = Buffer.concat([gzipSync(a), gzipSync(b)]);
    const got = provisionalPlainSize(gz.subarray(-4), gz.length);
    expect(got).not.toBe(b.length);
    expect(got).toBeLessThanOrEqual(a.length + b.length);
    expect(got).toBeGreaterThan(gz.length * 0.98);
  });
});

describe("Store.plainLayer", () => {
  it("inflates a gzip-only layer once, verified, and records the exact size", async () => {
    const s = await newStore();
    const plain = Buffer.concat([randomBytes(100_000), Buffer.alloc(100_000, "x")]);
    const diffId = sha256(plain);
    const gz = await s.putBlob(gzipSync(plain));
    await writeLayerRecord(s.paths, { diffId, digest: gz.digest, size: gz.size, uncompressedSize: 1, provisional: true });
    const [p1, p2] = await Promise.all([s.plainLayer(diffId), s.plainLayer(diffId)]);
    expect(p1).toEqual({ path: s.blobPath(diffId), size: plain.length });
    expect(p2).toEqual(p1);
    expect(sha256(readFileSync(p1.path))).toBe(diffId);
    // Held plain now: the same answer without inflating again.
    expect(await s.plainLayer(diffId)).toEqual(p1);
    expect(await readLayerRecord(s.paths, diffId)).toEqual({ diffId, digest: gz.digest, size: gz.size, uncompressedSize: plain.length });
  });

  it("rejects a blob that inflates to something else, keeping nothing", async () => {
    const s = await newStore();
    const gz = await s.putBlob(gzipSync(Buffer.from("not the layer")));
    const claimed = sha256(Buffer.from("the layer"));
    const err = await s.plainLayer(claimed, gz.digest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TbuildError);
    expect((err as TbuildError).code).toBe("E_STORE_CORRUPT");
    expect((err as TbuildError).message).toContain(`layer ${claimed} (compressed blob ${gz.digest}) inflates to ${sha256(Buffer.from("not the layer"))}`);
    expect(await s.hasBlob(claimed)).toBe(false);
    expect(readdirSync(s.tmpDir)).toEqual([]);
    // Not gzip at all: also a clear error naming the layer.
    const junk = await s.putBlob(Buffer.from("plain text, not gzip"));
    await expect(s.plainLayer(claimed, junk.digest)).rejects.toThrow(`layer ${claimed} (compressed blob ${junk.digest}) is not valid gzip`);
    await expect(s.plainLayer(sha256(Buffer.from("nowhere")))).rejects.toThrow(/is not in the store/);
  });
});
