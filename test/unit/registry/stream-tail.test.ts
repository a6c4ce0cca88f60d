// StreamTail (src/registry/stream-tail.ts): the last 4 bytes of a stream, whatever its chunking.
import { describe, expect, it } from "vitest";
import { StreamTail } from "../../../src/registry/stream-tail.js";

const tailOf = (chunks: number[][]) => {
  const t = new StreamTail();
  for (const c of chunks) t.see(Uint8Array.from(c));
  return [...t.bytes()];
};

describe("StreamTail", () => {
  it.each([
    { name: "one big chunk", chunks: [[1, 2, 3, 4, 5, 6]], tail: [3, 4, 5, 6] },
    { name: "one byte at a time", chunks: [[1], [2], [3], [4], [5]], tail: [2, 3, 4, 5] },
    { name: "a big chunk, then small ones", chunks: [[1, 2, 3, 4, 5], [6], [7, 8]], tail: [5, 6, 7, 8] },
    { name: "small ones, then a big chunk", chunks: [[1], [2, 3], [4, 5, 6, 7, 8, 9]], tail: [6, 7, 8, 9] },
    { name: "a stream shorter than 4 bytes", chunks: [[1], [2]], tail: [1, 2] },
    { name: "empty chunks between", chunks: [[1, 2], [], [3], [], [4, 5]], tail: [2, 3, 4, 5] },
    { name: "no bytes", chunks: [], tail: [] },
  ])("$name", ({ chunks, tail }) => {
    expect(tailOf(chunks)).toEqual(tail);
  });

  it("keeps a copy of a Buffer chunk's last bytes (a Buffer's slice is a view): the buffer reused for the next read does not change them", () => {
    const t = new StreamTail();
    const buffer = Buffer.from([9, 9, 1, 2, 3, 4]);
    t.see(buffer.subarray(0, 6));
    buffer.fill(7); // the reader's next read lands in the same memory
    t.see(buffer.subarray(0, 0));
    expect([...t.bytes()]).toEqual([1, 2, 3, 4]);
  });

  it("returns a copy: a chunk changed afterwards does not change it", () => {
    const t = new StreamTail();
    const c = Uint8Array.from([1, 2, 3, 4]);
    t.see(c);
    const got = t.bytes();
    c.fill(0);
    expect([...got]).toEqual([1, 2, 3, 4]);
  });
});
