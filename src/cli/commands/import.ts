// `tbuild import FILE|- [REF] [--change …]`: a root file system tar (plain or gzipped)
// becomes a one-layer image. --change takes CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER,
// WORKDIR, STOPSIGNAL, VOLUME, parsed by image/changes.ts (a small parser of its own;
// src/dockerfile is above image/ in the pipeline).
import { createReadStream, promises as fsp } from "node:fs";
import { resolve } from "node:path";
import { TbuildError } from "../../util/index.js";
import { ImportSource } from "../../image/archive/index.js";
import { applyChanges, parseReference, ociArchitecture, parsePlatform, type Platform } from "../../image/index.js";
import { Store, StoreDestination, copyImages, nodeArchiveDeps } from "../../store/index.js";
import { stringList, type CommandSpec } from "../args.js";
import type { CommandContext } from "../io.js";

export const spec: CommandSpec = {
  name: "import",
  summary: "Create an image from a root file system tar",
  usage: "import [OPTIONS] FILE|- [REPOSITORY[:TAG]]",
  minPositionals: 1,
  maxPositionals: 2,
  options: {
    change: { type: "string", short: "c", multiple: true, valueName: "INSTR", description: "apply a config instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, …)" },
    message: { type: "string", short: "m", valueName: "TEXT", description: "history comment" },
    platform: { type: "string", valueName: "OS/ARCH", description: "platform of the image (default: this machine's)" },
  },
};

export async function run(ctx: CommandContext): Promise<number> {
  const v = ctx.values as { change?: string[]; message?: string; platform?: string };
  const [file, ref] = ctx.positionals as [string, string | undefined];
  if (ref !== undefined) parseReference(ref);
  const config = applyChanges({}, stringList(v.change));
  const platform: Platform = v.platform ? parsePlatform(v.platform) : { os: "linux", architecture: ociArchitecture(process.arch) };
  let input: AsyncIterable<Uint8Array>;
  if (file === "-") input = ctx.io.stdin as AsyncIterable<Uint8Array>;
  else {
    const path = resolve(ctx.io.cwd, file);
    await fsp.access(path).catch((e: Error) => {
      throw new TbuildError("E_IO", `cannot read ${file}: ${e.message}`);
    });
    input = createReadStream(path, { highWaterMark: 1 << 20 });
  }
  const epoch = ctx.io.env.SOURCE_DATE_EPOCH;
  const created = epoch && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000).toISOString() : new Date().toISOString();
  const store = await Store.open(ctx.root);
  const dest = new StoreDestination(store);
  const src = new ImportSource(input, nodeArchiveDeps, { platform, created, config, tags: ref ? [ref] : [], comment: v.message ?? `Imported from ${file}` });
  await copyImages(src, dest, ctx.io.signal);
  ctx.io.stdout.write(`${dest.results[0]!.imageId}\n`);
  return 0;
}
