// Images with zstd layers (application/vnd.oci.image.layer.v1.tar+zstd), made by skopeo
// from an OCI layout and pushed into a real docker-registry on 127.0.0.1, through the CLI:
// pull keeps the layers and the manifest as they came (the registry's digest); a build FROM
// the image decompresses each layer once, against its diff ID, and its RUN reads a file
// from it; push sends the image back unchanged; save keeps the zstd blobs in an OCI archive
// and load reads them; a zstd blob labelled tar+gzip is read by its bytes.
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "../../src/registry/index.js";
import { WORKER_MIN_SIZE } from "../../src/registry/worker-download.js";
import type { Digest } from "../../src/util/index.js";
import { buildBusyboxRootfsTar } from "../helpers/fixtures.js";
import { startRegistry, type RegistryServer } from "../helpers/registry-server.js";
import { buildTar } from "../helpers/tar-builder.js";
import { spawnCli } from "../helpers/run-cli.js";
import { shOk, spawnCliOk } from "./store-helpers.js";

const ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
const MARKER = "read from a zstd layer";

let work: string;
let reg: RegistryServer;
let env: Record<string, string>;
/** The seed store (plain layers) and its image's tag there. */
let seed: string;
let seedRef: string;
/** The zstd image in the registry, its manifest bytes as served, and their digest. */
let ref: string;
let raw: Buffer;
let digest: string;

const tb = (args: string[]) => spawnCli(args, { cwd: work, env });

const ok = (args: string[]) => spawnCliOk(args, { cwd: work, env });
const tool = shOk;

function context(name: string, dockerfile: string, files: Record<string, string> = {}): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  for (const [n, text] of Object.entries(files)) writeFileSync(join(dir, n), text);
  return dir;
}

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}` as Digest;
const blobFile = (root: string, d: string) => join(root, "blobs", "sha256", d.slice(7));
const record = (root: string, diffId: string) => JSON.parse(readFileSync(join(root, "tbuild", "gzip", diffId.slice(7)), "utf8")) as { digest: string; compression?: string; provisional?: boolean; uncompressedSize: number; seen?: unknown[] };
const rawManifest = (image: string) => Buffer.from(tool("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${image}`]));
const layersOf = (manifest: Buffer | string) => (JSON.parse(manifest.toString()) as { layers: { mediaType: string; digest: string; size: number }[] }).layers;

async function inspect(root: string, name: string): Promise<{ Id: string; Size: number; Descriptor: { digest: string }; RootFS: { Layers: string[] } }> {
  const v = JSON.parse(await ok(["inspect", "--root", root, name])) as unknown;
  return (Array.isArray(v) ? v[0] : v) as never;
}

/** `zstd` over a file: its frame header then carries the content size. */
function zstdFile(plain: Uint8Array): Buffer {
  const file = join(work, `plain-${sha256(plain).slice(7, 19)}`);
  writeFileSync(file, plain);
  const r = spawnSync("zstd", ["-q", "-c", file], { maxBuffer: 1 << 28 });
  expect(r.status, String(r.stderr)).toBe(0);
  return r.stdout;
}

/** The busybox layer of the seed store, plain. */
async function busyboxLayer(): Promise<Buffer> {
  const { RootFS } = await inspect(seed, "docker.io/local/busybox:1");
  return readFileSync(blobFile(seed, RootFS.Layers[0]!));
}

/** Push `repo:1` to the test registry: these layer blobs under these media types, a config naming their diff IDs. */
async function pushImage(repo: string, layers: readonly { bytes: Uint8Array; mediaType: string; diffId: Digest }[]): Promise<void> {
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) }, config: {} }));
  const client = new RegistryClient({ registry: reg.host });
  for (const b of [...layers.map((l) => l.bytes), config]) await client.uploadBlob(repo, sha256(b), b.length, async function* () { yield b; });
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: sha256(l.bytes), size: l.bytes.length })),
  }));
  await client.putManifest(repo, "1", manifest, "application/vnd.oci.image.manifest.v1+json");
}

/** A build FROM `image` whose RUN reads the marker file from the image's zstd layer (the build fails if it cannot). */
function readerContext(name: string, image: string): string {
  return context(name, `FROM ${image}\nRUN test "$(cat /zstd/marker.txt)" = "${MARKER}" && cp /zstd/marker.txt /copied.txt\n`);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "tbuild-zstd-"));
  env = { HOME: work, XDG_CONFIG_HOME: join(work, "cfg"), DOCKER_CONFIG: join(work, "docker"), SOURCE_DATE_EPOCH: "1700000000" };
  reg = await startRegistry();
  // A two-layer image (busybox, then the marker file) in a tbuild store, which is an OCI
  // layout; skopeo compresses its plain layers with zstd on the way to the registry.
  seed = join(work, "seed");
  const base = "docker.io/local/busybox:1";
  seedRef = "docker.io/local/marker:1";
  await ok(["import", "--root", seed, await buildBusyboxRootfsTar(), base]);
  await ok(["build", "--root", seed, "-t", seedRef, context("ctx-seed", `FROM ${base}\nCOPY marker.txt /zstd/marker.txt\n`, { "marker.txt": MARKER })]);
  ref = `${reg.host}/zstd/marker:1`;
  tool("skopeo", ["copy", "-q", "--dest-compress-format", "zstd", "--dest-tls-verify=false", `oci:${seed}:${seedRef}`, `docker://${ref}`]);
  raw = rawManifest(ref);
  digest = sha256(raw);
}, 180_000);

afterAll(async () => {
  await reg?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("zstd layers", () => {
  it("the registry serves the image with zstd layers", () => {
    expect(layersOf(raw).map((l) => l.mediaType)).toEqual([ZSTD, ZSTD]);
  });

  it("pull keeps the zstd blobs and the registry's manifest (its digest), inflating nothing; skopeo reads the image from the store", async () => {
    const root = join(work, "pull");
    expect(await ok(["pull", "--root", root, ref])).toContain(`Digest: ${digest}\n`);
    expect(readFileSync(blobFile(root, digest)).equals(raw)).toBe(true);
    const img = await inspect(root, ref);
    expect(img.Descriptor.digest).toBe(digest);
    expect(img.Id).toBe((await inspect(seed, seedRef)).Id); // recompressing keeps the config
    for (const [i, diffId] of img.RootFS.Layers.entries()) {
      expect(existsSync(blobFile(root, diffId))).toBe(false);
      expect(record(root, diffId)).toMatchObject({ digest: layersOf(raw)[i]!.digest, compression: "zstd", provisional: true });
      expect(record(root, diffId).seen).toBeUndefined(); // no gzip form to offer a push
    }
    expect(layersOf(tool("skopeo", ["inspect", "--raw", `oci:${root}:${ref}`]))).toEqual(layersOf(raw));
    expect(await ok(["store", "check", "--root", root])).toContain("store is clean");
    expect(await ok(["pull", "--root", root, ref])).toContain(`Status: Image is up to date for ${ref}`);
  });

  it("a build FROM it inflates each layer once against its diff ID, its RUN reads the marker, and the result keeps the zstd layers", async () => {
    const root = join(work, "build");
    await ok(["pull", "--root", root, ref]);
    const { RootFS } = await inspect(root, ref);
    await ok(["build", "--root", root, "-t", "app:1", readerContext("ctx-read", ref)]);
    for (const diffId of RootFS.Layers) {
      expect(sha256(readFileSync(blobFile(root, diffId)))).toBe(diffId);
      expect(record(root, diffId).provisional).toBeUndefined();
      expect(record(root, diffId).uncompressedSize).toBe(readFileSync(blobFile(root, diffId)).length);
    }
    const built = layersOf(tool("skopeo", ["inspect", "--raw", `oci:${root}:docker.io/library/app:1`]));
    expect(built.slice(0, 2)).toEqual(layersOf(raw));
    expect(built).toHaveLength(3);
    // The built image goes to the registry: its zstd layers as they are, the RUN layer gzipped;
    // skopeo reads it back (recompressing to gzip on the way: umoci reads no zstd).
    const pushed = `${reg.host}/zstd/app:1`;
    await ok(["tag", "--root", root, "app:1", pushed]);
    await ok(["push", "--root", root, pushed]);
    const remote = layersOf(rawManifest(pushed));
    expect(remote.slice(0, 2)).toEqual(layersOf(raw));
    expect(remote[2]!.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    const out = join(work, "app-from-registry");
    tool("skopeo", ["copy", "-q", "--src-tls-verify=false", "--dest-compress-format", "gzip", `docker://${pushed}`, `oci:${out}:app`]);
    const bundle = join(work, "app-bundle");
    tool("umoci", ["unpack", "--image", `${out}:app`, bundle]);
    expect(readFileSync(join(bundle, "rootfs", "copied.txt"), "utf8")).toBe(MARKER);
    expect(await ok(["store", "check", "--root", root])).toContain("store is clean");
  });

  it("push of the pulled image to another repository sends it back unchanged: the same manifest digest and bytes", async () => {
    const root = join(work, "push");
    await ok(["pull", "--root", root, ref]);
    const other = `${reg.host}/back/marker:1`;
    await ok(["tag", "--root", root, ref, other]);
    expect(await ok(["push", "--root", root, other])).toContain(`1: digest: ${digest} size: ${raw.length}`);
    expect(rawManifest(other).equals(raw)).toBe(true);
    const client = new RegistryClient({ registry: reg.host });
    for (const l of layersOf(raw)) expect(sha256(await client.fetchBlob("back/marker", l.digest as Digest, l.size))).toBe(l.digest);
  });

  it("save --format oci --compress keeps the zstd blobs; save as docker-archive inflates them; load reads both (and skopeo's zstd oci-archive) with the same image ID", async () => {
    const root = join(work, "save");
    await ok(["pull", "--root", root, ref]);
    const { Id: id } = await inspect(root, ref);
    const oci = join(work, "zstd-oci.tar");
    await ok(["save", "--root", root, "--format", "oci", "--compress", "-o", oci, ref]);
    expect(layersOf(tool("skopeo", ["inspect", "--raw", `oci-archive:${oci}`]))).toEqual(layersOf(raw));
    const docker = join(work, "zstd-docker.tar");
    await ok(["save", "--root", root, "-o", docker, ref]);
    const bySkopeo = join(work, "skopeo-zstd-oci.tar");
    tool("skopeo", ["copy", "-q", "--dest-compress-format", "zstd", `oci:${seed}:${seedRef}`, `oci-archive:${bySkopeo}:${seedRef}`]);
    expect(layersOf(tool("skopeo", ["inspect", "--raw", `oci-archive:${bySkopeo}`])).map((l) => l.mediaType)).toEqual([ZSTD, ZSTD]);
    for (const [name, archive, tag] of [["oci", oci, ref], ["docker", docker, ref], ["skopeo", bySkopeo, seedRef]] as const) {
      const loaded = join(work, `loaded-${name}`);
      await ok(["load", "--root", loaded, "-i", archive]);
      expect((await inspect(loaded, tag)).Id, name).toBe(id);
      await ok(["build", "--root", loaded, readerContext(`ctx-loaded-${name}`, tag)]);
    }
  });

  it("load refuses an oci-archive with a corrupt zstd layer, naming the blob, from a file and from stdin; nothing is kept", async () => {
    const good = join(work, "skopeo-zstd-for-corruption.tar");
    tool("skopeo", ["copy", "-q", "--dest-compress-format", "zstd", `oci:${seed}:${seedRef}`, `oci-archive:${good}:${seedRef}`]);
    const archive = readFileSync(good);
    const blobs = layersOf(tool("skopeo", ["inspect", "--raw", `oci-archive:${good}`]));
    // The busybox layer (over 1 MiB) is decompressed as it is read, so the decoder finds the
    // fault; the marker (read into memory) fails its digest check before it is decompressed.
    expect(blobs.map((b) => b.size > 1 << 20)).toEqual([true, false]);
    const faults = ["is not valid zstd: a frame header has its reserved bit set", ": digest mismatch: expected"];
    for (const [i, b] of blobs.entries()) {
      const layer = readFileSync(blobFile(join(work, "pull"), b.digest)); // pulled in an earlier test: the same blobs
      const at = archive.indexOf(layer.subarray(0, 64));
      expect(at).toBeGreaterThan(0);
      const bad = Buffer.from(archive);
      bad[at + 4] = bad[at + 4]! | 0x08; // the frame header's reserved bit (RFC 8878 3.1.1.1.1)
      const file = join(work, "corrupt-zstd.tar");
      writeFileSync(file, bad);
      for (const how of ["file", "stdin"] as const) {
        const root = join(work, `corrupt-${b.digest.slice(7, 15)}-${how}`);
        // From a file the layers are read as ranges of it (or into memory); from a pipe, streamed.
        const r = how === "file" ? await tb(["load", "--root", root, "-i", file]) : await spawnCli(["load", "--root", root], { cwd: work, env, input: bad });
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toMatch(/^error: E_ARCHIVE_INVALID: /);
        expect(r.stderr).toContain(`blobs/sha256/${b.digest.slice(7)}`);
        expect(r.stderr).toContain(faults[i]);
        expect(await ok(["images", "--root", root, "--format", "json"])).toBe("");
      }
    }
  });

  it("pull takes a provisional plain size from the frame header, for a big layer (downloaded on a lane) and a small one", async () => {
    const small = buildTar([{ name: "zstd/marker.txt", content: MARKER }]);
    const big = buildTar([{ name: "zstd/random.bin", content: randomBytes(20 << 20) }]);
    const layers = [small, big].map((plain) => ({ plain, bytes: zstdFile(plain) }));
    expect(layers[1]!.bytes.length).toBeGreaterThan(WORKER_MIN_SIZE);
    await pushImage("sized/zstd", layers.map((l) => ({ bytes: l.bytes, mediaType: ZSTD, diffId: sha256(l.plain) })));
    const root = join(work, "sized");
    await ok(["pull", "--root", root, `${reg.host}/sized/zstd:1`]);
    for (const l of layers) {
      expect(record(root, sha256(l.plain))).toMatchObject({ digest: sha256(l.bytes), compression: "zstd", provisional: true, uncompressedSize: l.plain.length });
    }
    expect((await inspect(root, `${reg.host}/sized/zstd:1`)).Size).toBe(small.length + big.length);
  });

  it("a zstd blob a registry labels tar+gzip is pulled as sent and read by its bytes at first use", async () => {
    const layer = buildTar([{ name: "zstd/marker.txt", content: MARKER }]);
    const zst = zstdFile(layer);
    expect([...zst.subarray(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
    const busybox = await busyboxLayer();
    await pushImage("bad/zstd", [{ bytes: busybox, mediaType: "application/vnd.oci.image.layer.v1.tar", diffId: sha256(busybox) }, { bytes: zst, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", diffId: sha256(layer) }]);

    const root = join(work, "zstd-as-gzip");
    await ok(["pull", "--root", root, `${reg.host}/bad/zstd:1`]);
    expect(existsSync(blobFile(root, sha256(layer)))).toBe(false);
    await ok(["build", "--root", root, readerContext("ctx-zstd-gz", `${reg.host}/bad/zstd:1`)]);
    expect(sha256(readFileSync(blobFile(root, sha256(layer))))).toBe(sha256(layer));
    expect(await ok(["store", "check", "--root", root])).toContain("store is clean");
  });
});
