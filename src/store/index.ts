// store: the OCI image layout at a root folder, with tbuild's data beside it. The edge
// between images as values (src/image) and bytes on disk.
export { Store, type PutImageInput, type PutImageResult, type RemoveResult, type PendingImage } from "./store.js";
export { type StoredImage, descriptorTag, namedTag, resolveImage } from "./images.js";
export { storePaths, type StorePaths } from "./layout.js";
export { withLock, type LockOptions } from "./lock.js";
export { mountPoints, mountsUnder, pidAlive } from "./liveness.js";
export type { GcOptions, GcResult } from "./gc.js";
export { StoreDestination } from "./staging.js";
export { StoreSource, copyImages, type SourceImage } from "./store-source.js";
export type { DiskUsage, ImageUsage } from "./usage.js";
export { writeFileAtomic } from "./blobs.js";
export { tempName } from "./temp-file.js";
export { nodeArchiveDeps } from "./node-deps.js";
export type { CheckReport, CheckProblem, CheckProblemKind, CheckOptions } from "./check.js";
export { checkStore, cleanTemp, collectGarbage, compressLayer, diskUsage, gzipParallel, liveBlobs } from "./lazy.js";
export { gunzip, provisionalPlainSize, readLayerRecord, seenBlobs, writeLayerRecord, type LayerRecord, type SeenBlob } from "./layer-records.js";
export { provisionalZstdSize, unzstd } from "./zstd.js";
export { WorkerPool, workerScriptUrl, type JobOptions, type WorkerPoolOptions } from "./worker-pool.js";
export { JobCancelled, serveJobs } from "./worker-serve.js";
