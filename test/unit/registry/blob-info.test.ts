// blob-info.ts: the gzip forms of layers that pulls verified, kept as push hints.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BlobInfoCache } from "../../../src/registry/blob-info.js";
import type { Digest } from "../../../src/util/index.js";

const d = (c: string) => `sha256:${c.repeat(64)}` as Digest;
const dirs: string[] = [];
function cache(): { c: BlobInfoCache; dir: string } {
  const root = mkdtempSync(join(tmpdir(), "tbuild-blobinfo-"));
  dirs.push(root);
  return { c: new BlobInfoCache(join(root, "blob-info"), root), dir: join(root, "blob-info") };
}
afterEach(() => {
  for (const x of dirs.splice(0)) rmSync(x, { recursive: true, force: true });
});

describe("BlobInfoCache", () => {
  it("knows nothing of a layer it never saw", async () => {
    expect(await cache().c.known(d("a"))).toEqual([]);
  });

  it("lists a layer's locations newest first, once each, at most eight", async () => {
    const { c } = cache();
    const at = (repo: string, blob = d("b")) => ({ digest: blob, size: 10, registry: "reg.example:5000", repository: repo });
    await c.remember(d("a"), at("one"));
    await c.remember(d("a"), at("two"));
    await c.remember(d("a"), at("one"));
    expect((await c.known(d("a"))).map((k) => k.repository)).toEqual(["one", "two"]);
    for (let i = 0; i < 10; i++) await c.remember(d("a"), at(`r${i}`));
    const known = await c.known(d("a"));
    expect(known.map((k) => k.repository)).toEqual(["r9", "r8", "r7", "r6", "r5", "r4", "r3", "r2"]);
    expect(await c.known(d("c"))).toEqual([]);
  });

  it("treats an unreadable list, or entries that are not blobs, as unknown", async () => {
    const { c, dir } = cache();
    await c.remember(d("a"), { digest: d("b"), size: 1, registry: "r", repository: "x" });
    writeFileSync(join(dir, "a".repeat(64)), "{not json");
    expect(await c.known(d("a"))).toEqual([]);
    writeFileSync(join(dir, "a".repeat(64)), JSON.stringify([{ digest: "sha256:short", size: 1, registry: "r", repository: "x" }, { digest: d("e"), size: -1, registry: "r", repository: "x" }, { digest: d("f"), size: 2, registry: "r", repository: "y" }]));
    expect(await c.known(d("a"))).toEqual([{ digest: d("f"), size: 2, registry: "r", repository: "y" }]);
  });
});
