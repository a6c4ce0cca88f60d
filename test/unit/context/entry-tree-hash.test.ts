// hashEntryTable (bytes, the no-change rebuild's path) gives exactly the digest hashTree
// (records, the specification) gives, for synthetic entries of every type and awkward
// names, and for real directories through BuildContext.hashSelection; anything not in
// walk order is refused (undefined), so the caller falls back to hashTree.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EntryTable } from "../../../src/context/entry-table.js";
import { entryTableKey, hashEntryTable, TREE_HASH_IMPL, type EntryDigests } from "../../../src/context/entry-tree-hash.js";
import { compareNames, FileHashCache, hashTree, openContext, type ContextEntry, type FileRecord } from "../../../src/context/index.js";
import type { Digest } from "../../../src/util/index.js";

const tmp = fs.mkdtempSync(join(tmpdir(), "tbuild-eth-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const NAMES = ["a", "b", "B", "a b", 'q"', "back\\slash", "tab\there", "é", "😀", "\uffff", "z.ts", "0", "a-b", "a.b", "\u007f"];
const TARGETS = ["../x", 'q"uote', "é/😀", "\u0001ctl", "/abs/path"];

/** The record hashSelection makes for an entry (toRecord; only files carry a content digest): the oracle the bytes must match. */
function record(e: ContextEntry, path: string, digest: Digest | undefined): FileRecord {
  const r: { -readonly [K in keyof FileRecord]: FileRecord[K] } = { path, type: e.type, mode: e.mode, uid: 0, gid: 0, size: e.type === "file" ? e.size : 0 };
  if (e.type !== "dir") {
    if (e.linkTarget !== undefined) r.linkTarget = e.linkTarget;
    if (e.devMajor !== undefined) r.devMajor = e.devMajor;
    if (e.devMinor !== undefined) r.devMinor = e.devMinor;
    if (e.type === "file" && digest !== undefined) r.contentDigest = digest;
  }
  return r;
}

function spec(entries: readonly ContextEntry[], rootPath: string, d: EntryDigests): string {
  const cut = rootPath === "" ? 0 : rootPath.length + 1;
  const hex = (i: number) => (d.has[i] ? (`sha256:${Buffer.from(d.bytes.subarray(32 * i, 32 * i + 32)).toString("hex")}` as Digest) : undefined);
  return hashTree(entries.map((e, i) => record(e, e.path === rootPath ? "" : e.path.slice(cut), hex(i)))).digest;
}

/** st_mode's type bits of each entry type. */
const TYPE_BITS: Record<ContextEntry["type"], number> = { file: 0o100000, dir: 0o040000, symlink: 0o120000, fifo: 0o010000, socket: 0o140000, "char-device": 0o020000, "block-device": 0o060000 };

/** The EntryTable a walk would write for `entries` (in walk order). */
function tableOf(entries: readonly ContextEntry[]): EntryTable {
  const t = new EntryTable();
  const rows = new Map<string, number>();
  for (const e of entries) {
    const cut = e.path.lastIndexOf("/");
    const parent = cut < 0 ? -1 : rows.get(e.path.slice(0, cut))!;
    t.stamps.addRow();
    const extras = e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : e.devMajor !== undefined ? { devMajor: e.devMajor, devMinor: e.devMinor! } : undefined;
    rows.set(e.path, t.add(e.path.slice(cut + 1), parent, TYPE_BITS[e.type] | e.mode, e.size, extras));
  }
  return t;
}

describe("hashEntryTable on synthetic entries", () => {
  let seed = 11;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);

  /** A random tree in walk order (each directory before its contents, names by code point). */
  function tree(depth: number, prefix: string, out: ContextEntry[]): void {
    const picked = [...new Set(Array.from({ length: 1 + rnd(6) }, () => NAMES[rnd(NAMES.length)]!))].sort(compareNames);
    for (const n of picked) {
      const path = prefix ? `${prefix}/${n}` : n;
      const kind = rnd(12);
      if (depth > 0 && kind < 4) {
        out.push({ path, type: "dir", mode: [0o755, 0o1777, 0o700][rnd(3)]!, size: 0 });
        tree(depth - 1, path, out);
      } else if (kind === 4) out.push({ path, type: "symlink", mode: 0o777, size: 0, linkTarget: TARGETS[rnd(TARGETS.length)]! });
      else if (kind === 5) out.push({ path, type: rnd(2) ? "char-device" : "block-device", mode: 0o660, size: 0, devMajor: rnd(5000), devMinor: rnd(2 ** 20) });
      else if (kind === 6) out.push({ path, type: rnd(2) ? "fifo" : "socket", mode: 0o644, size: 0 });
      else out.push({ path, type: "file", mode: [0o644, 0o4755, 0o2644, 0o600][rnd(4)]!, size: rnd(3) === 0 ? rnd(2 ** 40) : rnd(5000) });
    }
  }

  function digestsFor(entries: readonly ContextEntry[], withMissing: boolean): EntryDigests {
    const d: EntryDigests = { bytes: new Uint8Array(32 * entries.length), has: new Uint8Array(entries.length) };
    entries.forEach((e, i) => {
      if (e.type !== "file" || (withMissing && rnd(7) === 0)) return;
      for (let k = 0; k < 32; k++) d.bytes[32 * i + k] = rnd(256);
      d.has[i] = 1;
    });
    return d;
  }

  for (let c = 0; c < 60; c++) {
    it(`random tree ${c}`, () => {
      const all: ContextEntry[] = [];
      tree(3, "", all);
      const d = digestsFor(all, c % 3 === 0);
      const table = tableOf(all);
      expect(table.entries().map((e) => ({ ...e }))).toEqual(all);
      const got = hashEntryTable(table, -1, all.length, d);
      expect(got).toBeDefined();
      expect(got).toBe(spec(all, "", d));
      const every = Array.from(all, (_, i) => i);
      expect(hashEntryTable(table, -1, every, d)).toBe(got);
      // Every directory as a selection root (its entry first, then everything below it).
      for (let i = 0; i < all.length; i++) {
        const root = all[i]!;
        let j = i + 1;
        while (j < all.length && all[j]!.path.startsWith(`${root.path}/`)) j++;
        if (root.type !== "dir" && j > i + 1) continue;
        const sub = all.slice(i, j);
        const sd: EntryDigests = { bytes: d.bytes.subarray(32 * i, 32 * j), has: d.has.subarray(i, j) };
        // The context root with this entry and everything below it left out (a mid-range --exclude): rows listed.
        const kept = every.filter((k) => k < i || k >= j);
        if (kept.length > 0) {
          const kd: EntryDigests = { bytes: new Uint8Array(32 * kept.length), has: Uint8Array.from(kept, (k) => d.has[k]!) };
          kept.forEach((k, at) => kd.bytes.set(d.bytes.subarray(32 * k, 32 * k + 32), 32 * at));
          expect(hashEntryTable(table, -1, kept, kd), `without ${root.path}`).toBe(spec(kept.map((k) => all[k]!), "", kd));
        }
        if (root.type !== "dir") expect(hashEntryTable(table, i, j, sd)).toBeUndefined(); // hashTree's to answer
        else {
          expect(hashEntryTable(table, i, every.slice(i, j), sd), root.path).toBe(spec(sub, root.path, sd));
          expect(hashEntryTable(table, i, j, sd), root.path).toBe(spec(sub, root.path, sd));
          // One row past the folder's subtree has a parent outside it: refused.
          if (j < all.length) expect(hashEntryTable(table, i, j + 1, digestsFor(all.slice(i, j + 1), false))).toBeUndefined();
        }
      }
    });
  }

  it("the memo key of a table changes with everything its tree digest is made of", () => {
    const all: ContextEntry[] = [
      { path: "a", type: "dir", mode: 0o755, size: 0 },
      { path: "a/f", type: "file", mode: 0o644, size: 5 },
      { path: "a/g", type: "file", mode: 0o644, size: 6 },
      { path: "b", type: "file", mode: 0o644, size: 7 },
      { path: "c", type: "char-device", mode: 0o660, size: 0, devMajor: 1, devMinor: 3 },
      { path: "l", type: "symlink", mode: 0o777, size: 0, linkTarget: "b" },
      { path: "z", type: "dir", mode: 0o755, size: 0 },
    ];
    const d = digestsFor(all, false);
    const hex = (entries: readonly ContextEntry[], digests: EntryDigests, end = entries.length) => entryTableKey(tableOf(entries), -1, end, digests).toString("hex");
    const base = hex(all, d);
    const b = (change: Partial<ContextEntry>) => all.map((e) => (e.path === "b" ? { ...e, ...change } : e));
    const variants: [string, ContextEntry[], EntryDigests][] = [
      ["a name", b({ path: "bb" }), d],
      ["a mode", b({ mode: 0o645 }), d],
      ["a size", b({ size: 8 }), d],
      ["a type", b({ type: "fifo" }), d],
      ["a link target", all.map((e) => (e.path === "l" ? { ...e, linkTarget: "a" } : e)), d],
      ["device numbers", all.map((e) => (e.path === "c" ? { ...e, devMinor: 4 } : e)), d],
      ["a file in another folder", [...all.filter((e) => e.path !== "a/g"), { path: "z/g", type: "file", mode: 0o644, size: 6 }], d],
      ["a digest byte", all, { bytes: d.bytes.map((v, i) => (i === 32 * 3 + 31 ? v ^ 1 : v)), has: d.has }],
      ["a digest missing", all, { bytes: d.bytes, has: d.has.map((h, i) => (i === 3 ? 0 : h)) }],
    ];
    for (const [what, entries, digests] of variants) expect(hex(entries, digests), what).not.toBe(base);
    expect(hex(all, d, all.length - 1)).not.toBe(base);
    // The same inputs, built again: the same key.
    expect(hex(all.map((e) => ({ ...e })), { bytes: d.bytes.slice(), has: d.has.slice() })).toBe(base);
  });

  it("lists the link targets and device numbers of a range of rows, in row order", () => {
    const t = new EntryTable();
    const add = (name: string, extras?: { linkTarget: string }) => (t.stamps.addRow(), t.add(name, -1, extras ? 0o120777 : 0o100644, 0, extras));
    for (let i = 0; i < 10; i++) add(`r${i}`, i % 3 === 0 ? { linkTarget: `t${i}` } : undefined);
    expect(t.extrasIn(0, 10).map(([i]) => i)).toEqual([0, 3, 6, 9]);
    expect(t.extrasIn(1, 9)).toEqual([[3, { linkTarget: "t3" }], [6, { linkTarget: "t6" }]]);
    expect(t.extrasIn(3, 4).map(([i]) => i)).toEqual([3]);
    expect(t.extrasIn(4, 6)).toEqual([]);
    t.dropLast();
    add("again");
    expect(t.extrasIn(0, 10).map(([i]) => i)).toEqual([0, 3, 6]);
  });

  it("a memo key written by another implementation version is not this one's", () => {
    const all: ContextEntry[] = [
      { path: "a", type: "dir", mode: 0o755, size: 0 },
      { path: "a/f", type: "file", mode: 0o644, size: 5 },
    ];
    const t = tableOf(all);
    const d = digestsFor(all, false);
    const cache = FileHashCache.memory();
    cache.setTreeDigest(entryTableKey(t, -1, all.length, d, TREE_HASH_IMPL - 1), `sha256:${"0".repeat(64)}`);
    expect(cache.treeDigest(entryTableKey(t, -1, all.length, d))).toBeUndefined();
    expect(entryTableKey(t, -1, all.length, d, TREE_HASH_IMPL).equals(entryTableKey(t, -1, all.length, d))).toBe(true);
  });

  it("refuses rows out of walk order, duplicates, gaps, a root not listed first, and a file root", () => {
    const none: EntryDigests = { bytes: new Uint8Array(32 * 5), has: new Uint8Array(5) };
    const t = tableOf([
      { path: "a", type: "dir", mode: 0o755, size: 0 },
      { path: "a/x", type: "file", mode: 0o644, size: 1 },
      { path: "a/y", type: "file", mode: 0o644, size: 1 },
      { path: "b", type: "file", mode: 0o644, size: 1 },
      { path: "l", type: "symlink", mode: 0o777, size: 0, linkTarget: 'a"b' },
    ]);
    expect(hashEntryTable(t, -1, [0, 1, 2, 3, 4], none)).toBeDefined();
    expect(hashEntryTable(t, -1, [3, 0, 1], none)).toBeUndefined();
    expect(hashEntryTable(t, -1, [0, 1, 1], none)).toBeUndefined();
    expect(hashEntryTable(t, -1, [1, 3], none)).toBeUndefined(); // a/x without its folder
    expect(hashEntryTable(t, -1, [0, 1, 3, 2], none)).toBeUndefined(); // a/y after b
    expect(hashEntryTable(t, -1, [0, 5], none)).toBeUndefined(); // no such row
    expect(hashEntryTable(t, -1, [], none)).toBeUndefined();
    expect(hashEntryTable(t, 0, [1, 0, 2], none)).toBeUndefined(); // the root's row not first
    expect(hashEntryTable(t, 0, [0, 2], none)).toBe(hashEntryTable(tableOf([{ path: "a", type: "dir", mode: 0o755, size: 0 }, { path: "a/y", type: "file", mode: 0o644, size: 1 }]), 0, 2, none));
    // A lone file or symlink root is hashTree's record digest, not a folder's.
    expect(hashEntryTable(t, 3, 4, none)).toBeUndefined();
    expect(hashEntryTable(t, 4, [4], none)).toBeUndefined();
  });
});

describe("hashSelection on real directories agrees with hashTree over its records", () => {
  it("every root of several selections", async () => {
    const root = join(tmp, "real");
    const files: Record<string, string> = { "a.txt": "a", 'q"uote/é.ts': "e", "src/😀/x": "x", "src/lib/y.js": "y", "src/lib/z.js": "z", "tab\tname": "t", "empty/.keep": "" };
    for (const [p, text] of Object.entries(files)) {
      fs.mkdirSync(join(root, p, ".."), { recursive: true });
      fs.writeFileSync(join(root, p), text);
    }
    fs.mkdirSync(join(root, "void"));
    fs.chmodSync(join(root, "src/lib/y.js"), 0o4755);
    fs.chmodSync(join(root, "src"), 0o1777);
    fs.symlinkSync('../a "target"', join(root, "src/link"));
    execFileSync("mkfifo", [join(root, "src/pipe")]);
    const ctx = await openContext(root);
    const selections: [string[], { followSymlinks?: boolean; excludes?: string[] }][] = [
      [["."], {}],
      [["src"], {}],
      [["src/", "a.txt", "void"], {}],
      [["src/link"], { followSymlinks: false }],
      [["."], { excludes: ["src/lib"] }],
      [["*.txt", "q*"], {}],
    ];
    for (const [sources, opts] of selections) {
      const h = await ctx.hashSelection(ctx.select(sources, opts));
      let at = 0;
      for (const [k, r] of ctx.select(sources, opts).roots.entries()) {
        const records = h.files.slice(at, at + r.entries.length).map((f) => f.record);
        at += r.entries.length;
        expect(h.roots[k]!.digest, `${sources.join(",")} root ${r.path}`).toBe(hashTree(records).digest);
      }
      expect(at).toBe(h.files.length);
    }
    // hashAll reads the walk's table: the same digests and files as selecting ".".
    const all = await ctx.hashAll();
    const dot = await ctx.hashSelection(ctx.select(["."]));
    expect(all.digest).toBe(dot.digest);
    expect(all.roots).toEqual(dot.roots);
    expect(all.files.map((f) => f.record)).toEqual(dot.files.map((f) => f.record));
    expect(all.roots[0]!.digest).toBe(hashTree(all.files.map((f) => f.record)).digest);
  });

  it("hashAll under an ignore file that keeps a folder only for what it re-includes", async () => {
    const root = join(tmp, "ignored");
    for (const p of ["keep/a", "drop/b", "drop/sub/c", "part/x.log", "part/y.txt", "part/deep/z.log", "part/deep/w.log", "part/other/v.log"]) {
      fs.mkdirSync(join(root, p, ".."), { recursive: true });
      fs.writeFileSync(join(root, p), p);
    }
    // part/other is walked (a w.log could be below it) and dropped again: nothing in it is kept.
    fs.writeFileSync(join(root, ".dockerignore"), "drop\npart\n!part/**/w.log\n");
    const ctx = await openContext(root);
    expect(ctx.entries.map((e) => e.path)).toEqual([".dockerignore", "keep", "keep/a", "part", "part/deep", "part/deep/w.log"]);
    const all = await ctx.hashAll();
    expect(all.digest).toBe((await ctx.hashSelection(ctx.select(["."]))).digest);
    expect(all.roots[0]!.digest).toBe(hashTree(all.files.map((f) => f.record)).digest);
  });
});
