// The worker thread's entry for range copies (range-copy.ts), started by blobs.ts's pool.
// Runs compiled, from dist/src/store/range-copy-worker.js.
import { copyRangeToFile } from "./range-copy.js";
import { serveJobs } from "./worker-serve.js";

serveJobs(copyRangeToFile);
