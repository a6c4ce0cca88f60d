// resolveInRoot over a real tree of symlinks on disk (through a node:fs port, as build/mounts
// uses it): every mode the callers use, on absolute and relative links, `..` escapes, loops,
// dangling links and a final component that is a link.
import { lstat, mkdir, mkdtemp, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_SYMLINK_HOPS, resolveInRoot, type ResolveOptions, type RootLinks, type RootPath } from "../../../src/util/index.js";

let root: string;
let fs: RootLinks;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tbuild-root-path-"));
  await mkdir(join(root, "etc"));
  await writeFile(join(root, "etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
  await mkdir(join(root, "usr/lib"), { recursive: true });
  const links: [string, string][] = [
    ["abs", "/usr"],
    ["rel", "usr/lib"],
    ["dot", "./etc/."],
    ["up", "../../../etc"],
    ["escape", "/../../etc"],
    ["usr/lib/back", "../../etc"],
    ["usr/lib/root", "/"],
    ["file-link", "etc/passwd"],
    ["dangling", "/nowhere/x"],
    ["loop-a", "loop-b"],
    ["loop-b", "loop-a"],
    ["self", "self"],
    // A chain of exactly MAX_SYMLINK_HOPS links ends at etc; one more link is a loop.
    ...Array.from({ length: MAX_SYMLINK_HOPS }, (_, i): [string, string] => [`chain${i}`, i === MAX_SYMLINK_HOPS - 1 ? "etc" : `chain${i + 1}`]),
    ["chain-long", "chain0"],
  ];
  for (const [at, target] of links) await symlink(target, join(root, at));
  fs = {
    lstat: (rel) => lstat(join(root, rel)).then((st) => ({ type: st.isSymbolicLink() ? "symlink" : st.isDirectory() ? "dir" : "file" }), () => undefined),
    readlink: (rel) => readlink(join(root, rel)),
  };
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const EXISTING: ResolveOptions = { missing: "fail", last: "follow" }; // COPY --from sources, mount sources
const DEST: ResolveOptions = { missing: "keep", last: "if-dir" }; // COPY dest without a trailing slash
const DEST_DIR: ResolveOptions = { missing: "keep", last: "follow" }; // COPY dest/ and WORKDIR

const missing: RootPath = { ok: false, reason: "missing" };
const loop: RootPath = { ok: false, reason: "loop" };
const at = (path: string): RootPath => ({ ok: true, path });

// [path, existing, dest, dest with a trailing slash]
const table: [string, RootPath, RootPath, RootPath][] = [
  ["", at(""), at(""), at("")],
  ["/", at(""), at(""), at("")],
  ["etc/passwd", at("etc/passwd"), at("etc/passwd"), at("etc/passwd")],
  ["./etc//passwd", at("etc/passwd"), at("etc/passwd"), at("etc/passwd")],
  // `..` stops at the root, written or through links.
  ["../../etc", at("etc"), at("etc"), at("etc")],
  ["up/passwd", at("etc/passwd"), at("etc/passwd"), at("etc/passwd")],
  ["escape/passwd", at("etc/passwd"), at("etc/passwd"), at("etc/passwd")],
  ["usr/lib/root/etc", at("etc"), at("etc"), at("etc")],
  // Absolute targets are re-rooted; relative ones start at the link's folder.
  ["abs/lib", at("usr/lib"), at("usr/lib"), at("usr/lib")],
  ["rel", at("usr/lib"), at("usr/lib"), at("usr/lib")],
  ["usr/lib/back/passwd", at("etc/passwd"), at("etc/passwd"), at("etc/passwd")],
  ["dot/passwd", at("etc/passwd"), at("etc/passwd"), at("etc/passwd")],
  ["rel/..", at("usr"), at("usr"), at("usr")],
  // A final link to a directory is followed in every mode; to a file only when asked.
  ["abs", at("usr"), at("usr"), at("usr")],
  ["file-link", at("etc/passwd"), at("file-link"), at("etc/passwd")],
  // Dangling links: missing for a source, created where they point for a destination.
  ["dangling", missing, at("dangling"), at("nowhere/x")],
  ["dangling/y", missing, at("nowhere/x/y"), at("nowhere/x/y")],
  ["new/dir/../x", missing, at("new/x"), at("new/x")],
  ["etc/new/../../..", missing, at(""), at("")],
  // Loops fail, except as a final component a COPY replaces.
  ["loop-a", loop, at("loop-a"), loop],
  ["loop-a/x", loop, loop, loop],
  ["self", loop, at("self"), loop],
  ["chain0/passwd", at("etc/passwd"), at("etc/passwd"), at("etc/passwd")],
  ["chain-long/passwd", loop, loop, loop],
];

describe("resolveInRoot", () => {
  it.each(table)("%s", async (path, existing, dest, destDir) => {
    expect(await resolveInRoot(fs, path, EXISTING)).toEqual(existing);
    expect(await resolveInRoot(fs, path, DEST)).toEqual(dest);
    expect(await resolveInRoot(fs, path, DEST_DIR)).toEqual(destDir);
  });
});
