// tar-header.ts: PAX where ustar cannot hold a value, read back by GNU tar and tar-stream.
import { execFileSync } from "node:child_process";
import { Readable } from "node:stream";
import { extract } from "tar-stream";
import { describe, expect, it } from "vitest";
import { encodeHeader, endOfArchive } from "../../../src/exec/tar-header.js";

function gnuList(buf: Buffer): string {
  // GNU tar lists the entry, then complains about the missing content: keep stdout only.
  try {
    return execFileSync("tar", ["--numeric-owner", "-tvf", "-"], { input: buf, stdio: ["pipe", "pipe", "ignore"] }).toString();
  } catch (e) {
    return String((e as { stdout?: Buffer }).stdout ?? "");
  }
}

describe("encodeHeader", () => {
  it("writes sizes of 8 GiB and more as a PAX size record", () => {
    const size = 9 * 2 ** 30;
    const h = encodeHeader({ path: "big.img", type: "file", mode: 0o644, uid: 0, gid: 0, size, mtime: 1_700_000_000 });
    expect(h.length).toBe(3 * 512);
    expect(h.includes(Buffer.from(`size=${size}\n`))).toBe(true);
    expect(gnuList(h)).toContain(`${size} `);
  });

  it("writes uids beyond 2^21, non-ASCII and long link targets through PAX; plain ustar otherwise", async () => {
    const plain = encodeHeader({ path: "a", type: "file", mode: 0o644, uid: 1, gid: 1, size: 0, mtime: 0 });
    expect(plain.length).toBe(512);
    const target = `/${"t".repeat(150)}`;
    const buf = Buffer.concat([
      encodeHeader({ path: "héllo-wörld", type: "file", mode: 0o600, uid: 3_000_000, gid: 4_000_000, size: 0, mtime: 5 }),
      encodeHeader({ path: "l", type: "symlink", mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 5, linkname: target }),
      endOfArchive(),
    ]);
    const ex = extract();
    Readable.from([buf]).pipe(ex);
    const seen: { name: string; uid?: number; linkname?: string | null; pax?: unknown }[] = [];
    for await (const e of ex) {
      seen.push({ name: e.header.name, linkname: e.header.linkname, pax: (e.header as { pax?: unknown }).pax });
      e.resume();
    }
    expect(seen[0]).toMatchObject({ name: "héllo-wörld", pax: expect.objectContaining({ uid: "3000000", gid: "4000000" }) });
    expect(seen[1]).toMatchObject({ name: "l", linkname: target });
    expect(gnuList(buf)).toMatch(/3000000\/4000000 .* héllo-wörld/);
  });

  it("has a valid checksum and no uname/gname", () => {
    const h = encodeHeader({ path: "x", type: "dir", mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 });
    const stored = parseInt(h.subarray(148, 154).toString("latin1"), 8);
    const copy = Buffer.from(h);
    copy.fill(0x20, 148, 156);
    expect(copy.reduce((a, b) => a + b, 0)).toBe(stored);
    expect(h.subarray(265, 329).every((b) => b === 0)).toBe(true);
  });
});
