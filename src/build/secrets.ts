// build/secrets.ts: where RUN --mount=type=secret values live while a step runs: a private
// folder on a memory file system (/dev/shm when there is one), never under the store, removed
// as soon as the step ends. Values never reach a layer, the history, a key or a log.
import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TbuildError } from "../util/index.js";
import { pidAlive } from "../store/index.js";

/** A `--secret`: its value from a file or an environment variable of tbuild's. */
export interface SecretSource {
  readonly id: string;
  readonly value: Uint8Array;
}

const PREFIX = "tbuild-secrets-";

/** The parent of secret folders: a tmpfs when the machine has one, so values never hit a disk. */
async function secretParent(): Promise<string> {
  const shm = "/dev/shm";
  const st = await stat(shm).catch(() => undefined);
  return st?.isDirectory() ? shm : tmpdir();
}

/** A step's secret files. `dispose` removes them all; safe to call twice. */
export class SecretFiles {
  private constructor(readonly dir: string) {}

  /** A fresh folder, mode 0700, named after this process (so a dead build's folder can be found). */
  static async create(): Promise<SecretFiles> {
    const dir = join(await secretParent(), `${PREFIX}${process.pid}-${randomBytes(6).toString("hex")}`);
    await mkdir(dir, { mode: 0o700 });
    return new SecretFiles(dir);
  }

  /** Write one secret as a file owned by uid:gid with `mode` (default 0400) and return its host path. */
  async write(secret: SecretSource, opts: { mode?: number; uid?: number; gid?: number }): Promise<string> {
    const file = join(this.dir, randomBytes(8).toString("hex"));
    await writeFile(file, secret.value, { mode: 0o400, flag: "wx" });
    await chmod(file, opts.mode ?? 0o400);
    await chown(file, opts.uid ?? 0, opts.gid ?? 0);
    return file;
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The secret `id` from the build's secrets; E_RUN_SECRET when it is required and absent. */
export function findSecret(secrets: ReadonlyMap<string, SecretSource>, id: string, required: boolean): SecretSource | undefined {
  const s = secrets.get(id);
  if (!s && required) {
    throw new TbuildError("E_RUN_SECRET", `secret ${id}: not provided`, { hint: `pass --secret id=${id},src=FILE (or id=${id},env=VAR) to tbuild build` });
  }
  return s;
}

/** Remove secret folders left by tbuild processes that no longer run (a killed build). */
export async function removeStaleSecretDirs(): Promise<number> {
  let n = 0;
  for (const parent of new Set(["/dev/shm", tmpdir()])) {
    for (const name of await readdir(parent).catch(() => [] as string[])) {
      const m = name.startsWith(PREFIX) ? /^(\d+)-/.exec(name.slice(PREFIX.length)) : null;
      if (!m || pidAlive(Number(m[1]))) continue;
      await rm(join(parent, name), { recursive: true, force: true });
      n++;
    }
  }
  return n;
}
