// What main.ts and run.ts share, kept apart so that neither imports the other.
import { homedir } from "node:os";
import { join } from "node:path";
import type { CliIO } from "./io.js";

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** The store folder: --root, else $TBUILD_ROOT, else $XDG_DATA_HOME/tbuild, else ~/.local/share/tbuild. */
export function defaultRoot(env: CliIO["env"]): string {
  if (env.TBUILD_ROOT) return env.TBUILD_ROOT;
  const data = env.XDG_DATA_HOME || join(env.HOME || homedir(), ".local", "share");
  return join(data, "tbuild");
}
