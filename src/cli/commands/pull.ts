// `tbuild pull REF`: copy an image from its registry into the store, printing Docker's lines.
// The store's modules load and the store opens while the manifest is fetched: registry/
// loads without them (registry/store-module.ts), so the first request goes out sooner.
import { familiarName, parseReference } from "../../image/index.js";
import { defaultCredentials, pullImage, storeTransfer, type TransferEvent } from "../../registry/index.js";
import { TbuildError, shortDigest } from "../../util/index.js";
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../io.js";
import { TLS_VERIFY_DETAILS, TLS_VERIFY_OPTION, tlsVerifyOption } from "../tls-verify.js";

export const spec: CommandSpec = {
  name: "pull",
  summary: "Download an image from a registry",
  usage: "pull [OPTIONS] NAME[:TAG|@DIGEST]",
  minPositionals: 1,
  maxPositionals: 1,
  options: {
    platform: { type: "string", valueName: "OS/ARCH", description: "pick this platform from a multi-platform image (default: the host's)" },
    "all-tags": { type: "boolean", short: "a", description: "download all tagged images in the repository" },
    quiet: { type: "boolean", short: "q", description: "print only the image reference" },
    "tls-verify": TLS_VERIFY_OPTION,
  },
  details: ["Credentials come from tbuild's auth file (tbuild login), then ~/.docker/config.json.", TLS_VERIFY_DETAILS].join("\n"),
};

export async function run(ctx: CommandContext): Promise<number> {
  const input = ctx.positionals[0]!;
  const ref = parseReference(input, { defaultTag: !ctx.values["all-tags"] });
  const store = import("../../store/index.js").then(async ({ Store }) => storeTransfer(await Store.open(ctx.root)));
  store.catch(() => undefined); // awaited by each pull, or below
  const quiet = Boolean(ctx.values.quiet);
  const out = (s: string) => void (quiet ? undefined : ctx.io.stdout.write(s));
  const common = {
    credentials: defaultCredentials(ctx.io.env),
    signal: ctx.io.signal,
    ...tlsVerifyOption(ctx.values["tls-verify"]),
    ...(typeof ctx.values.platform === "string" ? { platform: ctx.values.platform } : {}),
  };
  let tags: string[] = [ref.tag ?? ref.digest!];
  if (ctx.values["all-tags"]) {
    await store;
    if (ref.tag || ref.digest) throw new TbuildError("E_USAGE", "tag can't be used with --all-tags/-a");
    const { RegistryClient } = await import("../../registry/index.js");
    tags = await new RegistryClient({ registry: ref.domain, ...common }).listTags(ref.path);
  }
  for (const tag of tags) {
    const one = tag.startsWith("sha256:") ? `${ref.domain}/${ref.path}@${tag}` : `${ref.domain}/${ref.path}:${tag}`;
    // Once the store is open (before any layer line): a store that cannot open prints only its error, as when it opened first.
    void store.then(() => out(`${tag}: Pulling from ${ref.path}\n`), () => undefined);
    const onEvent = (e: TransferEvent) => {
      if (e.kind !== "layer") return;
      const line = { exists: "Already exists", downloading: "Pulling fs layer", pulled: "Pull complete" }[e.status as "exists" | "downloading" | "pulled"];
      if (line) out(`${shortDigest(e.digest)}: ${line}\n`);
    };
    const r = await pullImage(store, one, { ...common, onEvent });
    const name = familiarName(parseReference(one));
    out(`Digest: ${r.remoteDigest}\n`);
    out(r.downloaded ? `Status: Downloaded newer image for ${name}\n` : `Status: Image is up to date for ${name}\n`);
    ctx.io.stdout.write(`${r.ref}\n`);
  }
  return 0;
}
