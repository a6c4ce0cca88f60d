// Build cache shared through a real docker-registry on 127.0.0.1 and through an OCI layout
// folder: store A builds with --cache-to; a brand-new store B (whose FROM pulls the base
// from the registry) builds the same context with --cache-from and every step is CACHED,
// with the same image ID; after one file changes, only the steps from the first affected
// one run, and layers of steps that no longer hit are never downloaded. Imported layers
// are kept as the cache's gzip blobs (B's manifest names them, so its digest is not A's,
// whose layers are plain) and inflated only when a later step needs the root file system.
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBusyboxRootfsTar } from "../helpers/fixtures.js";
import { findImage, listBlobs, verifyLayout } from "../helpers/oci-reader.js";
import { startRegistry, type RegistryServer } from "../helpers/registry-server.js";
import { spawnCli, type ProcessResult } from "../helpers/run-cli.js";

const EPOCH = "1700000000";

let work: string;
let reg: RegistryServer;
let base: string;
let env: Record<string, string>;

/** Run the CLI without blocking the event loop (the registry's access log is read meanwhile). */
async function tb(args: string[]): Promise<ProcessResult> {
  const r = await spawnCli(args, { cwd: work, env });
  await new Promise((ok) => setTimeout(ok, 100)); // let the access log catch up
  return r;
}

interface Built {
  imageId: string;
  manifestDigest: string;
  cached: string[];
  ran: string[];
  stderr: string;
}

/** Build `ctx` into the store at `root` with --progress json; which steps hit, which ran. */
async function build(root: string, ctx: string, extra: string[]): Promise<Built> {
  const r = await await tb(["build", "--root", root, "--progress", "json", "-t", "app:test", ...extra, ctx]);
  expect(r.code, r.stderr).toBe(0);
  const events = r.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { type: string; id?: number; steps?: { id: number; name: string }[]; cached?: boolean; imageId?: string; manifestDigest?: string });
  const names = new Map((events.find((e) => e.type === "plan")?.steps ?? []).map((s) => [s.id, s.name.replace(/^\[[^\]]*\] /, "")]));
  const done = events.filter((e) => e.type === "step-done" && !names.get(e.id!)!.startsWith("FROM"));
  const fin = events.find((e) => e.type === "done")!;
  return {
    imageId: fin.imageId!,
    manifestDigest: fin.manifestDigest!,
    cached: done.filter((e) => e.cached).map((e) => names.get(e.id!)!),
    ran: done.filter((e) => !e.cached).map((e) => names.get(e.id!)!),
    stderr: r.stderr,
  };
}

function newContext(name: string): string {
  const ctx = join(work, name);
  mkdirSync(ctx, { recursive: true });
  writeFileSync(
    join(ctx, "Dockerfile"),
    [`FROM ${base}`, "WORKDIR /app", "COPY a.txt /app/", "COPY b.txt /app/", "RUN cat a.txt b.txt > both.txt && echo built >> both.txt", "COPY c.txt /app/", 'CMD ["cat", "/app/both.txt"]', ""].join("\n"),
  );
  writeFileSync(join(ctx, "a.txt"), "alpha\n");
  writeFileSync(join(ctx, "b.txt"), "bravo\n");
  writeFileSync(join(ctx, "c.txt"), "charlie\n");
  return ctx;
}

const ALL = ["WORKDIR /app", "COPY a.txt /app/", "COPY b.txt /app/", "RUN cat a.txt b.txt > both.txt && echo built >> both.txt", "COPY c.txt /app/"];

/** A layer of a cache as its manifest lists it: gzip digest and size, diff ID and plain size. */
interface CacheLayer {
  digest: string;
  compressedSize: number;
  diffId: string;
  size: number;
}

/** The cache's layers by step text, read from the registry. */
async function cacheLayerInfo(ref: string): Promise<Map<string, CacheLayer>> {
  const [repo, tag] = ref.slice(reg.host.length + 1).split(":") as [string, string];
  const m = (await (await fetch(`http://${reg.host}/v2/${repo}/manifests/${tag}`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json" } })).json()) as { config: { mediaType: string; digest: string } };
  expect(m.config.mediaType).toBe("application/vnd.tbuild.cache.v1+json");
  const cfg = (await (await fetch(`http://${reg.host}/v2/${repo}/blobs/${m.config.digest}`)).json()) as { layers: CacheLayer[]; records: { text: string; layer: number }[] };
  return new Map(cfg.records.map((r) => [r.text, cfg.layers[r.layer]!]));
}

/** Compressed digests of the cache's layers by step text, read from the registry. */
async function cacheLayers(ref: string): Promise<Map<string, string>> {
  return new Map([...(await cacheLayerInfo(ref))].map(([text, l]) => [text, l.digest]));
}

const hex = (d: string) => d.slice("sha256:".length);
const blobFile = (root: string, d: string) => join(root, "blobs", "sha256", hex(d));
const sha256File = (path: string) => `sha256:${createHash("sha256").update(readFileSync(path)).digest("hex")}`;
/** The store's record of a layer kept compressed (store/layer-records.ts), or undefined. */
const layerRecord = (root: string, diffId: string) => {
  const path = join(root, "tbuild", "gzip", hex(diffId));
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as { digest: string; size: number; uncompressedSize: number; provisional?: boolean; seen?: { registry: string; repository: string }[] }) : undefined;
};
/** The layer digests of the image `ref` in the store at `root` (read without src/store). */
const manifestLayers = (root: string, ref: string) => findImage(root, ref)!.layers.map((l) => [l.mediaType, l.digest] as const);

const blobGets = () => reg.requests().filter((q) => q.method === "GET" && q.path.includes("/blobs/sha256:")).map((q) => q.path.split("/blobs/")[1]!);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "tbuild-cache-"));
  env = { HOME: work, XDG_CONFIG_HOME: join(work, "cfg"), SOURCE_DATE_EPOCH: EPOCH, DOCKER_CONFIG: join(work, "docker") };
  reg = await startRegistry();
  base = `${reg.host}/base/busybox:1`;
  const tar = await buildBusyboxRootfsTar();
  const seed = join(work, "seed");
  expect((await tb(["import", "--root", seed, tar, base])).code).toBe(0);
  const p = await tb(["push", "--root", seed, base]);
  expect(p.code, p.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await reg?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("--cache-to / --cache-from type=registry", () => {
  const cacheRef = () => `${reg.host}/app/cache:buildcache`;
  let a: Built;

  it("store A builds and exports its cache; a brand-new store B pulls the base and hits every step, with the same image", async () => {
    const ctx = newContext("ctx-reg");
    a = await build(join(work, "A"), ctx, ["--cache-to", `type=registry,ref=${cacheRef()},mode=max`]);
    expect(a.ran).toEqual(ALL);
    expect(a.stderr).toContain(`cache ${cacheRef()}: exported 5 records`);
    const layers = await cacheLayers(cacheRef());
    expect([...layers.keys()].sort()).toEqual([...ALL].sort());

    reg.clearRequests();
    const b = await build(join(work, "B"), ctx, ["--cache-from", `type=registry,ref=${cacheRef()}`]);
    expect(b.cached).toEqual(ALL);
    expect(b.ran).toEqual([]);
    expect(b.imageId).toBe(a.imageId);
    // B's manifest names the cache's gzip blobs (A's names its plain layers): same image ID, other manifest.
    const bLayers = manifestLayers(join(work, "B"), "docker.io/library/app:test");
    expect(bLayers.slice(1)).toEqual(ALL.map((t) => ["application/vnd.oci.image.layer.v1.tar+gzip", layers.get(t)]));
    // B downloaded exactly the base and the cache's layers, each once.
    const gets = blobGets();
    for (const d of layers.values()) expect(gets.filter((g) => g === d)).toHaveLength(1);
    // the image runs in B as in A: both.txt was made by the cached RUN.
    const cat = await tb(["save", "--root", join(work, "B"), "-o", join(work, "b.tar"), "app:test"]);
    expect(cat.code, cat.stderr).toBe(0);
  });

  it("after a file changes, only the steps from the first affected one run, and their old layers are not fetched", async () => {
    const ctx = newContext("ctx-reg2");
    writeFileSync(join(ctx, "b.txt"), "bravo, changed\n");
    const layers = await cacheLayers(cacheRef());
    reg.clearRequests();
    const c = await build(join(work, "C"), ctx, ["--cache-from", `type=registry,ref=${cacheRef()}`]);
    expect(c.cached).toEqual(["WORKDIR /app", "COPY a.txt /app/"]);
    expect(c.ran).toEqual(["COPY b.txt /app/", "RUN cat a.txt b.txt > both.txt && echo built >> both.txt", "COPY c.txt /app/"]);
    const gets = blobGets();
    expect(gets).toContain(layers.get("WORKDIR /app"));
    expect(gets).toContain(layers.get("COPY a.txt /app/"));
    for (const t of ALL.slice(2)) expect(gets).not.toContain(layers.get(t));
    expect(c.imageId).not.toBe(a.imageId);
  });

  it("a missing cache is reported and the build goes on", async () => {
    const ctx = newContext("ctx-reg3");
    const d = await build(join(work, "D"), ctx, ["--cache-from", `type=registry,ref=${reg.host}/app/none:cache`]);
    expect(d.ran).toEqual(ALL);
    expect(d.stderr).toContain(`cache ${reg.host}/app/none:cache: not found, building without it`);
  });

  it("mode=min exports only the final image's steps", async () => {
    const ctx = join(work, "ctx-multi");
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, "Dockerfile"), [`FROM ${base} AS build`, "RUN echo artifact > /out.txt", `FROM ${base}`, "COPY --from=build /out.txt /out.txt", ""].join("\n"));
    const min = `${reg.host}/app/multi:min`;
    const max = `${reg.host}/app/multi:max`;
    await build(join(work, "M"), ctx, ["--cache-to", `type=registry,ref=${min},mode=min`, "--cache-to", `type=registry,ref=${max},mode=max`]);
    expect([...(await cacheLayers(min)).keys()]).toEqual(["COPY --from=build /out.txt /out.txt"]);
    expect([...(await cacheLayers(max)).keys()].sort()).toEqual(["COPY --from=build /out.txt /out.txt", "RUN echo artifact > /out.txt"]);
    // mode=min is enough for a second store: the COPY hits without running the build stage.
    const n = await build(join(work, "N"), ctx, ["--cache-from", `type=registry,ref=${min}`]);
    expect(n.cached).toContain("COPY --from=build /out.txt /out.txt");
  });
});

describe("--cache-from keeps imported layers as the cache's gzip blobs", () => {
  const lazyRef = () => `${reg.host}/app/lazy:cache`;
  let a: Built;
  let cache: Map<string, CacheLayer>;

  it("a build whose every step hits stores each layer as its verified gzip blob, writes no plain layer, and pushes the blobs as they are", async () => {
    const ctx = newContext("ctx-lazy");
    a = await build(join(work, "GA"), ctx, ["--cache-to", `type=registry,ref=${lazyRef()},mode=max`]);
    cache = await cacheLayerInfo(lazyRef());
    const root = join(work, "GB");
    const b = await build(root, ctx, ["--cache-from", `type=registry,ref=${lazyRef()}`]);
    expect(b.cached).toEqual(ALL);
    expect(b.imageId).toBe(a.imageId);
    for (const t of ALL) {
      const l = cache.get(t)!;
      expect(existsSync(blobFile(root, l.diffId)), `plain ${t}`).toBe(false);
      expect(statSync(blobFile(root, l.digest)).size).toBe(l.compressedSize);
      expect(sha256File(blobFile(root, l.digest))).toBe(l.digest);
      // Recorded as a pull records a layer: provisional plain size, and where it was verified.
      const rec = layerRecord(root, l.diffId)!;
      expect(rec).toMatchObject({ digest: l.digest, size: l.compressedSize, uncompressedSize: l.size, provisional: true });
      expect(rec.seen).toEqual([{ digest: l.digest, size: l.compressedSize, registry: reg.host, repository: "app/lazy" }]);
    }
    // Nothing was unpacked, and the image is a valid OCI image naming the gzip blobs.
    expect(existsSync(join(root, "tbuild", "snapshots")) ? readdirSync(join(root, "tbuild", "snapshots")) : []).toEqual([]);
    verifyLayout(root);
    expect(manifestLayers(root, "docker.io/library/app:test").slice(1).map(([, d]) => d)).toEqual(ALL.map((t) => cache.get(t)!.digest));
    const check = await tb(["store", "check", "--root", root]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    // A rebuild from the local records hits, with the same manifest (it still names the gzip blobs).
    const again = await build(root, ctx, []);
    expect(again.cached).toEqual(ALL);
    expect(again.manifestDigest).toBe(b.manifestDigest);
    // Push sends the blobs as they are: mounted from the cache's repository, none gzipped or uploaded.
    const target = `${reg.host}/app/lazy-pushed:1`;
    expect((await tb(["tag", "--root", root, "app:test", target])).code).toBe(0);
    reg.clearRequests();
    const pushed = await tb(["push", "--root", root, target]);
    expect(pushed.code, pushed.stderr).toBe(0);
    const uploads = reg.requests().filter((q) => q.method === "PATCH" || q.method === "PUT").map((q) => q.path);
    for (const t of ALL) expect(uploads.filter((p) => p.includes(hex(cache.get(t)!.digest))), t).toEqual([]);
    expect(pushed.stdout).toContain("Mounted");
    // ...and as the same manifest as the image built in A (plain layers, gzipped by the push).
    const fromA = `${reg.host}/app/lazy-from-a:1`;
    expect((await tb(["tag", "--root", join(work, "GA"), "app:test", fromA])).code).toBe(0);
    const pushedA = await tb(["push", "-q", "--root", join(work, "GA"), fromA]);
    expect(pushedA.code, pushedA.stderr).toBe(0);
    expect(pushed.stdout).toContain(`digest: ${pushedA.stdout.trim()} `);
    for (const t of ALL) expect(existsSync(blobFile(root, cache.get(t)!.diffId)), `plain ${t} after push`).toBe(false);
    // With no image left that names them, the build cache keeps the gzip blobs through rmi and prune.
    expect((await tb(["rmi", "--root", root, "app:test", target])).code).toBe(0);
    expect((await tb(["prune", "--root", root])).code).toBe(0);
    for (const t of ALL) expect(existsSync(blobFile(root, cache.get(t)!.digest)), `gzip ${t} after prune`).toBe(true);
    expect((await build(root, ctx, [])).cached).toEqual(ALL);
  });

  it("a RUN on top of imported layers inflates them on first use, against their diff IDs", async () => {
    const ctx = newContext("ctx-lazy-run");
    writeFileSync(join(ctx, "Dockerfile"), readFileSync(join(ctx, "Dockerfile"), "utf8").replace("CMD", "RUN grep -q built both.txt && cat both.txt c.txt > all.txt\nCMD"));
    const root = join(work, "GC");
    const c = await build(root, ctx, ["--cache-from", `type=registry,ref=${lazyRef()}`]);
    expect(c.cached).toEqual(ALL);
    expect(c.ran).toEqual(["RUN grep -q built both.txt && cat both.txt c.txt > all.txt"]);
    for (const t of ALL) {
      const l = cache.get(t)!;
      // The plain tar now sits beside the gzip blob, and the record has the exact size.
      expect(sha256File(blobFile(root, l.diffId))).toBe(l.diffId);
      expect(layerRecord(root, l.diffId)).toMatchObject({ digest: l.digest, uncompressedSize: statSync(blobFile(root, l.diffId)).size });
      expect(layerRecord(root, l.diffId)!.provisional).toBeUndefined();
    }
    const layers = manifestLayers(root, "docker.io/library/app:test");
    expect(layers.slice(1, -1).map(([, d]) => d)).toEqual(ALL.map((t) => cache.get(t)!.digest));
    expect(layers.at(-1)![0]).toBe("application/vnd.oci.image.layer.v1.tar");
    verifyLayout(root);
  });

  it("a cache blob the registry corrupted is rejected: that step runs, and nothing of the blob is stored", async () => {
    const ctx = newContext("ctx-corrupt");
    writeFileSync(join(ctx, "b.txt"), "bravo, only in the corrupted cache\n");
    const ref = `${reg.host}/app/corrupt:cache`;
    const ga = await build(join(work, "GD"), ctx, ["--cache-to", `type=registry,ref=${ref},mode=max`]);
    const bad = (await cacheLayerInfo(ref)).get("COPY b.txt /app/")!;
    // Same size, other bytes: only the digest can tell.
    const file = reg.blobPath(bad.digest);
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1]! ^= 0xff;
    writeFileSync(file, bytes);
    const root = join(work, "GE");
    const e = await build(root, ctx, ["--cache-from", `type=registry,ref=${ref}`]);
    expect(e.ran).toEqual(["COPY b.txt /app/"]);
    expect(e.stderr).toContain(`cannot fetch the layer of COPY b.txt /app/: layer ${bad.digest} of ${ref} is sha256:`);
    expect(existsSync(blobFile(root, bad.digest))).toBe(false);
    expect(layerRecord(root, bad.diffId)).toBeUndefined();
    expect(readdirSync(join(root, "tbuild", "tmp"))).toEqual([]);
    // The step ran here and made the same layer (plain), so the image is the same.
    expect(e.imageId).toBe(ga.imageId);
    expect(manifestLayers(root, "docker.io/library/app:test")).toContainEqual(["application/vnd.oci.image.layer.v1.tar", bad.diffId]);
    expect(listBlobs(root)).not.toContain(hex(bad.digest));
  });
});

describe("--cache-to / --cache-from type=local", () => {
  it("an OCI layout folder carries the cache to a brand-new store; a changed file reruns from its step", async () => {
    const dir = join(work, "ci-cache");
    const ctx = newContext("ctx-local");
    const a = await build(join(work, "LA"), ctx, ["--cache-to", `type=local,dest=${dir},mode=max`]);
    expect(a.ran).toEqual(ALL);
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as { manifests: { annotations: Record<string, string> }[] };
    expect(index.manifests.map((m) => m.annotations["org.opencontainers.image.ref.name"])).toEqual(["latest"]);
    expect(readFileSync(join(dir, "oci-layout"), "utf8")).toContain("1.0.0");

    const b = await build(join(work, "LB"), ctx, ["--cache-from", `type=local,src=${dir}`]);
    expect(b.cached).toEqual(ALL);
    expect(b.imageId).toBe(a.imageId);
    // Kept as the folder's gzip blobs, as from a registry: nothing inflated, no push hint.
    const cfg = JSON.parse(readFileSync(blobFile(dir, JSON.parse(readFileSync(blobFile(dir, JSON.parse(readFileSync(join(dir, "index.json"), "utf8")).manifests[0].digest), "utf8")).config.digest), "utf8")) as { layers: CacheLayer[] };
    for (const l of cfg.layers) {
      expect(existsSync(blobFile(join(work, "LB"), l.diffId)), l.diffId).toBe(false);
      expect(sha256File(blobFile(join(work, "LB"), l.digest))).toBe(l.digest);
      expect(layerRecord(join(work, "LB"), l.diffId)).toEqual({ diffId: l.diffId, digest: l.digest, size: l.compressedSize, uncompressedSize: l.size, provisional: true });
    }

    const ctx2 = join(work, "ctx-local2");
    cpSync(ctx, ctx2, { recursive: true });
    writeFileSync(join(ctx2, "c.txt"), "charlie, changed\n");
    const c = await build(join(work, "LC"), ctx2, ["--cache-from", `type=local,src=${dir}`, "--cache-to", `type=local,dest=${dir},mode=max`]);
    expect(c.cached).toEqual(ALL.slice(0, 4));
    expect(c.ran).toEqual(["COPY c.txt /app/"]);
    // the folder now holds the new cache only: the old COPY c.txt layer was removed.
    const blobs = readdirSync(join(dir, "blobs", "sha256"));
    expect(blobs.length).toBe(1 + 1 + 5); // manifest, config, 5 layers
  });

  it("rejects bad specs with a usage error", async () => {
    const ctx = newContext("ctx-bad");
    for (const spec of ["type=s3,bucket=x", "type=local", "type=registry,ref=x,mode=all", "type=registry,ref=x,colour=red"]) {
      const r = await tb(["build", "--root", join(work, "bad"), "--cache-to", spec, ctx]);
      expect(r.code, spec).toBe(2);
      expect(r.stderr).toContain("E_USAGE");
    }
  });
});
