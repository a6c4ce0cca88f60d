// transfer.ts gunzip: pull's inflate stage (zlib on libuv's pool, pieces taken by events).
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { gunzip } from "../../../src/registry/transfer.js";
import { TbuildError } from "../../../src/util/index.js";

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** `bytes` in pieces of `size`, counting how many pieces were taken and whether it was closed. */
function source(bytes: Uint8Array, size: number) {
  const seen = { pieces: 0, closed: false };
  const gen = (async function* () {
    try {
      for (let o = 0; o < bytes.length; o += size) {
        seen.pieces++;
        yield bytes.subarray(o, o + size);
      }
    } finally {
      seen.closed = true;
    }
  })();
  return { gen, seen };
}

describe("gunzip", () => {
  it("inflates multi-member gzip fed in small pieces back to the input", async () => {
    const a = Buffer.alloc(3 << 20, "tbuild ");
    const b = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 7919) & 0xff));
    const gz = Buffer.concat([gzipSync(a), gzipSync(b)]);
    const { gen } = source(gz, 4096);
    const out = await collect(gunzip(gen, "test layer"));
    expect(out.equals(Buffer.concat([a, b]))).toBe(true);
  });

  it("holds back input while the consumer is behind, and closes the source when it stops early", async () => {
    // 256 MiB of zeros gzip to ~256 KiB: without backpressure the whole input would be
    // read and inflated into memory before the consumer took its first piece.
    const gz = gzipSync(Buffer.alloc(256 << 20));
    const { gen, seen } = source(gz, 1024);
    const it = gunzip(gen, "test layer")[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    // Wait until the feeder stops taking input (or has taken it all).
    for (let last = -1, still = 0; still < 4 && seen.pieces * 1024 < gz.length; ) {
      await new Promise((r) => setTimeout(r, 50));
      still = seen.pieces === last ? still + 1 : 0;
      last = seen.pieces;
    }
    expect(seen.pieces * 1024).toBeLessThan(gz.length / 4);
    await it.return(undefined);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.closed).toBe(true);
  });

  it("rejects bytes that are not gzip as a digest error", async () => {
    const { gen } = source(Buffer.from("this is not gzip at all, just text"), 8);
    const err = await collect(gunzip(gen, "layer sha256:abc")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TbuildError);
    expect((err as TbuildError).code).toBe("E_REGISTRY_DIGEST");
    expect((err as TbuildError).message).toMatch(/^layer sha256:abc is not valid gzip/);
  });

  it("passes a source's own error through unchanged", async () => {
    const gz = gzipSync(Buffer.alloc(1 << 20, 1));
    const broken = (async function* () {
      yield gz.subarray(0, 100);
      throw new TbuildError("E_REGISTRY", "download broke off");
    })();
    const err = await collect(gunzip(broken, "layer")).catch((e: unknown) => e);
    expect((err as TbuildError).code).toBe("E_REGISTRY");
    expect((err as TbuildError).message).toBe("download broke off");
  });
});
