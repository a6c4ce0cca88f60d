// A worker for test/unit/store/worker-pool.test.ts, run as plain JavaScript against the
// compiled dist/ (worker threads cannot load TypeScript): each job kind exercises one path
// of the pool (a result, a TbuildError, a plain error, a crash, a cancel, a slow job).
import { threadId } from "node:worker_threads";
import { JobCancelled, serveJobs } from "../../dist/src/store/index.js";
import { TbuildError } from "../../dist/src/util/index.js";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

serveJobs(async (job, cancelled) => {
  switch (job.kind) {
    case "echo":
      if (job.ms) await sleep(job.ms);
      return { value: job.value, threadId };
    case "tbuild-error":
      throw new TbuildError("E_ARCHIVE_INVALID", "size mismatch: expected 2, got 1", { hint: "the data is truncated" });
    case "plain-error":
      throw new Error("EACCES: permission denied");
    case "exit":
      process.exit(3);
      break;
    case "until-cancelled":
      while (!cancelled()) await sleep(2);
      throw new JobCancelled("stopped");
    default:
      throw new Error(`unknown job ${job.kind}`);
  }
});
