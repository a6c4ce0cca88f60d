// A new file written with O_DIRECT where the file system takes it: the bytes go from the
// caller's buffer to the device without passing through the page cache. range-copy.ts
// writes large layers this way. On this VM, filling the page cache costs kernel time that
// swings 3x between runs (fresh guest pages; `dd conv=fdatasync` of 512 MiB took 0.54-1.77
// s, with `oflag=direct` 0.46-0.60 s), and a blob is fsynced before it is visible anyway,
// so the cache gained nothing. Nothing here makes a file durable: the caller fsyncs it.
import * as fs from "node:fs";

// ES2023 has no WebAssembly types and @types/node declares none globally; this is the one
// member used. Undefined when Node runs with --jitless.
declare const WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } | undefined;

/** O_DIRECT needs buffers, file offsets and lengths aligned to the device's logical block; 4 KiB covers common devices. */
export const DIRECT_ALIGN = 4096;
/**
 * Bytes written the plain way between background fdatasyncs (writeback starts early, so the
 * final fsync has little left); temp-file.ts uses it too.
 */
export const KICK = 32 << 20;

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
 * everything through the plain one, with a background fdatasync every 32 MiB so the
 * caller's final fsync has little left.
 */
export class DirectFile {
  /** The O_DIRECT descriptor, open until close (a write may still be using it). */
  private directFd: number | undefined;
  /** False once the file system refused an O_DIRECT write. */
  private direct = false;
  private sinceKick = 0;
  private readonly kicks: Promise<void>[] = [];

  private constructor(private readonly plain: number) {}

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

  /** Close both descriptors once the background fdatasyncs have ended. */
  async close(): Promise<void> {
    await Promise.all(this.kicks);
    if (this.directFd !== undefined) fs.closeSync(this.directFd);
    fs.closeSync(this.plain);
  }

  private async writePlain(bytes: Uint8Array, position: number): Promise<void> {
    await writeAt(this.plain, bytes, position);
    this.sinceKick += bytes.length;
    if (this.sinceKick >= KICK) {
      this.sinceKick = 0;
      this.kicks.push(new Promise<void>((resolve) => fs.fdatasync(this.plain, () => resolve())));
    }
  }
}

async function writeAt(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    done += await new Promise<number>((resolve, reject) => fs.write(fd, bytes, done, bytes.length - done, position + done, (e, n) => (e ? reject(e) : resolve(n))));
  }
}
