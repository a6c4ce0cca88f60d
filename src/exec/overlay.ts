// Mounts and unmounts the overlay a RUN writes through: lower = the step's snapshot,
// upper = a fresh directory that becomes the step's diff (diff.ts diffOverlay).
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { TbuildError } from "../util/index.js";

const execFileP = promisify(execFile);

export interface OverlayDirs {
  /** Topmost first. */
  readonly lowers: readonly string[];
  readonly upper: string;
  readonly work: string;
  /** Mount point. */
  readonly target: string;
}

/**
 * Mount an overlay with `redirect_dir=off,metacopy=off,index=off`, so a renamed directory
 * is copied up whole and every copied-up file has its data: the upper directory then holds
 * a self-contained diff. Paths must not contain `,`, `:` or `\` (the option syntax).
 * Throws E_EXEC_RUNTIME when the kernel refuses.
 */
export async function mountOverlay(d: OverlayDirs): Promise<void> {
  for (const p of [...d.lowers, d.upper, d.work, d.target]) {
    if (/[,:\\]/.test(p)) throw new TbuildError("E_EXEC_RUNTIME", `overlay: path ${JSON.stringify(p)} contains , : or \\`);
  }
  const opts = `lowerdir=${d.lowers.join(":")},upperdir=${d.upper},workdir=${d.work},redirect_dir=off,metacopy=off,index=off`;
  try {
    await execFileP("mount", ["-t", "overlay", "overlay", "-o", opts, d.target]);
  } catch (e) {
    throw new TbuildError("E_EXEC_RUNTIME", `overlay mount failed: ${((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`, { cause: e });
  }
}

/** Unmount `target`; lazily when it is still busy (a leaked process), so cleanup never sticks. */
export async function unmount(target: string): Promise<void> {
  try {
    await execFileP("umount", [target]);
  } catch {
    await execFileP("umount", ["-l", target]).catch(() => undefined);
  }
}

let probe: Promise<boolean> | undefined;

/** Whether this process can mount overlayfs here (tested once, in `scratch`). */
export function canMountOverlay(scratch: string): Promise<boolean> {
  probe ??= (async () => {
    const dir = await mkdtemp(join(scratch, "tbuild-ovl-probe-"));
    try {
      const [lower, upper, work, target] = ["l", "u", "w", "m"].map((n) => join(dir, n)) as [string, string, string, string];
      for (const p of [lower, upper, work, target]) await mkdir(p);
      await mountOverlay({ lowers: [lower], upper, work, target });
      await unmount(target);
      return true;
    } catch {
      return false;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return probe;
}
