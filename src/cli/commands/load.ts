// `tbuild load [-i FILE]`: a copy from an archive (docker-archive or OCI, gzipped or not;
// stdin when no file) into the store. Every digest is verified before anything becomes
// visible; a bad archive leaves the store unchanged.
import { fstat, promises as fsp, read, type Stats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { resolve } from "node:path";
import { TbuildError } from "../../util/index.js";
import { familiarString, isPushed, type PushedBytes, type RandomAccessInput } from "../../image/index.js";
import { ArchiveSource, type ArchiveInput } from "../../image/archive/index.js";
import { Store, StoreDestination, copyImages, nodeArchiveDeps } from "../../store/index.js";
import type { CommandSpec } from "../args.js";
import { pushedReads } from "../pipe-input.js";
import type { CliIO, CommandContext } from "../io.js";

export const spec: CommandSpec = {
  name: "load",
  summary: "Load images from a tar archive (stdin by default)",
  usage: "load [OPTIONS]",
  maxPositionals: 0,
  options: {
    input: { type: "string", short: "i", valueName: "FILE", description: "read from FILE instead of stdin" },
    quiet: { type: "boolean", short: "q", description: "suppress the load output" },
  },
  details: "Accepts docker-archive (docker save, podman save, skopeo docker-archive:) and OCI archives, gzipped or not.",
};

export async function run(ctx: CommandContext): Promise<number> {
  const v = ctx.values as { input?: string; quiet?: boolean };
  const file = v.input ? await openInput(resolve(ctx.io.cwd, v.input), v.input) : undefined;
  try {
    return await load(ctx, v, file);
  } finally {
    await file?.close();
  }
}

/**
 * `-i FILE` opened for reading. A regular file is read at offsets (ArchiveSource indexes
 * an uncompressed archive's headers and copies each layer's range); a pipe or device is
 * streamed as stdin is.
 */
async function openInput(path: string, given: string): Promise<FileHandle> {
  try {
    return await fsp.open(path, "r");
  } catch (e) {
    throw new TbuildError("E_IO", `cannot read ${given}: ${(e as Error).message}`);
  }
}

async function archiveInput(ctx: CommandContext, file: FileHandle | undefined): Promise<ArchiveInput> {
  if (file) {
    const st = await file.stat();
    if (st.isFile()) {
      return { size: st.size, fd: file.fd, read: async (buf, position) => (await file.read(buf, 0, buf.length, position)).bytesRead };
    }
    // 4 MiB reads: fewer syscalls; the archive reader hands out views of them without copying.
    return file.createReadStream({ highWaterMark: 4 << 20, autoClose: false });
  }
  if (ctx.io.stdin.isTTY) throw new TbuildError("E_USAGE", "refusing to read an archive from a terminal", { hint: "use -i FILE or pipe the archive in" });
  return (await stdinInput(ctx.io.stdin)) ?? (ctx.io.stdin as AsyncIterable<Uint8Array>);
}

/**
 * Stdin as the archive reader reads it best. Redirected from a regular file at its start
 * (`tbuild load < image.tar`): read at offsets as `-i` reads (streamed, the 512 MiB bench
 * archive took ~1.9 s against ~0.6). A pipe or socket (`docker save img | tbuild load`):
 * read into one reused buffer and pushed on (pipe-input.ts). Undefined for a stream without
 * a descriptor, and for a file already read from (its archive starts at the current
 * position, which only Linux's /proc tells).
 */
async function stdinInput(stdin: CliIO["stdin"]): Promise<RandomAccessInput | PushedBytes | undefined> {
  const fd = (stdin as { fd?: unknown }).fd;
  if (typeof fd !== "number") return undefined;
  const st = await new Promise<Stats | undefined>((resolve) => fstat(fd, (e, s) => resolve(e ? undefined : s)));
  if (st?.isFIFO() || st?.isSocket()) return pushedReads(fd);
  if (!st?.isFile()) return undefined;
  const info = await fsp.readFile(`/proc/self/fdinfo/${fd}`, "utf8").catch(() => "");
  if (/^pos:\s*(\d+)/m.exec(info)?.[1] !== "0") return undefined;
  return { size: st.size, fd, read: (buf, position) => new Promise((resolve, reject) => read(fd, buf, 0, buf.length, position, (e, n) => (e ? reject(e) : resolve(n)))) };
}

async function load(ctx: CommandContext, v: { quiet?: boolean }, file: FileHandle | undefined): Promise<number> {
  const input = await archiveInput(ctx, file);
  const store = await Store.open(ctx.root);
  const dest = new StoreDestination(store);
  const t0 = performance.now();
  const images = await copyImages(new ArchiveSource(input, nodeArchiveDeps), dest, ctx.io.signal);
  if (ctx.debug) {
    const { syncWaitMs, commitMs } = dest.timings;
    ctx.io.stderr.write(`load: the archive was ${isPushed(input) ? "a pipe read into one buffer" : Symbol.asyncIterator in input ? "a stream" : "a file read at offsets"}\n`);
    const streamMs = performance.now() - t0 - syncWaitMs - commitMs;
    ctx.io.stderr.write(`load: ${streamMs.toFixed(0)} ms reading, verifying and writing; ${syncWaitMs.toFixed(0)} ms waiting for fsync; ${commitMs.toFixed(0)} ms committing\n`);
  }
  if (!v.quiet) {
    for (const [i, img] of images.entries()) {
      if (img.tags.length === 0) ctx.io.stdout.write(`Loaded image ID: ${dest.results[i]?.imageId ?? img.configDigest}\n`);
      for (const t of img.tags) ctx.io.stdout.write(`Loaded image: ${familiarString(t)}\n`);
    }
  }
  return 0;
}
