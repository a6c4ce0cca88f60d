// POSIX path helpers shared by the planner, the linter and the edges (pure), and Linux's
// path length limit.

/**
 * The longest path Linux takes (PATH_MAX is 4,096 bytes with the terminating NUL). A WORKDIR
 * beyond it can be neither created nor entered, so the planner refuses it, which also bounds
 * what every later step carries and hashes (9,999 nested relative WORKDIRs made paths of
 * 20,000+ characters: 8 s of planning); a tar entry name beyond it is refused on extract.
 */
export const MAX_PATH_BYTES = 4095;

const encoder = new TextEncoder();

/** Whether `path` is longer than Linux can use (see MAX_PATH_BYTES). */
export function exceedsPathMax(path: string): boolean {
  // UTF-8 takes 1–3 bytes per UTF-16 unit: most paths are decided by their length alone.
  if (path.length > MAX_PATH_BYTES) return true;
  if (path.length * 3 <= MAX_PATH_BYTES) return false;
  return encoder.encode(path).length > MAX_PATH_BYTES;
}

/** The longest leading run of clean segments (none empty, `.` or `..`), with its leading `/`. */
const CLEAN_HEAD = /^\/?(?:(?!\.\.?(?:\/|$))[^/]+(?:\/(?!\.\.?(?:\/|$))[^/]+)*)?/;

/**
 * Go's `path.Clean`: collapse `//`, `.` and `..`; keeps a leading `/`, drops a trailing one; "" → ".".
 * The clean head is kept as it is and only the rest is walked: a relative WORKDIR is
 * cleaned as `<clean previous WORKDIR>/<path>`, and that head may be 4 KiB long.
 */
export function cleanPath(p: string): string {
  const rooted = p.startsWith("/");
  const head = CLEAN_HEAD.exec(p)![0];
  let out = rooted ? head.slice(1) : head; // segments joined by "/", no leading "/"
  if (head.length < p.length) {
    for (const part of p.slice(head.length).split("/")) {
      if (part === "" || part === ".") continue;
      if (part !== "..") out = out === "" ? part : `${out}/${part}`;
      else if (out !== "" && out !== ".." && !out.endsWith("/..")) out = out.slice(0, Math.max(0, out.lastIndexOf("/")));
      else if (!rooted) out = out === "" ? ".." : `${out}/..`;
    }
  }
  return rooted ? `/${out}` : out || ".";
}
