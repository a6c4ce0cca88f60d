// `tbuild logout REGISTRY`: remove the registry's credentials from tbuild's auth file.
import { normalizeHost, removeCredentials } from "../../registry/index.js";
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../io.js";

export const spec: CommandSpec = {
  name: "logout",
  summary: "Log out from a registry",
  usage: "logout [SERVER]",
  maxPositionals: 1,
  options: {
    "tls-verify": { type: "string", valueName: "BOOL", description: "accepted for symmetry with login; unused" },
  },
};

export async function run(ctx: CommandContext): Promise<number> {
  const registry = normalizeHost(ctx.positionals[0] ?? "docker.io");
  const removed = await removeCredentials(ctx.io.env, registry);
  ctx.io.stdout.write(removed ? `Removing login credentials for ${registry}\n` : `Not logged in to ${registry}\n`);
  return 0;
}
