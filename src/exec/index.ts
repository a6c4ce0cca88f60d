// exec: one build step's file-system work: layer tars, diffs, safe extraction, snapshots
// and the RUN sandbox. The build engine (src/build) drives it; it knows nothing of the store.
export type { Change } from "./changes.js";
export { writeLayer, type LayerResult, type WriteLayerOptions } from "./layer.js";
export { extractTar, type ExtractOptions, type ExtractResult } from "./safe-extract.js";
export { diffOverlay, diffTrees, type OverlayDiffInput, type TreeDiffOptions } from "./diff.js";
export { chainIds, Snapshotter, type LayerSource, type PreparedRootfs } from "./snapshotter.js";
export { mountOverlay, unmount, type OverlayDirs } from "./overlay.js";
export { copyTree } from "./tree.js";
export { runStep, type RunStepInput, type RunStepResult } from "./run-step.js";
export type { Runtime, RunRequest, RuntimeName } from "./run/runtime.js";
export { buildRuntimeSpec, DEFAULT_CAPABILITIES, mountTargets, type NetworkMode, type OciSpec, type ProcessSpec, type RunMount, type RunUser, type SpecInput } from "./run/spec.js";
export { CrunRuntime } from "./run/crun.js";
export { RuncRuntime } from "./run/runc.js";
export { UnshareRuntime, type UnshareRuntimeOptions } from "./run/unshare.js";
export { selectRuntime } from "./run/select.js";
export { encodeHeader, endOfArchive, paddingFor, type TarEntryType, type TarHeader } from "./tar-header.js";
export { writeTarStream, type TarSink, type TarStreamOptions } from "./tar-sink.js";
