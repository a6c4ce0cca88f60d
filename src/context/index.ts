// context: the build context. Walks a directory honouring .dockerignore (Docker's rules),
// resolves COPY/ADD sources, and content-hashes selections for cache keys, with a
// persistent file-hash cache so an unchanged context costs one lstat per file.
//
// Typical use (planner / build engine):
//
//   const ctx = await openContext(dir, { dockerfile: "Dockerfile", cacheDir: join(storeRoot, "file-hashes") });
//   const text = await ctx.readDockerfile();                  // read even if .dockerignore lists it
//   const sel = ctx.select(["src/", "*.json"], { followSymlinks: true });   // E_CONTEXT_ESCAPE, E_COPY_NO_SOURCE
//   const h = await ctx.hashSelection(sel);                   // h.digest goes into the COPY key preimage
//   diffRecords(before.files.map(f => f.record), h.files.map(f => f.record)) // "src/index.ts changed (content)"
//   await ctx.close();                                         // persists the file-hash cache
//
// Pure parts (ignore.ts, select.ts, tree-hash.ts, glob.ts) are usable without a file system.
export { openContext, resolveDockerfile, nodeStringHasher, BuildContext } from "./context.js";
export type { OpenContextOptions, DockerfileLocation, HashedFile, SelectionHash } from "./context.js";
export { readIgnoreFile, PatternMatcher, IgnorePattern } from "./ignore.js";
export type { MatchInfo } from "./ignore.js";
export { selectSources, normalizeSource, hasWildcards, EntryIndex } from "./select.js";
export type { SelectOptions, SelectedRoot, Selection } from "./select.js";
export { hashTree, recordDigest, recordPreimage, diffRecords, comparePaths, compareNames } from "./tree-hash.js";
export type { ContextEntry, EntryType, FileRecord, FileStamp, StringHasher, TreeHash, RecordDiff, RecordChange } from "./tree-hash.js";
export { walkContext } from "./walk.js";
export type { WalkFs, WalkOptions } from "./walk.js";
export { FileHashCache, RACY_WINDOW_NS } from "./file-hash-cache.js";
export type { FileHashCacheStats } from "./file-hash-cache.js";
export { hashFiles } from "./hash-files.js";
export type { HashFilesOptions, HashFilesStats } from "./hash-files.js";
export { cleanPath, compileGlob, goRegexpToJs, validateGlob, BadPatternError } from "./glob.js";
