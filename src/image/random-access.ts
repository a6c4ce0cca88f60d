// Reading a RandomAccessInput (transport.ts: an open file, or bytes in memory) whole or as
// a stream of ranges. Pure. The archive codecs and the store's blob copies both use these;
// they live here, not in archive/, so the store does not load the tar codecs (tar-stream).
import type { RandomAccessInput } from "./transport.js";

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
