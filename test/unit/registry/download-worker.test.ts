// The pull's download worker (src/registry/download-worker.ts, compiled, on a real worker
// thread through the store's WorkerPool) against a node:http server: a job writes the
// body into a file of its folder and reports its digest and last 4 bytes; a cancelled job
// leaves no file, however late the cancel is seen.
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { closeFronts, listen } from "../../helpers/http-front.js";
import { tempDirs } from "../../helpers/temp-dirs.js";
import { WorkerPool, workerScriptUrl } from "../../../src/store/index.js";
import type { DownloadJob, DownloadOutcome } from "../../../src/registry/download-job.js";

const tmp = tempDirs();
const SCRIPT = workerScriptUrl(new URL("../../../src/registry/download-worker.ts", import.meta.url).href, "./download-worker.js");
const BODY = randomBytes(64 * 1024);
const pools: WorkerPool<DownloadJob, DownloadOutcome>[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});
afterAll(() => closeFronts());

async function setup(): Promise<{ pool: WorkerPool<DownloadJob, DownloadOutcome>; job: DownloadJob }> {
  const host = await listen((_req, res) => res.writeHead(200, { "content-length": String(BODY.length) }).end(BODY));
  const pool = new WorkerPool<DownloadJob, DownloadOutcome>(SCRIPT, { size: 1 });
  pools.push(pool);
  return { pool, job: { url: `http://${host}/blob`, headers: {}, dir: tmp("dlw"), size: BODY.length } };
}

describe("download worker", () => {
  it("writes the whole body into a file of the job's folder, with its digest and last 4 bytes", async () => {
    const { pool, job } = await setup();
    const out = await pool.run(job, { label: "blob" });
    expect(out).toMatchObject({ kind: "written", size: BODY.length, digest: `sha256:${createHash("sha256").update(BODY).digest("hex")}` });
    const written = out as Extract<DownloadOutcome, { kind: "written" }>;
    expect(Buffer.from(written.tail)).toEqual(BODY.subarray(-4));
    expect(readFileSync(written.path)).toEqual(BODY);
    expect(readdirSync(job.dir)).toHaveLength(1);
  });

  it("a cancel the worker sees only once the file is written (a short body, read before the next poll) removes the file", async () => {
    const { pool, job } = await setup();
    const stop = new AbortController();
    // The job is posted at once: the cancel flag is up before the worker reads the job, and
    // the 64 KiB body ends long before the first 50 ms poll would abort the request.
    const running = pool.run(job, { label: "blob", signal: stop.signal });
    stop.abort(new Error("interrupted"));
    await expect(running).rejects.toThrow("interrupted");
    expect(readdirSync(job.dir)).toEqual([]);
  });
});
