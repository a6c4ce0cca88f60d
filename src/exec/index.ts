// exec: one build step's file-system work: layer tars, diffs, safe extraction, snapshots
// and the RUN sandbox. The build engine (src/build) drives it; it knows nothing of the store.
export type { Change } from "./changes.js";
export { WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from "./changes.js";
export { writeLayer, type LayerResult, type WriteLayerOptions } from "./layer.js";
export { extractTar, type ExtractOptions, type ExtractResult } from "./safe-extract.js";
