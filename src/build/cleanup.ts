// build/cleanup.ts: what a killed build leaves behind, removed at the next build's start
// (overlay mounts and scratch folders of dead processes, half-made snapshots, throwaway
// cache-mount copies, secret folders), and `tbuild prune`'s snapshot sweep: a snapshot is
// kept only while every layer of its chain is still a blob in the store.
import { readFile, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { mountsUnder, pidAlive } from "../store/index.js";
import { removeStaleSecretDirs } from "./secrets.js";

/** Folders without a pid in their name are judged by age: older than this is stale. */
const GRACE_MS = 10 * 60_000;

export interface CleanupResult {
  readonly unmounted: number;
  readonly removed: number;
}

/** Whether an overlay mount uses the snapshot at `path` as its lower. */
async function inUse(path: string): Promise<boolean> {
  const text = await readFile("/proc/self/mountinfo", "utf8").catch(() => "");
  return text.includes(`lowerdir=${path}/rootfs`) || (await mountsUnder(path)).length > 0;
}

/** The pid in names like `step-<pid>-…` or `.tmp-<pid>-…`, if any. */
function ownerPid(name: string): number | undefined {
  const m = /^(?:\.tmp|step|copy|run)-(\d+)-/.exec(name);
  return m ? Number(m[1]) : undefined;
}

async function isStale(path: string, name: string): Promise<boolean> {
  const pid = ownerPid(name);
  if (pid !== undefined) return pid !== process.pid && !pidAlive(pid);
  const st = await stat(path).catch(() => undefined);
  return st !== undefined && Date.now() - st.mtimeMs > GRACE_MS;
}

async function removeTree(path: string): Promise<number> {
  let n = 0;
  // Unmount first: removing through a live overlay would write whiteouts, not free space.
  for (const m of await mountsUnder(path)) {
    // Loaded only when there is something to unmount: a cached build never loads exec/.
    const { unmount } = await import("../exec/index.js");
    await unmount(m);
    n++;
  }
  await rm(path, { recursive: true, force: true });
  return n;
}

/**
 * Remove what dead builds left in the store's data folder: `scratch/*` of dead pids (their
 * overlay mounts unmounted first, lazily when busy), `snapshots/.tmp-*` and cache-mount
 * `.tmp-*` folders, and secret folders on /dev/shm. Live builds' files are never touched:
 * a folder is stale when the pid in its name is gone, or (no pid) when it is older than 10 min.
 */
export async function cleanStaleBuildState(dataDir: string): Promise<CleanupResult> {
  let unmounted = 0;
  let removed = 0;
  const sweep = async (parent: string, match: (name: string) => boolean): Promise<void> => {
    for (const name of await readdir(parent).catch(() => [] as string[])) {
      const path = join(parent, name);
      if (!match(name) || !(await isStale(path, name))) continue;
      unmounted += await removeTree(path);
      removed++;
    }
  };
  await sweep(join(dataDir, "scratch"), () => true);
  await sweep(join(dataDir, "snapshots"), (n) => n.startsWith(".tmp-"));
  for (const id of await readdir(join(dataDir, "cache-mounts")).catch(() => [] as string[])) {
    await sweep(join(dataDir, "cache-mounts", id), (n) => n.startsWith(".tmp-"));
  }
  removed += await removeStaleSecretDirs();
  return { unmounted, removed };
}

/**
 * `tbuild prune`: remove snapshots whose chain has a layer that is no longer a blob in the
 * store (`haveBlob`), and snapshots that do not say which layers they hold (made before
 * snapshots recorded it). With `all`, remove every snapshot and every cache mount.
 * Returns the number of snapshots removed.
 */
export async function pruneSnapshots(dataDir: string, haveBlob: (digest: string) => boolean, opts: { all?: boolean } = {}): Promise<{ snapshots: number; cacheMounts: number }> {
  const dir = join(dataDir, "snapshots");
  let snapshots = 0;
  let cacheMounts = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name === "scratch" || name.startsWith(".tmp-")) continue;
    const path = join(dir, name);
    let keep = !opts.all;
    if (keep) {
      const ids = await readFile(join(path, "diffids"), "utf8").then(
        (t) => t.split("\n").filter(Boolean),
        () => undefined,
      );
      keep = ids !== undefined && ids.length > 0 && ids.every((d) => haveBlob(d));
    }
    if (keep || (await inUse(path))) continue; // never pull a snapshot from under a running RUN
    await rm(path, { recursive: true, force: true });
    snapshots++;
  }
  if (opts.all) {
    for (const id of await readdir(join(dataDir, "cache-mounts")).catch(() => [] as string[])) {
      await rm(join(dataDir, "cache-mounts", id), { recursive: true, force: true });
      cacheMounts++;
    }
  }
  return { snapshots, cacheMounts };
}
