// `tbuild save [-o FILE] [--format docker|oci] IMAGE…`: a copy from the store to an archive
// (docker-archive that docker/podman load, or an OCI layout tar). A file is written to a
// temporary name beside it and renamed at the end, so a failed save leaves no half file.
import { once } from "node:events";
import { createWriteStream, promises as fsp } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { TbuildError } from "../../util/index.js";
import { ArchiveDestination } from "../../image/archive/index.js";
import { Store, StoreSource, copyImages, namedTag, nodeArchiveDeps, resolveImage, type SourceImage } from "../../store/index.js";
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../io.js";

export const spec: CommandSpec = {
  name: "save",
  summary: "Save images to a tar archive (stdout by default)",
  usage: "save [OPTIONS] IMAGE [IMAGE...]",
  minPositionals: 1,
  options: {
    output: { type: "string", short: "o", valueName: "FILE", description: "write to FILE instead of stdout" },
    format: { type: "string", valueName: "FORMAT", description: "docker (default: docker-archive) or oci (OCI layout tar)" },
    compress: { type: "boolean", description: "compressed layers (oci format): pulled ones as they came (gzip or zstd), others gzipped (cached in the store)" },
  },
  details: "Naming an image by reference saves that tag; naming it by ID saves it untagged.",
};

/** The images `names` select, reading index.json and only the blobs of the images named. */
export async function selectImages(store: Store, names: readonly string[]): Promise<SourceImage[]> {
  const out: SourceImage[] = [];
  for (const n of names) {
    const image = await resolveImage(store.paths, n);
    if (!image) throw new TbuildError("E_STORE_NOT_FOUND", `no such image: ${n}`);
    const tag = namedTag(image, n);
    const prev = out.find((s) => s.image.id === image.id);
    if (prev) {
      if (tag && !prev.tags.includes(tag)) (prev.tags as string[]).push(tag);
    } else out.push({ image, tags: tag ? [tag] : [] });
  }
  return out;
}

export async function run(ctx: CommandContext): Promise<number> {
  const v = ctx.values as { output?: string; format?: string; compress?: boolean };
  const format = v.format ?? "docker";
  if (format !== "docker" && format !== "oci") throw new TbuildError("E_USAGE", `unknown --format ${format}`, { hint: "use docker or oci" });
  if (v.compress && format !== "oci") throw new TbuildError("E_USAGE", "--compress needs --format oci", { hint: "docker-archive layers are plain tar" });
  const store = await Store.open(ctx.root);
  const images = await selectImages(store, ctx.positionals);
  const dest = new ArchiveDestination(nodeArchiveDeps, { format, compress: v.compress === true });
  if (!v.output) {
    if (ctx.io.stdout.isTTY) throw new TbuildError("E_USAGE", "refusing to write an archive to a terminal", { hint: "use -o FILE or redirect stdout" });
    const out = ctx.io.stdout;
    const pump = (async () => {
      for await (const chunk of dest.stream) {
        if (out.write(chunk as Uint8Array) === false && "once" in out) await once(out as NodeJS.WritableStream, "drain");
      }
    })();
    await Promise.all([copyImages(new StoreSource(store, images), dest, ctx.io.signal), pump]);
    return 0;
  }
  const target = resolve(ctx.io.cwd, v.output);
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}`);
  try {
    const file = createWriteStream(tmp, { flags: "wx", highWaterMark: 4 << 20 });
    await Promise.all([copyImages(new StoreSource(store, images), dest, ctx.io.signal), pipeline(dest.stream, file)]);
    await fsp.rename(tmp, target);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  return 0;
}
