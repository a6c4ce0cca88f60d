// StreamTail and StreamHead (src/registry/stream-tail.ts): the last 4 and first HEAD_BYTES
// bytes of a stream, whatever its chunking.
import { describe, expect, it } from "vitest";
import { HEAD_BYTES, StreamHead, StreamTail } from "../../../src/registry/stream-tail.js";

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

describe("StreamHead", () => {
  it("keeps the first HEAD_BYTES across chunks, as copies (a reused buffer changed afterwards does not change them)", () => {
    const h = new StreamHead();
    const buffer = Buffer.alloc(3000, 1);
    h.see(buffer.subarray(0, 3000));
    buffer.fill(2);
    h.see(buffer.subarray(0, 3000));
    buffer.fill(3);
    h.see(new Uint8Array(0));
    h.see(buffer);
    const got = h.bytes();
    expect(got.length).toBe(HEAD_BYTES);
    expect([got[0], got[2999], got[3000], got[HEAD_BYTES - 1]]).toEqual([1, 1, 2, 2]);
  });

  it("keeps all of a stream shorter than HEAD_BYTES", () => {
    const h = new StreamHead();
    h.see(Uint8Array.from([5, 6]));
    h.see(Uint8Array.from([7]));
    expect([...h.bytes()]).toEqual([5, 6, 7]);
  });
});
