// Shared fixtures: a deterministic busybox root file system tar, built with tar-stream from
// the host's static /bin/busybox (Debian's busybox-static), so every suite has a base image
// with no download: `tbuild import <tar> busybox:test`. Same layout as busybox-rootfs.ts
// (applet symlinks in /bin, root/app/nobody users), but as a byte-identical tar: sorted
// entries, uid/gid 0 (app's home 1000), mtime SOURCE_DATE_EPOCH-style fixed at 0.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tar from "tar-stream";
import { spawnCliSync } from "./run-cli.js";

export const BUSYBOX_BIN = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p));

interface Item {
  name: string;
  type: "file" | "directory" | "symlink";
  mode: number;
  uid?: number;
  body?: Uint8Array;
  linkname?: string;
}

/** The entries of the busybox rootfs, sorted by path. */
function busyboxItems(): Item[] {
  if (!BUSYBOX_BIN) throw new Error("busybox-static is required: run test/setup/install-tools.sh (apt-get install busybox-static)");
  const bin = readFileSync(BUSYBOX_BIN);
  const applets = execFileSync(BUSYBOX_BIN, ["--list"]).toString().split("\n").filter((a) => a && a !== "busybox" && !a.includes("/"));
  const items: Item[] = [];
  for (const d of ["bin", "dev", "etc", "home", "proc", "sys", "usr", "usr/bin", "var"]) items.push({ name: d, type: "directory", mode: 0o755 });
  items.push({ name: "root", type: "directory", mode: 0o700 });
  items.push({ name: "tmp", type: "directory", mode: 0o1777 });
  items.push({ name: "home/app", type: "directory", mode: 0o755, uid: 1000 });
  items.push({ name: "bin/busybox", type: "file", mode: 0o755, body: bin });
  for (const a of applets) items.push({ name: `bin/${a}`, type: "symlink", mode: 0o777, linkname: "busybox" });
  const enc = new TextEncoder();
  items.push({ name: "etc/passwd", type: "file", mode: 0o644, body: enc.encode("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n") });
  items.push({ name: "etc/group", type: "file", mode: 0o644, body: enc.encode("root:x:0:\napp:x:1000:\nusers:x:100:app\nnogroup:x:65534:\n") });
  return items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The busybox rootfs as tar bytes (deterministic). */
export async function busyboxRootfsTarBytes(): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const it of busyboxItems()) {
    const header = { name: it.type === "directory" ? `${it.name}/` : it.name, type: it.type, mode: it.mode, uid: it.uid ?? 0, gid: it.uid ?? 0, mtime: new Date(0), uname: "", gname: "", ...(it.linkname ? { linkname: it.linkname } : {}) };
    await new Promise<void>((res, rej) => pack.entry(header, it.body ? Buffer.from(it.body) : "", (e) => (e ? rej(e) : res())));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/**
 * Write the busybox rootfs tar into `dir` (default: a shared folder under the OS temp dir)
 * and return its path. Cached by content: a second call returns the same file.
 */
export async function buildBusyboxRootfsTar(dir = join(tmpdir(), "tbuild-fixtures")): Promise<string> {
  const bytes = await busyboxRootfsTarBytes();
  const hex = createHash("sha256").update(bytes).digest("hex");
  const file = join(dir, `busybox-rootfs-${hex.slice(0, 12)}.tar`);
  if (existsSync(file)) return file;
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, file);
  return file;
}

/**
 * A new temporary work folder (`mkdtemp` of `prefix`) with a store at `work/store` holding
 * busybox:test, imported by the compiled CLI with `env` (e.g. SOURCE_DATE_EPOCH for a fixed ID).
 */
export async function makeStore(prefix: string, env: Readonly<Record<string, string>> = {}): Promise<{ work: string; root: string }> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const root = join(work, "store");
  const r = spawnCliSync(["import", "--root", root, await buildBusyboxRootfsTar(), "busybox:test"], { env });
  if (r.code !== 0) throw new Error(`import failed: ${r.stderr}`);
  return { work, root };
}
