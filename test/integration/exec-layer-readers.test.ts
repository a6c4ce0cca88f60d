// Layers written by layer.ts, read by other tools: umoci (Go's archive/tar plus its own OCI
// whiteout handling) unpacks a two-layer image and must apply our whiteouts and opaque dirs.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeLayer, type Change } from "../../src/exec/index.js";

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "tbuild-readers-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function blob(layout: string, bytes: Buffer): Promise<{ digest: string; size: number }> {
  const hex = createHash("sha256").update(bytes).digest("hex");
  await writeFile(join(layout, "blobs/sha256", hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

async function layerBlob(layout: string, changes: Change[], root: string): Promise<{ digest: string; size: number }> {
  const tmp = join(layout, "blobs/sha256/.tmp");
  const r = await writeLayer(changes, root, createWriteStream(tmp), { sourceDateEpoch: 1_700_000_000 });
  await rename(tmp, join(layout, "blobs/sha256", r.diffId.slice(7)));
  return { digest: r.diffId, size: r.size };
}

describe("layer tars read by umoci", () => {
  it("unpacks two layers with a whiteout, an opaque directory, a long name and a setuid file", async () => {
    const one = join(work, "one");
    const two = join(work, "two");
    const long = `opt/${"n".repeat(150)}`;
    await mkdir(join(one, "etc"), { recursive: true });
    await mkdir(join(one, "var/cache"), { recursive: true });
    await mkdir(join(one, "opt"), { recursive: true });
    await writeFile(join(one, "etc/group"), "root:x:0:\n");
    await writeFile(join(one, "etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
    await writeFile(join(one, "var/cache/old"), "old");
    await writeFile(join(one, long), "long");
    execFileSync("chmod", ["4755", join(one, "etc/passwd")]);
    await mkdir(join(two, "var/cache"), { recursive: true });
    await writeFile(join(two, "var/cache/new"), "new");
    await mkdir(join(two, "etc"));

    const layout = join(work, "layout");
    await mkdir(join(layout, "blobs/sha256"), { recursive: true });
    await writeFile(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    const l1 = await layerBlob(
      layout,
      ["etc/group", "etc/passwd", "var/cache/old", long].map((path) => ({ kind: "add", path })),
      one,
    );
    const l2 = await layerBlob(
      layout,
      [
        { kind: "delete", path: "etc/group" },
        { kind: "opaque", path: "var/cache" },
        { kind: "add", path: "var/cache/new" },
      ],
      two,
    );
    const config = await blob(
      layout,
      Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [l1.digest, l2.digest] } })),
    );
    const manifest = await blob(
      layout,
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
          layers: [l1, l2].map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", ...l })),
        }),
      ),
    );
    await writeFile(
      join(layout, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, annotations: { "org.opencontainers.image.ref.name": "t" } }],
      }),
    );
    const rootfs = join(work, "unpacked");
    execFileSync("umoci", ["raw", "unpack", "--image", `${layout}:t`, rootfs], { stdio: "pipe" });
    expect((await readdir(join(rootfs, "etc"))).sort()).toEqual(["passwd"]);
    expect((await readdir(join(rootfs, "var/cache"))).sort()).toEqual(["new"]);
    expect(await readFile(join(rootfs, long), "utf8")).toBe("long");
    expect(execFileSync("stat", ["-c", "%a", join(rootfs, "etc/passwd")]).toString().trim()).toBe("4755");
  });
});
