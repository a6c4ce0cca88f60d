// snapshotter.ts: one merged snapshot per chain, reused, built on the parent by hardlinks.
import { createHash } from "node:crypto";
import { lstat, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { chainIds, Snapshotter, type LayerSource } from "../../../src/exec/index.js";
import { buildTar } from "../../helpers/tar-builder.js";

const temps: string[] = [];
afterAll(async () => {
  for (const d of temps) await rm(d, { recursive: true, force: true });
});

async function layer(dir: string, name: string, tar: Buffer): Promise<LayerSource> {
  const path = join(dir, name);
  await writeFile(path, tar);
  return { diffId: `sha256:${createHash("sha256").update(tar).digest("hex")}`, path };
}

describe("Snapshotter", () => {
  it("unpacks each chain once, applies whiteouts on a hardlinked clone, and reads gzip layers", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tbuild-snap-"));
    temps.push(dir);
    const l1 = await layer(dir, "l1.tar", buildTar([{ name: "etc/", type: "dir" }, { name: "etc/a", content: "a" }, { name: "etc/b", content: "b" }]));
    const l2 = await layer(dir, "l2.tar.gz", buildTar([{ name: "etc/.wh.a" }, { name: "etc/c", content: "c" }], { gzip: true }));
    const snaps = new Snapshotter(join(dir, "snaps"));
    const one = await snaps.prepareRootfs([l1]);
    const two = await snaps.prepareRootfs([l1, l2]);
    expect(two.chainId).toBe(chainIds([l1.diffId, l2.diffId])[1]);
    expect(two.lowerdirs).toEqual([two.rootfs]);
    expect((await readdir(join(one.rootfs, "etc"))).sort()).toEqual(["a", "b"]);
    expect((await readdir(join(two.rootfs, "etc"))).sort()).toEqual(["b", "c"]);
    expect((await lstat(join(two.rootfs, "etc/b"))).ino).toBe((await lstat(join(one.rootfs, "etc/b"))).ino);
    // A second prepare reuses the snapshot: same directory inode, nothing re-extracted.
    const before = (await lstat(two.rootfs)).ino;
    await rm(l2.path); // would fail if it were read again
    expect((await snaps.prepareRootfs([l1, l2])).rootfs).toBe(two.rootfs);
    expect((await lstat(two.rootfs)).ino).toBe(before);
    expect((await readdir(join(dir, "snaps"))).filter((n) => n.startsWith(".tmp"))).toEqual([]);
    expect(await readFile(join(two.rootfs, "etc/c"), "utf8")).toBe("c");
  });

  it("gives an empty root for no layers and leaves no temporary directory after a bad layer", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tbuild-snap-"));
    temps.push(dir);
    const snaps = new Snapshotter(join(dir, "snaps"));
    const scratch = await snaps.prepareRootfs([]);
    expect(scratch.chainId).toBeUndefined();
    expect(await readdir(scratch.rootfs)).toEqual([]);
    const bad = await layer(dir, "bad.tar", buildTar([{ name: "../x", content: "x" }]));
    await expect(snaps.prepareRootfs([bad])).rejects.toMatchObject({ code: "E_TAR_PATH_ESCAPE" });
    expect((await readdir(join(dir, "snaps"))).sort()).toEqual(["scratch"]);
  });
});
