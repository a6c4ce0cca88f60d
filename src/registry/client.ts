// The OCI distribution API over node:http(s) (http.ts): manifests (GET/HEAD/PUT), blobs (HEAD, GET
// verified while streaming, monolithic and chunked uploads, cross-repository mounts),
// Basic and Bearer auth, and bounded retries with backoff on 5xx and network faults.
import { createHash } from "node:crypto";
import { TbuildError, isDigest, sha256Digest, type Digest } from "../util/index.js";
import { basicHeader, parseChallenges, type Challenge, type CredentialSource, type Credentials } from "./auth.js";
import { faultUrl, sendHttp, type HttpResponse, type HttpTransport } from "./http.js";
import { fixedOrigin, isCertificateError, probeOrigin, tlsError, type RegistryOrigin } from "./origin.js";
import { MANIFEST_ACCEPT } from "./types.js";

export interface RegistryClientOptions {
  /** `host[:port]`; `docker.io` is reached at registry-1.docker.io. */
  readonly registry: string;
  /**
   * true: https with a verified certificate. false: https without checking the certificate,
   * or plain http when the registry does not speak https (found once per client). Not
   * given: as true, but plain http for localhost, 127.0.0.0/8 and [::1] (origin.ts).
   */
  readonly tlsVerify?: boolean;
  readonly credentials?: CredentialSource;
  /** Attempts after the first on 5xx, 429 and network faults (default 4). */
  readonly retries?: number;
  /** First backoff in ms, doubled per attempt (default 250). */
  readonly backoffMs?: number;
  readonly signal?: AbortSignal;
  /** How requests are sent (default sendHttp); tests wrap it to inject faults. */
  readonly transport?: HttpTransport;
  readonly userAgent?: string;
}

/** A manifest as fetched: its bytes, media type and digest (verified). */
export interface FetchedManifest {
  readonly bytes: Uint8Array;
  readonly mediaType: string;
  readonly digest: Digest;
}

/** Where a blob's bytes come from for an upload; called again when an upload is retried. */
export type BlobBody = () => AsyncIterable<Uint8Array>;

export interface UploadOptions {
  /** Upload in PATCH chunks of this many bytes; default: one streamed PUT. */
  readonly chunkSize?: number;
  /** Repositories on the same registry to try a cross-repository mount from. */
  readonly mountFrom?: readonly string[];
  /** Skip the HEAD check (the caller already knows the registry lacks the blob). */
  readonly skipExistsCheck?: boolean;
  /** Called with the number of bytes sent so far. */
  readonly onProgress?: (sent: number) => void;
}

/** What an upload did: the blob was already there, was mounted, or was sent. */
export type UploadResult = "exists" | "mounted" | "uploaded";

const MAX_MANIFEST = 4 * 1024 * 1024;

interface RequestInit2 {
  readonly headers?: Record<string, string>;
  /** A replayable body, or a stream (then the request is never retried here). */
  readonly body?: Uint8Array | AsyncIterable<Uint8Array>;
  /** Token scopes this request needs, e.g. `repository:library/alpine:pull`. */
  readonly scopes: readonly string[];
  /** Send it with this instead of the client's transport. */
  readonly transport?: HttpTransport;
}

class RetryableError extends TbuildError {}

/** A client for one registry. Stateful: it caches the auth scheme and tokens per scope. */
export class RegistryClient {
  readonly registry: string;
  private readonly opts: RegistryClientOptions;
  /** Where requests go; a promise while --tls-verify=false's probe runs (once per client). */
  private origin: RegistryOrigin | Promise<RegistryOrigin> | "probe";
  private readonly transport: HttpTransport;
  private challenge: Challenge | undefined;
  private creds: Credentials | undefined | null = null; // null: not looked up yet
  private readonly tokens = new Map<string, string>();

  constructor(opts: RegistryClientOptions) {
    this.opts = opts;
    this.registry = opts.registry;
    this.transport = opts.transport ?? sendHttp;
    this.origin = fixedOrigin(this.host, opts.tlsVerify);
  }

  /** The host requests go to: `docker.io` is reached at registry-1.docker.io. */
  private get host(): string {
    return this.registry === "docker.io" ? "registry-1.docker.io" : this.registry;
  }

  /** Where requests go; with verification off, probed (once it answers: a registry briefly down is probed again). */
  private async reach(): Promise<RegistryOrigin> {
    if (this.origin !== "probe") return await this.origin;
    const probing = probeOrigin(this.host, this.transport, { "user-agent": this.opts.userAgent ?? "tbuild" }, this.opts.signal);
    const shared = probing.then((p) => p.origin); // requests meanwhile wait for this probe
    this.origin = shared;
    const { origin, answered } = await probing;
    if (!answered && this.origin === shared) this.origin = "probe";
    return origin;
  }

  // ---- manifests ---------------------------------------------------------------------

  /** GET a manifest or index by tag or digest; verifies the digest of what arrives. */
  async getManifest(repo: string, ref: string, accept: string = MANIFEST_ACCEPT): Promise<FetchedManifest> {
    const res = await this.send("GET", `/v2/${repo}/manifests/${ref}`, { headers: { accept }, scopes: [pullScope(repo)] });
    if (res.status === 404) {
      res.discard();
      throw new TbuildError("E_REGISTRY", `manifest for ${this.registry}/${repo}:${ref} not found: manifest unknown`, { hint: "check the name and tag, and that you are logged in" });
    }
    await this.expect(res, [200], `GET manifest ${repo}:${ref}`);
    const bytes = await readLimited(res, MAX_MANIFEST, `manifest ${repo}:${ref}`);
    const digest = sha256Digest(bytes);
    const claimed = isDigest(ref) ? ref : res.header("docker-content-digest");
    if (claimed && claimed !== digest) {
      throw new TbuildError("E_REGISTRY_DIGEST", `manifest ${this.registry}/${repo}@${claimed} does not match its digest: got ${digest}`, { hint: "the registry or a proxy altered the manifest" });
    }
    const mediaType = (res.header("content-type") ?? "").split(";")[0]!.trim();
    return { bytes, mediaType: mediaTypeOf(bytes) || mediaType, digest };
  }

  /** HEAD a manifest: its digest, media type and size, or undefined when absent. */
  async headManifest(repo: string, ref: string): Promise<{ digest: Digest; mediaType: string; size: number } | undefined> {
    const res = await this.send("HEAD", `/v2/${repo}/manifests/${ref}`, { headers: { accept: MANIFEST_ACCEPT }, scopes: [pullScope(repo)] });
    if (res.status === 404) return undefined;
    await this.expect(res, [200], `HEAD manifest ${repo}:${ref}`);
    const digest = res.header("docker-content-digest");
    if (!digest || !isDigest(digest)) return undefined;
    return { digest, mediaType: (res.header("content-type") ?? "").split(";")[0]!.trim(), size: Number(res.header("content-length") ?? 0) };
  }

  /** PUT a manifest (or index) under a tag or its digest. Returns its digest. */
  async putManifest(repo: string, ref: string, bytes: Uint8Array, mediaType: string): Promise<Digest> {
    const res = await this.send("PUT", `/v2/${repo}/manifests/${ref}`, { headers: { "content-type": mediaType }, body: bytes, scopes: [pushScope(repo)] });
    await this.expect(res, [201, 200], `PUT manifest ${repo}:${ref}`);
    res.discard();
    return sha256Digest(bytes);
  }

  /** All tags of a repository (GET /v2/<repo>/tags/list, following Link pagination). */
  async listTags(repo: string): Promise<string[]> {
    const tags: string[] = [];
    let next: string | undefined = `/v2/${repo}/tags/list?n=1000`;
    while (next) {
      const res = await this.send("GET", next, { scopes: [pullScope(repo)] });
      await this.expect(res, [200], `list tags of ${repo}`);
      tags.push(...((JSON.parse(await res.text()) as { tags?: string[] | null }).tags ?? []));
      next = /<([^>]+)>;\s*rel="next"/.exec(res.header("link") ?? "")?.[1];
    }
    return tags;
  }

  // ---- blobs -------------------------------------------------------------------------

  /** HEAD a blob: true when the registry has it. */
  async hasBlob(repo: string, digest: Digest): Promise<boolean> {
    const res = await this.send("HEAD", `/v2/${repo}/blobs/${digest}`, { scopes: [pullScope(repo)] });
    if (res.status === 404) return false;
    await this.expect(res, [200], `HEAD blob ${digest}`);
    return true;
  }

  /**
   * Stream a blob, verifying size and digest as bytes arrive. The iterator throws
   * E_REGISTRY_DIGEST (after the last byte, or as soon as the size is exceeded) when the
   * bytes are wrong, so a consumer that commits only after a clean end never keeps them.
   * With `verifiedBy: "consumer"` the digest is not computed here: the consumer MUST hash
   * the bytes itself and keep nothing that differs (the store's writer does, once).
   */
  async *openBlob(repo: string, digest: Digest, size?: number, opts: { verifiedBy?: "consumer" } = {}): AsyncGenerator<Uint8Array> {
    const res = await this.getBlob(repo, digest);
    const hash = opts.verifiedBy === "consumer" ? undefined : createHash("sha256");
    let n = 0;
    try {
      for await (const chunk of res.body) {
        n += chunk.byteLength;
        if (size !== undefined && n > size) throw this.wrongSize(repo, digest, size);
        hash?.update(chunk);
        yield chunk;
      }
    } catch (e) {
      if (e instanceof TbuildError) throw e;
      throw this.brokeOff(digest, e);
    }
    if (size !== undefined && n !== size) throw this.wrongSize(repo, digest, size, n);
    if (!hash) return;
    const got = `sha256:${hash.digest("hex")}`;
    if (got !== digest) {
      throw new TbuildError("E_REGISTRY_DIGEST", `blob ${digest} from ${this.registry}/${repo} does not match its digest: got ${got}`, { hint: "the registry sent corrupted data; nothing was stored" });
    }
  }

  /**
   * GET a blob (with auth and retries as every request): its 200 answer, whose body the
   * caller reads. `transport` sends this request instead of the client's (a worker thread
   * that writes the body to a file).
   */
  async getBlob(repo: string, digest: Digest, transport?: HttpTransport): Promise<HttpResponse> {
    const res = await this.send("GET", `/v2/${repo}/blobs/${digest}`, { scopes: [pullScope(repo)], ...(transport ? { transport } : {}) });
    if (res.status === 404) {
      res.discard();
      throw new TbuildError("E_REGISTRY", `blob ${digest} not found in ${this.registry}/${repo}`);
    }
    await this.expect(res, [200], `GET blob ${digest}`);
    return res;
  }

  /** The error for a blob body that broke off (`cause`): retryable, unless the transfer was interrupted. */
  brokeOff(digest: Digest, cause: unknown): TbuildError {
    this.throwIfAborted();
    return new RetryableError("E_REGISTRY", `download of ${digest} from ${this.registry} broke off: ${describeNetError(cause)}`, { cause });
  }

  /** The error for a blob of `got` bytes (undefined: more than `size`) where `size` were expected. */
  wrongSize(repo: string, digest: Digest, size: number, got?: number): TbuildError {
    const what = got === undefined ? `is larger than its ${size} bytes` : `has ${got} bytes, expected ${size}`;
    return new TbuildError("E_REGISTRY_DIGEST", `blob ${digest} from ${this.registry}/${repo} ${what}`);
  }

  /** Fetch a small blob (an image config) whole, verified. */
  async fetchBlob(repo: string, digest: Digest, size?: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const c of this.openBlob(repo, digest, size)) parts.push(c);
    return Buffer.concat(parts);
  }

  /**
   * Make `digest` exist in `repo` without sending it: HEAD first (unless told not to), then
   * a mount from each of `mountFrom`. Otherwise the bytes must be uploaded, through
   * `location` when a refused mount opened an upload session.
   */
  async findBlob(repo: string, digest: Digest, opts: Pick<UploadOptions, "mountFrom" | "skipExistsCheck"> = {}): Promise<"exists" | "mounted" | { readonly location?: string }> {
    if (!opts.skipExistsCheck && (await this.hasBlob(repo, digest))) return "exists";
    for (const from of opts.mountFrom ?? []) {
      if (from === repo) continue;
      const res = await this.send("POST", `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, {
        headers: { "content-length": "0" },
        scopes: [pushScope(repo), pullScope(from)],
      });
      if (res.status === 201) {
        res.discard();
        return "mounted";
      }
      await this.expect(res, [202], `mount ${digest} from ${from}`);
      res.discard();
      const location = res.header("location");
      return location ? { location } : {}; // an upload session to use instead
    }
    return {};
  }

  /**
   * Make `digest` exist in `repo`: findBlob (HEAD, mounts), else upload `body`. A failed
   * upload is retried from the start.
   */
  async uploadBlob(repo: string, digest: Digest, size: number, body: BlobBody, opts: UploadOptions = {}): Promise<UploadResult> {
    const found = await this.findBlob(repo, digest, opts);
    if (typeof found === "string") return found;
    let location = found.location;
    const retries = this.opts.retries ?? 4;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.uploadOnce(repo, digest, size, body, location, opts);
        return "uploaded";
      } catch (e) {
        location = undefined;
        if (!(e instanceof RetryableError) || attempt >= retries) throw e;
        await this.backoff(attempt);
      }
    }
  }

  /**
   * Upload bytes whose digest is known only after the last one (push gzips a layer while
   * sending it): one streamed PATCH, then the closing PUT with `digest()`. Not retried,
   * since the bytes cannot be replayed: on failure the caller uploads again with uploadBlob.
   */
  async uploadStream(repo: string, body: AsyncIterable<Uint8Array>, digest: () => Promise<Digest>): Promise<void> {
    const scopes = [pushScope(repo)];
    const location = await this.startUpload(repo, scopes, "a streamed blob");
    const res = await this.send("PATCH", location, { headers: { "content-type": "application/octet-stream" }, body, scopes });
    await this.expect(res, [202], "streamed upload");
    res.discard();
    const d = await digest();
    const fin = await this.send("PUT", withDigest(res.header("location") ?? location, d), { headers: { "content-length": "0" }, scopes });
    await this.expect(fin, [201], `finish upload of ${d}`);
    fin.discard();
  }

  private async startUpload(repo: string, scopes: string[], what: string): Promise<string> {
    const res = await this.send("POST", `/v2/${repo}/blobs/uploads/`, { headers: { "content-length": "0" }, scopes });
    await this.expect(res, [202], `start upload of ${what}`);
    res.discard();
    const location = res.header("location");
    if (!location) throw new TbuildError("E_REGISTRY", `${this.registry} started an upload without a Location`);
    return location;
  }

  private async uploadOnce(repo: string, digest: Digest, size: number, body: BlobBody, location: string | undefined, opts: UploadOptions): Promise<void> {
    const scopes = [pushScope(repo)];
    location ??= await this.startUpload(repo, scopes, digest);
    let sent = 0;
    const counted = async function* (it: AsyncIterable<Uint8Array>) {
      for await (const c of it) {
        sent += c.byteLength;
        opts.onProgress?.(sent);
        yield c;
      }
    };
    if (opts.chunkSize === undefined || size <= opts.chunkSize) {
      const res = await this.send("PUT", withDigest(location, digest), {
        headers: { "content-type": "application/octet-stream", "content-length": String(size) },
        body: counted(body()),
        scopes,
      });
      await this.expect(res, [201], `upload of ${digest}`);
      res.discard();
      return;
    }
    let offset = 0;
    for await (const chunk of rechunk(counted(body()), opts.chunkSize)) {
      const res = await this.send("PATCH", location, {
        headers: { "content-type": "application/octet-stream", "content-length": String(chunk.byteLength), "content-range": `${offset}-${offset + chunk.byteLength - 1}` },
        body: chunk,
        scopes,
      });
      await this.expect(res, [202], `upload chunk of ${digest} at ${offset}`);
      res.discard();
      offset += chunk.byteLength;
      location = res.header("location") ?? location;
    }
    const res = await this.send("PUT", withDigest(location, digest), { headers: { "content-length": "0" }, scopes });
    await this.expect(res, [201], `finish upload of ${digest}`);
    res.discard();
  }

  // ---- transport ---------------------------------------------------------------------

  /** One request with auth and retries. Streamed bodies are never retried here. */
  async send(method: string, pathOrUrl: string, init: RequestInit2): Promise<HttpResponse> {
    const origin = await this.reach();
    this.throwIfAborted();
    const url = new URL(pathOrUrl, origin.url + "/").toString();
    const unverified = origin.unverifiedHost !== undefined ? { unverifiedHost: origin.unverifiedHost } : {};
    const retries = this.opts.retries ?? 4;
    const replayable = init.body === undefined || init.body instanceof Uint8Array;
    let authTried = false;
    for (let attempt = 0; ; ) {
      this.throwIfAborted();
      const headers: Record<string, string> = { "user-agent": this.opts.userAgent ?? "tbuild", ...init.headers };
      const auth = await this.authorization(init.scopes, false);
      if (auth) headers.authorization = auth;
      let res: HttpResponse;
      try {
        res = await (init.transport ?? this.transport)(url, { method, headers, ...(init.body !== undefined ? { body: init.body } : {}), ...(this.opts.signal ? { signal: this.opts.signal } : {}), ...unverified });
      } catch (e) {
        this.throwIfAborted();
        if (e instanceof TbuildError) throw e;
        const tls = this.tlsFault(e, origin, `${method} ${new URL(url).pathname}`);
        if (tls) throw tls;
        const err = new RetryableError("E_REGISTRY", `cannot reach ${this.registry} (${method} ${new URL(url).pathname}): ${describeNetError(e)}`, { cause: e, hint: "is the registry running and reachable?" });
        if (!replayable || attempt >= retries) throw err;
        await this.backoff(attempt++);
        continue;
      }
      if (res.status === 401 && !authTried && replayable) {
        authTried = true;
        res.discard();
        await this.handleChallenge(res, init.scopes);
        continue;
      }
      if (res.status === 401 || res.status === 403) {
        const detail = await errorText(res);
        throw new TbuildError("E_REGISTRY_AUTH", `${this.registry} refused access (${res.status}) to ${method} ${new URL(url).pathname}${detail ? `: ${detail}` : ""}`, {
          hint: `run "tbuild login ${this.registry}" with a user that may ${init.scopes.some((s) => s.endsWith("push")) ? "push to" : "pull from"} this repository`,
        });
      }
      if ((res.status >= 500 || res.status === 429) && replayable && attempt < retries) {
        res.discard();
        await this.backoff(attempt++);
        continue;
      }
      if (res.status >= 500 || res.status === 429) {
        const detail = await errorText(res);
        throw new RetryableError("E_REGISTRY", `${this.registry} answered ${res.status} to ${method} ${new URL(url).pathname}${detail ? `: ${detail}` : ""}`);
      }
      return res;
    }
  }

  /**
   * The error for a TLS fault of request `what`, or undefined for another fault. Not
   * retried: a certificate that does not verify will not on a second try. The fault is
   * the registry's when it happened at the registry's host (sendHttp names the hop), else
   * a redirect's (blob storage on another host, whose certificate is always checked, so the
   * hint does not suggest --tls-verify=false).
   */
  private tlsFault(e: unknown, origin: RegistryOrigin, what: string): TbuildError | undefined {
    const hop = faultUrl(e);
    const hopHost = hop === undefined ? undefined : new URL(hop).host;
    // Without a hop (a transport of the caller's own), the registry's when it is checked.
    const atRegistry = hopHost === undefined ? origin.unverifiedHost === undefined : hopHost === new URL(origin.url).host;
    if (atRegistry) return origin.unverifiedHost === undefined ? tlsError(e, `registry ${this.registry}`, false) : undefined;
    return isCertificateError(e) ? tlsError(e, hopHost === undefined ? `the host that ${this.registry} redirected ${what} to` : `${hopHost}, where ${this.registry} redirected ${what},`, true) : undefined;
  }

  private async expect(res: HttpResponse, ok: number[], what: string): Promise<void> {
    if (ok.includes(res.status)) return;
    const detail = await errorText(res);
    throw new TbuildError("E_REGISTRY", `${what} on ${this.registry} failed: ${res.status} ${res.statusText}${detail ? `: ${detail}` : ""}`);
  }

  private async credentials(): Promise<Credentials | undefined> {
    if (this.creds === null) this.creds = (await this.opts.credentials?.(this.registry)) ?? undefined;
    return this.creds;
  }

  /** The Authorization header for these scopes, fetching a token when the scheme is Bearer. */
  private async authorization(scopes: readonly string[], fresh: boolean): Promise<string | undefined> {
    const ch = this.challenge;
    if (!ch) return undefined;
    if (ch.scheme === "basic") {
      const c = await this.credentials();
      return c && "username" in c ? basicHeader(c) : undefined;
    }
    const key = [...scopes].sort().join(" ");
    let token = fresh ? undefined : this.tokens.get(key);
    if (!token) {
      token = await this.fetchToken(ch, scopes);
      this.tokens.set(key, token);
    }
    return `Bearer ${token}`;
  }

  private async handleChallenge(res: HttpResponse, scopes: readonly string[]): Promise<void> {
    const header = res.header("www-authenticate") ?? "";
    const chs = parseChallenges(header);
    const ch = chs.find((c) => c.scheme === "bearer") ?? chs.find((c) => c.scheme === "basic");
    if (!ch) throw new TbuildError("E_REGISTRY_AUTH", `${this.registry} requires authentication with an unsupported scheme: ${header || "(none)"}`);
    this.challenge = ch;
    if (ch.scheme === "basic") {
      const c = await this.credentials();
      if (!c || !("username" in c)) {
        throw new TbuildError("E_REGISTRY_AUTH", `${this.registry} requires a login`, { hint: `run "tbuild login ${this.registry}"` });
      }
      return;
    }
    const extra = ch.params.scope ? ch.params.scope.split(" ") : [];
    const all = [...new Set([...scopes, ...extra])];
    this.tokens.set([...scopes].sort().join(" "), await this.fetchToken(ch, all));
  }

  /**
   * The distribution token flow: GET realm?service&scope (Basic creds), or OAuth2 refresh.
   * With --tls-verify=false a realm on the registry's host name (any port: a certificate
   * names a host) is not verified either; a realm on another host is, since the token
   * request carries the user's password there, and the flag names the registry only.
   */
  private async fetchToken(ch: Challenge, scopes: readonly string[]): Promise<string> {
    const realm = ch.params.realm;
    if (!realm) throw new TbuildError("E_REGISTRY_AUTH", `${this.registry} sent a Bearer challenge without a realm`);
    const c = await this.credentials();
    const url = new URL(realm);
    let res: HttpResponse;
    const { unverifiedHost } = await this.reach();
    // sendHttp checks every host but this one (redirects included).
    const extra = { ...(this.opts.signal ? { signal: this.opts.signal } : {}), ...(unverifiedHost !== undefined ? { unverifiedHost } : {}) };
    try {
      if (c && "identityToken" in c) {
        const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: c.identityToken, client_id: "tbuild", ...(ch.params.service ? { service: ch.params.service } : {}) });
        for (const s of scopes) form.append("scope", s);
        res = await this.transport(url.toString(), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString(), ...extra });
      } else {
        if (ch.params.service) url.searchParams.set("service", ch.params.service);
        for (const s of scopes) url.searchParams.append("scope", s);
        const headers: Record<string, string> = {};
        if (c && "username" in c) headers.authorization = basicHeader(c);
        res = await this.transport(url.toString(), { method: "GET", headers, ...extra });
      }
    } catch (e) {
      this.throwIfAborted();
      const tls = tlsError(e, `the token service ${url.origin}`, unverifiedHost !== undefined && url.hostname !== unverifiedHost);
      if (tls) throw tls;
      throw new TbuildError("E_REGISTRY_AUTH", `cannot reach the token service ${url.origin}: ${describeNetError(e)}`, { cause: e });
    }
    if (res.status === 401 || res.status === 403) {
      res.discard();
      throw new TbuildError("E_REGISTRY_AUTH", `the token service of ${this.registry} refused the credentials (${res.status})`, { hint: `check the user name and password, then run "tbuild login ${this.registry}"` });
    }
    if (res.status !== 200) {
      const detail = await errorText(res);
      throw new TbuildError("E_REGISTRY_AUTH", `the token service of ${this.registry} answered ${res.status}${detail ? `: ${detail}` : ""}`);
    }
    const body = JSON.parse(await res.text()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new TbuildError("E_REGISTRY_AUTH", `the token service of ${this.registry} sent no token`);
    return token;
  }

  /** Verify credentials the way `docker login` does: GET /v2/ and answer any challenge. */
  async ping(): Promise<void> {
    const res = await this.send("GET", "/v2/", { scopes: [] });
    await this.expect(res, [200], "GET /v2/");
    res.discard();
  }

  private throwIfAborted(): void {
    const s = this.opts.signal;
    if (s?.aborted) throw s.reason instanceof TbuildError ? s.reason : new TbuildError("E_INTERRUPTED", "the transfer was interrupted");
  }

  private async backoff(attempt: number): Promise<void> {
    const ms = (this.opts.backoffMs ?? 250) * 2 ** attempt;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.opts.signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
    });
    this.throwIfAborted();
  }
}

/** True for errors a caller may retry from the start (network faults, 5xx). */
export function isRetryable(e: unknown): boolean {
  return e instanceof RetryableError;
}

export function pullScope(repo: string): string {
  return `repository:${repo}:pull`;
}

export function pushScope(repo: string): string {
  return `repository:${repo}:pull,push`;
}


function mediaTypeOf(bytes: Uint8Array): string {
  try {
    const j = JSON.parse(Buffer.from(bytes).toString("utf8")) as { mediaType?: string; manifests?: unknown; config?: unknown };
    if (j.mediaType) return j.mediaType;
    if (j.manifests) return "application/vnd.oci.image.index.v1+json";
    if (j.config) return "application/vnd.oci.image.manifest.v1+json";
  } catch {
    // not JSON: the caller reports it
  }
  return "";
}

function withDigest(location: string, digest: Digest): string {
  return location + (location.includes("?") ? "&" : "?") + `digest=${encodeURIComponent(digest)}`;
}

async function readLimited(res: HttpResponse, max: number, what: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of res.body) {
    n += c.byteLength;
    if (n > max) throw new TbuildError("E_REGISTRY", `${what} is larger than ${max} bytes`);
    parts.push(c);
  }
  return Buffer.concat(parts);
}

/** The registry's error JSON (`{"errors":[{"code","message"}]}`) as one line. */
async function errorText(res: HttpResponse): Promise<string> {
  try {
    const text = (await res.text()).slice(0, 2000);
    try {
      const j = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
      if (j.errors?.length) return j.errors.map((e) => [e.code?.toLowerCase().replace(/_/g, " "), e.message].filter(Boolean).join(": ")).join("; ");
    } catch {
      // not JSON
    }
    return text.trim().split("\n")[0] ?? "";
  } catch {
    return "";
  }
}

function describeNetError(e: unknown): string {
  const err = e as { code?: string; cause?: { code?: string; message?: string } } | undefined;
  return err?.code ?? err?.cause?.code ?? err?.cause?.message ?? (e instanceof Error ? e.message : String(e));
}

async function* rechunk(it: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let buf: Uint8Array[] = [];
  let n = 0;
  for await (const c of it) {
    let chunk = c;
    while (chunk.byteLength > 0) {
      const take = Math.min(size - n, chunk.byteLength);
      buf.push(chunk.subarray(0, take));
      n += take;
      chunk = chunk.subarray(take);
      if (n === size) {
        yield Buffer.concat(buf);
        buf = [];
        n = 0;
      }
    }
  }
  if (n > 0) yield Buffer.concat(buf);
}
