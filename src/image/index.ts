// image: references, media types, config/manifest/index types and builders, the transport
// contract. Pure except archive/ (the tar codecs), which is imported directly by edges.
export * from "./reference.js";
export * from "./media-types.js";
export * from "./types.js";
export * from "./manifest.js";
export * from "./platform.js";
export * from "./transport.js";
export * from "./changes.js";
// The archive codecs use tar-stream; pure consumers should import from the files above.
export * from "./archive/index.js";
