// `tbuild tag SOURCE TARGET`: add a tag to an image (moving it from any other image).
import { Store } from "../../store/index.js";
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../io.js";

export const spec: CommandSpec = {
  name: "tag",
  summary: "Create a tag TARGET that refers to SOURCE",
  usage: "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
  minPositionals: 2,
  maxPositionals: 2,
  options: {},
};

export async function run(ctx: CommandContext): Promise<number> {
  const store = await Store.open(ctx.root);
  await store.tag(ctx.positionals[0]!, ctx.positionals[1]!);
  return 0;
}
