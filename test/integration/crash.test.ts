// Crash consistency (DESIGN.md "Layers and the store": a crash at any point leaves a store
// that still reads and loses no tagged image). Builds of a multi-step Dockerfile are
// SIGKILLed (the whole process group, as a CI runner cancelling a job does) at seeded
// random moments; after each, `tbuild store check` must be clean or repairable with no tag
// lost, and the same build run again must succeed and reuse every step the killed run
// finished. bench/crash.mjs runs 50 of these. Also: SIGINT exits 130 and leaves no temp.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cachedSteps, finishedSteps, killGroup, makeStore, prng, startBuild, storeCheck, tb, writeContext } from "./crash-helpers.js";

const KILLS = 8;
let work: string;
let root: string;
let fullMs = 0;

beforeAll(async () => {
  ({ work, root } = await makeStore("tbuild-crash-"));
  // A complete build first: a tagged image that must survive every kill, and the timing.
  const r = await startBuild(root, writeContext(work, "base"), "keep:1").done;
  if (r.code !== 0) throw new Error(`first build failed: ${r.stderr}`);
  // The time a build like the killed ones takes (base snapshot warm, first RUN cached).
  const t0 = Date.now();
  const w = await startBuild(root, writeContext(work, "warm"), "warm:1").done;
  fullMs = Date.now() - t0;
  if (w.code !== 0) throw new Error(`warm build failed: ${w.stderr}`);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("crash consistency: SIGKILL mid-build", () => {
  it(`survives ${KILLS} kills at random moments: store check clean (or repaired, no tag lost), rebuild reuses finished steps`, async () => {
    const rand = prng(1234);
    const summary: string[] = [];
    let midBuild = 0;
    for (let k = 0; k < KILLS; k++) {
      const ctx = writeContext(work, `k${k}`);
      const run = startBuild(root, ctx, `crash:${k}`);
      const at = Math.floor((0.05 + rand() * 0.9) * fullMs);
      const timer = setTimeout(() => killGroup(run.child), at);
      const killed = await run.done;
      clearTimeout(timer);
      if (killed.signal === "SIGKILL") midBuild++;
      const before = finishedSteps(killed.events).filter((n) => !/\] FROM /.test(n));

      let check = storeCheck(root);
      let repaired = false;
      if (check.code !== 0) {
        // Only repairable leftovers are allowed; a repair must leave nothing behind.
        expect(check.report.problems.filter((p) => !p.repairable)).toEqual([]);
        check = storeCheck(root, true);
        repaired = true;
        expect(check.report.remaining).toBe(0);
      }
      expect(check.report.problems.filter((p) => p.kind === "broken-image")).toEqual([]);
      expect(tb(root, ["inspect", "keep:1"]).code).toBe(0);

      const again = await startBuild(root, ctx, `crash:${k}`).done;
      expect(again.code, again.stderr).toBe(0);
      const cached = cachedSteps(again.events);
      for (const step of before) expect(cached, `kill #${k} at ${at} ms: ${step} finished before the kill`).toContain(step);
      summary.push(`kill #${k} at ${at} ms (${killed.signal ?? killed.code}): ${before.length} steps finished, ${cached.length} cached on rebuild${repaired ? ", repaired" : ""}`);
    }
    const final = storeCheck(root);
    expect(final.report.problems).toEqual([]);
    expect(final.code).toBe(0);
    console.log(summary.join("\n"));
    // Most kills must land inside a build, not after it.
    expect(midBuild).toBeGreaterThanOrEqual(KILLS / 2);
  }, 240_000);
});

describe("Ctrl-C: SIGINT during a build", () => {
  it("exits 130, leaves no temporary files, and the store checks clean with the finished steps cached", async () => {
    const ctx = writeContext(work, "sigint");
    const run = startBuild(root, ctx, "sigint:1");
    // Interrupt during the slow RUN (the 2 MiB dd or the sleep).
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (existsSync(join(root, "tbuild", "scratch")) && readdirSync(join(root, "tbuild", "scratch")).some((n) => n.startsWith(`step-${run.child.pid}-`))) {
          clearInterval(poll);
          resolve();
        }
      }, 5);
      void run.done.then(() => {
        clearInterval(poll);
        resolve();
      });
    });
    run.child.kill("SIGINT");
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    const tmp = join(root, "tbuild", "tmp");
    expect(readdirSync(tmp).filter((n) => n.includes(`${run.child.pid}-`))).toEqual([]);
    const scratch = join(root, "tbuild", "scratch");
    if (existsSync(scratch)) expect(readdirSync(scratch).filter((n) => n.includes(`${run.child.pid}`))).toEqual([]);
    const mounts = (await import("node:fs")).readFileSync("/proc/self/mountinfo", "utf8");
    expect(mounts.includes(root)).toBe(false);
    const check = storeCheck(root);
    expect(check.report.problems).toEqual([]);
    const finished = finishedSteps(r.events).filter((n) => !/\] FROM /.test(n));
    const again = await startBuild(root, ctx, "sigint:1").done;
    expect(again.code, again.stderr).toBe(0);
    for (const step of finished) expect(cachedSteps(again.events)).toContain(step);
  }, 60_000);
});
