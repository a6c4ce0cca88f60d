// The walker's raw lstat (node's fs binding read in place) against lstatSync: the same
// entry table, stamps to the nanosecond, on a real tree with every entry type, special
// modes, odd names and times outside 1970–2106; and the same digests either way.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openContext, PatternMatcher, walkContext, type ContextEntry } from "../../../src/context/index.js";
import { rawLstatReader, StatsLstatReader } from "../../../src/context/lstat-reader.js";
import { StampTable } from "../../../src/context/stamps.js";
import { spawnCliSync } from "../../helpers/run-cli.js";

const tmp = fs.mkdtempSync(join(tmpdir(), "tbuild-lstat-"));
const root = join(tmp, "ctx");
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

beforeAll(() => {
  const w = (p: string, text = p) => {
    fs.mkdirSync(join(root, p, ".."), { recursive: true });
    fs.writeFileSync(join(root, p), text);
  };
  w("a.txt");
  w("dir/b.txt", "b".repeat(5000));
  w("dir/sub/c.txt");
  w("with space/and\nnewline");
  w("unicode/caf\u00e9 \u{1f600}.txt");
  w("kept/node_modules/x.js");
  w("node_modules/big/index.js");
  w("empty");
  fs.writeFileSync(join(root, "empty"), "");
  fs.symlinkSync("dir/b.txt", join(root, "link-in"));
  fs.symlinkSync("/etc/passwd", join(root, "link-out"));
  fs.symlinkSync("../../outside", join(root, "dir/link-up"));
  execFileSync("mkfifo", [join(root, "fifo")]);
  execFileSync("mknod", [join(root, "null"), "c", "1", "3"]);
  w("suid");
  fs.chmodSync(join(root, "suid"), 0o4755);
  fs.mkdirSync(join(root, "sgid"));
  fs.chmodSync(join(root, "sgid"), 0o2775);
  fs.mkdirSync(join(root, "sticky"));
  fs.chmodSync(join(root, "sticky"), 0o1777);
  w("old");
  // Before 1970 (negative seconds, positive nanoseconds) and after 2106 (seconds ≥ 2^32).
  execFileSync("touch", ["-h", "-d", "1969-12-31 23:59:58.75 UTC", join(root, "old")]);
  w("future");
  execFileSync("touch", ["-h", "-d", "2200-01-01 00:00:00.123456789 UTC", join(root, "future")]);
});

/** The code and message `f` throws, if it throws. */
function message(f: () => unknown): [string | undefined, string] | undefined {
  try {
    f();
  } catch (e) {
    return [(e as { code?: string }).code, (e as Error).message];
  }
  return undefined;
}

/** Everything the walker records about an entry, stamp included (bigints as text). */
const table = (entries: readonly ContextEntry[]) =>
  entries.map((e) => {
    const s = e.stamp!;
    return [e.path, e.type, e.mode.toString(8), e.size, e.linkTarget, e.devMajor, e.devMinor, `${s.dev} ${s.ino} ${s.size} ${s.mtimeNs} ${s.ctimeNs}`];
  });

describe("raw lstat", () => {
  it("is in use on this Node", () => {
    expect(rawLstatReader()).toBeDefined();
  });

  it("gives lstatSync's entry table on a tree of every entry type", () => {
    const raw = walkContext(root);
    const viaStats = walkContext(root, { fs });
    expect(table(raw)).toEqual(table(viaStats));
    const byPath = new Map(raw.map((e) => [e.path, e]));
    // The tree has what the comparison is meant to cover.
    expect(byPath.get("suid")!.mode).toBe(0o4755);
    expect(byPath.get("sgid")!.mode).toBe(0o2775);
    expect(byPath.get("sticky")!.mode).toBe(0o1777);
    expect(byPath.get("fifo")!.type).toBe("fifo");
    expect([byPath.get("null")!.devMajor, byPath.get("null")!.devMinor]).toEqual([1, 3]);
    expect(byPath.get("link-out")!.linkTarget).toBe("/etc/passwd");
    expect(byPath.get("with space/and\nnewline")!.type).toBe("file");
    expect(byPath.get("old")!.stamp!.mtimeNs).toBe(-1_250_000_000n);
    expect(byPath.get("future")!.stamp!.mtimeNs).toBe(7_258_118_400_123_456_789n);
    expect(byPath.get("dir/b.txt")!.size).toBe(5000);
  });

  it("gives lstatSync's entry table under an ignore file that prunes folders", () => {
    const exclude = [PatternMatcher.compile(["node_modules", "**/*.js", "!kept/node_modules", "dir/sub"])];
    const raw = walkContext(root, { exclude });
    expect(table(raw)).toEqual(table(walkContext(root, { exclude, fs })));
    const paths = raw.map((e) => e.path);
    expect(paths).not.toContain("node_modules");
    expect(paths).not.toContain("dir/sub");
    expect(paths).toContain("kept/node_modules");
  });

  it("gives the same context digest as the lstatSync fallback", async () => {
    const a = await openContext(root);
    const b = await openContext(root, { fs });
    expect((await a.hashAll()).digest).toBe((await b.hashAll()).digest);
  });

  it("reads the same stamp, size and mode as lstatSync for each path", () => {
    const raw = rawLstatReader()!;
    const viaStats = new StatsLstatReader();
    for (const name of ["a.txt", "old", "future", "null", "link-out", "sticky"]) {
      const p = join(root, name);
      const mine = new StampTable(1);
      const theirs = new StampTable(1);
      expect(raw.lstat(p)).toBe(viaStats.lstat(p));
      expect(raw.size()).toBe(viaStats.size());
      expect(raw.rdev()).toBe(viaStats.rdev());
      raw.pushStamp(mine);
      viaStats.pushStamp(theirs);
      expect(mine.get(0)).toEqual(theirs.get(0));
    }
  });

  it("keeps process.binding's deprecation warning (fatal under --throw-deprecation) from the user", () => {
    const r = spawnCliSync(["context", "--hash", root], { env: { NODE_OPTIONS: "--pending-deprecation --throw-deprecation" } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/sha256:[0-9a-f]{64}/);
  });

  it("gives lstatSync's entries and digest on a tree nested ~3.9 KB deep with non-ASCII names", async () => {
    // The raw reader's path buffer (4 KiB, read through views 512 bytes apart) grows once a
    // folder's path leaves less than a name's room; a sibling after each deep folder is then
    // read through its outer folder's view of the old buffer. Names of 255 bytes, made of
    // two- and four-byte characters, run up to the views' ends.
    const deep = join(tmp, "deep");
    const longName = (i: number) => {
      const unit = ["\u00e9", "\u{1f600}", "\u4e2d"][i % 3]!;
      let n = `f${i}-`;
      while (Buffer.byteLength(n + unit) <= 255) n += unit;
      return n;
    };
    let dir = deep;
    let level = 0;
    while (Buffer.byteLength(dir) < 3900) {
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(join(dir, `z-after-\u00e9${level}`), `${level}`);
      fs.writeFileSync(join(dir, longName(level)), "x");
      const room = 3990 - Buffer.byteLength(dir);
      const name = `d${level}-${"\u00e9".repeat(Math.max(1, Math.min(100, (room - 10) >> 1)))}`;
      dir = join(dir, name);
      level++;
    }
    fs.mkdirSync(dir);
    fs.writeFileSync(join(dir, "\u{1f600}"), "deepest");
    expect(Buffer.byteLength(dir)).toBeGreaterThan(4096 - 256); // past the first buffer
    const raw = walkContext(deep);
    expect(raw.length).toBe(3 * level + 1);
    expect(table(raw)).toEqual(table(walkContext(deep, { fs })));
    const a = await openContext(deep);
    const b = await openContext(deep, { fs });
    expect((await a.hashAll()).digest).toBe((await b.hashAll()).digest);
  });

  it("throws lstatSync's error for a missing path", () => {
    const p = join(root, "missing");
    expect(() => rawLstatReader()!.lstat(p)).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });

  it("reports a name that is not valid UTF-8 the same way on both paths", () => {
    const bad = join(tmp, "bad-name");
    fs.mkdirSync(bad);
    fs.writeFileSync(Buffer.concat([Buffer.from(`${bad}/caf`), Buffer.from([0xe9]), Buffer.from(".txt")]), "x");
    const raw = message(() => walkContext(bad));
    expect(raw).toEqual(["E_CONTEXT_NOT_FOUND", 'a name in the build context is not valid UTF-8: "caf\ufffd.txt"']);
    expect(message(() => walkContext(bad, { fs }))).toEqual(raw);
  });

  it("refuses a symlink target that is not valid UTF-8, and keeps one that holds U+FFFD itself", () => {
    // Read as text, 0xE9 and 0xFF would both become U+FFFD: two targets, one digest.
    const links = join(tmp, "bad-target");
    fs.mkdirSync(links);
    fs.symlinkSync("caf\ufffd", join(links, "replacement"));
    expect(walkContext(links).map((e) => e.linkTarget)).toEqual(["caf\ufffd"]);
    fs.mkdirSync(join(links, "sub"));
    fs.symlinkSync(Buffer.from([0x63, 0x61, 0x66, 0xe9]), join(links, "sub", "latin1"));
    // Named by its path in the context, not only its name.
    const expected = ["E_CONTEXT_NOT_FOUND", `a symlink's target in the build context is not valid UTF-8: ${JSON.stringify("sub/latin1 -> caf\ufffd")}`];
    expect(message(() => walkContext(links))).toEqual(expected);
    expect(message(() => walkContext(links, { fs }))).toEqual(expected);
  });
});
