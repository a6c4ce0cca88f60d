// util: errors with locations, ranges, digests, Merkle list digests, canonical JSON, lazy properties, suggestions, code frames, paths, character classes.
// Pure: no file system, no process, no clock.
export * from "./range.js";
export * from "./errors.js";
export * from "./digest.js";
export * from "./canonical-json.js";
export * from "./suggest.js";
export * from "./code-frame.js";
export * from "./path.js";
export * from "./text.js";
export * from "./merkle-list.js";
export * from "./lazy.js";
