// layer.ts: deterministic bytes, whiteouts, PAX, hardlinks, and real readers (GNU tar, tar-stream).
import { execFileSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { chmod, chown, link, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { extract } from "tar-stream";
import { afterAll, describe, expect, it } from "vitest";
import { writeLayer, type Change } from "../../../src/exec/index.js";

const temps: string[] = [];
async function temp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "tbuild-layer-"));
  temps.push(d);
  return d;
}
afterAll(async () => {
  for (const d of temps) await rm(d, { recursive: true, force: true });
});

/** A small tree with every kind of entry, built the same way in any directory. */
async function makeTree(root: string, mtime: number): Promise<Change[]> {
  await mkdir(join(root, "etc"), { recursive: true });
  await mkdir(join(root, "usr/bin"), { recursive: true });
  await writeFile(join(root, "etc/hosts"), "127.0.0.1 localhost\n");
  await writeFile(join(root, "usr/bin/tool"), Buffer.alloc(3000, 7));
  await chmod(join(root, "usr/bin/tool"), 0o4755);
  await mkdir(join(root, "tmp"));
  await chmod(join(root, "tmp"), 0o1777);
  await chown(join(root, "etc/hosts"), 1000, 1001);
  await symlink("../etc/hosts", join(root, "usr/hosts-link"));
  await link(join(root, "usr/bin/tool"), join(root, "usr/bin/tool2"));
  const long = `deep/${"x".repeat(120)}/file-with-a-long-name-${"y".repeat(40)}`;
  await mkdir(join(root, long, ".."), { recursive: true });
  await writeFile(join(root, long), "long\n");
  execFileSync("mknod", [join(root, "null"), "c", "1", "3"]);
  execFileSync("mkfifo", [join(root, "fifo")]);
  execFileSync("find", [root, "-exec", "touch", "-h", "-d", `@${mtime}`, "{}", "+"]);
  return [
    { kind: "add", path: "usr/bin/tool" },
    { kind: "add", path: "etc/hosts" },
    { kind: "add", path: "tmp" },
    { kind: "add", path: "usr/hosts-link" },
    { kind: "add", path: "usr/bin/tool2" },
    { kind: "add", path: long },
    { kind: "add", path: "null" },
    { kind: "add", path: "fifo" },
    { kind: "delete", path: "etc/group" },
    { kind: "opaque", path: "var" },
  ];
}

async function layerFile(changes: Change[], root: string, epoch?: number): Promise<{ file: string; diffId: string; size: number }> {
  const file = join(await temp(), "layer.tar");
  await mkdir(join(root, "var"), { recursive: true });
  const r = await writeLayer(changes, root, createWriteStream(file), epoch === undefined ? {} : { sourceDateEpoch: epoch });
  return { file, diffId: r.diffId, size: r.size };
}

interface Listed { name: string; type: string; mode: number; uid: number; gid: number; size: number; mtime: number; linkname: string | null | undefined; uname: string | undefined }
async function list(file: string): Promise<Listed[]> {
  const ex = extract();
  Readable.from(await readFile(file)).pipe(ex);
  const out: Listed[] = [];
  for await (const e of ex) {
    const h = e.header;
    out.push({ name: h.name, type: h.type ?? "", mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0, size: h.size ?? 0, mtime: (h.mtime?.getTime() ?? 0) / 1000, linkname: h.linkname, uname: h.uname });
    e.resume();
  }
  return out;
}

describe("writeLayer", () => {
  it("is byte-identical across two runs and two directories given the same content and SOURCE_DATE_EPOCH", async () => {
    const a = await temp();
    const b = await temp();
    const ca = await makeTree(a, 1_700_000_000);
    const cb = await makeTree(b, 1_600_000_000);
    const l1 = await layerFile(ca, a, 1_500_000_000);
    const l2 = await layerFile(ca, a, 1_500_000_000);
    const l3 = await layerFile([...cb].reverse(), b, 1_500_000_000);
    expect(l1.diffId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(l2.diffId).toBe(l1.diffId);
    expect(l3.diffId).toBe(l1.diffId);
    expect(Buffer.compare(await readFile(l1.file), await readFile(l3.file))).toBe(0);
    const bytes = await readFile(l1.file);
    expect(l1.size).toBe(bytes.length);
    expect(execFileSync("sha256sum", [l1.file]).toString().split(" ")[0]).toBe(l1.diffId.slice(7));
  });

  it("keeps the file's own mtime without SOURCE_DATE_EPOCH and clamps only later times with it", async () => {
    const a = await temp();
    const changes = await makeTree(a, 1_600_000_000);
    const own = await list((await layerFile(changes, a)).file);
    expect(own.find((e) => e.name === "etc/hosts")?.mtime).toBe(1_600_000_000);
    const clamped = await list((await layerFile(changes, a, 1_500_000_000)).file);
    expect(clamped.find((e) => e.name === "etc/hosts")?.mtime).toBe(1_500_000_000);
    const later = await list((await layerFile(changes, a, 1_700_000_000)).file);
    expect(later.find((e) => e.name === "etc/hosts")?.mtime).toBe(1_600_000_000);
  });

  it("writes sorted entries, parents, whiteouts, opaque markers, numeric ids, special bits, hardlinks and devices", async () => {
    const a = await temp();
    const changes = await makeTree(a, 1_600_000_000);
    const entries = await list((await layerFile(changes, a, 1_600_000_000)).file);
    const names = entries.map((e) => e.name);
    expect(names.slice(0, 8)).toEqual(["deep/", `deep/${"x".repeat(120)}/`, `deep/${"x".repeat(120)}/file-with-a-long-name-${"y".repeat(40)}`, "etc/", "etc/.wh.group", "etc/hosts", "fifo", "null"]);
    expect(names.slice(8)).toEqual(["tmp/", "usr/", "usr/bin/", "usr/bin/tool", "usr/bin/tool2", "usr/hosts-link", "var/", "var/.wh..wh..opq"]);
    const by = new Map(entries.map((e) => [e.name, e]));
    expect(by.get("etc/hosts")).toMatchObject({ uid: 1000, gid: 1001, mode: 0o644, uname: "" });
    expect(by.get("usr/bin/tool")).toMatchObject({ type: "file", mode: 0o4755, size: 3000 });
    expect(by.get("usr/bin/tool2")).toMatchObject({ type: "link", linkname: "usr/bin/tool", size: 0 });
    expect(by.get("tmp/")).toMatchObject({ type: "directory", mode: 0o1777 });
    expect(by.get("usr/hosts-link")).toMatchObject({ type: "symlink", linkname: "../etc/hosts" });
    expect(by.get("null")?.type).toBe("character-device");
    expect(by.get("fifo")?.type).toBe("fifo");
    expect(by.get("etc/.wh.group")).toMatchObject({ type: "file", size: 0 });
  });

  it("is read by GNU tar (long names through PAX, devices, links)", async () => {
    const a = await temp();
    const { file } = await layerFile(await makeTree(a, 1_600_000_000), a, 1_600_000_000);
    const listing = execFileSync("tar", ["--numeric-owner", "-tvf", file]).toString();
    expect(listing).toContain(`deep/${"x".repeat(120)}/file-with-a-long-name-${"y".repeat(40)}`);
    expect(listing).toMatch(/^-rwsr-xr-x 0\/0\s+3000 .* usr\/bin\/tool$/m);
    expect(listing).toMatch(/^hrwsr-xr-x 0\/0\s+0 .* usr\/bin\/tool2 link to usr\/bin\/tool$/m);
    expect(listing).toMatch(/^crw-r--r-- 0\/0\s+1,3 .* null$/m);
    expect(listing).toMatch(/^-rw-r--r-- 1000\/1001 .* etc\/hosts$/m);
    const out = await temp();
    execFileSync("tar", ["-xf", file, "-C", out]);
    expect(await readFile(join(out, `deep/${"x".repeat(120)}/file-with-a-long-name-${"y".repeat(40)}`), "utf8")).toBe("long\n");
  });

  it("writes xattrs as PAX records when a reader supplies them", async () => {
    const a = await temp();
    await writeFile(join(a, "ping"), "x");
    const file = join(await temp(), "l.tar");
    await writeLayer([{ kind: "add", path: "ping" }], a, createWriteStream(file), {
      readXattrs: async () => new Map([["security.capability", Buffer.from([1, 0, 0, 2])]]),
    });
    const listing = execFileSync("tar", ["--xattrs", "--xattrs-include=*", "-tvvf", file]).toString();
    expect(listing).toContain("ping");
    expect((await readFile(file)).includes(Buffer.from("SCHILY.xattr.security.capability="))).toBe(true);
  });

  it("writes an empty layer for no changes (two zero blocks)", async () => {
    const a = await temp();
    const file = join(a, "empty.tar");
    const r = await writeLayer([], a, createWriteStream(file));
    expect(r.size).toBe(1024);
    expect(r.entries).toBe(0);
  });
});
