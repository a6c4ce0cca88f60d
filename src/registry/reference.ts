// A minimal image-reference parser for the registry client, used until src/image's lands
// (same shape as image's Reference; replaced by it once image/index.ts exists). `alpine` → docker.io/library/alpine:latest.
import { TbuildError, isDigest, type Digest } from "../util/index.js";

export interface RegistryReference {
  /** `docker.io`, `127.0.0.1:5000`, `ghcr.io`. */
  readonly domain: string;
  /** `library/alpine`. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/** Parse and normalise a reference; a missing tag (and digest) becomes `latest`. */
export function parseRegistryReference(input: string): RegistryReference {
  const bad = (why: string) => new TbuildError("E_REF_INVALID", `invalid reference ${JSON.stringify(input)}: ${why}`);
  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw bad("bad digest");
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad("bad tag");
  }
  let registry = "docker.io";
  const slash = rest.indexOf("/");
  const first = slash >= 0 ? rest.slice(0, slash) : "";
  if (first && (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase())) {
    registry = first;
    rest = rest.slice(slash + 1);
  }
  if (registry === "index.docker.io") registry = "docker.io";
  if (registry === "docker.io" && !rest.includes("/")) rest = `library/${rest}`;
  if (!rest || !rest.split("/").every((c) => PATH_COMPONENT.test(c))) throw bad("bad repository name");
  if (!tag && !digest) tag = "latest";
  return { domain: registry, path: rest, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** `docker.io/library/alpine:latest`, `host/repo@sha256:…`. */
export function formatRegistryReference(r: RegistryReference): string {
  return `${r.domain}/${r.path}${r.tag ? `:${r.tag}` : ""}${r.digest ? `@${r.digest}` : ""}`;
}
