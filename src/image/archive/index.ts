// image/archive: the tar codecs (docker-archive, OCI archive, rootfs import) as transport
// sources and destinations over byte streams. No file-system paths: the edges pass streams
// and the hashing/gunzip functions in.
export * from "./deps.js";
export { ArchiveSource, normalizeEntryName, type ArchiveFormat, type ArchiveInput, type ArchiveSourceOptions } from "./reader.js";
export { ArchiveDestination, type ArchiveWriterOptions } from "./writer.js";
export { ImportSource, type ImportOptions } from "./import.js";
