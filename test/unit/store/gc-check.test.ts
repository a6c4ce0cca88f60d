// What gc and `store check` count as reached: a pulled (gzip) layer's inflated plain copy
// belongs to its image; tbuild's own gzip copy of a built layer is derived data.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { buildConfig } from "../../../src/image/index.js";
import { Store, checkStore, collectGarbage, compressLayer, readLayerRecord, writeLayerRecord } from "../../../src/store/index.js";
import type { Digest } from "../../../src/util/index.js";

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}` as Digest;
const platform = { os: "linux", architecture: "amd64" };
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function newStore(): Promise<Store> {
  const d = mkdtempSync(join(tmpdir(), "tbuild-gc-check-"));
  dirs.push(d);
  return Store.open(d);
}

/** An image holding one layer as a gzip blob, as a pull leaves it (with its layer record). */
async function pulledImage(s: Store, tag: string): Promise<{ diffId: Digest; gz: Digest }> {
  const plain = randomBytes(50_000);
  const diffId = sha256(plain);
  const gz = await s.putBlob(gzipSync(plain));
  await s.putImage({ config: buildConfig({ platform, diffIds: [diffId] }), layers: [{ diffId, size: plain.length, compressed: gz }], tags: [tag] });
  await writeLayerRecord(s.paths, { diffId, ...gz, uncompressedSize: plain.length, provisional: true });
  return { diffId, gz: gz.digest };
}

/** A built image: one plain layer, gzipped once by tbuild (as a push does). */
async function builtImage(s: Store, tag: string): Promise<{ diffId: Digest; gz: Digest }> {
  const plain = await s.putBlob(randomBytes(40_000));
  await s.putImage({ config: buildConfig({ platform, diffIds: [plain.digest] }), layers: [{ diffId: plain.digest, size: plain.size }], tags: [tag] });
  return { diffId: plain.digest, gz: (await compressLayer(s, plain.digest)).digest };
}

describe("gc", () => {
  it("keeps gzip copies of plain layers by default; prune -a forgets them, keeping pulled layers' gzip blobs and records", async () => {
    const s = await newStore();
    const pulled = await pulledImage(s, "pulled:1");
    const built = await builtImage(s, "built:1");
    // A layer only the build cache holds (gc's `keep`), gzipped by an earlier push.
    const cached = await s.putBlob(randomBytes(30_000));
    const cachedGz = await compressLayer(s, cached.digest);
    const keep = async () => [cached.digest];
    const blobs = [pulled.gz, built.diffId, built.gz, cached.digest, cachedGz.digest];

    expect((await collectGarbage(s.paths, { dangling: true, keep })).deletedBlobs).toEqual([]);
    for (const d of blobs) expect(await s.hasBlob(d)).toBe(true);

    const r = await collectGarbage(s.paths, { dangling: true, keep, forgetGzipCopies: true });
    expect(new Set(r.deletedBlobs)).toEqual(new Set([built.gz, cachedGz.digest]));
    for (const d of [pulled.gz, built.diffId, cached.digest]) expect(await s.hasBlob(d)).toBe(true);
    expect(await readLayerRecord(s.paths, built.diffId)).toBeUndefined();
    expect(await readLayerRecord(s.paths, cached.digest)).toBeUndefined();
    expect(await readLayerRecord(s.paths, pulled.diffId)).toMatchObject({ digest: pulled.gz, provisional: true });
    expect((await checkStore(s.paths)).problems).toEqual([]);
  });
});

describe("store check", () => {
  it("counts a pulled layer's inflated plain copy as its image's, not as unreferenced", async () => {
    const s = await newStore();
    const { diffId } = await pulledImage(s, "pulled:1");
    await s.plainLayer(diffId);
    expect(await s.hasBlob(diffId)).toBe(true);
    const r = await checkStore(s.paths);
    expect(r.problems).toEqual([]);
    expect(r.unreferencedBlobs).toBe(0);
    await s.putBlob(randomBytes(10));
    expect((await checkStore(s.paths)).unreferencedBlobs).toBe(1);
  });
});
