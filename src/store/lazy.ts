// The store's maintenance and compression code (gc, check, usage, gzip) loads on first call:
// every command imports store/index.ts, and most of them (images, tag, a no-change build)
// never prune, check, size or compress anything. Each wrapper has its module's signature.
import type * as Check from "./check.js";
import type * as Compress from "./compress.js";
import type * as Gc from "./gc.js";
import type * as Usage from "./usage.js";

export const collectGarbage: typeof Gc.collectGarbage = async (...a) => (await import("./gc.js")).collectGarbage(...a);
export const liveBlobs: typeof Gc.liveBlobs = async (...a) => (await import("./gc.js")).liveBlobs(...a);
export const cleanTemp: typeof Gc.cleanTemp = async (...a) => (await import("./gc.js")).cleanTemp(...a);
export const checkStore: typeof Check.checkStore = async (...a) => (await import("./check.js")).checkStore(...a);
export const diskUsage: typeof Usage.diskUsage = async (...a) => (await import("./usage.js")).diskUsage(...a);
export const compressLayer: typeof Compress.compressLayer = async (...a) => (await import("./compress.js")).compressLayer(...a);

export async function* gzipParallel(...a: Parameters<typeof Compress.gzipParallel>): AsyncGenerator<Uint8Array> {
  yield* (await import("./compress.js")).gzipParallel(...a);
}
