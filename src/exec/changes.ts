// The change list: what one build step did to a root file system, as diff.ts finds it and
// layer.ts writes it. Paths are relative, slash-separated, without a leading or trailing
// slash ("etc/passwd"); the file's metadata and bytes are read from a source directory.

/**
 * One change to a tree.
 * - `add` / `modify`: the entry at `path` in the source directory is written as it is.
 * - `delete`: `path` existed below and is gone; written as an OCI whiteout `.wh.<name>`.
 * - `opaque`: the directory at `path` replaces the one below entirely (it was removed and
 *   re-created); written as the directory plus `.wh..wh..opq`. Its new children are
 *   listed as their own `add` changes.
 */
export interface Change {
  readonly kind: "add" | "modify" | "delete" | "opaque";
  readonly path: string;
}

/** The OCI whiteout prefix and opaque marker (image-spec layer.md "Whiteouts"). */
export const WHITEOUT_PREFIX = ".wh.";
export const WHITEOUT_OPAQUE = ".wh..wh..opq";

/**
 * Compare two relative paths so a parent sorts before its children and siblings sort by
 * name, except that a directory's opaque marker comes first among its children (an
 * extractor must clear the lower contents before it writes the new ones).
 */
export function comparePaths(a: string, b: string): number {
  const as = a.split("/");
  const bs = b.split("/");
  const n = Math.min(as.length, bs.length);
  for (let i = 0; i < n; i++) {
    const x = as[i]!;
    const y = bs[i]!;
    if (x === y) continue;
    if (x === WHITEOUT_OPAQUE) return -1;
    if (y === WHITEOUT_OPAQUE) return 1;
    return x < y ? -1 : 1;
  }
  return as.length - bs.length;
}

/** Split "a/b/c" into its parent "a/b" ("" for top-level entries) and its name "c". */
export function splitPath(p: string): { parent: string; name: string } {
  const i = p.lastIndexOf("/");
  return i < 0 ? { parent: "", name: p } : { parent: p.slice(0, i), name: p.slice(i + 1) };
}
