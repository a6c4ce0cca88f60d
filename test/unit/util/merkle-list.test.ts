// MerkleList against RFC 6962's recursive definition over chunks of MERKLE_CHUNK items (each
// leaf the chunk as a JSON array), written out here with node:crypto, after random
// sequences of the changes the planner makes (set, push, splice), digested at random
// points (changes are hashed lazily, so when digest() runs must not matter).
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MERKLE_CHUNK, MerkleList, merkleDigest } from "../../../src/util/index.js";

const sha = (...parts: (Buffer | string)[]): Buffer => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};

/** RFC 6962 §2.1: MTH({}) = SHA-256(), MTH({d}) = SHA-256(0x00 ‖ d), else split at the largest power of two < n. */
function mth(list: readonly Buffer[]): Buffer {
  if (list.length === 0) return sha("");
  if (list.length === 1) return sha(Buffer.from([0]), list[0]!);
  let k = 1;
  while (k * 2 < list.length) k *= 2;
  return sha(Buffer.from([1]), mth(list.slice(0, k)), mth(list.slice(k)));
}

const expected = (list: readonly string[]): string => {
  const chunks: Buffer[] = [];
  for (let i = 0; i < list.length; i += MERKLE_CHUNK) chunks.push(Buffer.from(JSON.stringify(list.slice(i, i + MERKLE_CHUNK))));
  return `sha256:${mth(chunks).toString("hex")}`;
};

/** A small deterministic generator (the failing case must be reproducible). */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

describe("MerkleList", () => {
  it("matches RFC 6962's known value for the empty list; a short list is one leaf", () => {
    expect(new MerkleList().digest()).toBe("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(new MerkleList(["A=1", "B=2"]).digest()).toBe(`sha256:${sha(Buffer.from([0]), '["A=1","B=2"]').toString("hex")}`);
  });

  it("equals the recursive definition for every length up to 9 chunks", () => {
    const items = Array.from({ length: 9 * MERKLE_CHUNK + 3 }, (_, i) => `K${i}=v${i}`);
    const list = new MerkleList();
    for (let n = 0; n <= items.length; n++) {
      expect(list.digest(), `n=${n}`).toBe(expected(items.slice(0, n)));
      expect(new MerkleList(items.slice(0, n)).digest()).toBe(expected(items.slice(0, n)));
      expect(merkleDigest(items.slice(0, n)), `merkleDigest n=${n}`).toBe(expected(items.slice(0, n)));
      if (n < items.length) list.push(items[n]!);
    }
  });

  it("follows random sets, pushes and splices, whenever it is digested", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const model: string[] = [];
      const list = new MerkleList();
      for (let step = 0; step < 400; step++) {
        const op = model.length === 0 ? 0 : r(4);
        const text = `v${seed}.${step}=${"x".repeat(r(5))}`;
        if (op === 0) {
          model.push(text);
          list.push(text);
        } else if (op === 1) {
          const i = r(model.length);
          model[i] = text;
          list.set(i, text);
        } else if (op === 2) {
          const i = r(model.length);
          const del = r(Math.min(40, model.length - i) + 1);
          const ins = Array.from({ length: r(40) }, (_, j) => `${text}${j}`);
          model.splice(i, del, ...ins);
          list.splice(i, del, ...ins);
        } else {
          expect(list.digest(), `seed ${seed} step ${step}`).toBe(expected(model));
        }
        expect(list.length).toBe(model.length);
      }
      expect(list.digest(), `seed ${seed} end`).toBe(expected(model));
    }
  });

  it("tells lists apart by order and by where one item ends", () => {
    const d = (l: string[]): string => new MerkleList(l).digest();
    expect(d(["A=1", "B=2"])).not.toBe(d(["B=2", "A=1"]));
    expect(d(["A=1", "B=2"])).not.toBe(d(["A=1B=2"]));
    expect(d(["A=1", "B=2"])).not.toBe(d(['A=1","B=2']));
    expect(d(["A=1"])).not.toBe(d(["A=1", ""]));
  });
});
