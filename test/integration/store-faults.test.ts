// Crash and race safety of the store, through the compiled CLI: SIGKILL of `tbuild load` at
// random moments never breaks the store or loses an earlier image; a load stopped mid-blob
// leaves no blob (nor, after SIGTERM, a temp file); concurrent tag and load processes lose
// nothing; a lock left by a killed process is broken.
import { randomBytes } from "node:crypto";
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import tar from "tar-stream";
import { buildBusyboxRootfsTar } from "../helpers/fixtures.js";
import { findImage, readLayout, verifyLayout } from "../helpers/oci-reader.js";
import { tempDirs } from "../helpers/temp-dirs.js";
import { tb, tbOk, tbSpawn } from "./store-helpers.js";

const tempDir = tempDirs();

const BB = "docker.io/library/busybox:test";
let rootfs: string;
let bigArchive: string;
let bigId: string;

/** A rootfs tar with one file of `size` random bytes. */
async function randomRootfs(file: string, size: number): Promise<void> {
  const pack = tar.pack();
  const out: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) out.push(c as Buffer);
  })();
  await new Promise<void>((res, rej) => pack.entry({ name: "data.bin", size, mode: 0o644, mtime: new Date(0) }, randomBytes(size), (e) => (e ? rej(e) : res())));
  pack.finalize();
  await done;
  writeFileSync(file, Buffer.concat(out));
}

const wait = (p: ReturnType<typeof tbSpawn>) => new Promise<number | null>((r) => p.on("exit", (code) => r(code)));

beforeAll(async () => {
  rootfs = await buildBusyboxRootfsTar();
  const dir = tempDir("big");
  const src = join(dir, "big-rootfs.tar");
  await randomRootfs(src, 96 << 20);
  const root = tempDir("big-store");
  bigId = tbOk(root, ["import", src, "big:1"]).trim();
  bigArchive = join(dir, "big.tar");
  tbOk(root, ["save", "-o", bigArchive, "big:1"]);
});

describe("kill -9 during load", () => {
  it("never leaves a store that fails `images` or loses an earlier image (24 random kills)", async () => {
    const root = tempDir("kill");
    const earlier = tbOk(root, ["import", rootfs, "busybox:test"]).trim();
    // How long a full load takes here, to spread the kills over it.
    const t0 = Date.now();
    const first = tbSpawn(root, ["load", "-i", bigArchive]);
    expect(await wait(first)).toBe(0);
    const full = Date.now() - t0;
    tbOk(root, ["rmi", "big:1"]);
    let completed = 0;
    for (let i = 0; i < 24; i++) {
      const p = tbSpawn(root, ["load", "-i", bigArchive]);
      const delay = Math.floor(Math.random() * full * 1.1);
      const timer = setTimeout(() => p.kill("SIGKILL"), delay);
      const code = await wait(p);
      clearTimeout(timer);
      if (code === 0) completed++;
      const images = tb(root, ["images", "--format", "json"]);
      expect(images.code, `run ${i} (kill at ${delay} ms): ${images.stderr}`).toBe(0);
      expect(findImage(root, BB)?.configDigest, `run ${i}`).toBe(earlier);
      verifyLayout(root);
      const big = findImage(root, "docker.io/library/big:1");
      if (big) {
        expect(big.configDigest).toBe(bigId);
        tbOk(root, ["rmi", "big:1"]);
      }
    }
    // Whatever the kills left behind, the next load and a prune clean up.
    tbOk(root, ["load", "-i", bigArchive]);
    tbOk(root, ["prune"]);
    expect(readdirSync(join(root, "tbuild", "tmp"))).toEqual([]);
    expect(findImage(root, "docker.io/library/big:1")!.configDigest).toBe(bigId);
    verifyLayout(root);
    expect(completed).toBeLessThan(24);
  }, 60_000);
});

/** Every file under `dir`, recursively (relative paths). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name));
}

/** Start `load -i bigArchive` and resolve once a staged temp file has some (not all) of the layer. */
async function loadUntilMidBlob(root: string): Promise<ReturnType<typeof tbSpawn>> {
  const p = tbSpawn(root, ["load", "-i", bigArchive]);
  const tmp = join(root, "tbuild", "tmp");
  for (let i = 0; i < 4000; i++) {
    const staged = filesUnder(tmp).map((f) => statSync(f, { throwIfNoEntry: false })?.size ?? 0);
    if (staged.some((n) => n > 0 && n < 64 << 20)) return p;
    await new Promise((r) => setTimeout(r, 2));
  }
  p.kill("SIGKILL");
  throw new Error("load never staged part of the layer");
}

describe("a load interrupted mid-blob", () => {
  it("by SIGTERM exits 130 and leaves no blob and no temporary file", async () => {
    const root = tempDir("term");
    tbOk(root, ["import", rootfs, "busybox:test"]);
    const before = readdirSync(join(root, "blobs", "sha256")).sort();
    const p = await loadUntilMidBlob(root);
    p.kill("SIGTERM");
    expect(await wait(p)).toBe(130);
    expect(readdirSync(join(root, "blobs", "sha256")).sort()).toEqual(before);
    expect(readdirSync(join(root, "tbuild", "tmp"))).toEqual([]);
    verifyLayout(root);
  }, 30_000);

  it("by SIGKILL leaves no blob; the next prune removes its temporary file", async () => {
    const root = tempDir("kill-mid");
    tbOk(root, ["import", rootfs, "busybox:test"]);
    const before = readdirSync(join(root, "blobs", "sha256")).sort();
    const p = await loadUntilMidBlob(root);
    p.kill("SIGKILL");
    await wait(p);
    expect(readdirSync(join(root, "blobs", "sha256")).sort()).toEqual(before);
    expect(filesUnder(join(root, "tbuild", "tmp")).length).toBeGreaterThan(0);
    tbOk(root, ["prune"]);
    expect(readdirSync(join(root, "tbuild", "tmp"))).toEqual([]);
    expect(readdirSync(join(root, "blobs", "sha256")).sort()).toEqual(before);
    verifyLayout(root);
  }, 30_000);
});

describe("concurrent processes", () => {
  it("racing tag and load processes lose nothing", async () => {
    const root = tempDir("race");
    tbOk(root, ["import", rootfs, "busybox:test"]);
    const procs = [];
    for (let i = 0; i < 12; i++) procs.push(tbSpawn(root, ["tag", "busybox:test", `race/t${i}:v${i}`]));
    procs.push(tbSpawn(root, ["load", "-i", bigArchive]));
    procs.push(tbSpawn(root, ["import", rootfs, "other:1", "--change", "CMD x"]));
    const codes = await Promise.all(procs.map(wait));
    expect(codes.every((c) => c === 0)).toBe(true);
    const refs = readLayout(root).map((i) => i.ref);
    for (let i = 0; i < 12; i++) expect(refs).toContain(`docker.io/race/t${i}:v${i}`);
    expect(refs).toContain("docker.io/library/big:1");
    expect(refs).toContain("docker.io/library/other:1");
    expect(refs).toContain(BB);
    verifyLayout(root);
  }, 60_000);

  it("breaks a lock left by a killed process", () => {
    const root = tempDir("stale");
    tbOk(root, ["import", rootfs, "busybox:test"]);
    // A pid that cannot be alive (beyond pid_max) on this host.
    writeFileSync(join(root, "tbuild", "lock"), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), nonce: "dead", at: "then" }));
    const t0 = Date.now();
    tbOk(root, ["tag", "busybox:test", "after:lock"]);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(readLayout(root).map((i) => i.ref)).toContain("docker.io/library/after:lock");
  });
});
