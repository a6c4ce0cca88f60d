// Faults a real disk can give but a test machine's will not, injected into node:fs for the
// duration of one callback: the code under test calls the real node:fs, with the one
// function replaced (its ESM bindings updated through syncBuiltinESMExports).
import { createRequire, syncBuiltinESMExports } from "node:module";

const nodeFs = createRequire(import.meta.url)("node:fs") as typeof import("node:fs");

function errno(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected, ${syscall}`), { code, syscall });
}

/** Run `body` while node:fs's `name` is `fake(real)`, then restore it (pass or fail). */
async function withFsFunction<K extends keyof typeof nodeFs, T>(name: K, fake: (real: (typeof nodeFs)[K]) => (typeof nodeFs)[K], body: () => Promise<T>): Promise<T> {
  const real = nodeFs[name];
  (nodeFs as Record<K, unknown>)[name] = fake(real);
  syncBuiltinESMExports();
  try {
    return await body();
  } finally {
    (nodeFs as Record<K, unknown>)[name] = real;
    syncBuiltinESMExports();
  }
}

/**
 * `body` with every fdatasync (fs.fdatasync and FileHandle.datasync) reporting EIO after it
 * ran, as when writeback lost pages; fsync still succeeds, as it does once the error was seen.
 */
export async function withFailingFdatasync<T>(body: () => Promise<T>): Promise<T> {
  const probe = await nodeFs.promises.open("/dev/null", "r");
  const handles = Object.getPrototypeOf(probe) as { datasync(): Promise<void> };
  await probe.close();
  const realDatasync = handles.datasync;
  handles.datasync = async function (this: unknown) {
    await realDatasync.call(this);
    throw errno("EIO", "fdatasync");
  };
  try {
    return await withFsFunction("fdatasync", (real) => ((fd: number, cb: (e: NodeJS.ErrnoException | null) => void) => real(fd, () => cb(errno("EIO", "fdatasync")))) as typeof real, body);
  } finally {
    handles.datasync = realDatasync;
  }
}

/** `body` on a file system that refuses O_DIRECT at open (EINVAL), as tmpfs did before Linux 6.6. */
export function withoutODirect<T>(body: () => Promise<T>): Promise<T> {
  return withFsFunction(
    "openSync",
    (real) =>
      ((path: string, flags: number | string = "r", mode?: number) => {
        if (typeof flags === "number" && flags & nodeFs.constants.O_DIRECT) throw errno("EINVAL", "open");
        return real(path, flags, mode);
      }) as typeof real,
    body,
  );
}
