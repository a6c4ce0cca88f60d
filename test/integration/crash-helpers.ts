// Shared by crash.test.ts, concurrency.test.ts and the hostile store suites: the crash
// harness of test/helpers/crash-kit.mjs (shared with bench/crash.mjs) bound to the compiled
// CLI, and a store with busybox:test imported.
import { fileURLToPath } from "node:url";
import { crashKit } from "../helpers/crash-kit.mjs";
export { makeStore } from "../helpers/fixtures.js";
export { CRASH_DOCKERFILE, cachedSteps, finishedSteps, killGroup, parseEvents, prng, writeContext, type BuildRun, type CheckJson, type ProgressEvent } from "../helpers/crash-kit.mjs";

export const CLI = fileURLToPath(new URL("../../dist/src/cli/main.js", import.meta.url));
export const { tb, startBuild, storeCheck } = crashKit(CLI);
