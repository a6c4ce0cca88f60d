// `tbuild inspect IMAGE…`: a JSON array close to `docker image inspect`.
import { TbuildError, isTbuildError } from "../../util/index.js";
import { familiarName, familiarRepository, parseReference } from "../../image/index.js";
import { Store, type StoredImage } from "../../store/index.js";
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../io.js";

export const spec: CommandSpec = {
  name: "inspect",
  summary: "Show details of one or more images as JSON",
  usage: "inspect [OPTIONS] IMAGE [IMAGE...]",
  minPositionals: 1,
  options: {
    format: { type: "string", short: "f", valueName: "FORMAT", description: "json (default)" },
  },
};

/** The Docker-shaped inspect object of an image. */
export function inspectObject(image: StoredImage): Record<string, unknown> {
  const refs = image.tags.flatMap((t) => {
    try {
      return [parseReference(t)];
    } catch {
      return [];
    }
  });
  const repos = [...new Set(refs.map((r) => familiarRepository(r)))];
  const c = image.config;
  return {
    Id: image.id,
    RepoTags: refs.map((r) => familiarName(r)),
    RepoDigests: repos.map((r) => `${r}@${image.manifestDigest}`),
    Parent: "",
    Comment: c.history?.at(-1)?.comment ?? "",
    Created: c.created ?? "",
    Author: c.author ?? "",
    Config: c.config ?? {},
    Architecture: c.architecture,
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os,
    Size: image.size,
    RootFS: { Type: "layers", Layers: c.rootfs.diff_ids },
    History: c.history ?? [],
    Descriptor: { mediaType: image.manifest.mediaType, digest: image.manifestDigest, size: image.manifestSize },
    Metadata: { LastTagTime: "" },
  };
}

export async function run(ctx: CommandContext): Promise<number> {
  const fmt = ctx.values.format as string | undefined;
  if (fmt !== undefined && fmt !== "json") throw new TbuildError("E_USAGE", `unknown --format ${fmt}`, { hint: "only json is supported" });
  const store = await Store.open(ctx.root);
  const out: Record<string, unknown>[] = [];
  let missing: TbuildError | undefined;
  for (const n of ctx.positionals) {
    try {
      const img = await store.find(n);
      if (!img) throw new TbuildError("E_STORE_NOT_FOUND", `no such image: ${n}`);
      out.push(inspectObject(img));
    } catch (e) {
      if (!isTbuildError(e)) throw e;
      missing = e;
    }
  }
  ctx.io.stdout.write(JSON.stringify(out, null, 4) + "\n");
  if (missing) throw missing;
  return 0;
}
