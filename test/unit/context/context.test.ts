// The build context on real temporary directories: ignore-file choice, selection rules,
// content hashing (times never count, bytes and modes do) and the file-hash cache.
import * as fs from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { diffRecords, FileHashCache, hashFiles, hashTree, openContext, RACY_WINDOW_NS, type FileStamp } from "../../../src/context/index.js";

const tmp = mkdtempSync(join(tmpdir(), "tbuild-ctx-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function tree(files: Record<string, string>): string {
  const root = join(tmp, `c${n++}`);
  for (const [p, text] of Object.entries(files)) {
    fs.mkdirSync(join(root, p, ".."), { recursive: true });
    fs.writeFileSync(join(root, p), text);
  }
  return root;
}
const paths = (ctx: { entries: readonly { path: string }[] }) => ctx.entries.map((e) => e.path);

describe("ignore file choice", () => {
  it("<Dockerfile>.dockerignore replaces .dockerignore (no merging)", async () => {
    const root = tree({ "Dockerfile": "FROM scratch\n", "app.Dockerfile": "FROM scratch\n", ".dockerignore": "a\n", "app.Dockerfile.dockerignore": "b\n", a: "A", b: "B" });
    const plain = await openContext(root);
    expect(paths(plain)).toContain("b");
    expect(paths(plain)).not.toContain("a");
    const app = await openContext(root, { dockerfile: "app.Dockerfile" });
    expect(app.ignoreFile).toBe(join(root, "app.Dockerfile.dockerignore"));
    expect(paths(app)).toContain("a");
    expect(paths(app)).not.toContain("b");
  });

  it("an ignored Dockerfile is still readable and absent from COPY . .", async () => {
    const root = tree({ Dockerfile: "FROM scratch\nCOPY . .\n", ".dockerignore": "Dockerfile\n.dockerignore\n", keep: "k" });
    const ctx = await openContext(root);
    expect(await ctx.readDockerfile()).toBe("FROM scratch\nCOPY . .\n");
    expect((await ctx.readFile(".dockerignore")).toString()).toContain("Dockerfile");
    const sel = ctx.select(["."]);
    expect(sel.roots[0]!.entries.map((e) => e.path)).toEqual(["keep"]);
    expect(ctx.isIgnored("Dockerfile")).toBe(true);
    await expect(ctx.readFile("nope")).rejects.toMatchObject({ code: "E_CONTEXT_NOT_FOUND" });
  });

  it("is anchored at the root, unlike .gitignore", async () => {
    const root = tree({ ".dockerignore": "foo\n**/*.log\n!keep.log\n", foo: "x", "a/foo": "y", "a/b.log": "l", "keep.log": "k" });
    const ctx = await openContext(root);
    expect(paths(ctx)).toEqual([".dockerignore", "a", "a/foo", "keep.log"]);
  });
});

describe("select", () => {
  const root = tree({ "a.js": "1", "b.js": "2", "c.ts": "3", "src/x/y.ts": "4", "src/z.ts": "5", "ab": "6", "ac": "7", "dir/f": "8" });
  const ctxP = openContext(root);

  it("globs, directories, multiple sources", async () => {
    const ctx = await ctxP;
    const names = (s: string[]) => ctx.select(s).roots.map((r) => `${r.path}>${r.destName}`);
    expect(names(["*.js"])).toEqual(["a.js>a.js", "b.js>b.js"]);
    expect(names(["src/**/*.ts"])).toEqual(["src/x/y.ts>y.ts", "src/z.ts>z.ts"]);
    expect(names(["[a-c]?"])).toEqual(["ab>ab", "ac>ac"]);
    expect(names(["dir", "c.ts"])).toEqual(["dir>", "c.ts>c.ts"]);
    expect(ctx.select(["dir/"]).roots[0]!.entries.map((e) => e.path)).toEqual(["dir", "dir/f"]);
    expect(names(["./src/../a.js"])).toEqual(["a.js>a.js"]);
  });

  it("refuses .. out of the context (E_CONTEXT_ESCAPE)", async () => {
    const ctx = await ctxP;
    expect(() => ctx.select(["../etc/passwd"])).toThrow(expect.objectContaining({ code: "E_CONTEXT_ESCAPE" }));
    expect(() => ctx.select(["src/../../x"])).toThrow(expect.objectContaining({ code: "E_CONTEXT_ESCAPE" }));
  });

  it("fails on no match (E_COPY_NO_SOURCE)", async () => {
    const ctx = await ctxP;
    expect(() => ctx.select(["*.py"])).toThrow(expect.objectContaining({ code: "E_COPY_NO_SOURCE" }));
    expect(() => ctx.select(["missing.txt"])).toThrow(expect.objectContaining({ code: "E_COPY_NO_SOURCE" }));
  });

  it("never follows a symlink out of the context", async () => {
    const outside = tree({ "secret.txt": "secret" });
    const r = tree({ "in.txt": "inside" });
    fs.symlinkSync(join(outside, "secret.txt"), join(r, "abs-link"));
    fs.symlinkSync("../" + outside.split("/").pop() + "/secret.txt", join(r, "rel-link"));
    fs.symlinkSync("in.txt", join(r, "good-link"));
    fs.symlinkSync(outside, join(r, "dir-link"));
    const ctx = await openContext(r);
    // Inside a copied directory a symlink stays a symlink (its target string is hashed, not followed).
    const all = ctx.select(["."]).roots[0]!.entries;
    expect(all.find((e) => e.path === "abs-link")).toMatchObject({ type: "symlink", linkTarget: join(outside, "secret.txt") });
    const h = await ctx.hashAll();
    expect(h.stats.bytesRead).toBe("inside".length);
    // Named directly, a link resolves only inside the context (absolute targets and .. are scoped to its root).
    expect(ctx.select(["good-link"]).roots[0]).toMatchObject({ path: "in.txt", destName: "good-link" });
    expect(() => ctx.select(["abs-link"])).toThrow(expect.objectContaining({ code: "E_COPY_NO_SOURCE" }));
    expect(() => ctx.select(["rel-link"])).toThrow(expect.objectContaining({ code: "E_COPY_NO_SOURCE" }));
    expect(() => ctx.select(["dir-link/secret.txt"])).toThrow(expect.objectContaining({ code: "E_COPY_NO_SOURCE" }));
    await expect(ctx.readFile("abs-link")).rejects.toMatchObject({ code: "E_CONTEXT_NOT_FOUND" });
    expect(ctx.select(["abs-link"], { followSymlinks: false }).roots[0]).toMatchObject({ type: "symlink" });
  });
});

describe("content hash", () => {
  const hashOf = async (root: string, sources = ["."]) => {
    const ctx = await openContext(root);
    return ctx.hashSelection(ctx.select(sources));
  };

  it("touch keeps the digest; one byte or one mode bit changes it", async () => {
    const root = tree({ "src/index.ts": "export const a = 1;\n", "README": "hi" });
    const h0 = await hashOf(root);
    const future = new Date(Date.now() + 3600_000);
    fs.utimesSync(join(root, "src/index.ts"), future, future);
    expect((await hashOf(root)).digest).toBe(h0.digest);

    fs.writeFileSync(join(root, "src/index.ts"), "export const a = 2;\n");
    const h1 = await hashOf(root);
    expect(h1.digest).not.toBe(h0.digest);
    expect(diffRecords(h0.files.map((f) => ({ ...f.record, path: f.path })), h1.files.map((f) => ({ ...f.record, path: f.path }))).changed).toEqual([{ path: "src/index.ts", what: ["content"] }]);

    fs.chmodSync(join(root, "README"), 0o644 | 0o4000);
    const h2 = await hashOf(root);
    expect(h2.digest).not.toBe(h1.digest);
    fs.chmodSync(join(root, "README"), 0o644);
    expect((await hashOf(root)).digest).toBe(h1.digest);
    fs.chmodSync(join(root, "README"), 0o645);
    expect((await hashOf(root)).digest).not.toBe(h1.digest);
  });

  it("hashes only the selected paths; same content elsewhere gives the same digest", async () => {
    const a = tree({ "app/x.txt": "x", "app/y/z.txt": "z", "other.bin": "1" });
    const b = tree({ "lib/x.txt": "x", "lib/y/z.txt": "z", "other.bin": "completely different" });
    const ha = await hashOf(a, ["app"]);
    const hb = await hashOf(b, ["lib/"]);
    expect(ha.digest).toBe(hb.digest);
    expect(ha.stats.bytesRead).toBe(2);
    expect(ha.files.map((f) => f.path)).toEqual(["app", "app/x.txt", "app/y", "app/y/z.txt"]);
    // a renamed file inside the tree changes it
    fs.renameSync(join(b, "lib/x.txt"), join(b, "lib/w.txt"));
    expect((await hashOf(b, ["lib"])).digest).not.toBe(ha.digest);
  });

  it("a symlink's target string counts, not what it points to", async () => {
    const r = tree({ t1: "one", t2: "two" });
    fs.symlinkSync("t1", join(r, "l"));
    const h1 = await hashOf(r, ["."]);
    fs.unlinkSync(join(r, "l"));
    fs.symlinkSync("t2", join(r, "l"));
    expect((await hashOf(r, ["."])).digest).not.toBe(h1.digest);
  });
});

describe("file-hash cache", () => {
  it("does not re-read unchanged files across runs, and re-reads a changed one", async () => {
    const root = tree({ "a.txt": "aaaa", "b.txt": "bbbb", "c/d.txt": "dddd" });
    const old = new Date(Date.now() - 60_000);
    for (const p of ["a.txt", "b.txt", "c/d.txt"]) fs.utimesSync(join(root, p), old, old);
    const cacheDir = join(tmp, `cache${n++}`);
    // ctime is always "now" after utimes; let the racy window pass by hashing with a clock 3 s ahead.
    const later = () => BigInt(Date.now() + 3000) * 1_000_000n;
    const run = async () => {
      const ctx = await openContext(root, { cacheDir });
      const { digests, stats } = await hashFiles(root, ctx.entries, { cache: ctx.cache, now: later });
      await ctx.close();
      return { digests, stats };
    };
    const first = await run();
    expect(first.stats).toMatchObject({ filesRead: 3, cacheHits: 0 });
    const second = await run();
    expect(second.stats).toMatchObject({ filesRead: 0, cacheHits: 3 });
    expect([...second.digests]).toEqual([...first.digests]);
    // Same size, same mtime (as on a 1 s-granularity file system): the ctime still moves, so it is re-read.
    fs.writeFileSync(join(root, "a.txt"), "AAAA");
    fs.utimesSync(join(root, "a.txt"), old, old);
    const third = await run();
    expect(third.stats).toMatchObject({ filesRead: 1, cacheHits: 2 });
    expect(third.digests.get("a.txt")).not.toBe(first.digests.get("a.txt"));
  });

  it("memoises tree digests across runs and never answers for a changed tree", async () => {
    const root = tree({ "a.txt": "aaaa", "b.txt": "bbbb", "c/d.txt": "dddd" });
    fs.symlinkSync("a.txt", join(root, "link"));
    const cacheDir = join(tmp, `cache${n++}`);
    const run = async () => {
      const ctx = await openContext(root, { cacheDir });
      const all = await ctx.hashAll();
      const c = await ctx.hashSelection(ctx.select(["c"]));
      for (const h of [all, c]) expect(h.roots[0]!.digest).toBe(hashTree(h.files.map((f) => f.record)).digest);
      const treeHits = ctx.cache.stats.treeHits;
      await ctx.close();
      return { all: all.digest, c: c.digest, treeHits };
    };
    const first = await run();
    expect(first.treeHits).toBe(0);
    const second = await run();
    expect(second).toEqual({ ...first, treeHits: 2 });
    // Each change gives a new digest for the whole context; c/ is unchanged and memoised.
    const changes: [string, () => void][] = [
      ["content of the same size", () => fs.writeFileSync(join(root, "a.txt"), "AAAA")],
      ["mode", () => fs.chmodSync(join(root, "b.txt"), 0o600)],
      ["name", () => fs.renameSync(join(root, "b.txt"), join(root, "b2.txt"))],
      ["link target", () => (fs.rmSync(join(root, "link")), fs.symlinkSync("b2.txt", join(root, "link")))],
      ["empty folder", () => fs.mkdirSync(join(root, "e"))],
    ];
    const seen = new Set([first.all]);
    for (const [what, change] of changes) {
      change();
      const r = await run();
      expect(seen.has(r.all), what).toBe(false);
      seen.add(r.all);
      expect(r, what).toMatchObject({ c: first.c, treeHits: 1 });
    }
  });

  it("memoises a folder's tree digest wherever the folder's rows start", async () => {
    const root = tree({ "m/a.txt": "a", "m/n/b.txt": "b", "z.txt": "z" });
    fs.symlinkSync("a.txt", join(root, "m/link"));
    const cacheDir = join(tmp, `cache${n++}`);
    const run = async () => {
      const ctx = await openContext(root, { cacheDir });
      const h = await ctx.hashSelection(ctx.select(["m"]));
      const treeHits = ctx.cache.stats.treeHits;
      await ctx.close();
      return { digest: h.digest, treeHits };
    };
    const first = await run();
    expect(first.treeHits).toBe(0);
    // Files and a symlink before m/ in walk order move its rows, not its tree.
    fs.writeFileSync(join(root, "0.txt"), "0");
    fs.symlinkSync("0.txt", join(root, "1-link"));
    expect(await run()).toEqual({ ...first, treeHits: 1 });
  });

  it("re-reads a file modified in the same second as it was hashed (racy stamp)", async () => {
    const root = tree({ "f.txt": "12345" });
    const cacheDir = join(tmp, `cache${n++}`);
    const ctx1 = await openContext(root, { cacheDir });
    // hashed right after being written: its stamp is within the racy window, so it is not cached
    const r1 = await hashFiles(root, ctx1.entries, { cache: ctx1.cache });
    expect(ctx1.cache.stats.racy).toBe(1);
    await ctx1.close();
    fs.writeFileSync(join(root, "f.txt"), "54321");
    const ctx2 = await openContext(root, { cacheDir });
    const r2 = await hashFiles(root, ctx2.entries, { cache: ctx2.cache });
    expect(r2.stats.filesRead).toBe(1);
    expect(r2.digests.get("f.txt")).not.toBe(r1.digests.get("f.txt"));
  });

  it("never trusts a stamp within the racy window, even if every field is equal", () => {
    const c = FileHashCache.memory();
    const t = 1_700_000_000_000_000_000n;
    const stamp: FileStamp = { dev: 1n, ino: 2n, size: 3n, mtimeNs: t, ctimeNs: t };
    c.set(stamp, "sha256:" + "a".repeat(64) as `sha256:${string}`, t + RACY_WINDOW_NS - 1n);
    expect(c.get(stamp)).toBeUndefined();
    c.set(stamp, "sha256:" + "b".repeat(64) as `sha256:${string}`, t + RACY_WINDOW_NS + 1n);
    expect(c.get(stamp)).toBe("sha256:" + "b".repeat(64));
    expect(c.get({ ...stamp, ctimeNs: t + 1n })).toBeUndefined();
  });

  it("saves atomically and ignores a corrupt cache file", async () => {
    const cacheDir = join(tmp, `cache${n++}`);
    const c = await FileHashCache.open(cacheDir);
    const stamp: FileStamp = { dev: 9n, ino: 8n, size: 7n, mtimeNs: 6n, ctimeNs: 5n };
    c.set(stamp, `sha256:${"c".repeat(64)}`, 10n ** 18n);
    await c.save();
    expect(fs.readdirSync(cacheDir)).toEqual(["file-hashes.v2.bin"]);
    expect((await FileHashCache.open(cacheDir)).get(stamp)).toBe(`sha256:${"c".repeat(64)}`);
    fs.writeFileSync(join(cacheDir, "file-hashes.v2.bin"), "garbage");
    expect((await FileHashCache.open(cacheDir)).size).toBe(0);
  });

  it("streams large files with flat memory and the same digest as a one-shot hash", async () => {
    const root = tree({});
    fs.mkdirSync(root, { recursive: true });
    const big = Buffer.alloc(5 * 1024 * 1024 + 17, 7);
    fs.writeFileSync(join(root, "big.bin"), big);
    const ctx = await openContext(root);
    const { digests } = await hashFiles(root, ctx.entries);
    const { createHash } = await import("node:crypto");
    expect(digests.get("big.bin")).toBe(`sha256:${createHash("sha256").update(big).digest("hex")}`);
  });
});
