// `tbuild rmi IMAGE…` / `tbuild image rm`: remove tags; an image whose last tag goes is
// deleted with the blobs no other image uses. The layers build-cache records point at stay
// (as prune keeps them), so a rebuild after rmi is CACHED. Prints `Untagged:` / `Deleted:`
// like Docker.
import { TbuildError, isTbuildError } from "../../util/index.js";
import { familiarString } from "../../image/index.js";
import { Store } from "../../store/index.js";
import { CacheIndex } from "../../build/index.js";
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../io.js";

export const spec: CommandSpec = {
  name: "rmi",
  summary: "Remove one or more images",
  usage: "rmi [OPTIONS] IMAGE [IMAGE...]",
  minPositionals: 1,
  options: {
    force: { type: "boolean", short: "f", description: "remove an image by ID even when it has several tags" },
  },
};

export async function run(ctx: CommandContext): Promise<number> {
  const store = await Store.open(ctx.root);
  const cache = new CacheIndex(store);
  const keep = async () => (await cache.layers()).blobs;
  let failed: unknown;
  for (const name of ctx.positionals) {
    try {
      const r = await store.remove(name, { force: ctx.values.force === true, keep });
      for (const t of r.untagged) ctx.io.stdout.write(`Untagged: ${familiarString(t)}\n`);
      for (const d of r.deletedImages) ctx.io.stdout.write(`Deleted: ${d}\n`);
      for (const d of r.deletedBlobs) if (!r.deletedImages.includes(d)) ctx.io.stdout.write(`Deleted: ${d}\n`);
    } catch (e) {
      if (!isTbuildError(e) || ctx.positionals.length === 1) throw e;
      ctx.io.stderr.write(`error: ${e.code}: ${e.message}\n`);
      failed = e;
    }
  }
  if (failed) throw new TbuildError((failed as TbuildError).code, "some images could not be removed");
  return 0;
}
