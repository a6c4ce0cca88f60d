// `tbuild push REF`: copy an image from the store to its registry (layers gzipped once).
import { parseReference } from "../../image/index.js";
import { defaultCredentials, pushImage, storeTransfer, type TransferEvent } from "../../registry/index.js";
import { Store } from "../../store/index.js";
import { shortDigest } from "../../util/index.js";
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../io.js";
import { TLS_VERIFY_DETAILS, TLS_VERIFY_OPTION, tlsVerifyOption } from "../tls-verify.js";

export const spec: CommandSpec = {
  name: "push",
  summary: "Upload an image to a registry",
  usage: "push [OPTIONS] NAME[:TAG]",
  minPositionals: 1,
  maxPositionals: 1,
  options: {
    quiet: { type: "boolean", short: "q", description: "print only the pushed digest" },
    "tls-verify": TLS_VERIFY_OPTION,
  },
  details: ["Credentials come from tbuild's auth file (tbuild login), then ~/.docker/config.json.", TLS_VERIFY_DETAILS].join("\n"),
};

export async function run(ctx: CommandContext): Promise<number> {
  const ref = parseReference(ctx.positionals[0]!);
  const tls = tlsVerifyOption(ctx.values["tls-verify"]);
  const store = await Store.open(ctx.root);
  const quiet = Boolean(ctx.values.quiet);
  const out = (s: string) => void (quiet ? undefined : ctx.io.stdout.write(s));
  out(`The push refers to repository [${ref.domain}/${ref.path}]\n`);
  const onEvent = (e: TransferEvent) => {
    if (e.kind !== "layer") return;
    const line = { exists: "Layer already exists", mounted: `Mounted`, pushed: "Pushed" }[e.status as "exists" | "mounted" | "pushed"];
    if (line) out(`${shortDigest(e.digest)}: ${line}\n`);
  };
  const r = await pushImage(storeTransfer(store), ctx.positionals[0]!, {
    credentials: defaultCredentials(ctx.io.env),
    signal: ctx.io.signal,
    onEvent,
    ...tls,
  });
  if (quiet) ctx.io.stdout.write(`${r.digest}\n`);
  else out(`${ref.tag ?? "latest"}: digest: ${r.digest} size: ${r.size}\n`);
  return 0;
}
