// image: references, media types, config/manifest/index types and builders, the transport
// contract. Pure except archive/ (the tar codecs), which is imported directly by edges.
export * from "./reference.js";
export * from "./media-types.js";
export * from "./types.js";
export * from "./manifest.js";
export * from "./platform.js";
export * from "./transport.js";
export * from "./random-access.js";
export * from "./pushed.js";
export * from "./changes.js";
// The archive codecs (tar-stream) are a second entry point, image/archive/index.ts, for the
// edge folders only, so that pure importers of image/ never load tar-stream.
