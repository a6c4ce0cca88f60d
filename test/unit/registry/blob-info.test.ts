// blob-info.ts: where pulls found each layer's gzip form (push hints), kept in the layer's
// record with its blob and plain size, and still read from the separate lists that tbuild
// versions before the merge wrote (tbuild/blob-info/<diff ID hex>).
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { knownGzip, recordPulledLayer } from "../../../src/registry/blob-info.js";
import { Store, readLayerRecord } from "../../../src/store/index.js";
import type { Digest } from "../../../src/util/index.js";

const d = (c: string) => `sha256:${c.repeat(64)}` as Digest;
const dirs: string[] = [];
async function newStore(): Promise<Store> {
  const root = mkdtempSync(join(tmpdir(), "tbuild-blobinfo-"));
  dirs.push(root);
  return Store.open(root);
}
afterEach(() => {
  for (const x of dirs.splice(0)) rmSync(x, { recursive: true, force: true });
});
const pulled = (diffId: Digest, repository: string, blob = d("b")) => ({ diffId, digest: blob, size: 10, uncompressedSize: 40, provisional: true as const, registry: "reg.example:5000", repository });

describe("pulled layers' records and push hints", () => {
  it("knows nothing of a layer it never saw", async () => {
    expect(await knownGzip((await newStore()).paths, d("a"))).toEqual([]);
  });

  it("keeps a pull's blob, provisional size and location in one record; locations newest first, once each, at most eight", async () => {
    const s = await newStore();
    await recordPulledLayer(s.paths, pulled(d("a"), "one"));
    expect(readdirSync(s.paths.gzipMap)).toEqual(["a".repeat(64)]);
    expect(existsSync(join(s.dataDir, "blob-info"))).toBe(false);
    expect(await readLayerRecord(s.paths, d("a"))).toEqual({ diffId: d("a"), digest: d("b"), size: 10, uncompressedSize: 40, provisional: true, seen: [{ digest: d("b"), size: 10, registry: "reg.example:5000", repository: "one" }] });
    await recordPulledLayer(s.paths, pulled(d("a"), "two"));
    await recordPulledLayer(s.paths, pulled(d("a"), "one"));
    expect((await knownGzip(s.paths, d("a"))).map((k) => k.repository)).toEqual(["one", "two"]);
    for (let i = 0; i < 10; i++) await recordPulledLayer(s.paths, pulled(d("a"), `r${i}`));
    expect((await knownGzip(s.paths, d("a"))).map((k) => k.repository)).toEqual(["r9", "r8", "r7", "r6", "r5", "r4", "r3", "r2"]);
    expect(await knownGzip(s.paths, d("c"))).toEqual([]);
  });

  it("the first inflate makes the size exact and keeps the locations", async () => {
    const s = await newStore();
    const plain = randomBytes(20_000);
    const diffId = `sha256:${createHash("sha256").update(plain).digest("hex")}` as Digest;
    const gz = await s.putBlob(gzipSync(plain));
    await recordPulledLayer(s.paths, { ...pulled(diffId, "one", gz.digest), size: gz.size, uncompressedSize: 1 });
    await s.plainLayer(diffId);
    const rec = await readLayerRecord(s.paths, diffId);
    expect(rec).toMatchObject({ digest: gz.digest, uncompressedSize: plain.length });
    expect(rec?.provisional).toBeUndefined();
    expect(await knownGzip(s.paths, diffId)).toEqual([{ digest: gz.digest, size: gz.size, registry: "reg.example:5000", repository: "one" }]);
  });

  it("reads a store the previous version wrote: records without locations, and the locations in tbuild/blob-info", async () => {
    const s = await newStore();
    // Byte for byte what the previous version's writeLayerRecord and BlobInfoCache wrote.
    writeFileSync(join(s.paths.gzipMap, "a".repeat(64)), JSON.stringify({ digest: d("b"), size: 10, diffId: d("a"), uncompressedSize: 40, provisional: true }));
    mkdirSync(join(s.dataDir, "blob-info"));
    writeFileSync(join(s.dataDir, "blob-info", "a".repeat(64)), JSON.stringify([{ digest: d("b"), size: 10, registry: "reg.example:5000", repository: "old" }]));
    expect(await readLayerRecord(s.paths, d("a"))).toEqual({ diffId: d("a"), digest: d("b"), size: 10, uncompressedSize: 40, provisional: true });
    expect(await knownGzip(s.paths, d("a"))).toEqual([{ digest: d("b"), size: 10, registry: "reg.example:5000", repository: "old" }]);
    // A later pull of the layer from elsewhere puts its location first and keeps the old one.
    await recordPulledLayer(s.paths, pulled(d("a"), "new"));
    expect((await readLayerRecord(s.paths, d("a")))?.seen?.map((k) => k.repository)).toEqual(["new", "old"]);
    expect((await knownGzip(s.paths, d("a"))).map((k) => k.repository)).toEqual(["new", "old"]);
  });

  it("treats an unreadable list, or entries that are not blobs, as unknown", async () => {
    const s = await newStore();
    mkdirSync(join(s.dataDir, "blob-info"));
    const legacy = join(s.dataDir, "blob-info", "a".repeat(64));
    writeFileSync(legacy, "{not json");
    expect(await knownGzip(s.paths, d("a"))).toEqual([]);
    const entries = [{ digest: "sha256:short", size: 1, registry: "r", repository: "x" }, { digest: d("e"), size: -1, registry: "r", repository: "x" }, { digest: d("f"), size: 2, registry: "r", repository: "y" }];
    writeFileSync(legacy, JSON.stringify(entries));
    expect(await knownGzip(s.paths, d("a"))).toEqual([{ digest: d("f"), size: 2, registry: "r", repository: "y" }]);
    rmSync(legacy);
    writeFileSync(join(s.paths.gzipMap, "a".repeat(64)), JSON.stringify({ digest: d("b"), size: 10, diffId: d("a"), seen: entries }));
    expect(await knownGzip(s.paths, d("a"))).toEqual([{ digest: d("f"), size: 2, registry: "r", repository: "y" }]);
  });
});
