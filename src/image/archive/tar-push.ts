// Reads a tar archive from pushed pieces (pushed.ts: a pipe read into one reused buffer, or
// any stream), front to back: headers are decoded as indexTar decodes them
// (TarHeaderDecoder), and each entry's body goes to the sink its handler gives, as views of
// the pieces (header blocks and PAX or long-name bodies are copied; bodies never are).
import { BLOCK, TarHeaderDecoder, TarIndexError, paddedSize, type TarIndexEntry } from "./tar-index.js";

export type TarEntryHeader = Omit<TarIndexEntry, "offset">;

/** Where an entry's body goes: its pieces in order (each valid until `piece` is done with it), then the end. */
export interface TarBodySink {
  piece(bytes: Uint8Array): void | Promise<void>;
  end(): void | Promise<void>;
}

export class TarPushParser {
  private readonly headers = new TarHeaderDecoder();
  private readonly block = new Uint8Array(BLOCK);
  /** Bytes of the header block gathered so far. */
  private filled = 0;
  /** A PAX or long-name body being gathered, and how much of it has come. */
  private meta: Uint8Array | undefined;
  private metaAt = 0;
  /** The current entry's body sink (undefined: its body is skipped). */
  private body: TarBodySink | undefined;
  /** Body bytes still to come, then padding bytes to skip after them. */
  private left = 0;
  private pad = 0;
  private padAfter = 0;

  /** `onEntry` says where each entry's body goes (undefined: nowhere). */
  constructor(private readonly onEntry: (entry: TarEntryHeader) => TarBodySink | undefined) {}

  /** The last entry's name, to say where a broken archive broke. */
  get at(): string {
    return this.headers.last;
  }

  /**
   * The next piece of the archive; a promise when a body sink holds it (the caller MUST wait
   * for it before the next piece). Throws TarIndexError for a malformed header.
   */
  write(piece: Uint8Array): void | Promise<void> {
    return this.from(piece, 0);
  }

  /** The archive ended: throws TarIndexError if it ended inside a header or a body. */
  end(): void {
    if (this.filled > 0 || this.left > 0) throw new TarIndexError("it is truncated", this.headers.last);
  }

  private from(piece: Uint8Array, at: number): void | Promise<void> {
    while (at < piece.length) {
      if (this.left > 0) {
        const n = Math.min(this.left, piece.length - at);
        this.left -= n;
        const pending = this.take(piece.subarray(at, at + n));
        at += n;
        if (pending) return pending.then(() => this.from(piece, at));
      } else if (this.pad > 0) {
        const n = Math.min(this.pad, piece.length - at);
        this.pad -= n;
        at += n;
      } else {
        const n = Math.min(BLOCK - this.filled, piece.length - at);
        this.block.set(piece.subarray(at, at + n), this.filled);
        this.filled += n;
        at += n;
        if (this.filled < BLOCK) continue;
        this.filled = 0;
        const pending = this.header();
        if (pending) return pending.then(() => this.from(piece, at));
      }
    }
    return undefined;
  }

  /** A whole header block: start the entry (or the PAX/long-name body) it announces. */
  private header(): void | Promise<void> {
    const step = this.headers.block(this.block);
    if (step.kind === "zero") return undefined;
    const size = step.kind === "meta" ? step.size : step.entry.size;
    this.padAfter = paddedSize(size) - size;
    if (step.kind === "meta") {
      this.meta = new Uint8Array(size);
      this.metaAt = 0;
    } else this.body = this.onEntry(step.entry);
    this.left = size;
    return size === 0 ? this.finish() : undefined;
  }

  /** Body bytes of the current entry or meta header. */
  private take(part: Uint8Array): void | Promise<void> {
    if (this.meta) {
      this.meta.set(part, this.metaAt);
      this.metaAt += part.length;
    } else if (this.body) {
      const pending = this.body.piece(part);
      if (pending && this.left === 0) return pending.then(() => this.finish());
      if (pending) return pending;
    }
    return this.left === 0 ? this.finish() : undefined;
  }

  /** The body is complete. */
  private finish(): void | Promise<void> {
    this.pad = this.padAfter;
    const meta = this.meta;
    const body = this.body;
    this.meta = this.body = undefined;
    if (meta) return this.headers.meta(meta);
    return body?.end();
  }
}
