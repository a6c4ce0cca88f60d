// util: errors with locations, ranges, digests, Merkle list digests, canonical JSON, lazy properties, sorted-array search, suggestions, code frames, paths (and symlink-safe resolution inside a root), character classes, image references.
// Pure: no file system, no process, no clock.
export * from "./range.js";
export * from "./errors.js";
export * from "./digest.js";
export * from "./canonical-json.js";
export * from "./suggest.js";
export * from "./code-frame.js";
export * from "./path.js";
export * from "./root-path.js";
export * from "./text.js";
export * from "./reference.js";
export * from "./merkle-list.js";
export * from "./lazy.js";
export * from "./sorted.js";
