// What the archive codecs need from the outside world, passed in (STYLE.md example 8):
// a streaming SHA-256 and a gunzip. The CLI wires node:crypto and node:zlib in.
import type { Digest } from "../../util/index.js";
import type { RandomAccessInput } from "../transport.js";

export interface StreamingHash {
  update(bytes: Uint8Array): void;
  /** The final `sha256:<hex>`; call once. */
  digest(): Digest;
}

export interface ArchiveCodecDeps {
  createHash(): StreamingHash;
  /** Decompress a gzip byte stream (all members). */
  gunzip(src: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>;
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

/** Read into `buf` from `position` until it is full or the file ends; the bytes read. */
export async function readFully(input: RandomAccessInput, buf: Uint8Array, position: number): Promise<number> {
  let got = 0;
  while (got < buf.length) {
    const n = await input.read(buf.subarray(got), position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** Bytes read from a file range as a stream of fresh 1 MiB chunks, the next one read while the last is consumed. */
export async function* rangeChunks(input: RandomAccessInput, offset: number, size: number): AsyncGenerator<Uint8Array> {
  const CHUNK = 1 << 20;
  const readAt = async (at: number): Promise<Uint8Array> => {
    const buf = new Uint8Array(Math.min(CHUNK, size - at));
    const got = await readFully(input, buf, offset + at);
    return buf.subarray(0, got);
  };
  let next: Promise<Uint8Array> | undefined = size > 0 ? readAt(0) : undefined;
  for (let at = 0; next !== undefined; ) {
    const chunk = await next;
    at += chunk.length;
    next = chunk.length > 0 && at < size ? readAt(at) : undefined;
    next?.catch(() => undefined); // observed on the next turn
    if (chunk.length) yield chunk;
  }
}
