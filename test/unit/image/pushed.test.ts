// Pushed bytes (image/pushed.ts): the sniffing sink that decides on a piped archive's first
// bytes, and the relay that hands a large entry's pieces from the archive reader to the store.
import { describe, expect, it } from "vitest";
import { PieceRelay, sniffing } from "../../../src/image/index.js";

const bytes = (...xs: number[]) => new Uint8Array(xs);

describe("sniffing", () => {
  it("gathers the first bytes from pieces shorter than it needs, then sends every byte on in order", () => {
    const got: number[] = [];
    const heads: Uint8Array[] = [];
    const sink = sniffing(2, (head) => {
      heads.push(Uint8Array.from(head));
      return (p) => void got.push(...p);
    });
    for (const p of [bytes(0x1f), bytes(0x8b, 8), bytes(9)]) sink(p);
    expect(heads).toEqual([bytes(0x1f, 0x8b)]); // a copy of exactly the first 2
    expect(got).toEqual([0x1f, 0x8b, 8, 9]);
  });

  it("decides on a stream shorter than it needs at flush, and not at all on an empty one", () => {
    const heads: Uint8Array[] = [];
    const short = sniffing(2, (head) => (heads.push(Uint8Array.from(head)), () => undefined));
    short(bytes(7));
    expect(heads).toEqual([]);
    void short.flush();
    expect(heads).toEqual([bytes(7)]);
    const empty = sniffing(2, () => {
      throw new Error("never chosen");
    });
    expect(empty.flush()).toBeUndefined();
  });
});

describe("PieceRelay", () => {
  it("holds a push until the consumer comes, and hands it the pieces themselves", async () => {
    const relay = new PieceRelay();
    const piece = bytes(1, 2, 3);
    const pushed = relay.push(piece);
    const seen: Uint8Array[] = [];
    const done = relay.pushTo((p) => void seen.push(p));
    await pushed;
    relay.end();
    await done;
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBe(piece);
  });

  it("as an iterable, yields copies: the producer may scribble over its buffer once a push returns", async () => {
    const relay = new PieceRelay();
    const reading = (async () => {
      const out: number[] = [];
      for await (const c of relay) out.push(...c);
      return out;
    })();
    const reused = Buffer.alloc(3);
    for (let i = 0; i < 10; i++) {
      reused.fill(i);
      await relay.push(reused);
      reused.fill(0xee);
    }
    relay.end();
    expect(await reading).toEqual(Array.from({ length: 10 }, (_, i) => [i, i, i]).flat());
  });

  it("a consumer's error reaches the producer, and a producer's failure the consumer", async () => {
    const relay = new PieceRelay();
    const done = relay.pushTo(async () => {
      throw new Error("disk full");
    });
    await expect(relay.push(bytes(1))).rejects.toThrow("disk full");
    await expect(done).rejects.toThrow("disk full");
    expect(() => relay.push(bytes(2))).toThrow("disk full");

    const cut = new PieceRelay();
    const waiting = cut.push(bytes(1)); // no consumer yet
    cut.fail(new Error("the pipe broke off"));
    await expect(waiting).rejects.toThrow("the pipe broke off");
    await expect(cut.pushTo(() => undefined)).rejects.toThrow("the pipe broke off");
  });
});
