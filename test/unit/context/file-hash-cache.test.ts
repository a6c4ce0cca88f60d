// The file-hash cache file: round trip of the binary format, damage of any kind loads as an
// empty cache (never a trusted digest) and is rebuilt by the next hash, no write when
// nothing changed; walked entries' stamps (kept as StampTable rows) equal lstat's and are
// looked up in place like stamp objects.
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FileHashCache, openContext, walkContext, type FileStamp } from "../../../src/context/index.js";
import { StampTable } from "../../../src/context/stamps.js";
import { WalkedEntry } from "../../../src/context/entry-table.js";

const tmp = fs.mkdtempSync(join(tmpdir(), "tbuild-fhc-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const FILE = "file-hashes.v2.bin";
const old = 2n ** 62n; // a read start (year 2116) far after every stamp below: never racy
const dig = (c: string) => `sha256:${c.repeat(64)}` as const;
const stamp = (i: bigint, extra: Partial<FileStamp> = {}): FileStamp => ({ dev: 64769n, ino: 1000n + i, size: 10n * i, mtimeNs: 1_600_000_000_000_000_000n + i, ctimeNs: 1_600_000_000_500_000_000n + i, ...extra });

/** A saved cache of 50 entries (plus extremes of every field) and its file's bytes. */
async function savedCache(): Promise<{ dir: string; stamps: FileStamp[]; bytes: Buffer }> {
  const dir = join(tmp, `c${n++}`);
  const c = await FileHashCache.open(dir);
  const stamps = Array.from({ length: 50 }, (_, i) => stamp(BigInt(i)));
  stamps.push({ dev: 2n ** 64n - 1n, ino: 2n ** 63n + 5n, size: 2n ** 53n + 1n, mtimeNs: -5n, ctimeNs: -(2n ** 63n) });
  stamps.forEach((s, i) => c.set(s, dig("0123456789abcdef"[i % 16]!), old));
  await c.save();
  return { dir, stamps, bytes: fs.readFileSync(join(dir, FILE)) };
}

describe("cache file format", () => {
  it("round-trips every entry, including 64-bit extremes", async () => {
    const { dir, stamps } = await savedCache();
    const back = await FileHashCache.open(dir);
    expect(back.size).toBe(stamps.length);
    stamps.forEach((s, i) => expect(back.get(s)).toBe(dig("0123456789abcdef"[i % 16]!)));
    expect(back.get({ ...stamps[3]!, ctimeNs: stamps[3]!.ctimeNs + 1n })).toBeUndefined();
    expect(back.get(stamp(999n))).toBeUndefined();
  });

  it("answers lookups in any order, and never from a slot dropped or changed since", async () => {
    const { dir, stamps } = await savedCache();
    const c = await FileHashCache.open(dir);
    const want = (i: number) => dig("0123456789abcdef"[i % 16]!);
    // Slots follow insertion order: walk it backwards, forwards, then at random.
    for (let i = stamps.length - 1; i >= 0; i--) expect(c.get(stamps[i]!)).toBe(want(i));
    for (let i = 0; i < stamps.length; i++) expect(c.get(stamps[i]!)).toBe(want(i));
    let seed = 3;
    for (let k = 0; k < 200; k++) {
      const i = (seed = (seed * 1103515245 + 12345) >>> 0) % stamps.length;
      expect(c.get(stamps[i]!)).toBe(want(i));
    }
    // Entry 11 is next in order after 10; a racy re-hash drops it, then it must miss.
    expect(c.get(stamps[10]!)).toBe(want(10));
    c.set(stamps[11]!, dig("f"), stamps[11]!.mtimeNs);
    expect(c.get(stamps[10]!)).toBe(want(10));
    expect(c.get(stamps[11]!)).toBeUndefined();
    // Entry 13 changed (same dev and inode, new mtime): next in order, and a miss.
    expect(c.get(stamps[12]!)).toBe(want(12));
    expect(c.get({ ...stamps[13]!, mtimeNs: stamps[13]!.mtimeNs + 1n })).toBeUndefined();
    expect(c.get(stamps[14]!)).toBe(want(14));
    expect(c.stats).toMatchObject({ racy: 1 });
  });

  it("keeps the newest tree digests across a save, and ignores a damaged memo file", async () => {
    const dir = join(tmp, `c${n++}`);
    const c = await FileHashCache.open(dir);
    const key = (i: number) => {
      const k = Buffer.alloc(32);
      k.writeUInt32LE(i);
      return k;
    };
    for (let i = 0; i < 300; i++) c.setTreeDigest(key(i), dig("0123456789abcdef"[i % 16]!));
    await c.save();
    const back = await FileHashCache.open(dir);
    expect(back.treeDigest(key(299))).toBe(dig("b"));
    expect(back.treeDigest(key(44))).toBe(dig("c"));
    expect(back.treeDigest(key(43))).toBeUndefined(); // 256 kept: the oldest 44 are gone
    expect(back.stats.treeHits).toBe(2);
    const file = join(dir, "tree-digests.v1.bin");
    fs.writeFileSync(file, flip(fs.readFileSync(file), 100));
    expect((await FileHashCache.open(dir)).treeDigest(key(299))).toBeUndefined();
  });

  it("evicts the least recently used tree digest: a hit keeps it, and hits in saved order write nothing", async () => {
    const dir = join(tmp, `c${n++}`);
    const c = await FileHashCache.open(dir);
    const key = (i: number) => Buffer.alloc(32, 0).fill(i & 255, 0, 1).fill(i >> 8, 1, 2);
    for (let i = 0; i < 256; i++) c.setTreeDigest(key(i), dig("a"));
    expect(c.treeDigest(key(0))).toBe(dig("a")); // the oldest, used again
    c.setTreeDigest(key(256), dig("b")); // one more: the least recently used goes
    await c.save();
    const back = await FileHashCache.open(dir);
    expect(back.treeDigest(key(0))).toBe(dig("a"));
    expect(back.treeDigest(key(1))).toBeUndefined();
    expect(back.treeDigest(key(256))).toBe(dig("b"));
    await back.save(); // key(0) and key(256) were hit in their saved order: nothing moved
    const file = join(dir, "tree-digests.v1.bin");
    const before = fs.statSync(file).ino;
    const again = await FileHashCache.open(dir);
    again.treeDigest(key(256));
    await again.save();
    expect(fs.statSync(file).ino).toBe(before);
    again.treeDigest(key(2));
    await again.save();
    expect(fs.statSync(file).ino).not.toBe(before); // replaced: key(2) is the newest now
  });

  const damages: [string, (b: Buffer) => Buffer][] = [
    ["garbage", () => Buffer.from("garbage")],
    ["empty", () => Buffer.alloc(0)],
    ["truncated by one byte", (b) => b.subarray(0, b.length - 1)],
    ["one byte appended", (b) => Buffer.concat([b, Buffer.from([0])])],
    ["header only", (b) => b.subarray(0, 44)],
    ["a flipped bit in a digest", (b) => flip(b, b.length - 5)],
    ["a flipped bit in a stamp", (b) => flip(b, 44 + 72 * 7 + 30)],
    ["a flipped bit in the checksum", (b) => flip(b, 20)],
    ["a wrong record count", (b) => Buffer.from(b).fill(0, 8, 12)],
    ["the previous format's magic", (b) => Buffer.from(b).fill("1", 6, 7)],
  ];
  for (const [what, damage] of damages) {
    it(`ignores a cache file with ${what}`, async () => {
      const { dir, stamps } = await savedCache();
      fs.writeFileSync(join(dir, FILE), damage(fs.readFileSync(join(dir, FILE))));
      const c = await FileHashCache.open(dir);
      expect(c.size).toBe(0);
      for (const s of stamps) expect(c.get(s)).toBeUndefined();
    });
  }

  it("a damaged cache is rebuilt by the next hash, and an unchanged one is not rewritten", async () => {
    const root = join(tmp, `ctx${n++}`);
    fs.mkdirSync(join(root, "d"), { recursive: true });
    for (const p of ["a", "b", "d/c"]) fs.writeFileSync(join(root, p), p);
    const past = new Date(Date.now() - 60_000);
    const cacheDir = join(tmp, `cache${n++}`);
    const run = async () => {
      const ctx = await openContext(root, { cacheDir });
      const h = await ctx.hashAll();
      await ctx.close();
      return h;
    };
    // ctime is "now" after writing: wait out the racy window so the digests are cached.
    for (const p of ["a", "b", "d/c"]) fs.utimesSync(join(root, p), past, past);
    await new Promise((r) => setTimeout(r, 2100));
    const first = await run();
    expect(first.stats).toMatchObject({ filesRead: 3, cacheHits: 0 });
    const file = join(cacheDir, FILE);
    const before = fs.statSync(file, { bigint: true });
    const second = await run();
    expect(second.stats).toMatchObject({ filesRead: 0, cacheHits: 3 });
    const after = fs.statSync(file, { bigint: true });
    expect([after.ino, after.mtimeNs]).toEqual([before.ino, before.mtimeNs]);

    fs.writeFileSync(file, flip(fs.readFileSync(file), fs.statSync(file).size - 1));
    const third = await run();
    expect(third.stats).toMatchObject({ filesRead: 3, cacheHits: 0 });
    expect(third.digest).toBe(first.digest);
    expect((await FileHashCache.open(cacheDir)).size).toBe(3);
  });

  it("replaces a previous-format file on save", async () => {
    const { dir } = await savedCache();
    fs.writeFileSync(join(dir, "file-hashes.v1.bin"), "old format");
    const c = await FileHashCache.open(dir);
    c.set(stamp(7777n), dig("7"), old);
    await c.save();
    expect(fs.readdirSync(dir)).toEqual([FILE]);
  });
});

describe("stamps of walked entries", () => {
  it("equal lstat's and are found in the cache like stamp objects", () => {
    const root = join(tmp, `w${n++}`);
    fs.mkdirSync(join(root, "sub"), { recursive: true });
    fs.writeFileSync(join(root, "sub/f"), "f");
    fs.symlinkSync("sub/f", join(root, "l"));
    const entries = walkContext(root);
    expect(entries.map((e) => e.path)).toEqual(["l", "sub", "sub/f"]);
    const cache = FileHashCache.memory();
    for (const e of entries) {
      const s = fs.lstatSync(join(root, e.path), { bigint: true });
      expect(e.stamp).toEqual({ dev: s.dev, ino: s.ino, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs });
      const table = WalkedEntry.stampTable(e)!;
      expect(cache.lookup(table, WalkedEntry.stampRow(e))).toBe(-1);
      cache.set(e.stamp!, dig("e"), old);
      expect(cache.digestAt(cache.lookup(table, WalkedEntry.stampRow(e)))).toBe(dig("e"));
    }
    expect(WalkedEntry.stampTable({ path: "x", type: "file", mode: 0, size: 0 })).toBeUndefined();
  });

  it("a StampTable grows and keeps every row", () => {
    const t = new StampTable(1);
    const all = Array.from({ length: 1000 }, (_, i) => stamp(BigInt(i), i === 999 ? { dev: 2n ** 64n - 1n, mtimeNs: -(2n ** 63n) } : {}));
    all.forEach((s, i) => expect(t.push(s)).toBe(i));
    expect(t.length).toBe(1000);
    all.forEach((s, i) => expect(t.get(i)).toEqual(s));
  });
});

function flip(b: Buffer, at: number): Buffer {
  const c = Buffer.from(b);
  c[at]! ^= 0x10;
  return c;
}
