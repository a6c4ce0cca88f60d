// Bytes pushed to a sink piece by piece, each piece valid only until the sink is done with
// it: what a pipe or socket read into one reused buffer gives (no fresh buffer per read).
// The archive reader takes a piped archive this way and hands each large entry on to the
// store the same way; the store writes a blob from it (store/temp-file.ts). Pure.

/** Takes a piece; a returned promise holds the piece (and the source) until it settles. */
export type PieceSink = (piece: Uint8Array) => void | Promise<void>;

/**
 * Bytes a source pushes to a sink: each piece is the sink's only until it returns, or until
 * the promise it returns settles; the source may reuse its bytes after. The source waits for
 * such a promise before the next piece. pushTo resolves after the last piece (and rejects
 * with the source's error, or the sink's).
 */
export interface PushedBytes {
  pushTo(sink: PieceSink): Promise<void>;
}

/** A copy of a piece to keep (not `slice()`, which is a view when the piece is a Buffer). */
export function copyOf(piece: Uint8Array): Uint8Array {
  return new Uint8Array(piece);
}

export function isPushed(data: unknown): data is PushedBytes {
  return typeof (data as Partial<PushedBytes> | undefined)?.pushTo === "function";
}

/** Send every piece of `data` (a stream or pushed bytes) to `sink`, waiting for its promises. */
export async function eachPiece(data: AsyncIterable<Uint8Array> | PushedBytes, sink: PieceSink): Promise<void> {
  if (isPushed(data)) return data.pushTo(sink);
  for await (const chunk of data) {
    const pending = sink(chunk);
    if (pending) await pending;
  }
}

/**
 * A sink that learns the first `n` bytes before it knows where the bytes go: `choose` gets
 * a copy of them (fewer at flush(), which ends a stream shorter than `n`) and returns the
 * sink that takes every byte, those included.
 */
export function sniffing(n: number, choose: (head: Uint8Array) => PieceSink): PieceSink & { flush(): void | Promise<void> } {
  let target: PieceSink | undefined;
  let head = new Uint8Array(0);
  // A copy: `choose` may keep the bytes past this piece, a view of a reused buffer.
  const decide = (bytes: Uint8Array) => (target = choose(copyOf(bytes.subarray(0, n))))(bytes);
  const sink = (piece: Uint8Array): void | Promise<void> => {
    if (target) return target(piece);
    if (head.length === 0 && piece.length >= n) return decide(piece);
    const more = new Uint8Array(head.length + piece.length);
    more.set(head);
    more.set(piece, head.length);
    head = more;
    return head.length >= n ? decide(head) : undefined;
  };
  return Object.assign(sink, { flush: () => (target || head.length === 0 ? undefined : decide(head)) });
}

/**
 * Pieces relayed from a producer (push, then end or fail) to one consumer, who takes them
 * through pushTo (the producer's pieces themselves) or as an async iterable (copies, a few
 * queued ahead). A push waits for a consumer to come, and for the consumer's promise; a
 * consumer's error fails the relay and reaches the producer.
 */
export class PieceRelay implements PushedBytes, AsyncIterable<Uint8Array> {
  private sink: PieceSink | undefined;
  /** A producer waiting for the consumer to come. */
  private arrival: { resolve(): void; reject(e: unknown): void } | undefined;
  /** Set once the producer ended or something failed. */
  private over: { error?: unknown } | undefined;
  /** The consumer holds a piece (its promise pending): fail() releases the producer waiting on it. */
  private holding: ((e: unknown) => void) | undefined;
  private readonly done: Promise<void>;
  private settle!: { resolve(): void; reject(e: unknown): void };

  constructor() {
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => undefined); // observed by the consumer's pushTo, when there is one
  }

  /** Hand `piece` to the consumer; a promise holds it until the consumer is done with it. */
  push(piece: Uint8Array): void | Promise<void> {
    if (this.over) throw this.over.error ?? new Error("the relay has ended");
    if (!this.sink) return new Promise<void>((resolve, reject) => (this.arrival = { resolve, reject })).then(() => this.push(piece));
    let pending: void | Promise<void>;
    try {
      pending = this.sink(piece);
    } catch (e) {
      this.fail(e);
      throw e;
    }
    if (!pending) return undefined;
    return new Promise<void>((resolve, reject) => {
      this.holding = reject;
      pending.then(
        () => {
          this.holding = undefined;
          resolve();
        },
        (e: unknown) => {
          this.holding = undefined;
          this.fail(e);
          reject(e);
        },
      );
    });
  }

  /** The last piece was pushed. */
  end(): void {
    if (this.over) return;
    this.over = {};
    this.settle.resolve();
  }

  /** The bytes cannot all come (or the consumer failed): the consumer's pushTo rejects with `error`. */
  fail(error: unknown): void {
    if (this.over) return;
    this.over = { error };
    this.settle.reject(error);
    this.arrival?.reject(error);
    // A consumer that gave up (its decompressor failed) may never settle the piece it holds.
    this.holding?.(error);
  }

  pushTo(sink: PieceSink): Promise<void> {
    if (this.sink) return Promise.reject(new Error("the relayed bytes are already being read"));
    this.sink = sink;
    this.arrival?.resolve();
    return this.done;
  }

  [Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    return copiesOf(this, () => this.fail(new Error("the reader of the relayed bytes stopped")));
  }
}

/**
 * Pushed bytes as an async iterable of copies, for readers that keep chunks (gunzip), a few
 * queued ahead; a reader that leaves early calls `stop` (which MUST end the pushing).
 */
export async function* copiesOf(data: PushedBytes, stop: () => void): AsyncGenerator<Uint8Array> {
  const AHEAD = 4;
  const queue: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  let room: (() => void) | undefined;
  let over: { error?: unknown } | undefined;
  data
    .pushTo((piece) => {
      queue.push(copyOf(piece));
      wake?.();
      // Hold the source while the reader is AHEAD chunks behind.
      if (queue.length >= AHEAD) return new Promise<void>((resolve) => (room = resolve));
    })
    .then(
      () => ((over = {}), wake?.()),
      (error: unknown) => ((over = { error }), wake?.()),
    );
  try {
    for (;;) {
      const next = queue.shift();
      if (next) {
        room?.();
        yield next;
      } else if (over) {
        if (over.error !== undefined) throw over.error;
        return;
      } else await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    if (!over) stop();
    room?.();
  }
}
