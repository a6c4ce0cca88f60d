// The Store API the build engine writes through, in-process against a temp root.
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { applyChanges, buildConfig, buildManifest } from "../../../src/image/index.js";
import { storeTransfer } from "../../../src/registry/index.js";
import { Store, collectGarbage, gzipParallel } from "../../../src/store/index.js";
import { TbuildError, sha256Digest } from "../../../src/util/index.js";
import { gunzipSync, gzipSync } from "node:zlib";
import { tempDirs } from "../../helpers/temp-dirs.js";

const tmp = tempDirs();

const root = () => tmp("unit-store");
const enc = new TextEncoder();

async function image(store: Store, text: string, tags: string[]) {
  const layer = await store.putBlob(enc.encode(text));
  const config = buildConfig({ platform: { os: "linux", architecture: "amd64" }, diffIds: [layer.digest], history: [{ created_by: text }] });
  return { layer, res: await store.putImage({ config, layers: [{ diffId: layer.digest, size: layer.size }], tags }) };
}

describe("Store", () => {
  it("puts blobs once, verifies expectations, and names the blob on mismatch", async () => {
    const s = await Store.open(root());
    const a = await s.putBlob(enc.encode("hello"));
    expect(a.digest).toBe(sha256Digest("hello"));
    await s.putBlob(enc.encode("hello"));
    expect(readdirSync(s.paths.sha256)).toHaveLength(1);
    await expect(s.putBlob(enc.encode("hellO"), { digest: a.digest, label: "layer 1" })).rejects.toThrow(/layer 1: digest mismatch/);
    await expect(s.putBlob(enc.encode("hello!"), { size: 5 })).rejects.toBeInstanceOf(TbuildError);
    expect(readdirSync(s.paths.tmp)).toEqual([]);
    expect(Buffer.from(await s.readBlob(a.digest)).toString()).toBe("hello");
  });

  it("puts images, resolves by tag, ID, prefix and digest, and moves tags", async () => {
    const s = await Store.open(root());
    const one = await image(s, "one", ["app:1", "app:latest"]);
    const two = await image(s, "two", []);
    expect(one.res.tags).toEqual(["docker.io/library/app:1", "docker.io/library/app:latest"]);
    expect((await s.resolve("app")).id).toBe(one.res.imageId);
    expect((await s.resolve(one.res.imageId)).manifestDigest).toBe(one.res.manifestDigest);
    expect((await s.resolve(one.res.imageId.slice(7, 13))).id).toBe(one.res.imageId);
    expect((await s.resolve(`app@${one.res.manifestDigest}`)).id).toBe(one.res.imageId);
    expect((await s.listImages()).find((i) => i.id === two.res.imageId)!.tags).toEqual([]);
    await s.tag(two.res.imageId, "app:1");
    expect((await s.resolve("app:1")).id).toBe(two.res.imageId);
    await expect(s.resolve("nope")).rejects.toMatchObject({ code: "E_STORE_NOT_FOUND" });
    await expect(s.putImage({ config: buildConfig({ platform: { os: "linux", architecture: "amd64" }, diffIds: [sha256Digest("missing")] }), layers: [{ diffId: sha256Digest("missing"), size: 7 }] })).rejects.toMatchObject({ code: "E_STORE_CONFLICT" });
  });

  it("keeps given manifest bytes that describe the image (a pulled manifest's digest), and builds its own otherwise; the registry adapter commits the same way", async () => {
    const s = await Store.open(root());
    const layer = await s.putBlob(enc.encode("kept manifest"));
    const config = buildConfig({ platform: { os: "linux", architecture: "amd64" }, diffIds: [layer.digest] });
    const layers = [{ diffId: layer.digest, size: layer.size }];
    const built = buildManifest(config.descriptor, layers);
    // The same blobs, written as a registry might: another key order, indentation and an annotation.
    const { layers: ls, config: c, ...rest } = JSON.parse(new TextDecoder().decode(built.bytes)) as Record<string, unknown>;
    const theirs = enc.encode(JSON.stringify({ ...rest, layers: ls, config: c, annotations: { from: "registry" } }, null, 2));
    const kept = await s.putImage({ config, layers, tags: ["kept:1"], manifestBytes: theirs });
    expect(kept.manifestDigest).toBe(sha256Digest(theirs));
    expect(Buffer.from(await s.readBlob(kept.manifestDigest)).equals(theirs)).toBe(true);
    // Bytes that describe other blobs are not kept.
    const other = enc.encode(new TextDecoder().decode(theirs).replace(layer.digest, sha256Digest("other")));
    expect((await s.putImage({ config, layers, tags: ["kept:2"], manifestBytes: other })).manifestDigest).toBe(built.descriptor.digest);
    const viaAdapter = await storeTransfer(s).putImage({ configBytes: config.bytes, layers, tags: ["docker.io/library/kept:3"], manifestBytes: theirs });
    expect(viaAdapter.manifestDigest).toBe(kept.manifestDigest);
    expect((await s.resolve("kept:3")).manifestDigest).toBe(kept.manifestDigest);
  });

  it("keeps a Docker schema 2 manifest byte for byte, listed through a one-entry OCI index that names its Docker media type; tag and rmi follow that entry", async () => {
    const s = await Store.open(root());
    const plain = enc.encode("docker layer");
    const gz = await s.putBlob(gzipSync(plain));
    const diffId = sha256Digest(plain);
    const config = buildConfig({ platform: { os: "linux", architecture: "arm64", variant: "v8" }, diffIds: [diffId] });
    const layers = [{ diffId, size: plain.length, compressed: gz }];
    const docker = enc.encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: { mediaType: "application/vnd.docker.container.image.v1+json", size: config.descriptor.size, digest: config.descriptor.digest },
      layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: gz.size, digest: gz.digest }],
    }, null, 3));
    const kept = await s.putImage({ config, layers, tags: ["d:1"], manifestBytes: docker });
    expect(kept.manifestDigest).toBe(sha256Digest(docker));
    expect(Buffer.from(await s.readBlob(kept.manifestDigest)).equals(docker)).toBe(true);
    const index = JSON.parse(readFileSync(s.paths.index, "utf8")) as { manifests: { mediaType: string; digest: string; annotations: Record<string, string> }[] };
    expect(index.manifests).toHaveLength(1);
    const entry = index.manifests[0]!;
    expect(entry).toMatchObject({ mediaType: "application/vnd.oci.image.index.v1+json", annotations: { "org.opencontainers.image.ref.name": "docker.io/library/d:1" } });
    const wrapper = JSON.parse(Buffer.from(await s.readBlob(entry.digest as `sha256:${string}`)).toString()) as { manifests: unknown[] };
    expect(wrapper.manifests).toEqual([{ mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest: kept.manifestDigest, size: docker.length, platform: { architecture: "arm64", os: "linux", variant: "v8" } }]);
    // Every way of naming it finds the Docker manifest.
    for (const name of ["d:1", `d@${kept.manifestDigest}`, config.descriptor.digest]) {
      const img = await s.resolve(name);
      expect([img.manifestDigest, img.manifest.mediaType, img.entry.digest]).toEqual([kept.manifestDigest, "application/vnd.docker.distribution.manifest.v2+json", entry.digest]);
    }
    // The same manifest under OCI media types is the same blobs; another layer is not.
    const asOci = enc.encode(new TextDecoder().decode(docker).replaceAll("vnd.docker.image.rootfs.diff.tar.gzip", "vnd.oci.image.layer.v1.tar+gzip"));
    expect((await s.putImage({ config, layers, tags: ["d:oci"], manifestBytes: asOci })).manifestDigest).toBe(sha256Digest(asOci));
    const wrong = enc.encode(new TextDecoder().decode(docker).replace(gz.digest, sha256Digest("other")));
    expect((await s.putImage({ config, layers, tags: ["d:wrong"], manifestBytes: wrong })).manifestDigest).toBe(buildManifest(config.descriptor, layers).descriptor.digest);
    await s.remove("d:oci");
    await s.remove("d:wrong");

    await s.tag("d:1", "d:2");
    expect((await s.resolve("d:2")).manifestDigest).toBe(kept.manifestDigest);
    const entries = (JSON.parse(readFileSync(s.paths.index, "utf8")) as { manifests: { digest: string }[] }).manifests;
    expect(entries.map((m) => m.digest)).toEqual([entry.digest, entry.digest]);
    expect((await s.remove("d:1")).deletedImages).toEqual([]);
    const gone = await s.remove("d:2");
    expect(gone.deletedBlobs).toEqual(expect.arrayContaining([entry.digest, kept.manifestDigest, config.descriptor.digest, gz.digest]));
    expect(readdirSync(s.paths.sha256)).toEqual([]);

    // Dangling, it is pruned whole and reported by its manifest digest, not its index's.
    const again = await s.putBlob(gzipSync(plain));
    await s.putImage({ config, layers: [{ diffId, size: plain.length, compressed: again }], manifestBytes: docker });
    expect((await collectGarbage(s.paths, { dangling: true })).deletedImages).toEqual([kept.manifestDigest]);
    expect(readdirSync(s.paths.sha256)).toEqual([]);
  });

  it("leaves index.json and the blobs untouched when a put changes nothing, and still repairs and moves", async () => {
    const s = await Store.open(root());
    const one = await image(s, "same", ["app:1"]);
    const before = statSync(s.paths.index, { bigint: true });
    const configPath = s.blobPath(one.res.imageId);
    const configIno = statSync(configPath).ino;
    const again = await image(s, "same", ["app:1"]);
    expect(again.res).toEqual(one.res);
    const after = statSync(s.paths.index, { bigint: true });
    expect([after.ino, after.mtimeNs]).toEqual([before.ino, before.mtimeNs]);
    expect(statSync(configPath).ino).toBe(configIno);
    // A damaged config is rewritten; a new tag rewrites the index.
    writeFileSync(configPath, "damaged");
    await image(s, "same", ["app:1", "app:2"]);
    expect(Buffer.from(await s.readBlob(one.res.imageId)).length).toBeGreaterThan(7);
    expect(statSync(s.paths.index).ino).not.toBe(Number(before.ino));
    expect((await s.resolve("app:2")).id).toBe(one.res.imageId);
    // Moving the tag away and back are both real changes.
    const other = await image(s, "other", ["app:1"]);
    expect((await s.resolve("app:1")).id).toBe(other.res.imageId);
    await image(s, "same", ["app:1"]);
    expect((await s.resolve("app:1")).id).toBe(one.res.imageId);
  });

  it("remove keeps shared blobs and gc drops dangling images and orphans", async () => {
    const s = await Store.open(root());
    const one = await image(s, "shared", ["a:1"]);
    await image(s, "shared", ["b:1"]); // same layer and config: same image, second tag
    const r = await s.remove("a:1");
    expect(r.deletedImages).toEqual([]);
    const r2 = await s.remove("b:1");
    expect(r2.deletedImages).toEqual([one.res.imageId]);
    expect(readdirSync(s.paths.sha256)).toEqual([]);
    await image(s, "dangling", []);
    await s.putBlob(enc.encode("orphan"));
    const g = await collectGarbage(s.paths, { dangling: true });
    expect(g.deletedImages).toHaveLength(1);
    expect(readdirSync(s.paths.sha256)).toEqual([]);
  });

  it("gzips in parallel members that gunzip back to the input, deterministically", async () => {
    const data = new Uint8Array(9 << 20).map((_, i) => (i * 7) & 0xff);
    const run = async () => {
      const parts: Uint8Array[] = [];
      for await (const c of gzipParallel((async function* () { yield data.subarray(0, 5 << 20); yield data.subarray(5 << 20); })())) parts.push(c);
      return Buffer.concat(parts);
    };
    const a = await run();
    expect(gunzipSync(a).equals(Buffer.from(data))).toBe(true);
    expect((await run()).equals(a)).toBe(true);
  });
});

describe("image builders and --change", () => {
  it("builds canonical manifests", () => {
    const m = buildManifest({ digest: sha256Digest("c"), size: 1 }, [{ diffId: sha256Digest("l"), size: 2 }]);
    expect(new TextDecoder().decode(m.bytes)).toBe(
      `{"config":{"digest":"${sha256Digest("c")}","mediaType":"application/vnd.oci.image.config.v1+json","size":1},"layers":[{"digest":"${sha256Digest("l")}","mediaType":"application/vnd.oci.image.layer.v1.tar","size":2}],"mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}`,
    );
    expect(m.descriptor.digest).toBe(sha256Digest(m.bytes));
  });
  it("applies --change instructions", () => {
    expect(applyChanges({}, ["CMD echo hi", 'ENTRYPOINT ["/bin/sh","-c"]', "ENV A=1 B=\"x y\"", "ENV C 3", "EXPOSE 80 53/udp", "LABEL a=b", "USER app", "WORKDIR /w", "WORKDIR sub", "VOLUME /data", "STOPSIGNAL SIGTERM"])).toEqual({
      Cmd: ["/bin/sh", "-c", "echo hi"],
      Entrypoint: ["/bin/sh", "-c"],
      Env: ["A=1", "B=x y", "C=3"],
      ExposedPorts: { "80/tcp": {}, "53/udp": {} },
      Labels: { a: "b" },
      User: "app",
      WorkingDir: "/w/sub",
      Volumes: { "/data": {} },
      StopSignal: "SIGTERM",
    });
    expect(() => applyChanges({}, ["RUN rm -rf /"])).toThrow(/RUN is not allowed/);
  });
});
