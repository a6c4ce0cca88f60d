// `tbuild login REGISTRY`: check credentials against the registry, then save them in
// tbuild's auth file ($XDG_CONFIG_HOME/tbuild/auth.json, mode 0600).
import { RegistryClient, normalizeHost, saveCredentials } from "../../registry/index.js";
import { TbuildError } from "../../util/index.js";
import type { CommandSpec } from "../args.js";
import { readText, type CommandContext } from "../io.js";
import { TLS_VERIFY_DETAILS, TLS_VERIFY_OPTION, tlsVerifyOption } from "../tls-verify.js";

export const spec: CommandSpec = {
  name: "login",
  summary: "Log in to a registry",
  usage: "login [OPTIONS] [SERVER]",
  maxPositionals: 1,
  options: {
    username: { type: "string", short: "u", valueName: "USER", description: "user name" },
    password: { type: "string", short: "p", valueName: "PASS", description: "password or token" },
    "password-stdin": { type: "boolean", description: "read the password from stdin" },
    "tls-verify": TLS_VERIFY_OPTION,
  },
  details: ["Saves to $TBUILD_AUTH_FILE, else $XDG_CONFIG_HOME/tbuild/auth.json (~/.config/tbuild/auth.json), Docker's format.", TLS_VERIFY_DETAILS].join("\n"),
};

export async function run(ctx: CommandContext): Promise<number> {
  const registry = normalizeHost(ctx.positionals[0] ?? "docker.io");
  const tls = tlsVerifyOption(ctx.values["tls-verify"]);
  const username = ctx.values.username as string | undefined;
  let password = ctx.values.password as string | undefined;
  if (ctx.values["password-stdin"]) {
    if (password !== undefined) throw new TbuildError("E_USAGE", "--password and --password-stdin are mutually exclusive");
    password = (await readText(ctx.io.stdin)).replace(/\r?\n$/, "");
  }
  if (!username || password === undefined) throw new TbuildError("E_USAGE", "login needs -u USER and -p PASS or --password-stdin");
  const client = new RegistryClient({
    registry,
    credentials: async () => ({ username, password: password! }),
    signal: ctx.io.signal,
    ...tls,
  });
  await client.ping();
  const file = await saveCredentials(ctx.io.env, registry, { username, password });
  ctx.io.stderr.write(`Credentials saved in ${file}\n`);
  ctx.io.stdout.write("Login Succeeded\n");
  return 0;
}
