// The build context (edge): open a directory with its Dockerfile, pick the ignore file
// (`<Dockerfile>.dockerignore` beside the Dockerfile wins over `.dockerignore`), walk it,
// and answer the planner's and executor's questions: what is in it, what a COPY source
// selects, and the content hash of a selection (via the persistent file-hash cache).
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { TbuildError, type Digest } from "../util/index.js";
import { FileHashCache } from "./file-hash-cache.js";
import { hashFiles, type HashFilesStats } from "./hash-files.js";
import { PatternMatcher, readIgnoreFile } from "./ignore.js";
import { WalkedEntry, type EntryTable } from "./entry-table.js";
import { entryTableKey, hashEntryTable, type EntryDigests } from "./entry-tree-hash.js";
import { EntryIndex, normalizeSource, selectSources, type SelectedRoot, type Selection, type SelectOptions } from "./select.js";
import { hashTree, type ContextEntry, type FileRecord, type FileStamp, type StringHasher } from "./tree-hash.js";
import { walkEntryTable, type WalkFs } from "./walk.js";

export interface OpenContextOptions {
  /** The Dockerfile: absolute, or relative to the context directory. Default `Dockerfile`. */
  readonly dockerfile?: string;
  /** Folder of the persistent file-hash cache (the store passes one under its root). Default: in memory only. */
  readonly cacheDir?: string;
  /** Large files hashed in parallel (default 4). */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  /** File-system calls of the walker (tests). */
  readonly fs?: WalkFs;
}

/** Where the Dockerfile and the ignore file in effect are. */
export interface DockerfileLocation {
  /** Absolute path of the Dockerfile (it may lie outside the context). */
  readonly dockerfile: string;
  /** Absolute path of the ignore file used, or undefined if there is none. */
  readonly ignoreFile: string | undefined;
}

/** One selected context entry and the record its cache key sees. */
export interface HashedFile {
  /** Path relative to the context root. */
  readonly path: string;
  /** Metadata and content digest; `record.path` is relative to its selection root. */
  readonly record: FileRecord;
}

/** The content hash of a selection (DESIGN.md "Cache keys", COPY / ADD). */
export interface SelectionHash {
  /** Covers every root: its destination name, type and tree digest. */
  readonly digest: Digest;
  readonly roots: readonly { readonly source: string; readonly path: string; readonly destName: string; readonly digest: Digest }[];
  /** Every selected entry, in walk order: diff two of these with `diffRecords` to explain a miss. */
  readonly files: readonly HashedFile[];
  readonly stats: HashFilesStats;
}

/** The node:crypto string hasher used at the edge (@noble is ~13× slower). */
export const nodeStringHasher: StringHasher = (text) => `sha256:${createHash("sha256").update(text).digest("hex")}`;

/**
 * Find the Dockerfile and the ignore file that applies to it: `<Dockerfile>.dockerignore`
 * next to the Dockerfile if it exists (used instead of, never merged with,
 * `.dockerignore`), else `<context>/.dockerignore`, else none.
 */
export function resolveDockerfile(contextDir: string, dockerfile = "Dockerfile"): DockerfileLocation {
  const root = resolve(contextDir);
  const df = isAbsolute(dockerfile) ? dockerfile : join(root, dockerfile);
  for (const candidate of [`${df}.dockerignore`, join(root, ".dockerignore")]) {
    try {
      if (statSync(candidate).isFile()) return { dockerfile: df, ignoreFile: candidate };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw new TbuildError("E_IO", `cannot stat ${candidate}: ${(e as Error).message}`, { cause: e });
    }
  }
  return { dockerfile: df, ignoreFile: undefined };
}

/**
 * Open a build context: read the ignore file, walk the directory. Throws
 * E_CONTEXT_NOT_FOUND (no such directory), E_CONTEXT_IGNORE (bad pattern, e.g. a lone `!`).
 * Call `close()` to persist the file-hash cache.
 */
export async function openContext(dir: string, opts: OpenContextOptions = {}): Promise<BuildContext> {
  const loc = resolveDockerfile(dir, opts.dockerfile);
  const root = resolve(dir);
  const text = loc.ignoreFile === undefined ? null : await readFile(loc.ignoreFile, "utf8");
  const patterns = readIgnoreFile(text);
  const matcher = PatternMatcher.compile(patterns, loc.ignoreFile ? relative(root, loc.ignoreFile) || loc.ignoreFile : ".dockerignore");
  const walkOpts = { exclude: [matcher], ...(opts.fs ? { fs: opts.fs } : {}), ...(opts.signal ? { signal: opts.signal } : {}) };
  // The cache file's checksum is computed on libuv's threads while this thread walks.
  const opening = opts.cacheDir ? FileHashCache.open(opts.cacheDir) : undefined;
  let table: EntryTable;
  try {
    table = walkEntryTable(root, walkOpts);
  } catch (e) {
    opening?.catch(() => undefined);
    throw e;
  }
  const cache = opening ? await opening : FileHashCache.memory();
  return new BuildContext(root, loc, patterns, matcher, table, cache, opts);
}

/** An opened build context. Entries are a snapshot taken at open time. */
export class BuildContext {
  readonly root: string;
  readonly dockerfile: string;
  readonly ignoreFile: string | undefined;
  /** The ignore file's patterns as read (comments gone, cleaned). */
  readonly ignorePatterns: readonly string[];
  readonly matcher: PatternMatcher;
  readonly cache: FileHashCache;
  /** The walk's entries as columns; their objects are built on first use of `entries`. */
  private readonly table: EntryTable;
  private entryIndex: EntryIndex | undefined;
  private readonly opts: OpenContextOptions;

  constructor(root: string, loc: DockerfileLocation, patterns: string[], matcher: PatternMatcher, table: EntryTable, cache: FileHashCache, opts: OpenContextOptions) {
    this.root = root;
    this.dockerfile = loc.dockerfile;
    this.ignoreFile = loc.ignoreFile;
    this.ignorePatterns = patterns;
    this.matcher = matcher;
    this.table = table;
    this.cache = cache;
    this.opts = opts;
  }

  /** What the build would send: every entry not excluded, in WalkDir order. */
  get entries(): readonly ContextEntry[] {
    return this.table.entries();
  }

  private get index(): EntryIndex {
    return (this.entryIndex ??= new EntryIndex(this.entries));
  }

  /** Whether .dockerignore excludes `path` (context-relative). Throws E_CONTEXT_ESCAPE for `..` out. */
  isIgnored(path: string): boolean {
    const p = normalizeSource(path);
    return p !== "" && this.matcher.matchesOrParentMatches(p);
  }

  /** The entry at a context path (no symlink following), if the build would send it. */
  entry(path: string): ContextEntry | undefined {
    return this.index.get(normalizeSource(path));
  }

  /** Resolve COPY/ADD sources (see selectSources). */
  select(sources: readonly string[], opts?: SelectOptions): Selection {
    return selectSources(this.index, sources, opts);
  }

  /** The content hash of a selection: only its files are read, unchanged ones never twice. */
  async hashSelection(selection: Selection): Promise<SelectionHash> {
    // The file-hash cache answers first, its digests copied as raw bytes per entry; only
    // what it cannot answer goes to hashFiles. Each root is then hashed on bytes
    // (hashEntryTable); records and digest strings are built only if `files` is read.
    const cache = this.cache;
    const found: EntryDigests[] = [];
    const misses: ContextEntry[] = [];
    const missAt: number[] = [];
    const seen = selection.roots.length > 1 ? new Set<string>() : undefined;
    let cacheHits = 0;
    selection.roots.forEach((r, k) => {
      const n = r.entries.length;
      const got = noDigests(n);
      const words = new Int32Array(got.bytes.buffer);
      for (let i = 0; i < n; i++) {
        const e = r.entries[i]!;
        if (e.type !== "file") continue;
        const table = WalkedEntry.stampTable(e);
        const slot = table ? cache.lookup(table, WalkedEntry.stampRow(e)) : e.stamp ? cache.lookupStamp(e.stamp) : -1;
        if (slot < 0) {
          misses.push(e);
          missAt.push(k, i);
        } else {
          cache.copyDigest(slot, words, 8 * i);
          got.has[i] = 1;
          if (!seen || !seen.has(e.path)) cacheHits++;
        }
        seen?.add(e.path);
      }
      found.push(got);
    });
    const stats = await this.hashMisses(misses, missAt, found, cacheHits);
    const roots = selection.roots.map((r, k) => {
      const digest = hashWalkedRoot(cache, r, found[k]!) ?? hashTree(rootRecords(r, found[k]!), nodeStringHasher).digest;
      return { source: r.source, path: r.path, destName: r.destName, digest };
    });
    return selectionHash(roots, () => selection.roots.flatMap((r, k) => r.entries.map((e, i) => new SelectedFile(r.path, e, found[k]!, i))), stats);
  }

  /** The hash of everything the build would send (`COPY . .`). */
  async hashAll(): Promise<SelectionHash> {
    // hashSelection(select(["."])) from the walk's columns: no entry object is built
    // unless a file must be read or `files` is asked for.
    const t = this.table;
    const n = t.length;
    if (n === 0) return this.hashSelection(this.select(["."]));
    const got = noDigests(n);
    const words = new Int32Array(got.bytes.buffer);
    const missRows: number[] = [];
    let cacheHits = 0;
    for (let i = 0; i < n; i++) {
      if (t.type(i) !== "file") continue;
      const slot = this.cache.lookup(t.stamps, i);
      if (slot < 0) missRows.push(i);
      else {
        this.cache.copyDigest(slot, words, 8 * i);
        got.has[i] = 1;
        cacheHits++;
      }
    }
    const entries = missRows.length > 0 ? this.entries : [];
    const stats = await this.hashMisses(
      missRows.map((i) => entries[i]!),
      missRows.flatMap((i) => [0, i]),
      [got],
      cacheHits,
    );
    const digest = memoisedTableDigest(this.cache, t, -1, n, got)!;
    return selectionHash([{ source: ".", path: "", destName: "", digest }], () => this.entries.map((e, i) => new SelectedFile("", e, got, i)), stats);
  }

  /**
   * Read the files the cache could not answer (`misses`; miss m is entry missAt[2m + 1] of
   * root missAt[2m]), put their digests in `found` and record them in the cache.
   */
  private async hashMisses(misses: readonly ContextEntry[], missAt: readonly number[], found: readonly EntryDigests[], cacheHits: number): Promise<HashFilesStats> {
    if (misses.length === 0) return { filesRead: 0, bytesRead: 0, cacheHits };
    const done = await hashFiles(this.root, misses, {
      // Misses were looked up already: hashFiles reads them and records what it read.
      cache: new CacheWriteThrough(this.cache),
      ...(this.opts.concurrency ? { concurrency: this.opts.concurrency } : {}),
      ...(this.opts.signal ? { signal: this.opts.signal } : {}),
    });
    for (let m = 0; m < misses.length; m++) {
      const d = done.digests.get(misses[m]!.path);
      if (d === undefined) continue;
      const got = found[missAt[2 * m]!]!;
      const i = missAt[2 * m + 1]!;
      Buffer.from(got.bytes.buffer, got.bytes.byteOffset, got.bytes.length).write(d.slice(7), 32 * i, 32, "hex");
      got.has[i] = 1;
    }
    return { ...done.stats, cacheHits };
  }

  /**
   * Read a context file. The Dockerfile and the ignore file are readable even when
   * excluded; any other excluded path is E_CONTEXT_NOT_FOUND. Symlinks resolve inside
   * the context only.
   */
  async readFile(path: string): Promise<Buffer> {
    const p = normalizeSource(path);
    const abs = join(this.root, p);
    if (abs === this.dockerfile || abs === this.ignoreFile) return readFile(abs);
    const real = this.index.resolve(p, true);
    const e = real === undefined ? undefined : this.index.get(real);
    if (!e || e.type !== "file") {
      const why = this.isIgnored(p) ? " (excluded by .dockerignore)" : "";
      throw new TbuildError("E_CONTEXT_NOT_FOUND", `${path}: not found in the build context${why}`);
    }
    return readFile(join(this.root, real!));
  }

  /** The Dockerfile's text, read even when .dockerignore excludes it. */
  async readDockerfile(): Promise<string> {
    try {
      return await readFile(this.dockerfile, "utf8");
    } catch (e) {
      throw new TbuildError("E_CONTEXT_NOT_FOUND", `cannot read Dockerfile: ${this.displayPath(this.dockerfile)}`, { cause: e, hint: "pass -f with the Dockerfile's path" });
    }
  }

  /** Persist the file-hash cache (atomically). Safe to call more than once. */
  async close(): Promise<void> {
    await this.cache.save();
  }

  private displayPath(abs: string): string {
    const r = relative(this.root, abs);
    return r.startsWith("..") || isAbsolute(r) ? abs : r.split(sep).join("/");
  }
}

/** Room for the content digests of `n` entries, none present yet. */
function noDigests(n: number): EntryDigests {
  return { bytes: new Uint8Array(32 * n), has: new Uint8Array(n) };
}

/** A selection's hash from its roots' digests; `files` is built by `files` when first read. */
function selectionHash(roots: SelectionHash["roots"], files: () => HashedFile[], stats: HashFilesStats): SelectionHash {
  const digest = nodeStringHasher(`tbuild.context.selection.v1\0${JSON.stringify(roots.map((r) => [r.destName, r.digest]))}`);
  let built: HashedFile[] | undefined;
  return {
    digest,
    roots,
    get files(): HashedFile[] {
      return (built ??= files());
    },
    stats,
  };
}

/**
 * The digest of a selection root from its walk's EntryTable, when its entries are rows of
 * one table; else undefined. A run of rows (what a root without a mid-range --exclude
 * always is) is memoised; rows with gaps are hashed as listed.
 */
function hashWalkedRoot(cache: FileHashCache, r: SelectedRoot, found: EntryDigests): Digest | undefined {
  const n = r.entries.length;
  const first = r.entries[0];
  const t = first && WalkedEntry.entryTable(first);
  if (!t) return undefined;
  const root = r.path === "" ? -1 : first.path === r.path ? WalkedEntry.stampRow(first) : undefined;
  if (root === undefined) return undefined;
  const base = WalkedEntry.stampRow(first);
  let rows: Int32Array | undefined;
  for (let i = 1; i < n; i++) {
    const e = r.entries[i]!;
    if (WalkedEntry.entryTable(e) !== t) return undefined;
    const row = WalkedEntry.stampRow(e);
    if (rows) rows[i] = row;
    else if (row !== base + i) {
      // The first gap: list the rows from here on (those before it are the run).
      rows = new Int32Array(n);
      for (let k = 0; k < i; k++) rows[k] = base + k;
      rows[i] = row;
    }
  }
  if (!rows && (root >= 0 || base === 0)) return memoisedTableDigest(cache, t, root, base + n, found);
  return hashEntryTable(t, root, rows ?? Int32Array.from({ length: n }, (_, k) => base + k), found);
}

/** hashEntryTable, answered from the cache's tree-digest memo when nothing it reads changed. */
function memoisedTableDigest(cache: FileHashCache, t: EntryTable, root: number, end: number, found: EntryDigests): Digest | undefined {
  // hashEntryTable answers only for folders: a file or symlink root (COPY package.json .) would miss every time.
  if (root >= 0 && t.type(root) !== "dir") return undefined;
  const key = entryTableKey(t, root, end, found);
  const known = cache.treeDigest(key);
  if (known !== undefined) return known;
  const digest = hashEntryTable(t, root, end, found);
  if (digest !== undefined) cache.setTreeDigest(key, digest);
  return digest;
}

/** The records of a selection root: paths relative to it, content digests from `found`. */
function rootRecords(r: SelectedRoot, found: EntryDigests): FileRecord[] {
  return r.entries.map((e, i) => recordOf(r.path, e, found, i));
}

/** The record of entry `i` of the root at `rootPath`. */
function recordOf(rootPath: string, e: ContextEntry, found: EntryDigests, i: number): FileRecord {
  const rel = e.path === rootPath ? "" : e.path.slice(rootPath === "" ? 0 : rootPath.length + 1);
  const digest = found.has[i] ? (`sha256:${Buffer.from(found.bytes.buffer, found.bytes.byteOffset + 32 * i, 32).toString("hex")}` as Digest) : undefined;
  return toRecord(e, rel, digest);
}

/**
 * One entry of a hashed selection. Its record (and the digest's hex string) is built when
 * first read: a cached build only lists the paths.
 */
class SelectedFile implements HashedFile {
  readonly path: string;
  readonly #rootPath: string;
  readonly #entry: ContextEntry;
  readonly #found: EntryDigests;
  readonly #index: number;
  #record: FileRecord | undefined;

  constructor(rootPath: string, entry: ContextEntry, found: EntryDigests, index: number) {
    this.path = entry.path;
    this.#rootPath = rootPath;
    this.#entry = entry;
    this.#found = found;
    this.#index = index;
  }

  get record(): FileRecord {
    return (this.#record ??= recordOf(this.#rootPath, this.#entry, this.#found, this.#index));
  }

  toJSON(): HashedFile {
    return { path: this.path, record: this.record };
  }
}

function toRecord(e: ContextEntry, path: string, contentDigest: Digest | undefined): FileRecord {
  // The common shapes built whole (one hidden class each) rather than grown field by field.
  if (e.type === "file" && contentDigest !== undefined) return { path, type: "file", mode: e.mode, uid: 0, gid: 0, size: e.size, contentDigest };
  if (e.type === "dir") return { path, type: "dir", mode: e.mode, uid: 0, gid: 0, size: 0 };
  const r: { -readonly [K in keyof FileRecord]: FileRecord[K] } = { path, type: e.type, mode: e.mode, uid: 0, gid: 0, size: e.type === "file" ? e.size : 0 };
  if (e.linkTarget !== undefined) r.linkTarget = e.linkTarget;
  if (e.devMajor !== undefined) r.devMajor = e.devMajor;
  if (e.devMinor !== undefined) r.devMinor = e.devMinor;
  if (contentDigest) r.contentDigest = contentDigest;
  return r;
}

/**
 * The cache as hashFiles sees it for files already looked up: every lookup misses (so the
 * stats count each lookup once), and what hashFiles reads is stored in the real cache.
 */
class CacheWriteThrough {
  constructor(private readonly cache: FileHashCache) {}
  get(): undefined {
    return undefined;
  }
  set(stamp: FileStamp, digest: Digest, readStartNs: bigint): void {
    this.cache.set(stamp, digest, readStartNs);
  }
}

