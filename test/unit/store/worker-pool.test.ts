// The worker pool (src/store/worker-pool.ts) with a real worker thread
// (test/helpers/pool-test-worker.mjs, over the compiled dist/): jobs run at most `size` at
// once, errors come back as TbuildErrors naming the job's label, a dead worker is
// replaced, an abort stops a running job and drops a queued one, and idle workers never
// keep a process alive.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { WorkerPool, workerScriptUrl } from "../../../src/store/index.js";
import { TbuildError } from "../../../src/util/index.js";
import { tempDirs } from "../../helpers/temp-dirs.js";

const tmp = tempDirs();

/** The jobs test/helpers/pool-test-worker.mjs understands. */
type PoolTestJob = { kind: "echo"; value: number; ms?: number } | { kind: "tbuild-error" } | { kind: "plain-error" } | { kind: "exit" } | { kind: "until-cancelled" };
interface PoolTestResult {
  value: number;
  threadId: number;
}

const SCRIPT = new URL("../../helpers/pool-test-worker.mjs", import.meta.url);
const pools: WorkerPool<PoolTestJob, PoolTestResult>[] = [];
function pool(size: number, idleMs?: number): WorkerPool<PoolTestJob, PoolTestResult> {
  const p = new WorkerPool<PoolTestJob, PoolTestResult>(SCRIPT, { size, ...(idleMs ? { idleMs } : {}) });
  pools.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe("WorkerPool", () => {
  it("runs jobs on at most `size` worker threads and returns each job's own result", async () => {
    const p = pool(2);
    const results = await Promise.all([1, 2, 3, 4, 5].map((value) => p.run({ kind: "echo", value, ms: 20 }, { label: `job ${value}` })));
    expect(results.map((r) => r.value)).toEqual([1, 2, 3, 4, 5]);
    const threads = new Set(results.map((r) => r.threadId));
    expect(threads.size).toBe(2);
    expect(threads.has(0)).toBe(false); // not the main thread
  });

  it("a TbuildError thrown in the worker keeps its code and hint and is prefixed with the label", async () => {
    const err = await pool(1).run({ kind: "tbuild-error" }, { label: "blob blobs/sha256/ab in the archive" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TbuildError);
    expect(err).toMatchObject({ code: "E_ARCHIVE_INVALID", message: "blob blobs/sha256/ab in the archive: size mismatch: expected 2, got 1", hint: "the data is truncated" });
  });

  it("any other error becomes E_IO naming the label", async () => {
    await expect(pool(1).run({ kind: "plain-error" }, { label: "layer 1" })).rejects.toMatchObject({ code: "E_IO", message: "layer 1: EACCES: permission denied" });
  });

  it("a worker that dies fails its job with the label, and the next job gets a new worker", async () => {
    const p = pool(1);
    const first = await p.run({ kind: "echo", value: 1 }, { label: "a" });
    await expect(p.run({ kind: "exit" }, { label: "layer 2" })).rejects.toMatchObject({ code: "E_IO", message: "layer 2: the worker exited with code 3" });
    const next = await p.run({ kind: "echo", value: 3 }, { label: "c" });
    expect(next.value).toBe(3);
    expect(next.threadId).not.toBe(first.threadId);
  });

  it("an abort stops the running job (it sees cancelled()) and drops the queued one; the pool still works", async () => {
    const p = pool(1);
    const ac = new AbortController();
    const running = p.run({ kind: "until-cancelled" }, { label: "big", signal: ac.signal });
    const queued = p.run({ kind: "echo", value: 7 }, { label: "small", signal: ac.signal });
    setTimeout(() => ac.abort(new TbuildError("E_INTERRUPTED", "interrupted by SIGTERM")), 30);
    const [r, q] = await Promise.allSettled([running, queued]);
    expect(r).toMatchObject({ status: "rejected", reason: { code: "E_INTERRUPTED" } });
    expect(q).toMatchObject({ status: "rejected", reason: { code: "E_INTERRUPTED" } });
    expect((await p.run({ kind: "echo", value: 8 }, { label: "after" })).value).toBe(8);
    expect(() => p.run({ kind: "echo", value: 9 }, { label: "late", signal: ac.signal })).toThrow("interrupted by SIGTERM");
  });

  it("close() rejects running and queued jobs", async () => {
    const p = pool(1);
    const running = p.run({ kind: "until-cancelled" }, { label: "big" });
    const queued = p.run({ kind: "echo", value: 1 }, { label: "small" });
    const settled = Promise.allSettled([running, queued]);
    await new Promise((r) => setTimeout(r, 20));
    await p.close();
    const [r, q] = await settled;
    expect(r).toMatchObject({ status: "rejected", reason: { code: "E_INTERNAL", message: "big: the worker pool was closed" } });
    expect(q).toMatchObject({ status: "rejected", reason: { message: "small: the worker pool was closed" } });
  });

  it("idle (and warmed) workers do not keep a process alive", () => {
    const pool = fileURLToPath(new URL("../../../dist/src/store/worker-pool.js", import.meta.url));
    const script = `
      const { WorkerPool } = await import(${JSON.stringify(pool)});
      const p = new WorkerPool(new URL(${JSON.stringify(SCRIPT.href)}), { size: 2, idleMs: 60000 });
      p.warm();
      const r = await p.run({ kind: "echo", value: 5 }, { label: "x" });
      console.log(r.value);`;
    const file = join(tmp("unit-pool"), "one-job.mjs");
    writeFileSync(file, script);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [file], { encoding: "utf8", timeout: 20_000 });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("5");
    expect(r.status).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000); // far below the 60 s idle time
  });
});

describe("workerScriptUrl", () => {
  it("names the compiled sibling, and from a source file the same path under dist/", () => {
    expect(workerScriptUrl("file:///opt/tbuild/dist/src/store/blobs.js", "w.js").href).toBe("file:///opt/tbuild/dist/src/store/w.js");
    expect(workerScriptUrl("file:///opt/tbuild/src/store/blobs.ts", "w.js").href).toBe("file:///opt/tbuild/dist/src/store/w.js");
    expect(() => workerScriptUrl("file:///opt/elsewhere/blobs.ts", "w.js")).toThrow(/cannot locate the compiled worker w.js/);
  });
});
