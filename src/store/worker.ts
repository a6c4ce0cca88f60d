// store's second entry point, for worker threads of other folders (registry/download-worker.ts):
// serving jobs and writing a verified temporary file, and nothing else. A worker loads its
// own copy of every module it imports; the whole store (index.ts) costs ~40 ms of CPU more
// per worker than this (measured: a worker importing index.ts ~72 ms, this ~33 ms, an empty
// one ~28 ms). Modules exported here MUST NOT import other folders at run time, but for
// image/pushed.ts, which imports nothing.
export { JobCancelled, serveJobs } from "./worker-serve.js";
export { writeVerifiedTemp } from "./temp-file.js";
