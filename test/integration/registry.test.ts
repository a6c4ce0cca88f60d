// pull and push against a real docker-registry (distribution 2.8) on 127.0.0.1: round
// trips, no blob sent twice, mounts, chunked uploads, manifest lists, basic auth, a
// corrupted blob and a registry killed mid-pull.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { pack } from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient, pullImage, pushImage, type TransferEvent } from "../../src/registry/index.js";
import { sendHttp, type HttpTransport } from "../../src/registry/http.js";
import { TbuildError, type Digest } from "../../src/util/index.js";
import { closeFronts, listen, proxy } from "../helpers/http-front.js";
import { startRegistry, type RegistryServer } from "../helpers/registry-server.js";
import { openRealStore, putTarImage, type RealTransferStore } from "../helpers/registry-store.js";
import { tempDirs } from "../helpers/temp-dirs.js";

// Removed after every describe below (file scope), pass or fail.
const tempDir = tempDirs();
const newStore = (): Promise<RealTransferStore> => openRealStore(tempDir("reg-store"));

async function tarOf(files: Record<string, Uint8Array>): Promise<Buffer> {
  const p = pack();
  for (const [name, data] of Object.entries(files)) p.entry({ name, size: data.byteLength, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, Buffer.from(data));
  p.finalize();
  const parts: Buffer[] = [];
  for await (const c of p) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Put an image made of `layers` (file maps) into `store` under `ref`; returns its image ID. */
async function makeImage(store: RealTransferStore, ref: string, layers: Record<string, Uint8Array>[], arch = "amd64"): Promise<Digest> {
  const tars = [];
  for (const files of layers) tars.push(await tarOf(files));
  return putTarImage(store, ref, tars, arch);
}

const fast = { retries: 2, backoffMs: 20 };

const uploads = (r: RegistryServer) => r.requests().filter((q) => (q.method === "PATCH" || q.method === "PUT") && q.path.includes("/blobs/uploads/"));

describe("registry pull/push (docker-registry on 127.0.0.1)", () => {
  let reg: RegistryServer;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
    closeFronts();
  });

  it("push then pull into an empty store gives the same digests; skopeo reads what was pushed", async () => {
    const a = await newStore();
    const ref = `${reg.host}/app/one:v1`;
    const id = await makeImage(a, ref, [{ "etc/hello": Buffer.from("hello\n") }, { "bin/data": randomBytes(300_000) }]);
    const pushed = await pushImage(a, ref, fast);
    expect(pushed.layers.map((l) => l.status)).toEqual(["pushed", "pushed"]);
    const inspect = JSON.parse(execFileSync("skopeo", ["inspect", "--tls-verify=false", `docker://${ref}`], { encoding: "utf8" })) as { Digest: string; Layers: string[] };
    expect(inspect.Digest).toBe(pushed.digest);

    const b = await newStore();
    const events: TransferEvent[] = [];
    const pulled = await pullImage(b, ref, { ...fast, onEvent: (e) => events.push(e) });
    expect(pulled.remoteDigest).toBe(pushed.digest);
    expect(pulled.imageId).toBe(id);
    // The registry's OCI manifest is kept byte for byte: the image has the registry's digest.
    expect(pulled.manifestDigest).toBe(pushed.digest);
    expect(pulled.layers.map((l) => l.status)).toEqual(["pulled", "pulled"]);
    expect(pulled.downloaded).toBe(true);
    // The store keeps the gzip blobs as they came (no plain copy until first use).
    const stored = await b.store.resolve(ref);
    expect(stored.layers.map((l) => [l.mediaType, l.digest])).toEqual(pushed.layers.map((l) => ["application/vnd.oci.image.layer.v1.tar+gzip", l.digest]));
    expect(inspect.Layers).toEqual(pushed.layers.map((l) => l.digest));
    for (const l of pulled.layers) expect(await b.hasBlob(l.diffId)).toBe(false);
    expect(await b.check()).toMatchObject({ temps: [], bad: [] });

    // Pushing the pulled image from the second store gives the very same registry digest.
    const again = await pushImage(b, ref, fast);
    expect(again.digest).toBe(pushed.digest);
    // A second pull finds everything already there.
    const second = await pullImage(b, ref, fast);
    expect(second.layers.map((l) => l.status)).toEqual(["exists", "exists"]);
    expect(second.downloaded).toBe(false);
  });

  it("a second push sends no layer twice (HEAD finds them)", async () => {
    const s = await newStore();
    const ref = `${reg.host}/app/twice:v1`;
    await makeImage(s, ref, [{ a: randomBytes(100_000) }, { b: randomBytes(100_000) }]);
    reg.clearRequests();
    await pushImage(s, ref, fast);
    await new Promise((r) => setTimeout(r, 100));
    expect(uploads(reg).filter((q) => q.method === "PUT")).toHaveLength(3); // 2 layers + config
    reg.clearRequests();
    const r2 = await pushImage(s, ref, fast);
    await new Promise((r) => setTimeout(r, 100));
    expect(r2.layers.map((l) => l.status)).toEqual(["exists", "exists"]);
    expect(uploads(reg)).toHaveLength(0);
    expect(reg.requests().filter((q) => q.method === "HEAD" && q.path.includes("/blobs/")).every((q) => q.status === 200)).toBe(true);
  });

  it("mounts blobs across repositories and uploads in PATCH chunks", async () => {
    const s = await newStore();
    const ref = `${reg.host}/app/src:v1`;
    await makeImage(s, ref, [{ big: randomBytes(2_500_000) }]);
    reg.clearRequests();
    await pushImage(s, ref, { ...fast, chunkSize: 1024 * 1024 });
    await new Promise((r) => setTimeout(r, 100));
    expect(uploads(reg).filter((q) => q.method === "PATCH").length).toBeGreaterThanOrEqual(3);
    await s.tagManifest((await s.resolveManifest(ref))!, [`${reg.host}/app/dst:v1`]);
    const m = await pushImage(s, `${reg.host}/app/dst:v1`, { ...fast, mountFrom: ["app/src"] });
    expect(m.layers.map((l) => l.status)).toEqual(["mounted"]);
    const b = await newStore();
    expect((await pullImage(b, `${reg.host}/app/dst:v1`, fast)).remoteDigest).toBe(m.digest);
  });

  it("sends a layer while gzipping it (one streamed PATCH), and falls back to a plain upload when that stream breaks", async () => {
    const s = await newStore();
    const ref = `${reg.host}/app/stream:v1`;
    const id = await makeImage(s, ref, [{ text: Buffer.alloc(3_000_000, "layer ") }, { bin: randomBytes(500_000) }]);
    reg.clearRequests();
    const pushed = await pushImage(s, ref, fast);
    await new Promise((r) => setTimeout(r, 100));
    expect(pushed.layers.map((l) => l.status)).toEqual(["pushed", "pushed"]);
    const layerRequests = reg.requests().filter((q) => pushed.layers.some((l) => q.path.includes(l.digest)));
    expect(layerRequests.filter((q) => q.method === "HEAD")).toEqual([]); // its digest was not known before it was sent
    expect(reg.requests().filter((q) => q.method === "PATCH")).toHaveLength(2);
    const b = await newStore();
    expect((await pullImage(b, ref, fast)).imageId).toBe(id);
    expect(await s.check()).toMatchObject({ temps: [], bad: [] });

    // The first streamed PATCH breaks off: that layer is gzipped all the same, then sent from the store.
    const t = await newStore();
    const ref2 = `${reg.host}/app/stream2:v1`;
    const id2 = await makeImage(t, ref2, [{ text: Buffer.alloc(3_000_000, "other ") }]);
    let broken = 0;
    const flaky: HttpTransport = (url, req) => (req.method === "PATCH" && broken++ === 0 ? Promise.reject(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })) : sendHttp(url, req));
    const again = await pushImage(t, ref2, { ...fast, transport: flaky });
    expect(broken).toBe(1);
    expect(again.layers.map((l) => l.status)).toEqual(["pushed"]);
    const c = await newStore();
    expect((await pullImage(c, ref2, fast)).imageId).toBe(id2);
    expect(await t.check()).toMatchObject({ temps: [], bad: [] });
  });

  it("pushes a pulled image without gzipping: layers the registry has are found or mounted from where they were pulled", async () => {
    const a = await newStore();
    const origin = `${reg.host}/app/origin:v1`;
    const id = await makeImage(a, origin, [{ text: Buffer.alloc(400_000, "tbuild ") }, { bin: randomBytes(300_000) }]);
    const pushed = await pushImage(a, origin, fast);
    const b = await newStore();
    const pulled = await pullImage(b, origin, fast);
    await b.tagManifest((await b.resolveManifest(origin))!, [`${reg.host}/app/copy:v1`, `${reg.host}/app/origin:v2`]);

    reg.clearRequests();
    const copy = await pushImage(b, `${reg.host}/app/copy:v1`, fast);
    await new Promise((r) => setTimeout(r, 100));
    expect(copy.layers.map((l) => l.status)).toEqual(["mounted", "mounted"]);
    expect(copy.layers.map((l) => l.digest)).toEqual(pushed.layers.map((l) => l.digest));
    expect(copy.digest).toBe(pushed.digest); // the same manifest: same blobs, same sizes
    expect(uploads(reg).filter((q) => q.method === "PUT")).toHaveLength(1); // the config only
    const again = await pushImage(b, `${reg.host}/app/origin:v2`, fast);
    expect(again.layers.map((l) => l.status)).toEqual(["exists", "exists"]);
    // Nothing was gzipped or inflated: each layer's record names the very blob pulled, and no plain copy exists.
    for (const l of pulled.layers) {
      expect(JSON.parse(readFileSync(b.store.gzipMapPath(l.diffId), "utf8"))).toMatchObject({ digest: l.digest, provisional: true });
      expect(existsSync(b.store.blobPath(l.diffId))).toBe(false);
    }

    // Another registry lacks those blobs: the layers are gzipped and sent, and read back.
    const other = await startRegistry();
    try {
      const elsewhere = `${other.host}/app/copy:v1`;
      await b.tagManifest((await b.resolveManifest(origin))!, [elsewhere]);
      const sent = await pushImage(b, elsewhere, fast);
      expect(sent.layers.map((l) => l.status)).toEqual(["pushed", "pushed"]);
      const c = await newStore();
      expect((await pullImage(c, elsewhere, fast)).imageId).toBe(id);
    } finally {
      await other.stop();
    }
    const d = await newStore();
    expect((await pullImage(d, `${reg.host}/app/copy:v1`, fast)).imageId).toBe(id);
    expect(await b.check()).toMatchObject({ temps: [], bad: [] });
  });

  it("pulling a manifest list picks the host platform (linux/amd64), --platform picks another", async () => {
    const s = await newStore();
    const amdId = await makeImage(s, `${reg.host}/multi/app:amd64`, [{ arch: Buffer.from("amd64") }], "amd64");
    const armId = await makeImage(s, `${reg.host}/multi/app:arm64`, [{ arch: Buffer.from("arm64") }], "arm64");
    const amd = await pushImage(s, `${reg.host}/multi/app:amd64`, fast);
    const arm = await pushImage(s, `${reg.host}/multi/app:arm64`, fast);
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: arm.digest, size: arm.size, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
        { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: amd.digest, size: amd.size, platform: { os: "linux", architecture: "amd64" } },
      ],
    }));
    const client = new RegistryClient({ registry: reg.host });
    const indexDigest = await client.putManifest("multi/app", "latest", index, "application/vnd.oci.image.index.v1+json");
    const b = await newStore();
    const pulled = await pullImage(b, `${reg.host}/multi/app`, fast);
    expect(process.arch).toBe("x64");
    expect(pulled.imageId).toBe(amdId);
    expect(pulled.remoteDigest).toBe(indexDigest);
    const c = await newStore();
    expect((await pullImage(c, `${reg.host}/multi/app:latest`, { ...fast, platform: "linux/arm64" })).imageId).toBe(armId);
    await expect(pullImage(c, `${reg.host}/multi/app:latest`, { ...fast, platform: "linux/s390x" })).rejects.toThrow(/no image for platform linux\/s390x/);
  });

  it("follows a registry's redirect of blob GETs to another host, without sending it the credentials", async () => {
    const s = await newStore();
    const ref = `${reg.host}/app/redirected:v1`;
    // The second layer is big enough to be downloaded on a worker thread: its redirect too must drop the credentials.
    const id = await makeImage(s, ref, [{ a: randomBytes(300_000) }, { b: randomBytes(17 * 1024 * 1024) }]);
    const big = (await pushImage(s, ref, fast)).layers[1]!.digest;
    // "storage" serves blobs from the real registry; the front asks for Basic auth, proxies
    // the API and answers each blob GET with a 307 to storage, as registries backed by S3 do.
    const storageAuth: (string | undefined)[] = [];
    const storage = await listen((req, res) => {
      storageAuth.push(req.headers.authorization);
      proxy(reg.host, req, res);
    });
    const frontAuth: (string | undefined)[] = [];
    const front = await listen((req, res) => {
      frontAuth.push(req.headers.authorization);
      if (req.headers.authorization !== `Basic ${Buffer.from("u:p").toString("base64")}`) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="front"' }).end();
      } else if (req.method === "GET" && /^\/v2\/.+\/blobs\/sha256:/.test(req.url!)) {
        res.writeHead(307, { location: `http://${storage}${req.url}` }).end();
      } else proxy(reg.host, req, res);
    });
    const b = await newStore();
    const events: TransferEvent[] = [];
    const pulled = await pullImage(b, `${front}/app/redirected:v1`, { ...fast, workerThreads: 1, credentials: async () => ({ username: "u", password: "p" }), onEvent: (e) => events.push(e) });
    expect(pulled.imageId).toBe(id);
    // The big layer went to the worker, which reports its bytes once, at the end (this thread reports each chunk).
    expect(events.filter((e) => e.kind === "bytes" && e.digest === big)).toHaveLength(1);
    expect(storageAuth).toHaveLength(3); // the config and both layers
    expect(storageAuth).toEqual([undefined, undefined, undefined]);
    expect(frontAuth.filter((a) => a !== undefined).length).toBeGreaterThanOrEqual(4);
    expect(await b.check()).toMatchObject({ temps: [], bad: [] });
  });

  it("a blob corrupted on the registry's disk is rejected (E_REGISTRY_DIGEST) and nothing is stored", async () => {
    const s = await newStore();
    const ref = `${reg.host}/app/corrupt:v1`;
    await makeImage(s, ref, [{ ok: Buffer.from("fine") }, { x: randomBytes(200_000) }]);
    const pushed = await pushImage(s, ref, fast);
    const victim = pushed.layers[1]!.digest;
    const path = reg.blobPath(victim);
    const { size } = await import("node:fs").then((fs) => fs.statSync(path));
    writeFileSync(path, randomBytes(size)); // same length, wrong bytes
    const b = await newStore();
    const err = await pullImage(b, ref, fast).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TbuildError);
    expect((err as TbuildError).code).toBe("E_REGISTRY_DIGEST");
    expect((err as TbuildError).message).toContain(victim);
    const check = await b.check();
    expect(check.temps).toEqual([]);
    expect(check.bad).toEqual([]);
    expect(await b.index()).toEqual([]);
    // Neither the bad layer nor the config or manifest was stored.
    const diffIds = (JSON.parse(Buffer.from(await s.readBlob((JSON.parse(Buffer.from(await s.readBlob((await s.resolveManifest(ref))!.digest)).toString()) as { config: { digest: Digest } }).config.digest)).toString()) as { rootfs: { diff_ids: Digest[] } }).rootfs.diff_ids;
    expect(await b.hasBlob(diffIds[1]!)).toBe(false);
  });
});

// A pull downloads big layers (>= 16 MiB) on worker threads when asked to: a registry
// killed mid-layer must be survived on both paths.
describe.each([
  { path: "a worker thread", opts: { workerThreads: 1 } },
  { path: "the main thread", opts: { workerThreads: 0 } },
])("registry killed in the middle of a layer downloaded on $path", ({ opts }) => {
  afterAll(() => closeFronts());

  it("leaves the store clean, and a retry after a restart succeeds", async () => {
    let reg = await startRegistry();
    try {
      const s = await newStore();
      const id = await makeImage(s, `${reg.host}/app/big:v1`, [{ small: Buffer.from("x") }, { big: randomBytes(48 * 1024 * 1024) }]);
      await pushImage(s, `${reg.host}/app/big:v1`, fast);
      // The front kills the registry once 4 MiB of a blob have passed through it.
      let passed = 0;
      let killed = false;
      const front = await listen((req, res) =>
        proxy(reg.host, req, res, (chunk) => {
          passed += chunk.byteLength;
          if (!killed && passed > 4 * 1024 * 1024) {
            killed = true;
            void reg.kill();
          }
        }),
      );
      const ref = `${front}/app/big:v1`;
      const b = await newStore();
      const err = await pullImage(b, ref, { ...fast, ...opts }).catch((e: unknown) => e);
      expect(killed).toBe(true);
      expect(err).toBeInstanceOf(TbuildError);
      expect((err as TbuildError).code).toBe("E_REGISTRY");
      const check = await b.check();
      expect(check.temps).toEqual([]);
      expect(check.bad).toEqual([]);
      expect(await b.index()).toEqual([]);

      reg = await reg.restart();
      const pulled = await pullImage(b, ref, { ...fast, ...opts });
      expect(pulled.imageId).toBe(id);
      expect((await b.check()).bad).toEqual([]);
    } finally {
      await reg.stop();
    }
  });
});
