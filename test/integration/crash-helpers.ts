// Shared by crash.test.ts, concurrency.test.ts and the hostile store suites: the crash
// harness of test/helpers/crash-kit.mjs (shared with bench/crash.mjs) bound to the compiled
// CLI, and a store with busybox:test imported.
import { crashKit } from "../helpers/crash-kit.mjs";
import { CLI } from "../helpers/run-cli.js";
export { makeStore } from "../helpers/fixtures.js";
export { CRASH_DOCKERFILE, cachedSteps, finishedSteps, killGroup, parseEvents, prng, writeContext, type BuildRun, type CheckJson, type ProgressEvent } from "../helpers/crash-kit.mjs";

export { CLI };
export const { tb, startBuild, storeCheck } = crashKit(CLI);
