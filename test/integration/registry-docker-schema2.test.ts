// A Docker schema 2 image (application/vnd.docker.distribution.manifest.v2+json with
// Docker gzip layers, what most registries still serve) pulled from a real docker-registry
// on 127.0.0.1 keeps the registry's manifest byte for byte, as Docker and containerd keep
// it: the store shows the registry's digest, skopeo reads the image from the store, a push
// elsewhere sends the same manifest, and builds, history, save and load use it as any image.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "../../src/registry/index.js";
import { buildBusyboxRootfsTar } from "../helpers/fixtures.js";
import { startRegistry, type RegistryServer } from "../helpers/registry-server.js";
import { shOk, spawnCliOk } from "./store-helpers.js";

const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";

let work: string;
let reg: RegistryServer;
let env: Record<string, string>;
/** The Docker schema 2 image in the registry, its manifest bytes as the registry serves them, and their digest. */
let ref: string;
let raw: Buffer;
let digest: string;


const ok = (args: string[]) => spawnCliOk(args, { cwd: work, env });
const tool = shOk;

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const blobFile = (root: string, d: string) => join(root, "blobs", "sha256", d.slice(7));
const rawManifest = (image: string) => Buffer.from(tool("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${image}`]));

async function inspect(root: string, name: string): Promise<{ Id: string; RepoDigests: string[]; Descriptor: { mediaType: string; digest: string }; RootFS: { Layers: string[] }; History: { created_by: string }[] }> {
  return (JSON.parse(await ok(["inspect", "--root", root, name])) as never[])[0]!;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "tbuild-schema2-"));
  env = { HOME: work, XDG_CONFIG_HOME: join(work, "cfg"), DOCKER_CONFIG: join(work, "docker"), SOURCE_DATE_EPOCH: "1700000000" };
  reg = await startRegistry();
  // skopeo writes the image as Docker does: a schema 2 manifest over gzip layers it compresses itself.
  const seed = join(work, "seed");
  await ok(["import", "--root", seed, await buildBusyboxRootfsTar(), `${reg.host}/seed/busybox:1`]);
  ref = `${reg.host}/docker/busybox:1`;
  tool("skopeo", ["copy", "-q", "--format", "v2s2", "--dest-tls-verify=false", `oci:${seed}:${reg.host}/seed/busybox:1`, `docker://${ref}`]);
  raw = rawManifest(ref);
  digest = sha256(raw);
}, 120_000);

afterAll(async () => {
  await reg?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("a pulled Docker schema 2 image keeps the registry's manifest", () => {
  it("the registry serves a Docker schema 2 manifest over Docker gzip layers, under the digest of its bytes", async () => {
    const m = JSON.parse(raw.toString("utf8")) as { mediaType: string; layers: { mediaType: string }[] };
    expect(m.mediaType).toBe(DOCKER_MANIFEST);
    expect(m.layers.map((l) => l.mediaType)).toEqual([DOCKER_GZIP]);
    const head = await new RegistryClient({ registry: reg.host }).headManifest("docker/busybox", "1");
    expect(head).toMatchObject({ digest, mediaType: DOCKER_MANIFEST });
  });

  it("pull stores the very bytes: images --digests, inspect and the pull itself show the registry's digest; skopeo reads and copies it unchanged", async () => {
    const root = join(work, "pull");
    expect(await ok(["pull", "--root", root, ref])).toContain(`Digest: ${digest}\n`);
    expect(readFileSync(blobFile(root, digest)).equals(raw)).toBe(true);
    expect(await ok(["images", "--root", root, "--digests"])).toContain(digest);
    expect((JSON.parse((await ok(["images", "--root", root, "--format", "json"])).trim()) as { Digest: string }).Digest).toBe(digest);
    const img = await inspect(root, ref);
    expect(img.RepoDigests).toEqual([`${reg.host}/docker/busybox@${digest}`]);
    expect(img.Descriptor).toMatchObject({ mediaType: DOCKER_MANIFEST, digest });
    expect((await inspect(root, `${reg.host}/docker/busybox@${digest}`)).Id).toBe(img.Id);

    // index.json lists it through a one-entry OCI index naming the manifest's Docker media type.
    const index = JSON.parse(readFileSync(join(root, "index.json"), "utf8")) as { manifests: { mediaType: string; digest: string }[] };
    expect(index.manifests.map((d) => d.mediaType)).toEqual(["application/vnd.oci.image.index.v1+json"]);
    const wrapper = JSON.parse(readFileSync(blobFile(root, index.manifests[0]!.digest), "utf8")) as { manifests: { mediaType: string; digest: string }[] };
    expect(wrapper.manifests).toMatchObject([{ mediaType: DOCKER_MANIFEST, digest }]);

    // skopeo finds the tag in the store and copies the manifest as it is.
    const layers = (JSON.parse(raw.toString("utf8")) as { layers: { digest: string }[] }).layers.map((l) => l.digest);
    expect((JSON.parse(tool("skopeo", ["inspect", `oci:${root}:${ref}`])) as { Layers: string[] }).Layers).toEqual(layers);
    tool("skopeo", ["copy", "-q", "--dest-tls-verify=false", `oci:${root}:${ref}`, `docker://${reg.host}/by-skopeo/busybox:1`]);
    expect(rawManifest(`${reg.host}/by-skopeo/busybox:1`).equals(raw)).toBe(true);
    expect(await ok(["store", "check", "--root", root])).toContain("store is clean");

    // A second pull finds it all there, under the same digest.
    const again = await ok(["pull", "--root", root, ref]);
    expect(again).toContain(`Status: Image is up to date for ${ref}`);
  });

  it("push of the pulled image to another repository sends the same manifest: the same digest and bytes", async () => {
    const root = join(work, "push");
    await ok(["pull", "--root", root, ref]);
    const other = `${reg.host}/elsewhere/busybox:copy`;
    await ok(["tag", "--root", root, ref, other]);
    const pushed = await ok(["push", "--root", root, other]);
    expect(pushed).toContain(`copy: digest: ${digest} size: ${raw.length}`);
    expect(rawManifest(other).equals(raw)).toBe(true);
    expect((await new RegistryClient({ registry: reg.host }).headManifest("elsewhere/busybox", "copy"))?.mediaType).toBe(DOCKER_MANIFEST);
  });

  it("builds FROM it, shows its history, saves it as a docker archive that loads with the same ID, and rmi removes it whole", async () => {
    const root = join(work, "use");
    await ok(["pull", "--root", root, ref]);
    const base = await inspect(root, ref);
    const ctx = join(work, "ctx");
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, "Dockerfile"), `FROM ${ref}\nRUN cat /etc/passwd > /copy.txt\n`);
    await ok(["build", "--root", root, "-t", "app:1", ctx]);
    const app = await inspect(root, "app:1");
    expect(app.RootFS.Layers.slice(0, 1)).toEqual(base.RootFS.Layers);
    expect(app.History.map((h) => h.created_by)).toEqual([...base.History.map((h) => h.created_by), "RUN /bin/sh -c cat /etc/passwd > /copy.txt # buildkit"]);
    expect(await ok(["history", "--root", root, ref])).toContain("tbuild import");

    const archive = join(work, "busybox.tar");
    await ok(["save", "--root", root, "--format", "docker", "-o", archive, ref]);
    expect((JSON.parse(tool("skopeo", ["inspect", `docker-archive:${archive}`])) as { Layers: string[] }).Layers).toEqual(base.RootFS.Layers);
    const loaded = join(work, "loaded");
    await ok(["load", "--root", loaded, "-i", archive]);
    expect((await inspect(loaded, ref)).Id).toBe(base.Id);

    const entry = (JSON.parse(readFileSync(join(root, "index.json"), "utf8")) as { manifests: { digest: string }[] }).manifests.find((d) => d.digest !== app.Descriptor.digest)!.digest;
    await ok(["rmi", "--root", root, ref]);
    for (const d of [entry, digest, base.Id]) expect(existsSync(blobFile(root, d))).toBe(false);
    expect(await ok(["store", "check", "--root", root])).toContain("store is clean");
    expect((await inspect(root, "app:1")).Id).toBe(app.Id);
  });
});
