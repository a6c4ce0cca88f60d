// The version from package.json. Found by walking up from this module, because the file
// sits at a different depth in each layout: src/cli/ (from source), dist/src/cli/
// (compiled) or dist/bundle/ (the bundle the bin runs, where this is a chunk).
import { readFileSync } from "node:fs";

let cached: string | undefined;

/** The version from package.json, read once. */
export function version(): string {
  return (cached ??= readVersion());
}

function readVersion(): string {
  for (let dir = new URL("./", import.meta.url); ; dir = new URL("../", dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL("package.json", dir), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "tbuild" && pkg.version) return pkg.version;
    } catch {
      // no package.json at this level
    }
    if (dir.pathname === "/") return "0.0.0-unknown";
  }
}
