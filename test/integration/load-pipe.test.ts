// `tbuild load` from a real pipe (`cat archive | tbuild load`, a writer that pauses and writes
// odd-sized pieces, `gzip -c | tbuild load`): the CLI reads the pipe into one reused buffer
// (cli/pipe-input.ts) and pushes large layers on to the store as they arrive. It must give
// the store `load -i` gives, and leave the store as it was when the pipe breaks off mid-layer
// or a layer is corrupt.
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { buildTar } from "../helpers/tar-builder.js";
import { CLI, type ProcessResult } from "../helpers/run-cli.js";
import { findImage, listBlobs, snapshotStore, verifyLayout } from "../helpers/oci-reader.js";
import { tempDirs } from "../helpers/temp-dirs.js";
import { tbOk } from "./store-helpers.js";

const tempDir = tempDirs();

/** Run `sh -c SCRIPT` with `$1`… = `args`, `$TBUILD` the CLI and TBUILD_ROOT=root (the CLI's stdin is the script's pipe). */
function shell(root: string, script: string, args: string[]): ProcessResult {
  const r = spawnSync("sh", ["-c", script, "sh", ...args], { env: { ...process.env, TBUILD_ROOT: root, TBUILD: `"${process.execPath}" "${CLI}"` }, maxBuffer: 1 << 28 });
  return { code: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/**
 * A writer of `$1` to its stdout: the bytes up to `$2` (all when absent), in pieces whose sizes
 * cycle through a byte, less and more than a tar block and more than a pipe holds, pausing
 * every few pieces, then it exits (a pipe that breaks off when `$2` is short of the end).
 */
const WRITER = `
const fs = require("node:fs");
const bytes = fs.readFileSync(process.argv[1]);
const end = process.argv[2] ? Number(process.argv[2]) : bytes.length;
const sizes = [1, 3, 511, 513, 4097, 65537, 100003, 7];
let at = 0, i = 0;
function next() {
  while (at < end) {
    const n = Math.min(sizes[i % sizes.length], end - at);
    const ok = process.stdout.write(bytes.subarray(at, at + n));
    at += n;
    if (++i % 5 === 0) return setTimeout(next, 2);
    if (!ok) return process.stdout.once("drain", next);
  }
}
next();
`;

let archive: string;
let layers: { big: string; mid: string; small: string };
/** The store `load -i` makes of `archive`, and what it prints. */
let viaFile: { snapshot: string; stdout: string };

beforeAll(() => {
  const src = tempDir("pipe-src");
  const dir = tempDir("pipe-out");
  // A layer written around the page cache (>= 8 MiB), one through it (1-8 MiB) and one kept in memory (< 1 MiB).
  for (const [ref, size] of [["big:1", 12 << 20], ["mid:1", 3 << 20], ["small:1", 3000]] as const) {
    const rootfs = join(dir, `${ref.replace(":", "-")}.tar`);
    writeFileSync(rootfs, buildTar([{ name: "data.bin", content: randomBytes(size) }]));
    tbOk(src, ["import", rootfs, ref]);
  }
  archive = join(dir, "all.tar");
  tbOk(src, ["save", "-o", archive, "big:1", "mid:1", "small:1"]);
  const layer = (ref: string) => findImage(src, `docker.io/library/${ref}`)!.layers[0]!.digest.slice(7);
  layers = { big: layer("big:1"), mid: layer("mid:1"), small: layer("small:1") };
  const root = tempDir("pipe-file");
  const stdout = tbOk(root, ["load", "-i", archive]);
  viaFile = { snapshot: snapshotStore(root), stdout };
  for (const l of Object.values(layers)) expect(listBlobs(root)).toContain(l);
}, 120_000);

/** A store that already holds an image, and its snapshot: a failed load must leave both as they are. */
function storeWithAnImage(): { root: string; before: string } {
  const root = tempDir("pipe-kept");
  const rootfs = join(tempDir("pipe-kept-src"), "keep.tar");
  writeFileSync(rootfs, buildTar([{ name: "keep.txt", content: "kept" }]));
  tbOk(root, ["import", rootfs, "keep:me"]);
  return { root, before: snapshotStore(root) };
}

function expectUnchanged(store: { root: string; before: string }): void {
  expect(snapshotStore(store.root)).toBe(store.before);
  expect(readdirSync(join(store.root, "tbuild", "tmp"))).toEqual([]);
  verifyLayout(store.root);
}

/** Where the body of the archive entry named `name` starts in `bytes` (its header's name field leads the block). */
function bodyOffset(bytes: Buffer, name: string): number {
  const at = bytes.indexOf(Buffer.from(`${name}\0`));
  expect(at % 512).toBe(0);
  return at + 512;
}

/** Where the body of the largest entry of the tar `bytes` starts. */
function largestEntryBody(bytes: Buffer): number {
  let best = { size: -1, body: 0 };
  for (let at = 0; at + 512 <= bytes.length && bytes[at] !== 0; ) {
    const size = parseInt(bytes.subarray(at + 124, at + 136).toString("latin1").replace(/\0.*$/, "").trim() || "0", 8);
    if (size > best.size) best = { size, body: at + 512 };
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return best.body;
}

describe("load from a pipe", () => {
  it("cat archive | tbuild load reads the pipe into one buffer and gives the store load -i gives", () => {
    const root = tempDir("pipe-cat");
    const r = shell(root, `cat "$1" | eval "$TBUILD load --debug"`, [archive]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("load: the archive was a pipe read into one buffer");
    expect(r.stdout).toBe(viaFile.stdout);
    expect(snapshotStore(root)).toBe(viaFile.snapshot);
    verifyLayout(root);
  });

  it("a writer that pauses and writes odd-sized pieces (1 byte, 511, 513, 64 KiB + 1…) gives the same store", () => {
    const root = tempDir("pipe-odd");
    const r = shell(root, `"${process.execPath}" -e "$2" "$1" | eval "$TBUILD load"`, [archive, WRITER]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(viaFile.stdout);
    expect(snapshotStore(root)).toBe(viaFile.snapshot);
  });

  it("a gzipped archive through a pipe gives the same store", () => {
    const root = tempDir("pipe-gz");
    const r = shell(root, `gzip -c "$1" | eval "$TBUILD load"`, [archive]);
    expect(r.code, r.stderr).toBe(0);
    expect(snapshotStore(root)).toBe(viaFile.snapshot);
  });

  it("a pipe that breaks off mid-layer is refused as truncated, naming the layer, and the store is left as it was", () => {
    const bytes = readFileSync(archive);
    for (const [layer, into] of [[layers.big, 9 << 20], [layers.mid, (1 << 20) + 3]] as const) {
      const store = storeWithAnImage();
      const cut = bodyOffset(bytes, `blobs/sha256/${layer}`) + into;
      const r = shell(store.root, `"${process.execPath}" -e "$2" "$1" "$3" | eval "$TBUILD load"`, [archive, WRITER, String(cut)]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`E_ARCHIVE_INVALID: cannot read the archive at blobs/sha256/${layer}: it is truncated`);
      expectUnchanged(store);
    }
  });

  it("a corrupted gzip layer is refused at once (the pipe's reader does not wait on a decompressor that gave up), and nothing is stored", () => {
    const dir = tempDir("pipe-gz");
    const src = tempDir("pipe-gz-src");
    const rootfs = join(dir, "gz.tar");
    writeFileSync(rootfs, buildTar([{ name: "data.bin", content: randomBytes(12 << 20) }]));
    tbOk(src, ["import", rootfs, "gz:1"]);
    const file = join(dir, "gz-oci.tar");
    tbOk(src, ["save", "--format", "oci", "--compress", "-o", file, "gz:1"]);
    const bytes = readFileSync(file);
    const at = largestEntryBody(bytes) + 100; // the gzip layer's
    expect(bytes.subarray(at - 100, at - 98)).toEqual(Buffer.from([0x1f, 0x8b]));
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(file, bytes);
    const store = storeWithAnImage();
    const t0 = Date.now();
    const r = spawnSync("sh", ["-c", `cat "$1" | eval "$TBUILD load"`, "sh", file], { env: { ...process.env, TBUILD_ROOT: store.root, TBUILD: `"${process.execPath}" "${CLI}"` }, timeout: 30_000 });
    // Before the fix the relay's producer and reader waited on each other with nothing else
    // pending: the process ran out of work and exited 0, having loaded nothing.
    expect(r.signal, "the load hung").toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr.toString()).toMatch(/E_ARCHIVE_INVALID/);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expectUnchanged(store);
  }, 60_000);

  it("a corrupted layer is refused by its digest and nothing is stored", () => {
    const bytes = readFileSync(archive);
    for (const [layer, at] of [[layers.big, 10 << 20], [layers.mid, 2 << 20], [layers.small, 100]] as const) {
      const bad = Buffer.from(bytes);
      const i = bodyOffset(bad, `blobs/sha256/${layer}`) + at;
      bad[i] = bad[i]! ^ 0xff;
      const file = join(tempDir("pipe-bad"), "bad.tar");
      writeFileSync(file, bad);
      const store = storeWithAnImage();
      const r = shell(store.root, `cat "$1" | eval "$TBUILD load"`, [file]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`blobs/sha256/${layer}.*digest mismatch`));
      expectUnchanged(store);
    }
  });
});
