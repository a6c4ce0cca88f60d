// Reading zstd layers (application/vnd.oci.image.layer.v1.tar+zstd): Node 20's zlib has
// no zstd, so the blocks are decoded by fzstd (pure JS, MIT). A scanner walks the stream's
// structure (RFC 8878 3.1: frames, skippable frames, block headers) as it passes, so that
// (1) every frame's window is checked before fzstd allocates it, (2) input is handed to
// fzstd in slices cut at block ends, each worth at most ~1 MiB of output (fzstd's push is
// synchronous and would otherwise hold a whole chunk's output: RLE blocks make 128 KiB of
// 4 bytes), and (3) a pull learns the first frame's content size from its header.
// fzstd does not check the frames' XXH64 checksums: every caller verifies the plain bytes
// against the layer's diff ID (SHA-256) instead.
import { Decompress } from "fzstd";
import { TbuildError } from "../util/index.js";
import { ZSTD_FRAME_MAGIC, ZSTD_SKIPPABLE_MAGIC } from "../image/index.js";

const MAX_BLOCK = 128 << 10;
/**
 * Largest frame window read. fzstd 0.1.1 reads an offset's extra bits with one 32-bit load
 * shifted by up to 7, so only 25 are sure: an offset of 2^26 or more may come out wrong (a
 * 128 MiB --long=27 window decoded to the wrong bytes here; 32 and 64 MiB ones right). A
 * 32 MiB window keeps every offset within 25 bits, and bounds the decoder's one big buffer.
 * zstd levels 1-19 use at most 8 MiB, as does the Go encoder of containerd, BuildKit and
 * podman/skopeo; only --long or --ultra levels 21-22 go beyond 32 MiB.
 */
export const MAX_ZSTD_WINDOW = 32 << 20;
/** Decoded bytes handed to fzstd per push, at most (plus one block). */
const OUT_PER_PUSH = 1 << 20;
/**
 * Blocks allowed beyond one per KiB of output. fzstd moves its whole window for every
 * block, so a hostile frame of 1-byte blocks with a 32 MiB window costs ~1.5 ms per block
 * (1 MiB of them: ~6 minutes); a real encoder's blocks hold up to 128 KiB each.
 */
const SPARE_BLOCKS = 64;

/** A zstd stream that tbuild cannot decode: invalid, or (`unsupported`) valid but beyond what tbuild reads. */
export class ZstdFormatError extends Error {
  constructor(
    message: string,
    readonly unsupported = false,
  ) {
    super(message);
  }
}

type Phase = "magic" | "frame-header" | "skippable-size" | "block-header" | "payload" | "skip";

/** Walks a zstd stream's structure chunk by chunk (never the compressed block contents). */
export class ZstdScanner {
  /** Header bytes gathered so far (headers may straddle chunks). */
  private readonly hdr = new Uint8Array(18);
  private have = 0;
  private need = 4;
  private phase: Phase = "magic";
  private left = 0;
  private blockMax = 0;
  private blockOut = 0;
  private lastBlock = false;
  private checksum = false;
  /** Frames seen (not counting skippable ones). */
  frames = 0;
  /** The first frame's declared content size: a number, null when it declares none, undefined before its header. */
  firstContentSize: number | null | undefined;

  /**
   * Scan `c`, calling `blockEnd(offset in c, decoded bytes at most)` where each block ends.
   * Throws ZstdFormatError for a stream that is not zstd or uses what tbuild refuses.
   */
  scan(c: Uint8Array, blockEnd: (end: number, out: number) => void): void {
    let i = 0;
    while (i < c.length) {
      if (this.phase === "payload" || this.phase === "skip") {
        const n = Math.min(this.left, c.length - i);
        i += n;
        this.left -= n;
        if (this.left === 0) this.endSkip(i, blockEnd);
        continue;
      }
      const n = Math.min(this.need - this.have, c.length - i);
      this.hdr.set(c.subarray(i, i + n), this.have);
      this.have += n;
      i += n;
      if (this.have === this.need) this.header(i, blockEnd);
    }
  }

  /** Throws unless the stream ended where a frame may end (and held one). */
  finish(): void {
    if (this.phase !== "magic" || this.have !== 0) throw new ZstdFormatError("the stream is truncated");
    if (this.frames === 0) throw new ZstdFormatError("the stream holds no zstd frame");
  }

  private expect(phase: Phase, need: number): void {
    this.phase = phase;
    this.need = need;
    this.have = 0;
  }

  private skip(phase: "payload" | "skip", n: number, at: number, blockEnd: (end: number, out: number) => void): void {
    this.phase = phase;
    this.left = n;
    if (n === 0) this.endSkip(at, blockEnd);
  }

  private endSkip(at: number, blockEnd: (end: number, out: number) => void): void {
    if (this.phase === "skip") return this.expect("magic", 4);
    blockEnd(at, this.blockOut);
    if (!this.lastBlock) return this.expect("block-header", 3);
    if (this.checksum) {
      this.checksum = false;
      return this.skip("skip", 4, at, blockEnd);
    }
    this.expect("magic", 4);
  }

  private header(at: number, blockEnd: (end: number, out: number) => void): void {
    const h = this.hdr;
    switch (this.phase) {
      case "magic": {
        const magic = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
        if ((magic & 0xfffffff0) >>> 0 === ZSTD_SKIPPABLE_MAGIC) return this.expect("skippable-size", 4);
        if (magic !== ZSTD_FRAME_MAGIC) throw new ZstdFormatError(`no zstd frame at a frame boundary (magic ${magic.toString(16).padStart(8, "0")})`);
        this.phase = "frame-header";
        this.need = 5;
        return;
      }
      case "skippable-size":
        return this.skip("skip", (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0, at, blockEnd);
      case "frame-header":
        return this.frameHeader();
      case "block-header": {
        const v = h[0]! | (h[1]! << 8) | (h[2]! << 16);
        const type = (v >> 1) & 3;
        const size = v >>> 3;
        this.lastBlock = (v & 1) === 1;
        if (type === 3) throw new ZstdFormatError("a block has the reserved type 3");
        if (size > this.blockMax) throw new ZstdFormatError(`a block of ${size} bytes exceeds the frame's ${this.blockMax}`);
        // Raw: `size` bytes as they are; RLE: one byte repeated `size` times; compressed: `size` bytes in, a block at most out.
        this.blockOut = type === 2 ? this.blockMax : size;
        return this.skip("payload", type === 1 ? 1 : size, at, blockEnd);
      }
      default:
        throw new Error(`unreachable zstd scanner phase ${this.phase}`);
    }
  }

  /** The frame header (RFC 8878 3.1.1.1), gathered in two steps: the descriptor, then the rest. */
  private frameHeader(): void {
    const h = this.hdr;
    const fhd = h[4]!;
    const single = (fhd & 0x20) !== 0;
    const dictBytes = [0, 1, 2, 4][fhd & 3]!;
    const fcsBytes = [single ? 1 : 0, 2, 4, 8][fhd >> 6]!;
    const full = 5 + (single ? 0 : 1) + dictBytes + fcsBytes;
    if (this.need < full) {
      if (fhd & 0x08) throw new ZstdFormatError("a frame header has its reserved bit set");
      this.need = full;
      if (this.have < full) return;
    }
    let o = single ? 5 : 6;
    let window = 0;
    if (!single) {
      const log = 10 + (h[5]! >> 3);
      window = 2 ** log + (2 ** log / 8) * (h[5]! & 7);
    }
    if (dictBytes && readLE(h, o, dictBytes) !== 0) throw new ZstdFormatError("a frame needs a dictionary", true);
    o += dictBytes;
    const fcs = fcsBytes === 0 ? null : readLE(h, o, fcsBytes) + (fcsBytes === 2 ? 256 : 0);
    if (single) window = fcs!;
    if (window > MAX_ZSTD_WINDOW) throw new ZstdFormatError(`a frame's window is ${window} bytes; tbuild reads zstd windows up to ${MAX_ZSTD_WINDOW} (32 MiB)`, true);
    if (this.frames++ === 0) this.firstContentSize = fcs;
    this.blockMax = Math.min(window, MAX_BLOCK);
    this.checksum = (fhd & 0x04) !== 0;
    this.expect("block-header", 3);
  }
}

function readLE(b: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let k = n - 1; k >= 0; k--) v = v * 256 + b[at + k]!;
  return v;
}

/**
 * Decompress a zstd stream (every frame; skippable frames are passed over). Memory stays
 * bounded: the largest window (MAX_ZSTD_WINDOW) plus about 1 MiB of output, and so is the
 * work per byte (SPARE_BLOCKS). A stream that is not valid zstd, or that tbuild refuses,
 * throws `invalid(cause)`; an error of `src` itself passes as is.
 */
export async function* unzstd(src: AsyncIterable<Uint8Array>, invalid: (cause: Error) => Error = (cause) => cause): AsyncGenerator<Uint8Array> {
  const scanner = new ZstdScanner();
  let out: Uint8Array[] = [];
  let decoded = 0;
  let blocks = 0;
  const decoder = new Decompress((c) => {
    if (c.length) out.push(c);
    decoded += c.length;
  });
  const take = () => {
    const o = out;
    out = [];
    return o;
  };
  const input = src[Symbol.asyncIterator]();
  const next = async (): Promise<IteratorResult<Uint8Array>> => {
    try {
      return await input.next();
    } catch (e) {
      throw new SourceError(e);
    }
  };
  try {
    for (let r = await next(); !r.done; r = await next()) {
      const chunk = r.value;
      // Cut after ~1 MiB of output or SPARE_BLOCKS blocks, whichever comes first, so that the
      // work per push stays bounded and the block count is checked between pushes.
      const cuts: { end: number; blocks: number }[] = [];
      let pending = 0;
      let since = 0;
      scanner.scan(chunk, (end, max) => {
        pending += max;
        since++;
        if (pending >= OUT_PER_PUSH || since >= SPARE_BLOCKS) {
          cuts.push({ end, blocks: since });
          pending = 0;
          since = 0;
        }
      });
      const push = (bytes: Uint8Array, blocksIn: number) => {
        decoder.push(bytes);
        blocks += blocksIn;
        if (blocks > SPARE_BLOCKS + decoded / 1024) throw new ZstdFormatError(`${blocks} blocks for ${decoded} bytes of output: too many small blocks (an encoder writes up to 128 KiB a block)`);
      };
      let from = 0;
      for (const { end, blocks: n } of cuts) {
        push(chunk.subarray(from, end), n);
        from = end;
        yield* take();
      }
      if (from < chunk.length) push(chunk.subarray(from), since);
      yield* take();
    }
    scanner.finish();
    decoder.push(new Uint8Array(0), true);
    yield* take();
  } catch (e) {
    if (e instanceof SourceError) throw e.cause;
    if (e instanceof TbuildError) throw e;
    throw invalid(e instanceof Error ? e : new Error(String(e)));
  } finally {
    await input.return?.();
  }
}

/** An error of unzstd's input (a read failed, an abort): not the stream's fault. */
class SourceError {
  constructor(readonly cause: unknown) {}
}

/**
 * The plain size a zstd layer's head claims: its first frame's content size, when the
 * frame header declares one and it can be the whole stream's (zstd adds 3 bytes per block
 * of at most 128 KiB, so the plain bytes are at least ~99.99% of the compressed ones: a
 * smaller claim means more frames follow). Otherwise the compressed size, a lower bound.
 * `head` is the blob's first bytes; the scanner passes over skippable frames in them.
 */
export function provisionalZstdSize(head: Uint8Array, compressedSize: number): number {
  const s = new ZstdScanner();
  try {
    s.scan(head, () => undefined);
  } catch {
    return compressedSize;
  }
  const fcs = s.firstContentSize;
  const floor = Math.max(0, Math.floor(compressedSize * 0.99));
  return typeof fcs === "number" && fcs >= floor ? fcs : compressedSize;
}
