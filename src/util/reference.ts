// Image references parsed and normalised the way Docker does (distribution/reference's
// ParseNormalizedNamed): `alpine` → `docker.io/library/alpine:latest`. Pure. It lives in
// util, below image/ (which re-exports it) and lint/ (which may not import image/), so the
// linter and the store agree on what a valid reference is.
// The grammar is written out in grammar/reference.ebnf.
import type { Digest } from "./digest.js";
import { TbuildError } from "./errors.js";

/** A parsed, normalised image reference. `domain/path` is the repository name. */
export interface Reference {
  /** Registry host with optional port: `docker.io`, `localhost:5000`, `ghcr.io`. */
  readonly domain: string;
  /** Repository path below the domain: `library/alpine`, `user/app`. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

export const DEFAULT_DOMAIN = "docker.io";
export const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
export const OFFICIAL_REPO_PREFIX = "library/";
export const DEFAULT_TAG = "latest";
export const NAME_TOTAL_LENGTH_MAX = 255;

// distribution/reference regexp.go, assembled from the same pieces.
const alphanumeric = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainNameComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const ipv6address = "\\[(?:[a-fA-F0-9:]+)\\]";
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const tagPat = "[\\w][\\w.-]{0,127}";
const digestPat = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}";
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;

const REFERENCE_RE = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const DOMAIN_RE = new RegExp(`^${domainAndPort}$`);
const REMOTE_RE = new RegExp(`^${remoteName}$`);
const TAG_RE = new RegExp(`^${tagPat}$`);
const ID_RE = /^[a-f0-9]{64}$/;
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

export interface ParseReferenceOptions {
  /** Add `:latest` when the reference has neither tag nor digest (default true). */
  readonly defaultTag?: boolean;
}

/** Why a reference is invalid: the message after `invalid reference format: "<input>": `, and a hint. */
export interface ReferenceProblem {
  readonly why: string;
  readonly hint?: string;
}

export type ReferenceCheck = { readonly ok: true; readonly ref: Reference } | ({ readonly ok: false } & ReferenceProblem);

const invalid = (why: string, hint?: string): ReferenceCheck => ({ ok: false, why, ...(hint ? { hint } : {}) });

/** Split off the registry the way Docker's splitDockerDomain does. */
function splitDomain(name: string): [string, string] {
  const i = name.indexOf("/");
  let domain: string;
  let rest: string;
  const first = i === -1 ? "" : name.slice(0, i);
  if (i === -1 || (!/[.:]/.test(first) && first !== "localhost" && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    rest = name;
  } else {
    domain = first;
    rest = name.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !rest.includes("/")) rest = OFFICIAL_REPO_PREFIX + rest;
  return [domain, rest];
}

/** Parse and normalise `input` like parseReference, returning what is wrong instead of throwing (lint asks this of every FROM). */
export function checkReference(input: string, opts: ParseReferenceOptions = {}): ReferenceCheck {
  if (input === "") return invalid("repository name must have at least one component");
  if (ID_RE.test(input)) return invalid("cannot specify 64-byte hexadecimal strings as a repository name", "to refer to an image by ID, use sha256:<id>");
  if (/\s/.test(input)) return invalid("references contain no whitespace");
  // Name part: everything before the tag or digest.
  const at = input.indexOf("@");
  const beforeDigest = at === -1 ? input : input.slice(0, at);
  const lastSlash = beforeDigest.lastIndexOf("/");
  const colon = beforeDigest.indexOf(":", lastSlash + 1);
  const namePart = colon === -1 ? beforeDigest : beforeDigest.slice(0, colon);
  if (namePart === "") return invalid("repository name must have at least one component");
  const [domain, rest] = splitDomain(namePart);
  if (rest.toLowerCase() !== rest) return invalid(`repository name (${rest}) must be lowercase`, `try ${JSON.stringify(input.replace(rest.split("/").pop() ?? "", (s) => s.toLowerCase()))}`);
  if (!DOMAIN_RE.test(domain)) return invalid(`registry ${JSON.stringify(domain)} is not a valid host[:port]`);
  if (!REMOTE_RE.test(rest)) return invalid(`repository path ${JSON.stringify(rest)} is malformed`, "path components are lowercase letters and digits separated by '.', '_', '__' or dashes");
  const full = `${domain}/${rest}${input.slice(namePart.length)}`;
  const m = REFERENCE_RE.exec(full);
  if (!m) {
    const tail = input.slice(namePart.length);
    if (tail.startsWith(":")) {
      const tag = at === -1 ? tail.slice(1) : tail.slice(1, tail.indexOf("@"));
      if (!TAG_RE.test(tag)) return invalid(`tag ${JSON.stringify(tag)} is malformed`, "a tag is up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'");
    }
    if (at !== -1) return invalid(`digest ${JSON.stringify(input.slice(at + 1))} is malformed`, "expected sha256: followed by 64 lowercase hex digits");
    return invalid("unexpected characters");
  }
  const name = m[1]!;
  if (name.length > NAME_TOTAL_LENGTH_MAX) return invalid(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  const tag = m[2];
  const digest = m[3];
  if (digest !== undefined && !SHA256_RE.test(digest)) return invalid(`digest ${JSON.stringify(digest)} is not supported`, "tbuild supports sha256 digests of 64 lowercase hex digits");
  const ref: { domain: string; path: string; tag?: string; digest?: Digest } = { domain, path: rest };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest as Digest;
  if (tag === undefined && digest === undefined && opts.defaultTag !== false) ref.tag = DEFAULT_TAG;
  return { ok: true, ref };
}

/**
 * Parse and normalise `input` (Docker's ParseNormalizedNamed + TagNameOnly).
 * Throws TbuildError(E_REF_INVALID) naming what is wrong.
 */
export function parseReference(input: string, opts: ParseReferenceOptions = {}): Reference {
  const r = checkReference(input, opts);
  if (r.ok) return r.ref;
  throw new TbuildError("E_REF_INVALID", `invalid reference format: ${JSON.stringify(input)}: ${r.why}`, r.hint ? { hint: r.hint } : {});
}

/** Is `tag` a valid tag on its own? */
export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** `docker.io/library/alpine` */
export function repositoryName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full normalised string: `docker.io/library/alpine:latest`, `…@sha256:…`. */
export function formatReference(ref: Reference): string {
  return `${repositoryName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
}

/** The short repository name Docker shows: `alpine`, `user/app`, `localhost:5000/app`. */
export function familiarRepository(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return repositoryName(ref);
  return ref.path.startsWith(OFFICIAL_REPO_PREFIX) && ref.path.indexOf("/", OFFICIAL_REPO_PREFIX.length) === -1 ? ref.path.slice(OFFICIAL_REPO_PREFIX.length) : ref.path;
}

/** The short form Docker prints: `alpine:latest`, `user/app:v1`, `alpine@sha256:…`. */
export function familiarName(ref: Reference): string {
  return `${familiarRepository(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
}

/** Normalise a reference string: `alpine` → `docker.io/library/alpine:latest`. */
export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

/** `familiarName(parseReference(s))`, or `s` unchanged when it does not parse. */
export function familiarString(s: string): string {
  try {
    return familiarName(parseReference(s, { defaultTag: false }));
  } catch {
    return s;
  }
}
