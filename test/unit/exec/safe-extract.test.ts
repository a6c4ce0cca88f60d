// extractTar on honest archives: metadata kept, whiteouts applied onto a lower tree, gzip.
import { createReadStream } from "node:fs";
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { extractTar } from "../../../src/exec/index.js";
import { buildTar } from "../../helpers/tar-builder.js";

const temps: string[] = [];
async function temp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "tbuild-extract-"));
  temps.push(d);
  return d;
}
afterAll(async () => {
  for (const d of temps) await rm(d, { recursive: true, force: true });
});

describe("extractTar", () => {
  it("keeps modes with special bits, owners, symlinks, hardlinks, fifos, devices and mtimes", async () => {
    const dest = await temp();
    const tar = buildTar([
      { name: "bin/", type: "dir", mode: 0o755, mtime: 1_000 },
      { name: "bin/su", content: "su", mode: 0o4755, uid: 0, gid: 0, mtime: 2_000 },
      { name: "home/app/", type: "dir", mode: 0o700, uid: 1000, gid: 1000, mtime: 3_000 },
      { name: "home/app/f", content: "f", mode: 0o640, uid: 1000, gid: 1000, mtime: 4_000 },
      { name: "tmp/", type: "dir", mode: 0o1777 },
      { name: "bin/sh", type: "symlink", linkname: "su", uid: 5, gid: 6 },
      { name: "bin/su2", type: "hardlink", linkname: "bin/su" },
      { name: "p", type: "fifo" },
      { name: "dev/null", type: "char", devmajor: 1, devminor: 3, mode: 0o666 },
    ]);
    const r = await extractTar(Readable.from([tar]), dest, { allowDevices: true });
    expect(r.entries).toBe(9);
    const su = await lstat(join(dest, "bin/su"));
    expect(su.mode & 0o7777).toBe(0o4755);
    expect(su.mtimeMs).toBe(2_000_000);
    expect(su.nlink).toBe(2);
    const app = await lstat(join(dest, "home/app"));
    expect([app.uid, app.gid, app.mode & 0o7777, app.mtimeMs]).toEqual([1000, 1000, 0o700, 3_000_000]);
    expect((await lstat(join(dest, "tmp"))).mode & 0o7777).toBe(0o1777);
    expect(await readlink(join(dest, "bin/sh"))).toBe("su");
    expect((await lstat(join(dest, "bin/sh"))).uid).toBe(5);
    expect((await lstat(join(dest, "p"))).isFIFO()).toBe(true);
    const dev = await lstat(join(dest, "dev/null"));
    expect(dev.isCharacterDevice()).toBe(true);
    expect(dev.rdev).toBe(0x103);
    expect((await lstat(join(dest, "bin"))).mtimeMs).toBe(1_000_000);
  });

  it("applies whiteouts and opaque markers onto the lower tree, never to its own entries", async () => {
    const dest = await temp();
    await mkdir(join(dest, "etc"));
    await writeFile(join(dest, "etc/group"), "g");
    await writeFile(join(dest, "etc/passwd"), "p");
    await mkdir(join(dest, "var/cache"), { recursive: true });
    await writeFile(join(dest, "var/cache/old"), "o");
    await mkdir(join(dest, "gone/deep"), { recursive: true });
    const tar = buildTar([
      { name: "etc/", type: "dir" },
      { name: "etc/.wh.group" },
      { name: ".wh.gone" },
      { name: "var/cache/", type: "dir" },
      { name: "var/cache/-new", content: "n" },
      { name: "var/cache/.wh..wh..opq" },
      { name: "new/" , type: "dir" },
      { name: "new/x", content: "x" },
      { name: "new/.wh.x" },
    ]);
    await extractTar(Readable.from([tar]), dest);
    await expect(lstat(join(dest, "etc/group"))).rejects.toThrow();
    expect(await readFile(join(dest, "etc/passwd"), "utf8")).toBe("p");
    await expect(lstat(join(dest, "gone"))).rejects.toThrow();
    await expect(lstat(join(dest, "var/cache/old"))).rejects.toThrow();
    expect(await readFile(join(dest, "var/cache/-new"), "utf8")).toBe("n");
    expect(await readFile(join(dest, "new/x"), "utf8")).toBe("x");
  });

  it("keeps whiteout files as files with whiteouts: keep, and reads gzip", async () => {
    const dest = await temp();
    const src = join(await temp(), "a.tar.gz");
    await writeFile(src, buildTar([{ name: ".wh.x", content: "" }, { name: "y", content: "yy" }], { gzip: true }));
    await extractTar(createReadStream(src), dest, { whiteouts: "keep" });
    expect((await lstat(join(dest, ".wh.x"))).isFile()).toBe(true);
    expect(await readFile(join(dest, "y"), "utf8")).toBe("yy");
  });

  it("replaces a file by a directory and a directory by a file", async () => {
    const dest = await temp();
    await writeFile(join(dest, "a"), "file");
    await mkdir(join(dest, "b/c"), { recursive: true });
    await extractTar(Readable.from([buildTar([{ name: "a/", type: "dir" }, { name: "a/in", content: "1" }, { name: "b", content: "now a file" }])]), dest);
    expect(await readFile(join(dest, "a/in"), "utf8")).toBe("1");
    expect(await readFile(join(dest, "b"), "utf8")).toBe("now a file");
  });
});

describe("extractTar input errors", () => {
  it("reports an unreadable archive as E_IO", async () => {
    const dest = await temp();
    await expect(extractTar(createReadStream(join(dest, "missing.tar")), dest)).rejects.toMatchObject({ code: "E_IO" });
  });
});
