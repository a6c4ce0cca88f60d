// A new file written with O_DIRECT where the file system takes it: the bytes go from the
// caller's buffer to the device without passing through the page cache. Load's range
// copies (range-copy.ts) and pull's big layers (temp-file.ts) are written this way, through
// a ChunkWriter. On this VM, filling the page cache costs kernel time that
// swings 3x between runs (fresh guest pages; `dd conv=fdatasync` of 512 MiB took 0.54-1.77
// s, with `oflag=direct` 0.46-0.60 s), and a blob is fsynced before it is visible anyway,
// so the cache gained nothing. Nothing here makes a file durable: the caller fsyncs it.
import * as fs from "node:fs";
import { Writeback } from "./writeback.js";

// ES2023 has no WebAssembly types and @types/node declares none globally; this is the one
// member used. Undefined when Node runs with --jitless.
declare const WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } | undefined;

/** O_DIRECT needs buffers, file offsets and lengths aligned to the device's logical block; 4 KiB covers common devices. */
export const DIRECT_ALIGN = 4096;
/**
 * `count` buffers of `size` bytes (a multiple of 64 KiB) that O_DIRECT can write from, or
 * undefined when none can be made. Buffer.allocUnsafe's memory is 16-byte aligned at best;
 * WebAssembly memory is page-aligned.
 */
export function alignedBuffers(count: number, size: number): Uint8Array[] | undefined {
  if (typeof WebAssembly === "undefined" || size % 65536 !== 0) return undefined;
  const memory = new WebAssembly.Memory({ initial: (count * size) / 65536 }).buffer;
  return Array.from({ length: count }, (_, i) => new Uint8Array(memory, i * size, size));
}

/**
 * A file created for writing at offsets. With `direct`, whole 4 KiB blocks at aligned
 * offsets go through an O_DIRECT descriptor and the rest (a blob's last partial block)
 * through a plain one; a file system that refuses O_DIRECT (at open or at a write) gets
 * everything through the plain one, with early writeback (writeback.ts) so the caller's
 * final fsync has little left.
 */
export class DirectFile {
  /** The O_DIRECT descriptor, open until close (a write may still be using it). */
  private directFd: number | undefined;
  /** False once the file system refused an O_DIRECT write. */
  private direct = false;
  /** Early writeback of what goes the plain way; sync() checks its errors. */
  private readonly writeback: Writeback;

  private constructor(private readonly plain: number) {
    this.writeback = new Writeback(plain);
  }

  /**
   * Create `path` (it MUST NOT exist; a failure leaves none); `direct` asks for O_DIRECT,
   * which the caller's buffers MUST then allow (alignedBuffers).
   */
  static create(path: string, direct: boolean): DirectFile {
    const f = new DirectFile(fs.openSync(path, "wx", 0o644));
    if (direct) {
      try {
        f.directFd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_DIRECT);
        f.direct = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EINVAL") {
          fs.closeSync(f.plain);
          fs.rmSync(path, { force: true });
          throw e;
        }
      }
    }
    return f;
  }

  /** Whether writes still go around the page cache. */
  get isDirect(): boolean {
    return this.direct;
  }

  /** Write all of `chunk` at `position` (on the libuv pool). `chunk` MUST stay unchanged until this settles. */
  async write(chunk: Uint8Array, position: number): Promise<void> {
    const whole = this.direct && position % DIRECT_ALIGN === 0 ? chunk.length - (chunk.length % DIRECT_ALIGN) : 0;
    if (whole > 0) {
      try {
        await writeAt(this.directFd!, chunk.subarray(0, whole), position);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EINVAL") throw e;
        this.direct = false; // the device wants a larger alignment: the plain way from now on
        return this.write(chunk, position);
      }
    }
    if (whole < chunk.length) await this.writePlain(chunk.subarray(whole), position + whole);
  }

  /** Wait for the background fdatasync; throw the error one met (the bytes may not be on the disk). */
  check(): Promise<void> {
    return this.writeback.check();
  }

  /** fsync the file (every write MUST have settled). */
  async sync(): Promise<void> {
    await this.check();
    await new Promise<void>((resolve, reject) => fs.fsync(this.plain, (e) => (e ? reject(e) : resolve())));
  }

  /** Close both descriptors once the background fdatasync has ended. */
  async close(): Promise<void> {
    await this.writeback.settle();
    if (this.directFd !== undefined) fs.closeSync(this.directFd);
    fs.closeSync(this.plain);
  }

  private async writePlain(bytes: Uint8Array, position: number): Promise<void> {
    const written = writeAt(this.plain, bytes, position);
    this.writeback.wrote(bytes.length, written);
    await written;
  }

}

/**
 * Bytes per write: the largest request this virtio disk takes (max_sectors_kb 4096); on the
 * 512 MiB load bench 4 MiB beat 1 MiB and 8 MiB with O_DIRECT writes.
 */
export const CHUNK = 4 << 20;
/** Writes in flight while the caller fills the next chunk (a direct write waits for the device). */
const WRITES_IN_FLIGHT = 2;
/** Buffer rings (WRITES_IN_FLIGHT + 1 chunks) not in use, reused by the next file on this thread. */
const spareRings: Uint8Array[][] = [];

/**
 * A new file written front to back in CHUNK-sized pieces through a DirectFile: the caller
 * fills the buffer `next()` gives and hands it back with `write(n)`; up to two writes run
 * on the libuv pool while it fills the next one. Buffers are page-aligned when they can be
 * (alignedBuffers), so whole chunks go around the page cache. Load's range copies and
 * pull's downloads write their big blobs this way.
 */
export class ChunkWriter {
  private readonly writes: Promise<void>[] = [];
  private slot = 0;
  /** Bytes handed to write() so far. */
  size = 0;

  private constructor(
    readonly path: string,
    private readonly file: DirectFile,
    private readonly ring: Uint8Array[],
    private readonly aligned: boolean,
  ) {}

  /** Create `path` (it MUST NOT exist; a failure leaves none). */
  static create(path: string): ChunkWriter {
    const aligned = spareRings.pop() ?? alignedBuffers(WRITES_IN_FLIGHT + 1, CHUNK);
    try {
      const file = DirectFile.create(path, aligned !== undefined);
      return new ChunkWriter(path, file, aligned ?? Array.from({ length: WRITES_IN_FLIGHT + 1 }, () => new Uint8Array(CHUNK)), aligned !== undefined);
    } catch (e) {
      if (aligned) spareRings.push(aligned);
      throw e;
    }
  }

  /** The buffer to fill next (CHUNK bytes), once no more than one other write is in flight. */
  async next(): Promise<Uint8Array> {
    if (this.writes.length >= WRITES_IN_FLIGHT) await this.writes.shift();
    return this.ring[this.slot % this.ring.length]!;
  }

  /** Start writing the first `n` bytes of the buffer `next()` gave, after everything before; they MUST stay unchanged until the next `next()`, flush or close. */
  write(n: number): void {
    const w = this.file.write(this.ring[this.slot++ % this.ring.length]!.subarray(0, n), this.size);
    w.catch(() => undefined); // observed in turn
    this.writes.push(w);
    this.size += n;
  }

  /**
   * Every byte written (a failed write rejects), and the background writeback of them
   * checked: a caller that fsyncs through another descriptor (range-copy.ts) would not
   * learn of a writeback error this one saw.
   */
  async flush(): Promise<void> {
    while (this.writes.length) await this.writes.shift();
    await this.file.check();
  }

  /** fsync the file, after a flush. */
  sync(): Promise<void> {
    return this.file.sync();
  }

  /** Wait for every write, whether it failed or not, close the file and give the buffers back. */
  async close(): Promise<void> {
    await Promise.allSettled(this.writes);
    this.writes.length = 0;
    await this.file.close();
    if (this.aligned) spareRings.push(this.ring);
  }
}

async function writeAt(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    done += await new Promise<number>((resolve, reject) => fs.write(fd, bytes, done, bytes.length - done, position + done, (e, n) => (e ? reject(e) : resolve(n))));
  }
}
