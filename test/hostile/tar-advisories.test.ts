// Hostile archives against extractTar, one test per advisory it reproduces. Every archive
// is built in code (test/helpers/tar-builder.ts); every test asserts that nothing outside
// the extraction root changed.
import { createHash } from "node:crypto";
import { link, mkdir, mkdtemp, readdir, readFile, lstat, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { extractTar, type ExtractOptions } from "../../src/exec/index.js";
import { buildTar, type TarEntrySpec } from "../helpers/tar-builder.js";

let base: string; // holds dest/ and outside/
let dest: string;
let outside: string;

/** A listing of everything under base except dest/: path, type, size, content hash. */
async function outsideState(withLinks = true): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    for (const n of (await readdir(dir)).sort()) {
      const p = join(dir, n);
      if (p === dest) continue;
      const st = await lstat(p);
      const h = st.isFile() ? createHash("sha256").update(await readFile(p)).digest("hex") : "";
      out.push(`${p} ${st.mode.toString(8)} ${st.size} ${withLinks ? st.nlink : "-"} ${h}`);
      if (st.isDirectory()) await walk(p);
    }
  }
  await walk(base);
  return out;
}

async function attempt(entries: TarEntrySpec[], opts: ExtractOptions = {}, withLinks = true): Promise<unknown> {
  const before = await outsideState(withLinks);
  const err = await extractTar(Readable.from([buildTar(entries)]), dest, opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(await outsideState(withLinks)).toEqual(before);
  return err;
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "tbuild-hostile-"));
  dest = join(base, "dest");
  outside = join(base, "outside");
  await mkdir(dest);
  await mkdir(outside);
  await writeFile(join(outside, "secret"), "do not touch\n");
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe("hostile tars", () => {
  it("Zip Slip (Snyk 2018, CVE-2018-1002200 family): ../ names are refused", async () => {
    const e = await attempt([{ name: "../outside/secret", content: "pwned" }]);
    expect(e).toMatchObject({ code: "E_TAR_PATH_ESCAPE", message: expect.stringContaining("../outside/secret") });
    const e2 = await attempt([{ name: "a/b/../../../outside/new", content: "pwned" }]);
    expect(e2).toMatchObject({ code: "E_TAR_PATH_ESCAPE" });
  });

  it("node-tar CVE-2021-32804 (GHSA-3jfq-g458-7qm9): absolute names stay inside the root", async () => {
    const abs = join(outside, "secret");
    expect(await attempt([{ name: `////${abs.slice(1)}`, content: "pwned" }, { name: abs, content: "pwned2" }])).toBeUndefined();
    expect(await readFile(join(dest, abs), "utf8")).toBe("pwned2");
  });

  it("node-tar CVE-2021-32803 (GHSA-r628-mhmh-qjhw): a directory replaced by a symlink is not written through", async () => {
    const e = await attempt([
      { name: "x/", type: "dir" },
      { name: "x", type: "symlink", linkname: outside },
      { name: "x/pwned", content: "pwned" },
    ]);
    expect(e).toMatchObject({ code: "E_TAR_PATH_ESCAPE", message: expect.stringContaining("x/pwned") });
  });

  it("node-tar CVE-2021-37701 (GHSA-9r2w-394v-53qc): symlink then a differently spelled path through it", async () => {
    const e = await attempt([
      { name: "foo", type: "symlink", linkname: "../outside" },
      { name: "./foo//secret", content: "pwned" },
    ]);
    expect(e).toMatchObject({ code: "E_TAR_PATH_ESCAPE" });
  });

  it("Docker CVE-2014-9356: absolute symlinks in a layer cannot lead later entries out", async () => {
    const e = await attempt([
      { name: "root", type: "symlink", linkname: "/" },
      { name: `root${outside}/secret`, content: "pwned" },
    ]);
    expect(e).toMatchObject({ code: "E_TAR_PATH_ESCAPE" });
  });

  it("Docker CVE-2014-9356 (lower layers): an existing absolute symlink resolves inside the root", async () => {
    await symlink(outside, join(dest, "lib"));
    expect(await attempt([{ name: "lib/secret", content: "scoped" }])).toBeUndefined();
    expect(await readFile(join(dest, outside, "secret"), "utf8")).toBe("scoped");
  });

  it("Docker CVE-2014-6407: hardlinks out of the tree are refused", async () => {
    const e = await attempt([{ name: "h", type: "hardlink", linkname: "../outside/secret" }]);
    expect(e).toMatchObject({ code: "E_TAR_PATH_ESCAPE", message: expect.stringContaining('"h"') });
    const e2 = await attempt([{ name: "h", type: "hardlink", linkname: join(outside, "secret") }]);
    expect(e2).toMatchObject({ code: "E_TAR_INVALID", message: expect.stringContaining("does not exist") });
  });

  it("node-tar CVE-2018-20834 (GHSA-j44m-qm6p-hp7m): a file never writes through an existing hardlink", async () => {
    await link(join(outside, "secret"), join(dest, "linked"));
    // The outside file's link count drops (the link inside the root is replaced); its bytes stay.
    expect(await attempt([{ name: "linked", content: "replaced" }], {}, false)).toBeUndefined();
    expect(await readFile(join(dest, "linked"), "utf8")).toBe("replaced");
    expect(await readFile(join(outside, "secret"), "utf8")).toBe("do not touch\n");
  });

  it("node-tar CVE-2018-20834 variant: hardlink to the archive's own outward symlink, then overwrite", async () => {
    expect(
      await attempt([
        { name: "s", type: "symlink", linkname: join(outside, "secret") },
        { name: "h", type: "hardlink", linkname: "s" },
        { name: "h", content: "pwned" },
      ]),
    ).toBeUndefined();
    expect(await readFile(join(dest, "h"), "utf8")).toBe("pwned");
  });

  it("node-tar CVE-2024-28863 (GHSA-f5x3-32g6-xq36): absurdly deep paths are refused", async () => {
    const deep = Array.from({ length: 3000 }, () => "d").join("/");
    const e = await attempt([{ name: "x", pax: { path: `${deep}/f` }, content: "x" }]);
    expect(e).toMatchObject({ code: "E_TAR_INVALID", message: expect.stringContaining("longer than 4095 bytes") });
    // The limit is Linux's PATH_MAX less its NUL, as for a WORKDIR: 4,096 bytes are one too many.
    const exact = `${Array.from({ length: 2047 }, () => "d").join("/")}/ff`;
    expect(Buffer.byteLength(exact)).toBe(4096);
    expect(await attempt([{ name: "x", pax: { path: exact }, content: "x" }])).toMatchObject({ code: "E_TAR_INVALID", message: expect.stringContaining("longer than 4095 bytes") });
  });

  it("tar bomb: a header claiming an absurd size is refused before any byte is written", async () => {
    const e = await attempt([{ name: "big", headerSize: 8 * 2 ** 30 - 1 }], { maxFileSize: 2 ** 30 });
    expect(e).toMatchObject({ code: "E_TAR_INVALID", message: expect.stringContaining('"big"') });
    await expect(lstat(join(dest, "big"))).rejects.toThrow();
  });

  it("device nodes (CVE-2015-3629 class): refused unless the caller allows them", async () => {
    const e = await attempt([{ name: "sda", type: "block", devmajor: 8, devminor: 0 }]);
    expect(e).toMatchObject({ code: "E_TAR_INVALID", message: expect.stringContaining("device") });
  });

  it("whiteout escape: a whiteout cannot name a path outside the layer root", async () => {
    expect(await attempt([{ name: "../outside/.wh.secret" }])).toMatchObject({ code: "E_TAR_PATH_ESCAPE" });
    expect(await attempt([{ name: ".wh.." }])).toMatchObject({ code: "E_TAR_INVALID" });
    await symlink(outside, join(dest, "out"));
    expect(await attempt([{ name: "out/.wh.secret" }, { name: "out/.wh..wh..opq" }])).toBeUndefined();
  });

  it("malformed archives: a bad checksum and a truncated body are refused", async () => {
    expect(await attempt([{ name: "a", content: "x", badChecksum: true }])).toMatchObject({ code: "E_TAR_INVALID" });
    const before = await outsideState();
    const truncated = buildTar([{ name: "a", content: "x".repeat(2000) }], { truncate: true }).subarray(0, 1024);
    const e = await extractTar(Readable.from([truncated]), dest).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: "E_TAR_INVALID" });
    expect(await outsideState()).toEqual(before);
  });

  it("hardlink loops and self-links are refused", async () => {
    expect(await attempt([{ name: "self", type: "hardlink", linkname: "self" }])).toMatchObject({ code: "E_TAR_INVALID" });
    expect(await attempt([{ name: "d/", type: "dir" }, { name: "h", type: "hardlink", linkname: "d" }])).toMatchObject({
      code: "E_TAR_INVALID",
      message: expect.stringContaining("directory"),
    });
  });
});
