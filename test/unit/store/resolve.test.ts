// Resolving a name or ID goes through index.json and reads only the blobs of the image it
// names, and one corrupt image does not stop the others from being found.
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildConfig } from "../../../src/image/index.js";
import { Store, resolveImage, type PutImageResult } from "../../../src/store/index.js";
import { digestHex } from "../../../src/util/index.js";
import { tempDirs } from "../../helpers/temp-dirs.js";

const tmp = tempDirs();

const enc = new TextEncoder();

async function image(store: Store, text: string, tags: string[]) {
  const layer = await store.putBlob(enc.encode(text));
  const config = buildConfig({ platform: { os: "linux", architecture: "amd64" }, diffIds: [layer.digest], history: [{ created_by: text }] });
  return store.putImage({ config, layers: [{ diffId: layer.digest, size: layer.size }], tags });
}

describe("resolveImage", () => {
  it("finds tags, IDs, ID prefixes and manifest digests, and names an ambiguous prefix", async () => {
    const s = await Store.open(tmp("resolve"));
    const made: PutImageResult[] = [];
    for (let i = 0; i < 18; i++) made.push(await image(s, `image ${i}`, i % 3 ? [`app:${i}`] : []));
    const all = await s.listImages();
    const idOf = async (n: string) => (await resolveImage(s.paths, n))?.id;
    expect(await idOf("app:1")).toBe(made[1]!.imageId);
    expect(await idOf("docker.io/library/app:2")).toBe(made[2]!.imageId);
    expect(await idOf("app")).toBeUndefined(); // app:latest was never tagged
    expect(await idOf("nope:1")).toBeUndefined();
    for (const m of made) {
      for (const n of [m.imageId, digestHex(m.imageId), digestHex(m.imageId).slice(0, 12), `app@${m.manifestDigest}`, m.manifestDigest]) {
        expect(await idOf(n), n).toBe(m.imageId);
      }
    }
    // 18 IDs over 16 hex digits: some first digit is shared (an ambiguous prefix).
    const firstDigits = made.map((m) => digestHex(m.imageId)[0]!);
    const shared = firstDigits.find((d, i) => firstDigits.indexOf(d) !== i)!;
    await expect(resolveImage(s.paths, shared)).rejects.toMatchObject({ code: "E_STORE_NOT_FOUND", message: expect.stringContaining("ambiguous") });
    const one = (await resolveImage(s.paths, "app:1"))!;
    expect(one).toEqual(all.find((i) => i.id === made[1]!.imageId));
  });

  it("finds an image while another image's config is corrupt, which listing every image cannot", async () => {
    const s = await Store.open(tmp("resolve"));
    const good = await image(s, "good", ["good:1"]);
    const bad = await image(s, "bad", ["bad:1"]);
    writeFileSync(s.blobPath(bad.imageId), "{}");
    await expect(s.listImages()).rejects.toMatchObject({ code: "E_STORE_CORRUPT" });
    expect((await resolveImage(s.paths, "good:1"))!.id).toBe(good.imageId);
    expect((await resolveImage(s.paths, good.imageId))!.id).toBe(good.imageId);
    expect((await resolveImage(s.paths, `good@${good.manifestDigest}`))!.id).toBe(good.imageId);
    await expect(resolveImage(s.paths, "bad:1")).rejects.toMatchObject({ code: "E_STORE_CORRUPT" });
  });
});
