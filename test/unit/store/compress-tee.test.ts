// compress.ts tee: push's gzip bytes go to the store's writer and, at the same time, to the upload.
import { describe, expect, it } from "vitest";
import { tee } from "../../../src/store/compress.js";

async function* pieces(n: number, size: number, failAt?: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < n; i++) {
    if (i === failAt) throw new Error("source broke");
    yield new Uint8Array(size).fill(i & 0xff);
  }
}

async function drain(it: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of it) n += c.byteLength;
  return n;
}

describe("tee", { timeout: 5000 }, () => {
  it("gives both readers every byte, in order", async () => {
    const { primary, secondary } = tee(pieces(50, 1000), 10_000);
    const seen: number[] = [];
    const [a, b] = await Promise.all([
      drain(primary),
      (async () => {
        for await (const c of secondary) seen.push(c[0]!);
        return seen.length * 1000;
      })(),
    ]);
    expect(a).toBe(50_000);
    expect(b).toBe(50_000);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("keeps the primary at most `limit` bytes ahead of a slow secondary", async () => {
    const { primary, secondary } = tee(pieces(100, 1000), 5000);
    let taken = 0;
    const p = (async () => {
      for await (const c of primary) taken += c.byteLength;
    })();
    await new Promise((r) => setTimeout(r, 50));
    expect(taken).toBeLessThanOrEqual(5000);
    expect(await drain(secondary)).toBe(100_000);
    await p;
    expect(taken).toBe(100_000);
  });

  it("lets the primary go on alone once the secondary stops, whether it started or not", async () => {
    const started = tee(pieces(100, 1000), 2000);
    const p = drain(started.primary);
    const it = started.secondary[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    await it.return(undefined);
    expect(await p).toBe(100_000);
    const never = tee(pieces(100, 1000), 2000);
    never.stop();
    expect(await drain(never.primary)).toBe(100_000);
  });

  it("fails both readers when the source fails", async () => {
    const { primary, secondary } = tee(pieces(10, 100, 5), 1 << 20);
    const [a, b] = await Promise.allSettled([drain(primary), drain(secondary)]);
    expect(a).toMatchObject({ status: "rejected", reason: { message: "source broke" } });
    expect(b).toMatchObject({ status: "rejected", reason: { message: "source broke" } });
  });
});
