// Pulled layers stay gzip in the store (containerd's model) and are inflated once, on first
// use, against the config's diff ID (store/layer-records.ts). Against a real docker-registry
// on 127.0.0.1, through the CLI: skopeo and umoci read a pulled image from the store; a build
// FROM it inflates once; save → load keeps the image ID; sizes are the plain sizes; a gzip
// blob that does not inflate to its diff ID fails at first use and leaves the store usable.
// Pulled zstd layers: registry-zstd.test.ts.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "../../src/registry/index.js";
import type { Digest } from "../../src/util/index.js";
import { buildBusyboxRootfsTar, busyboxRootfsTarBytes } from "../helpers/fixtures.js";
import { startRegistry, type RegistryServer } from "../helpers/registry-server.js";
import { buildTar } from "../helpers/tar-builder.js";
import { spawnCli } from "../helpers/run-cli.js";
import { sh } from "./store-helpers.js";

let work: string;
let reg: RegistryServer;
let env: Record<string, string>;
let base: string;

const tb = (args: string[]) => spawnCli(args, { cwd: work, env });

async function ok(args: string[]): Promise<string> {
  const r = await tb(args);
  expect(r.code, `${args.join(" ")}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

function context(name: string, dockerfile: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  return dir;
}

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}` as Digest;
const blobFile = (root: string, d: string) => join(root, "blobs", "sha256", d.slice(7));
const record = (root: string, diffId: string) => JSON.parse(readFileSync(join(root, "tbuild", "gzip", diffId.slice(7)), "utf8")) as { digest: string; uncompressedSize: number; provisional?: boolean };

async function inspect(root: string, ref: string): Promise<{ Id: string; Size: number; RootFS: { Layers: string[] } }> {
  const v = JSON.parse(await ok(["inspect", "--root", root, ref])) as unknown;
  return (Array.isArray(v) ? v[0] : v) as { Id: string; Size: number; RootFS: { Layers: string[] } };
}

/** Push `repo:1` to the test registry: one layer of bytes `blob`, labelled tar+gzip, whose config names `diffId`. */
async function pushGzipLabelled(repo: string, blob: Uint8Array, diffId: Digest): Promise<void> {
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [diffId] }, config: {} }));
  const client = new RegistryClient({ registry: reg.host });
  for (const b of [blob, config]) await client.uploadBlob(repo, sha256(b), b.length, async function* () { yield b; });
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha256(blob), size: blob.length }],
  }));
  await client.putManifest(repo, "1", manifest, "application/vnd.oci.image.manifest.v1+json");
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "tbuild-pulled-"));
  env = { HOME: work, XDG_CONFIG_HOME: join(work, "cfg"), DOCKER_CONFIG: join(work, "docker"), SOURCE_DATE_EPOCH: "1700000000" };
  reg = await startRegistry();
  base = `${reg.host}/base/busybox:1`;
  await ok(["import", "--root", join(work, "seed"), await buildBusyboxRootfsTar(), base]);
  await ok(["push", "--root", join(work, "seed"), base]);
}, 120_000);

afterAll(async () => {
  await reg?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("pulled layers: kept gzip, inflated once on first use", () => {
  it("a pulled image is a valid OCI image in the store: skopeo inspect and umoci unpack read it", async () => {
    const root = join(work, "tools");
    await ok(["pull", "--root", root, base]);
    const img = await inspect(root, base);
    const [diffId] = img.RootFS.Layers;
    expect(existsSync(blobFile(root, diffId!))).toBe(false); // nothing inflated by the pull
    const ins = JSON.parse(sh("skopeo", ["inspect", `oci:${root}:${base}`]).stdout) as { Layers: string[]; Os: string };
    expect(ins.Os).toBe("linux");
    expect(ins.Layers).toEqual([record(root, diffId!).digest]);
    const raw = JSON.parse(sh("skopeo", ["inspect", "--raw", `oci:${root}:${base}`]).stdout) as { layers: { mediaType: string }[] };
    expect(raw.layers.map((l) => l.mediaType)).toEqual(["application/vnd.oci.image.layer.v1.tar+gzip"]);
    const bundle = join(work, "umoci-bundle"); // under work: removed with it, pass or fail
    const u = sh("umoci", ["unpack", "--image", `${root}:${base}`, bundle]);
    expect(u.code, u.stderr).toBe(0);
    expect(readFileSync(join(bundle, "rootfs", "etc", "passwd"), "utf8")).toMatch(/^root:x:0:0/);
    expect((await tb(["store", "check", "--root", root])).code).toBe(0);
  });

  it("sizes in images, df, inspect and history are the plain layer sizes", async () => {
    const root = join(work, "sizes");
    await ok(["pull", "--root", root, base]);
    const plain = (await busyboxRootfsTarBytes()).length;
    const img = await inspect(root, base);
    expect(img.Size).toBe(plain);
    expect(record(root, img.RootFS.Layers[0]!)).toMatchObject({ uncompressedSize: plain, provisional: true });
    const images = JSON.parse((await ok(["images", "--root", root, "--format", "json"])).trim()) as { Size: number };
    expect(images.Size).toBe(plain);
    const df = JSON.parse(await ok(["df", "--root", root, "--format", "json"])) as { Images: { Size: number }[]; LayersSize: number };
    expect(df.Images[0]!.Size).toBe(plain);
    expect(df.LayersSize).toBe(plain);
    const history = (await ok(["history", "--root", root, "--format", "json", base])).trim().split("\n").map((l) => JSON.parse(l) as { Size: number });
    expect(history.reduce((n, h) => n + h.Size, 0)).toBe(plain);
    // And the seed store, which holds the same layer plain, agrees.
    expect((await inspect(join(work, "seed"), base)).Size).toBe(plain);
  });

  it("a build FROM a pulled image inflates each layer once; the next build does not inflate again", async () => {
    const root = join(work, "build");
    await ok(["pull", "--root", root, base]);
    const [diffId] = (await inspect(root, base)).RootFS.Layers;
    const ctx1 = context("ctx-b1", `FROM ${base}\nRUN echo one > /one.txt\n`);
    await ok(["build", "--root", root, "-t", "app:1", ctx1]);
    const plain = statSync(blobFile(root, diffId!));
    expect(sha256(readFileSync(blobFile(root, diffId!)))).toBe(diffId);
    expect(record(root, diffId!)).toMatchObject({ uncompressedSize: plain.size });
    expect(record(root, diffId!).provisional).toBeUndefined();
    const ctx2 = context("ctx-b2", `FROM ${base}\nRUN echo two > /two.txt\n`);
    await ok(["build", "--root", root, "-t", "app:2", "--no-cache", ctx2]);
    const again = statSync(blobFile(root, diffId!));
    expect([again.ino, again.mtimeMs]).toEqual([plain.ino, plain.mtimeMs]);
    // The built image keeps the base layer as the gzip blob that was pulled.
    const built = JSON.parse(sh("skopeo", ["inspect", "--raw", `oci:${root}:docker.io/library/app:1`]).stdout) as { layers: { mediaType: string; digest: string }[] };
    expect(built.layers[0]).toMatchObject({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: record(root, diffId!).digest });
    expect((await tb(["store", "check", "--root", root])).code).toBe(0);
    // prune keeps the pulled image's blobs and the inflated copy.
    await ok(["prune", "-a", "--root", root]);
    expect(existsSync(blobFile(root, diffId!))).toBe(true);
    expect(existsSync(blobFile(root, record(root, diffId!).digest))).toBe(true);
  });

  it("two builds at once inflate the same pulled layer safely", async () => {
    const root = join(work, "concurrent");
    await ok(["pull", "--root", root, base]);
    const [diffId] = (await inspect(root, base)).RootFS.Layers;
    const runs = await Promise.all([1, 2].map((i) => tb(["build", "--root", root, "-t", `c:${i}`, context(`ctx-c${i}`, `FROM ${base}\nRUN echo ${i} > /n.txt\n`)])));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(sha256(readFileSync(blobFile(root, diffId!)))).toBe(diffId);
    expect(record(root, diffId!).provisional).toBeUndefined();
    expect((await tb(["store", "check", "--root", root])).code).toBe(0);
  });

  it("a layer the store holds plain is 'Already exists' on pull", async () => {
    const root = join(work, "plain-first");
    await ok(["import", "--root", root, await buildBusyboxRootfsTar(), "local/busybox:1"]);
    const out = await ok(["pull", "--root", root, base]);
    expect(out).toMatch(/: Already exists\n/);
    expect(out).not.toMatch(/Pull complete/);
    expect((await inspect(root, base)).Id).toBe((await inspect(join(work, "seed"), base)).Id);
  });

  it("save to docker-archive writes plain layers: tbuild load and podman load keep the image ID", async () => {
    const root = join(work, "save");
    await ok(["pull", "--root", root, base]);
    const { Id: id, RootFS } = await inspect(root, base);
    const archive = join(work, "saved.tar");
    await ok(["save", "--root", root, "-o", archive, base]);
    expect(existsSync(blobFile(root, RootFS.Layers[0]!))).toBe(true); // inflated for the archive
    const loaded = join(work, "loaded");
    await ok(["load", "--root", loaded, "-i", archive]);
    expect((await inspect(loaded, base)).Id).toBe(id);
    const proot = mkdtempSync(join(tmpdir(), "tbuild-podman-root-"));
    const prun = mkdtempSync(join(tmpdir(), "tbuild-podman-run-"));
    try {
      const r = sh("podman", ["--root", proot, "--runroot", prun, "--storage-driver", "vfs", "load", "-i", archive]);
      expect(r.code, r.stderr).toBe(0);
      const ids = sh("podman", ["--root", proot, "--runroot", prun, "--storage-driver", "vfs", "images", "--no-trunc", "--format", "{{.ID}}"]).stdout;
      expect(ids).toContain(id);
    } finally {
      sh("podman", ["--root", proot, "--runroot", prun, "--storage-driver", "vfs", "system", "reset", "-f"]);
      rmSync(proot, { recursive: true, force: true });
      rmSync(prun, { recursive: true, force: true });
    }
    // save --format oci sends the pulled gzip blob as it is.
    const oci = join(work, "saved-oci.tar");
    await ok(["save", "--root", root, "--format", "oci", "-o", oci, base]);
    const loaded2 = join(work, "loaded-oci");
    await ok(["load", "--root", loaded2, "-i", oci]);
    expect((await inspect(loaded2, base)).Id).toBe(id);
  });

  it("a gzip blob that does not inflate to its diff ID fails at first use, naming the layer; nothing is kept and the store stays usable", async () => {
    // A registry image whose config claims another layer's diff ID.
    const tarOf = (text: string) => buildTar([{ name: "f.txt", content: text }]);
    const real = tarOf("real\n");
    const claimed = sha256(tarOf("claimed\n"));
    const gz = gzipSync(real);
    await pushGzipLabelled("bad/liar", gz, claimed);

    const root = join(work, "liar");
    await ok(["pull", "--root", root, base]);
    await ok(["pull", "--root", root, `${reg.host}/bad/liar:1`]); // no inflate at pull time
    const ctx = context("ctx-liar", `FROM ${reg.host}/bad/liar:1\nRUN true\n`);
    const r = await tb(["build", "--root", root, ctx]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`layer ${claimed}`);
    expect(r.stderr).toContain(`inflates to ${sha256(real)}, not to the diff ID ${claimed}`);
    expect(existsSync(blobFile(root, claimed))).toBe(false);
    expect(readdirSync(join(root, "tbuild", "tmp")).filter((n) => n.startsWith("blob-"))).toEqual([]);
    // The store is still usable: a good image builds, check passes.
    await ok(["build", "--root", root, "-t", "good:1", context("ctx-good", `FROM ${base}\nRUN echo ok > /ok.txt\n`)]);
    expect((await tb(["store", "check", "--root", root])).code).toBe(0);
  });
});
