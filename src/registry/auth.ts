// Registry credentials and the WWW-Authenticate flows (Basic, and Bearer tokens as in the
// distribution token spec). Credentials come from tbuild's own auth file (`tbuild login`)
// first, then Docker's config.json (credHelpers, credsStore, then `auths`).
import { spawn } from "node:child_process";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { TbuildError } from "../util/index.js";

export type Env = Readonly<Record<string, string | undefined>>;

/** A user name and password (or token), or an identity (refresh) token from a helper. */
export type Credentials =
  | { readonly username: string; readonly password: string }
  | { readonly identityToken: string };

/** Looks up the credentials for a registry host (`127.0.0.1:5000`, `docker.io`). */
export type CredentialSource = (registry: string) => Promise<Credentials | undefined>;

/**
 * tbuild's auth file: `$TBUILD_AUTH_FILE`, else `$XDG_CONFIG_HOME/tbuild/auth.json`, else
 * `~/.config/tbuild/auth.json`. Same shape as Docker's config.json (`{"auths": {host:
 * {"auth": base64("user:pass")}}}`), written with mode 0600.
 */
export function authFilePath(env: Env): string {
  if (env.TBUILD_AUTH_FILE) return env.TBUILD_AUTH_FILE;
  const config = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(config, "tbuild", "auth.json");
}

/** Docker's config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: Env): string {
  return join(env.DOCKER_CONFIG || join(env.HOME || homedir(), ".docker"), "config.json");
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}
interface AuthConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

/** The key a registry is filed under; Docker Hub keeps its historical URL. */
export function registryKey(registry: string): string {
  const host = normalizeHost(registry);
  return host === "docker.io" ? "https://index.docker.io/v1/" : host;
}

/** `https://index.docker.io/v1/` → `docker.io`; `http://host:5000/` → `host:5000`. */
export function normalizeHost(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "").toLowerCase();
  return host === "index.docker.io" || host === "registry-1.docker.io" ? "docker.io" : host;
}

async function readConfig(path: string): Promise<AuthConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new TbuildError("E_IO", `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return JSON.parse(text) as AuthConfigFile;
  } catch (e) {
    throw new TbuildError("E_REGISTRY_AUTH", `${path} is not valid JSON`, { cause: e, hint: "fix or remove the file" });
  }
}

function entryFor(cfg: AuthConfigFile | undefined, registry: string): AuthEntry | undefined {
  const want = normalizeHost(registry);
  for (const [k, v] of Object.entries(cfg?.auths ?? {})) if (normalizeHost(k) === want) return v;
  return undefined;
}

function decodeEntry(e: AuthEntry | undefined): Credentials | undefined {
  if (!e) return undefined;
  if (e.identitytoken) return { identityToken: e.identitytoken };
  if (e.auth) {
    const plain = Buffer.from(e.auth, "base64").toString("utf8");
    const i = plain.indexOf(":");
    if (i > 0) return { username: plain.slice(0, i), password: plain.slice(i + 1) };
  }
  if (e.username !== undefined && e.password !== undefined) return { username: e.username, password: e.password };
  return undefined;
}

/** Run `docker-credential-<helper> get` with the server URL on stdin (Docker's protocol). */
export async function runCredentialHelper(helper: string, registry: string, env: Env): Promise<Credentials | undefined> {
  const server = registryKey(registry);
  return await new Promise((resolve) => {
    let out = "";
    const child = spawn(`docker-credential-${helper}`, ["get"], { stdio: ["pipe", "pipe", "ignore"], env: { ...env } as NodeJS.ProcessEnv });
    child.on("error", () => resolve(undefined)); // helper not installed
    child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
    child.on("close", (code) => {
      if (code !== 0) return resolve(undefined); // "credentials not found in native keychain"
      try {
        const r = JSON.parse(out) as { Username?: string; Secret?: string };
        if (!r.Secret) return resolve(undefined);
        resolve(r.Username === "<token>" ? { identityToken: r.Secret } : { username: r.Username ?? "", password: r.Secret });
      } catch {
        resolve(undefined);
      }
    });
    child.stdin.end(server);
  });
}

/** The default credential lookup: tbuild's auth file, then Docker's config.json. */
export function defaultCredentials(env: Env): CredentialSource {
  return async (registry) => {
    const own = decodeEntry(entryFor(await readConfig(authFilePath(env)), registry));
    if (own) return own;
    const docker = await readConfig(dockerConfigPath(env));
    if (!docker) return undefined;
    const want = normalizeHost(registry);
    const helper = Object.entries(docker.credHelpers ?? {}).find(([k]) => normalizeHost(k) === want)?.[1];
    if (helper) return await runCredentialHelper(helper, registry, env);
    const inline = decodeEntry(entryFor(docker, registry));
    if (inline) return inline;
    if (docker.credsStore) return await runCredentialHelper(docker.credsStore, registry, env);
    return undefined;
  };
}

/** Store credentials for `registry` in tbuild's auth file (atomic replace, mode 0600). */
export async function saveCredentials(env: Env, registry: string, creds: { username: string; password: string }): Promise<string> {
  const path = authFilePath(env);
  const cfg = (await readConfig(path)) ?? {};
  const auths = { ...(cfg.auths ?? {}) };
  for (const k of Object.keys(auths)) if (normalizeHost(k) === normalizeHost(registry)) delete auths[k];
  auths[registryKey(registry)] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString("base64") };
  await writeConfig(path, { ...cfg, auths });
  return path;
}

/** Remove `registry` from tbuild's auth file. Returns false when it was not there. */
export async function removeCredentials(env: Env, registry: string): Promise<boolean> {
  const path = authFilePath(env);
  const cfg = await readConfig(path);
  if (!cfg?.auths) return false;
  const auths = { ...cfg.auths };
  let found = false;
  for (const k of Object.keys(auths)) {
    if (normalizeHost(k) === normalizeHost(registry)) {
      delete auths[k];
      found = true;
    }
  }
  if (found) await writeConfig(path, { ...cfg, auths });
  return found;
}

async function writeConfig(path: string, cfg: AuthConfigFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await writeFile(tmp, JSON.stringify(cfg, null, "\t") + "\n", { mode: 0o600 });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new TbuildError("E_IO", `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** One `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"`. */
export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parse a WWW-Authenticate header (RFC 7235 auth-params, quoted strings with escapes). */
export function parseChallenges(header: string): Challenge[] {
  const out: { scheme: string; params: Record<string, string> }[] = [];
  const re = /\s*(?:([A-Za-z][\w!#$%&'*+.^`|~-]*)(?=\s+[^\s=,]+\s*=|\s*,|\s*$)|([\w!#$%&'*+.^`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*)))\s*,?/gy;
  let m;
  while ((m = re.exec(header)) && m[0].length > 0) {
    if (m[1]) out.push({ scheme: m[1].toLowerCase(), params: {} });
    else if (m[2] && out.length) out[out.length - 1]!.params[m[2].toLowerCase()] = m[3] !== undefined ? m[3].replace(/\\(.)/g, "$1") : (m[4] ?? "");
  }
  return out;
}

export function basicHeader(c: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}
