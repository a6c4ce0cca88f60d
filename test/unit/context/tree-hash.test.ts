// The pure tree hash: order independence, names and metadata count, times are not in it.
import { describe, expect, it } from "vitest";
import { diffRecords, hashTree, recordDigest, type FileRecord } from "../../../src/context/index.js";

const f = (path: string, extra: Partial<FileRecord> = {}): FileRecord => ({ path, type: "file", mode: 0o644, uid: 0, gid: 0, size: 1, contentDigest: `sha256:${"1".repeat(64)}`, ...extra });
const d = (path: string, extra: Partial<FileRecord> = {}): FileRecord => ({ path, type: "dir", mode: 0o755, uid: 0, gid: 0, size: 0, ...extra });

describe("hashTree", () => {
  it("does not depend on record order (each child counted once)", () => {
    const recs = [d("a"), d("a/b"), f("a/b/c"), f("a/x"), f("z")];
    expect(hashTree(recs).digest).toBe(hashTree([...recs].reverse()).digest);
    expect(hashTree(recs).dirs.size).toBe(3);
  });
  it("counts names, modes, setuid bits, link targets and xattrs", () => {
    const base = hashTree([d("a"), f("a/x")]).digest;
    expect(hashTree([d("a"), f("a/y")]).digest).not.toBe(base);
    expect(hashTree([d("a", { mode: 0o1755 }), f("a/x")]).digest).not.toBe(base);
    expect(hashTree([d("a"), f("a/x", { mode: 0o4644 })]).digest).not.toBe(base);
    expect(hashTree([d("a"), f("a/x", { xattrs: { "user.k": "dg==" } })]).digest).not.toBe(base);
    const l1 = recordDigest({ path: "l", type: "symlink", mode: 0o777, uid: 0, gid: 0, size: 0, linkTarget: "t1" });
    const l2 = recordDigest({ path: "l", type: "symlink", mode: 0o777, uid: 0, gid: 0, size: 0, linkTarget: "t2" });
    expect(l1).not.toBe(l2);
  });
  it("a record digest does not depend on where the file lives", () => {
    expect(recordDigest(f("a/x"))).toBe(recordDigest(f("elsewhere/y")));
  });
  it("diffRecords names what changed", () => {
    const diff = diffRecords([f("a"), f("b"), f("c")], [f("a", { contentDigest: `sha256:${"2".repeat(64)}`, size: 2 }), f("c", { mode: 0o755 }), f("d")]);
    expect(diff).toEqual({ added: ["d"], removed: ["b"], changed: [{ path: "a", what: ["size", "content"] }, { path: "c", what: ["mode"] }] });
  });
});
