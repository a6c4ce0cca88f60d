// The context walker (edge): lstat every path under the context root in Go WalkDir order
// (names sorted per directory, depth first), applying .dockerignore the way BuildKit's
// fsutil does: excluded directories are skipped unless an exception can re-include
// something inside, parents of re-included paths are still listed.
import * as nodeFs from "node:fs";
import { TbuildError } from "../util/index.js";
import type { MatchInfo, PatternMatcher } from "./ignore.js";
import { rawLstatReader, StatsLstatReader, type LstatDir, type LstatReader } from "./lstat-reader.js";
import { StampTable } from "./stamps.js";
import { compareNames, type ContextEntry, type EntryType, type FileStamp } from "./tree-hash.js";

/** The file-system calls the walker makes (node:fs by default; tests may wrap them). */
export interface WalkFs {
  readdirSync(path: string): string[];
  lstatSync(path: string, opts: { bigint: true }): nodeFs.BigIntStats;
  readlinkSync(path: string): string;
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
  const fs = opts.fs ?? (nodeFs as unknown as WalkFs);
  const lstat: LstatReader = (opts.fs ? undefined : rawLstatReader()) ?? new StatsLstatReader(fs);
  // A filter without patterns never matches: skip it (most contexts have no .dockerignore).
  const layers = (opts.exclude ?? []).filter((m) => m.patterns.length > 0);
  const include = opts.include;
  const out: ContextEntry[] = [];
  const pending: ContextEntry[] = [];
  const emit = (e: ContextEntry) => {
    if (pending.length > 0) {
      for (const p of pending) out.push(p);
      pending.length = 0;
    }
    out.push(e);
  };
  let st: nodeFs.BigIntStats;
  try {
    st = fs.lstatSync(root, { bigint: true });
  } catch (e) {
    throw new TbuildError("E_CONTEXT_NOT_FOUND", `build context not found: ${root}`, { cause: e });
  }
  if (!st.isDirectory()) throw new TbuildError("E_CONTEXT_NOT_FOUND", `build context is not a directory: ${root}`);
  const noInfo: MatchInfo[] = [];
  const stamps = new StampTable(1024);

  const walkDir = (abs: string, rel: string, exInfo: MatchInfo[], incInfo: MatchInfo, emitted: boolean) => {
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
      const childRel = prefix + name;
      const mode = lstatChild(lstat, dir, name, childRel);
      const type = typeOf(mode);
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
      const self = included && !excluded;
      if (type !== "dir") {
        if (self) emit(makeEntry(fs, absPrefix, name, childRel, type, mode, lstat, stamps));
        continue;
      }
      if (excluded && !blocking!.every((m) => m.mayReincludeBelow(childRel))) continue;
      const entry = makeEntry(fs, absPrefix, name, childRel, type, mode, lstat, stamps);
      if (self) emit(entry);
      else pending.push(entry);
      walkDir(absPrefix + name, childRel, childEx, childInc, self);
      if (pending[pending.length - 1] === entry) pending.pop();
    }
  };
  walkDir(root, "", layers.map(() => undefined), undefined, true);
  return out;
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
 * The entry type from st_mode as a number: BigIntStats' isFile() and friends do bigint
 * masking (an allocation each), which costs more than the lstat's JS wrapper here.
 */
function typeOf(mode: number): EntryType {
  switch (mode & 0o170000) {
    case 0o100000: return "file";
    case 0o040000: return "dir";
    case 0o120000: return "symlink";
    case 0o010000: return "fifo";
    case 0o140000: return "socket";
    case 0o020000: return "char-device";
    default: return "block-device";
  }
}

/**
 * lstat a child found by readdir. A name that is not valid UTF-8 reaches JS with U+FFFD in
 * place of its bad bytes, so the path no longer names the file: say so instead of ENOENT.
 */
function lstatChild(lstat: LstatReader, dir: LstatDir, name: string, rel: string): number {
  try {
    return lstat.lstatChild(dir, name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" && rel.includes("\ufffd")) {
      throw new TbuildError("E_CONTEXT_NOT_FOUND", `a name in the build context is not valid UTF-8: ${JSON.stringify(rel)}`, { cause: e, hint: "rename it: tbuild reads UTF-8 names only" });
    }
    throw e;
  }
}

function makeEntry(fs: WalkFs, absPrefix: string, name: string, path: string, type: EntryType, st: number, lstat: LstatReader, stamps: StampTable): ContextEntry {
  const mode = st & 0o7777;
  const row = lstat.pushStamp(stamps);
  switch (type) {
    case "file":
      return new WalkedEntry(path, type, mode, lstat.size(), stamps, row);
    case "symlink":
      return new WalkedEntry(path, type, mode, 0, stamps, row, fs.readlinkSync(absPrefix + name));
    case "char-device":
    case "block-device": {
      // Linux dev_t encoding (glibc gnu_dev_major / gnu_dev_minor).
      const r = lstat.rdev();
      const devMajor = Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn));
      const devMinor = Number((r & 0xffn) | ((r >> 12n) & ~0xffn));
      return new WalkedEntry(path, type, mode, 0, stamps, row, undefined, devMajor, devMinor);
    }
    default:
      return new WalkedEntry(path, type, mode, 0, stamps, row);
  }
}

/**
 * A walked entry: plain data fields, and its stamp kept as a row of the walk's StampTable
 * (built as an object only when `stamp` is read). The file-hash cache looks rows up in
 * place through `stampRow`.
 */
export class WalkedEntry implements ContextEntry {
  // Fields are declared, not defined (ES2022 class fields would define each as undefined
  // first): a file then carries no undefined linkTarget and device numbers, which makes
  // 20,000 entries ~30% smaller; they outlive a young-generation GC or two.
  declare readonly path: string;
  declare readonly type: EntryType;
  declare readonly mode: number;
  declare readonly size: number;
  declare readonly linkTarget?: string;
  declare readonly devMajor?: number;
  declare readonly devMinor?: number;
  readonly #stamps: StampTable;
  readonly #row: number;

  constructor(path: string, type: EntryType, mode: number, size: number, stamps: StampTable, row: number, linkTarget?: string, devMajor?: number, devMinor?: number) {
    this.path = path;
    this.type = type;
    this.mode = mode;
    this.size = size;
    if (linkTarget !== undefined) this.linkTarget = linkTarget;
    if (devMajor !== undefined) {
      this.devMajor = devMajor;
      this.devMinor = devMinor;
    }
    this.#stamps = stamps;
    this.#row = row;
  }

  get stamp(): FileStamp {
    return this.#stamps.get(this.#row);
  }

  /** The table holding `e`'s stamp, if `e` came from walkContext. */
  static stampTable(e: ContextEntry): StampTable | undefined {
    return #row in e ? e.#stamps : undefined;
  }

  /** The row of `e`'s stamp in its table (-1 if `e` did not come from walkContext). */
  static stampRow(e: ContextEntry): number {
    return #row in e ? e.#row : -1;
  }
}
