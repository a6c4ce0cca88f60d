// The first and last bytes of a blob as it streams past: a gzip layer's trailer ends with
// its plain size (ISIZE, read by the store's provisionalPlainSize), and a zstd layer's first
// frame header may carry it (provisionalZstdSize), so a pull learns it without a second
// pass. Used on the main thread (transfer.ts) and on download workers (download-job.ts),
// which pay for every module they load: this one imports nothing.

/** Bytes a StreamHead keeps: room for a zstd frame header after a small skippable frame. */
export const HEAD_BYTES = 4096;

/** The first HEAD_BYTES of the chunks it was shown, in order (copied: chunks may be reused). */
export class StreamHead {
  private first: Uint8Array = new Uint8Array(0);

  see(chunk: Uint8Array): void {
    if (this.first.length >= HEAD_BYTES || chunk.length === 0) return;
    const more = new Uint8Array(Math.min(HEAD_BYTES, this.first.length + chunk.length));
    more.set(this.first);
    more.set(chunk.subarray(0, more.length - this.first.length), this.first.length);
    this.first = more;
  }

  bytes(): Uint8Array {
    return this.first;
  }
}

/** The last 4 bytes of the chunks it was shown, in order. */
export class StreamTail {
  private last: Uint8Array = new Uint8Array(0);

  /** The stream's next chunk (its last bytes are copied, not viewed: the chunk may be a Buffer whose memory is reused after). */
  see(chunk: Uint8Array): void {
    this.last = chunk.byteLength >= 4 ? new Uint8Array(chunk.subarray(-4)) : Buffer.concat([this.last, chunk]).subarray(-4);
  }

  /** A copy of the last 4 bytes (all of them when the stream had fewer). */
  bytes(): Uint8Array {
    return Uint8Array.from(this.last.subarray(-4));
  }
}
