// A store written by the tbuild version before pull's push hints moved into the layer
// records (they were kept apart in tbuild/blob-info/<diff ID hex>) still pushes a pulled
// image by mounting its layers, against a real docker-registry on 127.0.0.1.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pullImage, pushImage } from "../../src/registry/index.js";
import { readLayerRecord } from "../../src/store/index.js";
import { digestHex } from "../../src/util/index.js";
import { startRegistry, type RegistryServer } from "../helpers/registry-server.js";
import { openRealStore, putTarImage, type RealTransferStore } from "../helpers/registry-store.js";
import { buildTar } from "../helpers/tar-builder.js";

const roots: string[] = [];
async function newStore(): Promise<RealTransferStore> {
  const dir = mkdtempSync(join(tmpdir(), "tbuild-reg-old-"));
  roots.push(dir);
  return openRealStore(dir);
}
const fast = { retries: 2, backoffMs: 20 };

/** Rewrite `s`'s records of `diffIds` as the previous version wrote them: locations in tbuild/blob-info. */
async function asPreviousVersion(s: RealTransferStore, diffIds: readonly string[]): Promise<void> {
  const legacy = join(s.store.dataDir, "blob-info");
  mkdirSync(legacy, { recursive: true });
  for (const diffId of diffIds) {
    const rec = await readLayerRecord(s.store.paths, diffId as `sha256:${string}`);
    expect(rec?.seen).toHaveLength(1);
    writeFileSync(s.store.gzipMapPath(rec!.diffId), JSON.stringify({ digest: rec!.digest, size: rec!.size, diffId: rec!.diffId, uncompressedSize: rec!.uncompressedSize, provisional: true }));
    writeFileSync(join(legacy, digestHex(rec!.diffId)), JSON.stringify(rec!.seen));
  }
}

describe("a store from the previous version", () => {
  let reg: RegistryServer;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
    for (const d of roots) rmSync(d, { recursive: true, force: true });
  });

  it("pushes a pulled image by mounting from where it was pulled, with the hints kept apart", async () => {
    const a = await newStore();
    const origin = `${reg.host}/old/origin:v1`;
    await putTarImage(a, origin, [buildTar([{ name: "a.txt", content: "one ".repeat(50_000) }]), buildTar([{ name: "b.txt", content: "two ".repeat(40_000) }])]);
    const pushed = await pushImage(a, origin, fast);
    const b = await newStore();
    const pulled = await pullImage(b, origin, fast);
    await asPreviousVersion(b, pulled.layers.map((l) => l.diffId));
    const copy = `${reg.host}/old/copy:v1`;
    await b.tagManifest((await b.resolveManifest(origin))!, [copy]);
    const sent = await pushImage(b, copy, fast);
    expect(sent.layers.map((l) => l.status)).toEqual(["mounted", "mounted"]);
    expect(sent.digest).toBe(pushed.digest);
    expect(await b.check()).toMatchObject({ temps: [], bad: [] });
  });
});
