// Build cache shared through a real docker-registry on 127.0.0.1 and through an OCI layout
// folder: store A builds with --cache-to; a brand-new store B (whose FROM pulls the base
// from the registry) builds the same context with --cache-from and every step is CACHED,
// with the same image ID and manifest digest; after one file changes, only the steps from
// the first affected one run, and layers of steps that no longer hit are never downloaded.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBusyboxRootfsTar } from "../helpers/fixtures.js";
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

/** Compressed digests of the cache's layers by step text, read from the registry. */
async function cacheLayers(ref: string): Promise<Map<string, string>> {
  const [repo, tag] = ref.slice(reg.host.length + 1).split(":") as [string, string];
  const m = (await (await fetch(`http://${reg.host}/v2/${repo}/manifests/${tag}`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json" } })).json()) as { config: { mediaType: string; digest: string } };
  expect(m.config.mediaType).toBe("application/vnd.tbuild.cache.v1+json");
  const cfg = (await (await fetch(`http://${reg.host}/v2/${repo}/blobs/${m.config.digest}`)).json()) as { layers: { digest: string }[]; records: { text: string; layer: number }[] };
  return new Map(cfg.records.map((r) => [r.text, cfg.layers[r.layer]!.digest]));
}

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
    expect(b.manifestDigest).toBe(a.manifestDigest);
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
    expect(b.manifestDigest).toBe(a.manifestDigest);

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
