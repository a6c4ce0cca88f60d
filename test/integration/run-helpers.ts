// Shared by the run-*.test.ts suites: the compiled CLI as a child process, a temporary store
// with the busybox base imported, and readers for what a build left (layer tar listings,
// an umoci-unpacked tree, every file under the store root).
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { extract } from "tar-stream";
import { findImage, readBlob } from "../helpers/oci-reader.js";
import { spawnCliSync as tb, type ProcessResult } from "../helpers/run-cli.js";

export { CLI, spawnCliSync as tb } from "../helpers/run-cli.js";
export { makeStore } from "../helpers/fixtures.js";

/** Write a context folder: `files` maps relative paths to contents. */
export function writeContext(dir: string, files: Record<string, string>): string {
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), body);
  }
  return dir;
}

/** Build `dockerfile` in a fresh context under `work`; returns the CLI result. */
export function build(work: string, root: string, name: string, dockerfile: string, extra: readonly string[] = [], files: Record<string, string> = {}): ProcessResult {
  const ctx = join(work, `ctx-${name}`);
  writeContext(ctx, { Dockerfile: dockerfile, ...files });
  return tb(["build", "--root", root, "--progress", "plain", "-t", name, ...extra, ctx]);
}

export interface TarEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  body: string;
}

export async function tarEntries(blob: Buffer): Promise<TarEntry[]> {
  const ex = extract();
  Readable.from([blob]).pipe(ex);
  const out: TarEntry[] = [];
  for await (const e of ex) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c as Buffer);
    out.push({ name: e.header.name, type: e.header.type ?? "file", mode: e.header.mode ?? 0, uid: e.header.uid ?? 0, gid: e.header.gid ?? 0, body: Buffer.concat(chunks).toString("utf8") });
  }
  return out;
}

/** The image's layers (base first) as tar entry lists. */
export async function imageLayers(root: string, ref: string): Promise<TarEntry[][]> {
  const img = findImage(root, ref);
  if (!img) throw new Error(`image ${ref} not found`);
  return Promise.all(img.layers.map((l) => tarEntries(readBlob(root, l.digest))));
}

/** umoci-unpack the image into a new folder and return its rootfs path. */
export function unpack(work: string, root: string, ref: string): string {
  const bundle = mkdtempSync(join(work, "bundle-"));
  execFileSync("umoci", ["unpack", "--image", `${root}:${ref}`, join(bundle, "b")], { stdio: "pipe" });
  return join(bundle, "b", "rootfs");
}

/** Every regular file under `dir`, recursively. */
export function allFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Files under `dir` whose bytes contain `needle`. */
export function filesContaining(dir: string, needle: string): string[] {
  const n = Buffer.from(needle);
  return allFiles(dir).filter((f) => readFileSync(f).includes(n));
}

export function ref(name: string): string {
  return `docker.io/library/${name}:latest`;
}
