// A pipe or socket given by its descriptor (the stdin of `docker save img | tbuild load`),
// read into one reused buffer (a net.Socket's `onread`, which works on pipes too) and pushed
// to a sink piece by piece (image/pushed.ts): no fresh Buffer and no Readable machinery per
// read. The reads are what the pipe holds (64 KiB at most with Linux's default pipe size).
import { Socket, type SocketConstructorOpts } from "node:net";
import type { PushedBytes } from "../image/index.js";

/** The buffer every read lands in. */
const READ_BUFFER = 1 << 20;

/**
 * The bytes of the pipe `fd`, pushed once: while the sink's promise is pending the pipe is
 * not read (its writer waits); a sink that throws or rejects stops the reading and rejects
 * pushTo. The socket owns `fd`: it closes it at the end, unless it is 0-2 (libuv leaves the
 * standard descriptors open).
 */
export function pushedReads(fd: number): PushedBytes {
  return {
    pushTo: (sink) =>
      new Promise<void>((resolve, reject) => {
        let failed = false;
        const fail = (e: unknown) => {
          if (failed) return;
          failed = true;
          socket.destroy();
          reject(e);
        };
        const onRead = (n: number, buf: Uint8Array): boolean => {
          if (failed) return false;
          let pending: void | Promise<void>;
          try {
            pending = sink(buf.subarray(0, n));
          } catch (e) {
            fail(e);
            return false;
          }
          if (!pending) return true;
          pending.then(() => void (failed || socket.resume()), fail);
          return false;
        };
        // net.Socket takes `onread` as net.connect does (Node's net.js); @types/node lists it for connect only.
        const options: SocketConstructorOpts & { onread: { buffer: Uint8Array; callback: typeof onRead } } = { fd, readable: true, writable: false, onread: { buffer: Buffer.allocUnsafe(READ_BUFFER), callback: onRead } };
        const socket = new Socket(options);
        socket.on("error", fail);
        socket.on("end", () => failed || resolve());
      }),
  };
}
