// The one lock helper of the store (STYLE.md example 6): an O_EXCL lock file holding the
// owner's pid and a nonce, with stale-lock detection (owner pid gone). Order is fixed:
// tbuild takes only this one lock per store, so there is no ordering to get wrong.
import { randomBytes } from "node:crypto";
import { constants, promises as fsp } from "node:fs";
import { hostname } from "node:os";
import { TbuildError } from "../util/index.js";
import { pidAlive } from "./liveness.js";

export interface LockOptions {
  /** Give up after this long (default 60 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

interface LockOwner {
  pid: number;
  host: string;
  nonce: string;
  at: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const v = JSON.parse(await fsp.readFile(path, "utf8")) as LockOwner;
    return typeof v.pid === "number" && typeof v.nonce === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Is the lock at `path` left by a process that no longer exists (on this host)? */
async function isStale(path: string): Promise<LockOwner | "unreadable" | false> {
  const owner = await readOwner(path);
  if (!owner) {
    // Written but not yet filled, or garbage: stale only once it is old.
    try {
      const st = await fsp.stat(path);
      return Date.now() - st.mtimeMs > 5_000 ? "unreadable" : false;
    } catch {
      return false;
    }
  }
  if (owner.host !== hostname()) return false;
  return pidAlive(owner.pid) ? false : owner;
}

/** Remove a stale lock without ever removing a live one taken meanwhile. */
async function breakStale(path: string, judged: LockOwner | "unreadable"): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await fsp.rename(path, aside);
  } catch {
    return; // someone else broke it first
  }
  const taken = await readOwner(aside);
  const same = judged === "unreadable" ? taken === undefined : taken?.nonce === judged.nonce;
  if (!same) {
    // We moved a live lock acquired after our check: put it back if the slot is still free.
    await fsp.link(aside, path).catch(() => undefined);
  }
  await fsp.rm(aside, { force: true });
}

/**
 * Run `fn` holding the lock file at `path`. The lock is released on every path out of
 * `fn`; a process killed while holding it leaves a lock the next caller detects as stale.
 * Throws TbuildError(E_STORE_LOCKED) after `timeoutMs`.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const nonce = randomBytes(8).toString("hex");
  const owner: LockOwner = { pid: process.pid, host: hostname(), nonce, at: new Date().toISOString() };
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let wait = 2;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const fh = await fsp.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      try {
        await fh.writeFile(JSON.stringify(owner));
      } finally {
        await fh.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new TbuildError("E_IO", `cannot create lock ${path}: ${(e as Error).message}`, { cause: e });
    }
    const stale = await isStale(path);
    if (stale) {
      await breakStale(path, stale);
      continue;
    }
    if (Date.now() > deadline) {
      const o = await readOwner(path);
      throw new TbuildError("E_STORE_LOCKED", `the store is locked by ${o ? `process ${o.pid} since ${o.at}` : "another process"}: ${path}`, { hint: "wait for the other tbuild to finish; a lock left by a dead process is removed automatically" });
    }
    await sleep(wait + Math.random() * wait);
    wait = Math.min(wait * 2, 50);
  }
  try {
    return await fn();
  } finally {
    const o = await readOwner(path);
    if (o?.nonce === nonce) await fsp.rm(path, { force: true });
  }
}
