// The context walker (edge): lstat every path under the context root in Go WalkDir order
// (names sorted per directory, depth first), applying .dockerignore the way BuildKit's
// fsutil does: excluded directories are skipped unless an exception can re-include
// something inside, parents of re-included paths are still listed.
import * as nodeFs from "node:fs";
import { TbuildError } from "../util/index.js";
import type { MatchInfo, PatternMatcher } from "./ignore.js";
import { rawLstatReader, StatsLstatReader, type LstatDir, type LstatReader } from "./lstat-reader.js";
import { EntryTable, typeOf } from "./entry-table.js";
import { compareNames, type ContextEntry } from "./tree-hash.js";

/** The file-system calls the walker makes (node:fs by default; tests may wrap them). */
export interface WalkFs {
  readdirSync(path: string): string[];
  lstatSync(path: string, opts: { bigint: true }): nodeFs.BigIntStats;
  readlinkSync(path: string): string;
  readlinkSync(path: string, opts: { encoding: "buffer" }): Buffer;
}

export interface WalkOptions {
  /**
   * Exclude filters (.dockerignore). Several are stacked: a path is excluded if any
   * filter excludes it; one filter's `!` exception cannot re-include another's exclusion.
   */
  readonly exclude?: readonly PatternMatcher[];
  /** Include filter: only matching paths (and their parents) are listed. */
  readonly include?: PatternMatcher;
  /** The file-system calls to make; default node:fs, with lstat through the raw reader where this Node allows it (lstat-reader.ts). */
  readonly fs?: WalkFs;
  readonly signal?: AbortSignal;
}

/**
 * Walk `root` and return its entries (the root itself excluded) in WalkDir order.
 * Uses synchronous lstat: on Linux a sync walk of 20,000 files costs ~50 ms where the
 * promise API costs ~600 ms. Throws E_CONTEXT_NOT_FOUND if `root` is not a directory,
 * E_IO (message includes "permission denied") for an unreadable directory that is not
 * excluded; an excluded unreadable directory is skipped silently, as in fsutil.
 */
export function walkContext(root: string, opts: WalkOptions = {}): ContextEntry[] {
  return walkEntryTable(root, opts).entries();
}

/** walkContext's entries as an EntryTable (no object or path string per entry). */
export function walkEntryTable(root: string, opts: WalkOptions = {}): EntryTable {
  const fs = opts.fs ?? (nodeFs as unknown as WalkFs);
  const lstat: LstatReader = (opts.fs ? undefined : rawLstatReader()) ?? new StatsLstatReader(fs);
  // A filter without patterns never matches: skip it (most contexts have no .dockerignore).
  const layers = (opts.exclude ?? []).filter((m) => m.patterns.length > 0);
  const include = opts.include;
  const filtered = layers.length > 0 || include !== undefined;
  let st: nodeFs.BigIntStats;
  try {
    st = fs.lstatSync(root, { bigint: true });
  } catch (e) {
    throw new TbuildError("E_CONTEXT_NOT_FOUND", `build context not found: ${root}`, { cause: e });
  }
  if (!st.isDirectory()) throw new TbuildError("E_CONTEXT_NOT_FOUND", `build context is not a directory: ${root}`);
  const noInfo: MatchInfo[] = [];
  const table = new EntryTable();

  // A folder the filters exclude is still listed when something below it is kept (it is
  // added first and dropped again if nothing followed it), as fsutil lists parents.
  const walkDir = (abs: string, rel: string, self: number, exInfo: MatchInfo[], incInfo: MatchInfo, emitted: boolean) => {
    opts.signal?.throwIfAborted();
    let names: string[];
    try {
      names = fs.readdirSync(abs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === "EACCES" || code === "EPERM") && !emitted) return;
      throw new TbuildError("E_IO", `${code === "EACCES" || code === "EPERM" ? "permission denied" : "cannot read directory"}: ${rel || "."}`, { cause: e, hint: "make the directory readable or list it in .dockerignore" });
    }
    sortNames(names);
    const prefix = rel ? `${rel}/` : "";
    const absPrefix = `${abs}/`;
    const dir = lstat.dir(absPrefix);
    for (const name of names) {
      const mode = lstatChild(lstat, dir, name, prefix);
      const isDir = (mode & 0o170000) === 0o040000;
      // Paths are built for the filters and for folders only: a file's is made from its
      // folder's when its entry object is asked for.
      const childRel = filtered || isDir ? prefix + name : "";
      let excluded = false;
      let childEx = noInfo;
      let blocking: PatternMatcher[] | undefined;
      if (layers.length > 0) {
        childEx = [];
        for (let i = 0; i < layers.length; i++) {
          const m = layers[i]!;
          const r = m.matchesUsingParentResults(childRel, exInfo[i]);
          childEx.push(r.info);
          if (r.matched) {
            excluded = true;
            (blocking ??= []).push(m);
          }
        }
      }
      let included = true;
      let childInc: MatchInfo;
      if (include) {
        const r = include.matchesUsingParentResults(childRel, incInfo);
        included = r.matched;
        childInc = r.info;
      }
      const kept = included && !excluded;
      if (!isDir) {
        if (kept) addEntry(table, fs, absPrefix, prefix, name, self, mode, lstat);
        continue;
      }
      if (excluded && !blocking!.every((m) => m.mayReincludeBelow(childRel))) continue;
      const at = addEntry(table, fs, absPrefix, prefix, name, self, mode, lstat);
      walkDir(absPrefix + name, childRel, at, childEx, childInc, kept);
      if (!kept && table.length === at + 1) table.dropLast();
    }
  };
  walkDir(root, "", -1, layers.map(() => undefined), undefined, true);
  return table;
}

/**
 * Sort names by code point (compareNames). JS's default sort compares UTF-16 code units,
 * which agrees unless a name holds a surrogate pair; the native sort is several times
 * faster than a JS comparator, so it is used when no name has one.
 */
function sortNames(names: string[]): void {
  // libuv's scandir returns names sorted by bytes, which is code-point order: most
  // directories need only this one pass, which allocates nothing.
  const order = plainOrder(names);
  if (order === IN_ORDER) return;
  if (order === UNSORTED) names.sort();
  else names.sort(compareNames);
}
const IN_ORDER = 0;
/** Out of UTF-16 order, and no surrogate: the native sort gives code-point order. */
const UNSORTED = 1;
/** Some name holds a surrogate: only compareNames gives code-point order. */
const SURROGATES = 2;

/** How `names` stand: ascending by UTF-16 code unit, not, or holding a surrogate (checked in every name). */
function plainOrder(names: readonly string[]): number {
  let order = IN_ORDER;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (i > 0 && !(names[i - 1]! < name)) order = UNSORTED;
    for (let k = 0; k < name.length; k++) {
      const c = name.charCodeAt(k);
      if (c >= 0xd800 && c <= 0xdfff) return SURROGATES;
    }
  }
  return order;
}

/**
 * lstat a child found by readdir. A name that is not valid UTF-8 reaches JS with U+FFFD in
 * place of its bad bytes, so the path no longer names the file: say so instead of ENOENT.
 */
function lstatChild(lstat: LstatReader, dir: LstatDir, name: string, prefix: string): number {
  try {
    return lstat.lstatChild(dir, name);
  } catch (e) {
    const rel = prefix + name;
    if ((e as NodeJS.ErrnoException).code === "ENOENT" && rel.includes("\ufffd")) {
      throw new TbuildError("E_CONTEXT_NOT_FOUND", `a name in the build context is not valid UTF-8: ${JSON.stringify(rel)}`, { cause: e, hint: "rename it: tbuild reads UTF-8 names only" });
    }
    throw e;
  }
}

/**
 * A symlink's target as text. A target that is not valid UTF-8 reaches JS with U+FFFD in
 * place of its bad bytes: two different targets would hash alike and the layer would hold
 * neither, so it is refused, as a name is (the raw bytes are read only when U+FFFD shows).
 */
function linkTarget(fs: WalkFs, absPrefix: string, prefix: string, name: string): string {
  const target = fs.readlinkSync(absPrefix + name);
  if (target.includes("\ufffd") && !fs.readlinkSync(absPrefix + name, { encoding: "buffer" }).equals(Buffer.from(target))) {
    throw new TbuildError("E_CONTEXT_NOT_FOUND", `a symlink's target in the build context is not valid UTF-8: ${JSON.stringify(`${prefix}${name} -> ${target}`)}`, { hint: "point it at a UTF-8 path: tbuild reads UTF-8 targets only" });
  }
  return target;
}

/** Add the entry of the child just lstat-ed (with its stamp; `prefix`: its folder's context path and "/", for errors); returns its index. */
function addEntry(table: EntryTable, fs: WalkFs, absPrefix: string, prefix: string, name: string, parent: number, st: number, lstat: LstatReader): number {
  lstat.pushStamp(table.stamps);
  const type = typeOf(st);
  if (type === "file") return table.add(name, parent, st, lstat.size());
  if (type === "symlink") return table.add(name, parent, st, 0, { linkTarget: linkTarget(fs, absPrefix, prefix, name) });
  if (type === "char-device" || type === "block-device") {
    // Linux dev_t encoding (glibc gnu_dev_major / gnu_dev_minor).
    const r = lstat.rdev();
    const devMajor = Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn));
    const devMinor = Number((r & 0xffn) | ((r >> 12n) & ~0xffn));
    return table.add(name, parent, st, 0, { devMajor, devMinor });
  }
  return table.add(name, parent, st, 0);
}
