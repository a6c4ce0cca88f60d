// build/mounts.ts: RUN --mount, from the plan's typed mounts to the host paths the sandbox
// binds (BuildKit's convert_runmount + mount manager): cache folders that persist across
// builds under the store's data folder (shared, locked or private), binds of the context or
// of a stage's / image's snapshot (read-only, or a throwaway copy with `rw`), tmpfs, and
// secrets (files on a memory file system or environment variables). Nothing here ever
// writes into a snapshot or the context.
import { createHash, randomBytes } from "node:crypto";
import { chmod, chown, copyFile, lstat, mkdir, readlink, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { TbuildError, isTbuildError, resolveInRoot, type RootLinks } from "../util/index.js";
import { copyTree, type RunMount as ExecMount } from "../exec/index.js";
import type { RunMount, RunStep, StageSource } from "../plan/index.js";
import { withLock } from "../store/index.js";
import type { BuildContext } from "../context/index.js";
import { SecretFiles, findSecret, type SecretSource } from "./secrets.js";

export interface MountInput {
  readonly step: RunStep;
  /** The store's data folder (`store.dataDir`): cache mounts live in `<dataDir>/cache-mounts`. */
  readonly dataDir: string;
  /** This step's scratch folder (throwaway copies for `rw` binds and busy private caches). */
  readonly work: string;
  readonly context?: BuildContext;
  readonly contextRoot: string;
  /** The rootfs of a stage or image a `from=` names (read-only by contract). */
  readonly mountSource: (from: StageSource) => Promise<string>;
  readonly secrets: ReadonlyMap<string, SecretSource>;
  readonly signal?: AbortSignal;
}

export interface PreparedMounts {
  readonly mounts: readonly ExecMount[];
  /** `KEY=value` pairs for secrets exposed as environment variables. */
  readonly env: readonly string[];
  /** Container paths whose content never belongs in the layer (every mount target). */
  readonly targets: readonly string[];
}

/** Where a cache mount `id` lives: `<dataDir>/cache-mounts/<sha256(id)[:32]>/{data,lock,id}`. */
function cacheMountDir(dataDir: string, id: string): string {
  return join(dataDir, "cache-mounts", createHash("sha256").update(id).digest("hex").slice(0, 32));
}

/**
 * Prepare every mount of `input.step`, run `fn` with them, and release them (locks, secret
 * files, throwaway copies) on every path out. Locked cache mounts are taken in id order, so
 * two steps that lock the same caches cannot deadlock.
 */
export async function withRunMounts<T>(input: MountInput, fn: (m: PreparedMounts) => Promise<T>): Promise<T> {
  const { step } = input;
  if (step.security === "insecure") {
    throw new TbuildError("E_PLAN_INVALID", "RUN --security=insecure is not allowed: tbuild runs every RUN in its sandbox", { hint: "drop --security=insecure; use a build with the privileges the step needs outside tbuild" });
  }
  const mounts: ExecMount[] = [];
  const env: string[] = [];
  const targets: string[] = [];
  let secrets: SecretFiles | undefined;
  const caches: { m: RunMount; id: string; index: number }[] = [];
  try {
    for (const m of step.mounts) {
      switch (m.type) {
        case "bind":
          mounts.push(await bindMount(input, m));
          targets.push(m.target);
          break;
        case "cache":
          caches.push({ m, id: m.id ?? m.target, index: mounts.length });
          mounts.push({ type: "tmpfs", target: m.target }); // placeholder, replaced below
          targets.push(m.target);
          break;
        case "tmpfs":
          mounts.push({ type: "tmpfs", target: m.target, ...(m.size !== undefined ? { options: [`size=${m.size}`] } : {}) });
          targets.push(m.target);
          break;
        case "secret": {
          const id = m.id ?? (m.target ? posix.basename(m.target) : "");
          const secret = findSecret(input.secrets, id, m.required ?? false);
          if (!secret) break;
          if (m.env) env.push(`${m.env}=${Buffer.from(secret.value).toString("utf8")}`);
          if (m.target === "") break; // env only
          secrets ??= await SecretFiles.create();
          const file = await secrets.write(secret, { ...(m.mode !== undefined ? { mode: m.mode } : {}), ...(m.uid !== undefined ? { uid: m.uid } : {}), ...(m.gid !== undefined ? { gid: m.gid } : {}) });
          mounts.push({ type: "bind", source: file, target: m.target, readonly: true, options: ["nosuid", "nodev", "noexec"] });
          targets.push(m.target);
          break;
        }
        case "ssh":
          throw new TbuildError("E_RUN_MOUNT", "RUN --mount=type=ssh is not supported", { hint: "fetch private sources with a --secret instead" });
      }
    }
    return await withCaches(input, caches, mounts, () => fn({ mounts, env, targets }));
  } finally {
    await secrets?.dispose();
  }
}

/** Take the caches one by one (locked ones in id order), fill their mounts in, then run `fn`. */
async function withCaches<T>(input: MountInput, caches: readonly { m: RunMount; id: string; index: number }[], mounts: ExecMount[], fn: () => Promise<T>): Promise<T> {
  const order = [...caches].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.index - b.index));
  const step = async (i: number): Promise<T> => {
    const c = order[i];
    if (!c) return fn();
    const dir = cacheMountDir(input.dataDir, c.id);
    const data = await ensureCacheDir(input, dir, c.m, c.id);
    const put = (source: string): void => {
      mounts[c.index] = { type: "bind", source, target: c.m.target, readonly: c.m.readOnly };
    };
    const lock = join(dir, "lock");
    switch (c.m.sharing ?? "shared") {
      case "shared":
        put(data);
        return step(i + 1);
      case "locked":
        put(data);
        // A long RUN may hold a cache for hours: wait as long as the build lives.
        return withLock(lock, () => step(i + 1), { timeoutMs: 7 * 24 * 3600_000, ...(input.signal ? { signal: input.signal } : {}) });
      case "private": {
        let entered = false;
        try {
          return await withLock(
            lock,
            () => {
              entered = true;
              put(data);
              return step(i + 1);
            },
            { timeoutMs: -1 },
          );
        } catch (e) {
          if (entered || !isTbuildError(e) || e.code !== "E_STORE_LOCKED") throw e;
        }
        // Busy: this step gets its own copy, dropped afterwards (BuildKit makes a new instance).
        const copy = join(input.work, `cache-${randomBytes(6).toString("hex")}`);
        await copyTree(data, copy);
        put(copy);
        return step(i + 1);
      }
    }
  };
  return step(0);
}

/** The cache folder's data dir, created on first use with uid/gid/mode (seeded from `from`). */
async function ensureCacheDir(input: MountInput, dir: string, m: RunMount, id: string): Promise<string> {
  const data = join(dir, "data");
  if (await exists(data)) return data;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
  try {
    if (m.from) {
      const src = await hostPathInRoot(await input.mountSource(m.from), m.source ?? "/", "cache mount from");
      if ((await stat(src)).isDirectory()) await copyTree(src, tmp);
      else await mkdir(tmp);
    } else {
      await mkdir(tmp);
    }
    await chmod(tmp, m.mode ?? 0o755);
    await chown(tmp, m.uid ?? 0, m.gid ?? 0);
    await writeFile(join(dir, "id"), `${id}\n`);
    await rename(tmp, data).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOTEMPTY" && e.code !== "EEXIST") throw e; // created meanwhile by another step
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return data;
}

/** A bind mount: the context (its selection, .dockerignore honoured) or a stage's / image's rootfs. */
async function bindMount(input: MountInput, m: RunMount): Promise<ExecMount> {
  const options = ["nosuid", "nodev"];
  let source: string;
  if (m.from) {
    source = await hostPathInRoot(await input.mountSource(m.from), m.source ?? "/", "bind mount source");
  } else {
    source = await contextSource(input, m.source ?? ".");
  }
  if (!m.readOnly) {
    // `rw`: the command may write, and its writes are thrown away with the step (BuildKit).
    const copy = join(input.work, `bind-${randomBytes(6).toString("hex")}`);
    await copyTree(source, copy);
    source = copy;
  }
  return { type: "bind", source, target: m.target, readonly: m.readOnly, options };
}

/** The host path for a context bind. With a .dockerignore, what it selects is copied out. */
async function contextSource(input: MountInput, src: string): Promise<string> {
  const ctx = input.context;
  if (!ctx) return hostPathInRoot(input.contextRoot, src, "bind mount source");
  let sel;
  try {
    sel = ctx.select([src], { followSymlinks: true });
  } catch (e) {
    throw isTbuildError(e) ? new TbuildError("E_RUN_MOUNT", `bind mount source ${src}: ${e.message}`, { cause: e, ...(e.hint ? { hint: e.hint } : {}) }) : e;
  }
  const root = sel.roots[0];
  if (!root) throw new TbuildError("E_RUN_MOUNT", `bind mount source ${src} is not in the build context`);
  const host = await hostPathInRoot(ctx.root, root.path || "/", "bind mount source");
  if (ctx.ignorePatterns.length === 0) return host;
  // Copy exactly the entries the build would send, so ignored files stay invisible.
  const out = join(input.work, `ctx-${randomBytes(6).toString("hex")}`);
  if (root.type !== "dir") {
    await copyFile(host, out);
    return out;
  }
  await mkdir(out);
  const prefix = root.path === "" ? "" : `${root.path}/`;
  for (const e of root.entries) {
    if (e.path === root.path) continue;
    const rel = e.path.slice(prefix.length);
    const to = join(out, rel);
    if (e.type === "dir") await mkdir(to, { mode: e.mode });
    else if (e.type === "symlink") await symlink(e.linkTarget ?? (await readlink(join(ctx.root, e.path))), to);
    else if (e.type === "file") await copyFile(join(ctx.root, e.path), to);
    else continue;
    if (e.type !== "symlink") await chmod(to, e.mode);
  }
  return out;
}

/** The host path of `path` inside the folder `root`, every symlink followed inside it (runc's securejoin). */
async function hostPathInRoot(root: string, path: string, what: string): Promise<string> {
  const host: RootLinks = {
    lstat: (rel) => lstat(join(root, rel)).then((st) => ({ type: st.isSymbolicLink() ? "symlink" : st.isDirectory() ? "dir" : "other" }), () => undefined),
    readlink: (rel) => readlink(join(root, rel)),
  };
  const r = await resolveInRoot(host, path, { missing: "fail", last: "follow" });
  if (r.ok) return join(root, r.path);
  if (r.reason === "loop") throw new TbuildError("E_RUN_MOUNT", `${what} ${path}: too many levels of symbolic links`);
  throw new TbuildError("E_RUN_MOUNT", `${what} ${path} does not exist`, { hint: "check the path (and from=) of the --mount" });
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
