// The context's fast paths give exactly what the plain algorithms give: the concatenated
// record preimage equals its JSON.stringify form, the one-pass tree hash (records in walk
// order) equals the general one (any order), and the slot-based file-hash cache keeps,
// replaces, drops and persists entries, including inodes that share a map chain.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FileHashCache, hashTree, recordPreimage, RACY_WINDOW_NS, type FileRecord, type FileStamp } from "../../../src/context/index.js";

const tmp = mkdtempSync(join(tmpdir(), "tbuild-fast-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function reference(r: FileRecord): string {
  const x = r.xattrs ? Object.keys(r.xattrs).sort().map((k) => [k, r.xattrs![k]!]) : [];
  return JSON.stringify([r.type, r.mode, r.uid, r.gid, r.size, r.linkTarget ?? "", r.devMajor ?? 0, r.devMinor ?? 0, x, r.contentDigest ?? ""]);
}

describe("recordPreimage", () => {
  const base: FileRecord = { path: "x", type: "file", mode: 0o644, uid: 0, gid: 0, size: 3 };
  it.each<[string, FileRecord]>([
    ["plain file", { ...base, contentDigest: `sha256:${"a".repeat(64)}` }],
    ["no digest", base],
    ["dir with special bits", { ...base, type: "dir", mode: 0o7755, size: 0 }],
    ["symlink with quotes and backslashes", { ...base, type: "symlink", linkTarget: 'a"b\\c\n\t\u0001' }],
    ["symlink with astral and lone surrogates", { ...base, type: "symlink", linkTarget: "😀/\ud800x\udfff" }],
    ["device", { ...base, type: "char-device", devMajor: 4095, devMinor: 1048575 }],
    ["xattrs", { ...base, xattrs: { "user.b": "Yg==", "security.a": "YQ==" } }],
    ["big owner and size", { ...base, uid: 4294967294, gid: 65534, size: 2 ** 52 }],
  ])("%s", (_name, r) => {
    expect(recordPreimage(r)).toBe(reference(r));
  });
});

describe("hashTree: walk order and any order agree", () => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  const names = ["a", "b", "B", "a b", 'q"', "é", "😀", "\uffff", "z.ts", "a-b", "a.b"];

  /** A random tree in walk order: each directory before its contents, names sorted by code point. */
  function tree(depth: number, prefix: string, out: FileRecord[]): void {
    const picked = [...new Set(Array.from({ length: 1 + rnd(5) }, () => names[rnd(names.length)]!))];
    picked.sort((x, y) => (Buffer.compare(Buffer.from(x), Buffer.from(y))));
    for (const n of picked) {
      const path = prefix ? `${prefix}/${n}` : n;
      if (depth > 0 && rnd(3) === 0) {
        out.push({ path, type: "dir", mode: 0o755 + rnd(2) * 0o1000, uid: 0, gid: 0, size: 0 });
        tree(depth - 1, path, out);
      } else if (rnd(5) === 0) out.push({ path, type: "symlink", mode: 0o777, uid: 0, gid: 0, size: 0, linkTarget: `../${n}` });
      else out.push({ path, type: "file", mode: 0o644, uid: 0, gid: 0, size: rnd(100), contentDigest: `sha256:${String(rnd(10)).repeat(64)}` });
    }
  }

  for (let c = 0; c < 40; c++) {
    it(`random tree ${c}`, () => {
      const recs: FileRecord[] = [];
      if (c % 2 === 0) recs.push({ path: "", type: "dir", mode: 0o700, uid: 0, gid: 0, size: 0 });
      tree(3, "", recs);
      const inOrder = hashTree(recs);
      // Reversed: not walk order, so the general algorithm runs.
      const anyOrder = hashTree([...recs].reverse());
      expect(inOrder.digest).toBe(anyOrder.digest);
      expect([...inOrder.dirs].sort()).toEqual([...anyOrder.dirs].sort());
      // A missing parent directory (implicit 0755) and a duplicate also agree.
      const dirIdx = recs.findIndex((r) => r.type === "dir" && r.path !== "");
      if (dirIdx >= 0) {
        const gap = recs.filter((_, i) => i !== dirIdx);
        expect(hashTree(gap).digest).toBe(hashTree([...gap].reverse()).digest);
      }
      const dup = [...recs, recs[recs.length - 1]!];
      expect(hashTree(dup).digest).toBe(hashTree([...recs].reverse()).digest);
    });
  }

  it("a lone file, an empty list, and a non-directory root with children", () => {
    const f: FileRecord = { path: "", type: "file", mode: 0o644, uid: 0, gid: 0, size: 1 };
    expect(hashTree([f]).digest).toBe(hashTree([f, f]).digest);
    expect(hashTree([]).digest).toMatch(/^sha256:/);
    const child: FileRecord = { ...f, path: "x" };
    expect(hashTree([f, child]).digest).toBe(hashTree([child, f]).digest);
  });
});

describe("FileHashCache slots", () => {
  const d = (c: string) => `sha256:${c.repeat(64)}` as const;
  const old = 10n ** 18n; // far past every stamp below: never racy
  const st = (ino: bigint, extra: Partial<FileStamp> = {}): FileStamp => ({ dev: 2049n, ino, size: 10n, mtimeNs: 1000n, ctimeNs: 2000n, ...extra });

  it("keeps, replaces, drops and persists entries; inodes equal in their low bits share a chain", async () => {
    const dir = join(tmp, "c1");
    const c = FileHashCache.memory();
    const a = st(5n);
    const b = st(5n + (1n << 30n)); // same low 30 bits as a
    const e = st(5n + (1n << 40n), { dev: 7n });
    c.set(a, d("a"), old);
    c.set(b, d("b"), old);
    c.set(e, d("e"), old);
    expect([c.get(a), c.get(b), c.get(e), c.size]).toEqual([d("a"), d("b"), d("e"), 3]);
    expect(c.get({ ...a, ctimeNs: 2001n })).toBeUndefined();
    expect(c.get({ ...a, dev: 3n })).toBeUndefined();
    c.set(a, d("c"), old); // replaced in place
    expect([c.get(a), c.size]).toEqual([d("c"), 3]);
    c.set(b, d("x"), b.ctimeNs + RACY_WINDOW_NS - 1n); // racy: dropped
    expect([c.get(b), c.get(a), c.get(e), c.size]).toEqual([undefined, d("c"), d("e"), 2]);
    for (let i = 0n; i < 3000n; i++) c.set(st(100n + i), d("f"), old); // grows past the first capacity
    expect(c.size).toBe(3002);

    const file = await FileHashCache.open(dir);
    expect(file.size).toBe(0);
    for (const s of [a, b, e]) file.set(s, d("9"), old);
    file.set(b, d("8"), b.ctimeNs);
    await file.save();
    const back = await FileHashCache.open(dir);
    expect([back.get(a), back.get(b), back.get(e), back.size]).toEqual([d("9"), undefined, d("9"), 2]);
    back.set(st(77n), d("7"), old); // appended to a loaded file's slots
    back.set(a, d("6"), old);
    await back.save();
    const again = await FileHashCache.open(dir);
    expect([again.get(a), again.get(st(77n)), again.get(e), again.size]).toEqual([d("6"), d("7"), d("9"), 3]);
  });
});
