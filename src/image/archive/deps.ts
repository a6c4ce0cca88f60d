// What the archive codecs need from the outside world, passed in (STYLE.md example 8):
// a streaming SHA-256, a gunzip and a zstd decoder. The CLI wires node:crypto, node:zlib and
// the store's zstd reader in.
import type { Digest } from "../../util/index.js";
import { isZstd } from "../media-types.js";

export interface StreamingHash {
  update(bytes: Uint8Array): void;
  /** The final `sha256:<hex>`; call once. */
  digest(): Digest;
}

export interface ArchiveCodecDeps {
  createHash(): StreamingHash;
  /** Decompress a gzip byte stream (all members). */
  gunzip(src: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>;
  /** Decompress a zstd byte stream (all frames). */
  unzstd(src: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>;
}

/** How a compressed layer reads: its format, for messages, and its decompressor. */
export interface LayerDecompressor {
  readonly format: "gzip" | "zstd";
  stream(src: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>;
}

/** The decompressor for a layer that starts with `first` (gzip or zstd, by magic), or undefined for a plain one. */
export function layerDecompressor(first: Uint8Array | undefined, deps: ArchiveCodecDeps): LayerDecompressor | undefined {
  if (isGzip(first)) return { format: "gzip", stream: (s) => deps.gunzip(s) };
  if (isZstd(first)) return { format: "zstd", stream: (s) => deps.unzstd(s) };
  return undefined;
}

/** Does `b` start with the gzip magic (1f 8b)? */
export function isGzip(b: Uint8Array | undefined): boolean {
  return b !== undefined && b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** Yield `first` then the rest of `it`. */
export async function* prepend(first: Uint8Array | undefined, it: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (first !== undefined && first.length) yield first;
  for (;;) {
    const r = await it.next();
    if (r.done) return;
    yield r.value;
  }
}

/** Read the first non-empty chunk of a stream, returning it and an iterator over the rest. */
export async function peek(src: AsyncIterable<Uint8Array>): Promise<{ first: Uint8Array | undefined; rest: AsyncIterator<Uint8Array> }> {
  const it = src[Symbol.asyncIterator]();
  for (;;) {
    const r = await it.next();
    if (r.done) return { first: undefined, rest: it };
    if (r.value.length) return { first: r.value, rest: it };
  }
}

/** Gunzip when the stream starts with the gzip magic; pass it through otherwise. */
export async function maybeGunzip(src: AsyncIterable<Uint8Array>, deps: ArchiveCodecDeps): Promise<{ stream: AsyncIterable<Uint8Array>; gzipped: boolean }> {
  const { first, rest } = await peek(src);
  const all = prepend(first, rest);
  return isGzip(first) ? { stream: deps.gunzip(all), gzipped: true } : { stream: all, gzipped: false };
}

export async function collect(src: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of src) {
    parts.push(c);
    n += c.length;
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

export function hashBytes(deps: ArchiveCodecDeps, bytes: Uint8Array): Digest {
  const h = deps.createHash();
  h.update(bytes);
  return h.digest();
}
