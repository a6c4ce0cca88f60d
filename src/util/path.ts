// POSIX path helpers shared by the planner and the linter (pure).

/** Go's `path.Clean`: collapse `//`, `.` and `..`; keeps a leading `/`, drops a trailing one; "" → ".". */
export function cleanPath(p: string): string {
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const body = out.join("/");
  return rooted ? `/${body}` : body || ".";
}
