// Whole-tree copies with coreutils cp: a hardlink clone (snapshots share unchanged inodes)
// and a real copy (the RUN fallback when overlay cannot mount). cp keeps owners, modes,
// nanosecond times and hardlinks in one native pass, far faster than a walk in Node.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { TbuildError } from "../util/index.js";

const execFileP = promisify(execFile);

/**
 * Make `dst` (must not exist) a copy of `src` whose directories are new and whose other
 * entries are hardlinks to `src`'s. Anything that later changes `dst` MUST replace entries,
 * never write into them (safe-extract.ts unlinks before it writes).
 */
export async function cloneTreeLinked(src: string, dst: string): Promise<void> {
  await cp(["-a", "-l", "--no-target-directory", src, dst]);
}

/** Make `dst` (must not exist) an independent copy of `src` (reflinks where the file system can). */
export async function copyTree(src: string, dst: string): Promise<void> {
  await cp(["-a", "--reflink=auto", "--no-target-directory", src, dst]);
}

async function cp(args: string[]): Promise<void> {
  try {
    await execFileP("cp", args, { maxBuffer: 1 << 20 });
  } catch (e) {
    throw new TbuildError("E_IO", `cp ${args.join(" ")} failed: ${((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`, { cause: e });
  }
}
