// Blob files written around the page cache (direct-file.ts): what O_DIRECT writes and what
// it leaves to the plain descriptor, and the fall back when the file system refuses.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DIRECT_ALIGN, DirectFile, alignedBuffers } from "../../../src/store/direct-file.js";
import { KICK } from "../../../src/store/writeback.js";
import { withFailingFdatasync } from "../../helpers/fs-faults.js";
import { tempDirs } from "../../helpers/temp-dirs.js";

const tmp = tempDirs();

/** Bytes of `path` in the page cache (util-linux fincore). */
function cachedBytes(path: string): number {
  return Number(execFileSync("fincore", ["--bytes", "--noheadings", "--output", "RES", path]).toString().trim());
}

describe("DirectFile", () => {
  it("writes whole blocks from aligned buffers with O_DIRECT and a partial last block the plain way", async () => {
    const [a, b] = alignedBuffers(2, 1 << 20)!;
    a!.set(randomBytes(a!.length));
    b!.set(randomBytes(b!.length));
    const path = join(tmp("direct-file"), "blob");
    const f = DirectFile.create(path, true);
    const tail = b!.subarray(0, 3 * DIRECT_ALIGN + 100);
    await Promise.all([f.write(a!, 0), f.write(tail, a!.length)]);
    expect(f.isDirect).toBe(true);
    await f.close();
    expect(cachedBytes(path)).toBe(DIRECT_ALIGN); // the 100-byte tail's page only
    expect(readFileSync(path).equals(Buffer.concat([a!, tail]))).toBe(true);
  });

  it("falls back to the plain way, rewriting the chunk, when the file system refuses a direct write (an unaligned buffer)", async () => {
    const path = join(tmp("direct-file"), "blob");
    const f = DirectFile.create(path, true);
    const bytes = randomBytes((1 << 20) + 1).subarray(1); // a pooled-free Buffer at an odd address
    await f.write(bytes, 0);
    expect(f.isDirect).toBe(false);
    await f.write(bytes.subarray(0, 5000), bytes.length);
    await f.close();
    expect(readFileSync(path).equals(Buffer.concat([bytes, bytes.subarray(0, 5000)]))).toBe(true);
  });

  it("without direct, writes everything through the page cache", async () => {
    const path = join(tmp("direct-file"), "blob");
    const f = DirectFile.create(path, false);
    const bytes = randomBytes(2 * DIRECT_ALIGN);
    await f.write(bytes, 0);
    expect(f.isDirect).toBe(false);
    await f.close();
    expect(cachedBytes(path)).toBe(bytes.length);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it("fails its sync when a background fdatasync met a writeback error (the fsync after it would not report it)", async () => {
    const path = join(tmp("direct-file"), "blob");
    const f = DirectFile.create(path, false);
    await withFailingFdatasync(async () => {
      await f.write(randomBytes(KICK), 0);
      await expect(f.sync()).rejects.toThrow(/EIO/);
    });
    await f.close();
  });

  it("refuses a path that exists", () => {
    const dir = tmp("direct-file");
    expect(() => DirectFile.create(dir, true)).toThrow(/EEXIST/);
  });
});
