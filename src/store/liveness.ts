// store/liveness.ts: is the owner of a leftover still around? Temp files, locks, build work
// folders and secret folders carry their creator's pid; mounts inside them must be undone
// before removal. store check, gc, the lock and build's start-up cleanup all ask here.
import { promises as fsp } from "node:fs";

/** Whether process `pid` exists (EPERM: it exists but belongs to another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Mount points of this mount namespace (empty where /proc is not there). */
export async function mountPoints(): Promise<string[]> {
  try {
    const text = await fsp.readFile("/proc/self/mountinfo", "utf8");
    // Field 5 is the mount point, with space, tab, newline and backslash octal-escaped.
    return text.split("\n").filter(Boolean).map((l) => (l.split(" ")[4] ?? "").replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  } catch {
    return [];
  }
}

/** The mount points at or under `dir`, deepest first (read now unless `mounts` is given). */
export async function mountsUnder(dir: string, mounts?: readonly string[]): Promise<string[]> {
  return (mounts ?? (await mountPoints())).filter((m) => m === dir || m.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
}
