// build/: the orchestrator (BuildKit's solver). Plans a build, walks the plan's stages as a
// DAG (key → cache lookup → exec → commit layer → history), writes the image into the
// store, and reports typed progress events for the CLI to render.
export { buildImage, hostPlatform, normaliseTags, type BuildOptions, type BuildResult, type DryRunStep } from "./build.js";
export type { BuildEvent, ProgressSink, StepInfo } from "./progress.js";
export { CacheIndex, type CacheRecord, type PlanRecord, type PlanRecordStep } from "./cache-index.js";
export type { SecretSource } from "./run.js";
export { pruneSnapshots, type CleanupResult } from "./cleanup.js";
export { exportBuildCache, pushBuiltImage, type RemoteOptions } from "./remote-cache.js";
