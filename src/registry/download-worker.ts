// A worker thread of a pull (worker-download.ts starts it): it runs download jobs
// (download-job.ts), so hashing and HTTP parsing of big layers use more than one core.
// It loads the store through store/worker.ts, not index.ts: 12 of our modules in all
// (when it loaded 8 this way, a worker's boot took ~33 ms of CPU; through index.ts's 44,
// ~72; an empty worker's ~28).
import { serveJobs } from "../store/worker.js";
import { cancellableDownload } from "./download-job.js";

serveJobs(cancellableDownload);
