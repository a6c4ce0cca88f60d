// Credentials lookup (tbuild auth file, Docker config, credential helpers), challenge
// parsing, and the Bearer token flow and retries against a small fake server on 127.0.0.1.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RegistryClient, defaultCredentials, parseChallenges, removeCredentials, saveCredentials } from "../../../src/registry/index.js";
import { TbuildError } from "../../../src/util/index.js";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "tbuild-auth-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ host: string; close: () => Promise<void> }> {
  const srv = createServer(handler);
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  return { host: `127.0.0.1:${port}`, close: () => new Promise((r) => srv.close(() => r())) };
}

describe("parseChallenges", () => {
  it.each([
    ['Basic realm="registry"', [{ scheme: "basic", params: { realm: "registry" } }]],
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      [{ scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/alpine:pull" } }],
    ],
    ['Bearer realm="x\\"y", error="insufficient_scope"', [{ scheme: "bearer", params: { realm: 'x"y', error: "insufficient_scope" } }]],
  ])("%s", (header, want) => {
    expect(parseChallenges(header)).toEqual(want);
  });
});

describe("credentials", () => {
  it("tbuild's auth file wins over Docker's; logout removes it", async () => {
    const home = tmp();
    const env = { HOME: home };
    mkdirSync(join(home, ".docker"));
    writeFileSync(join(home, ".docker/config.json"), JSON.stringify({ auths: { "https://index.docker.io/v1/": { auth: Buffer.from("dock:er").toString("base64") } } }));
    expect(await defaultCredentials(env)("docker.io")).toEqual({ username: "dock", password: "er" });
    await saveCredentials(env, "docker.io", { username: "me", password: "pw" });
    expect(await defaultCredentials(env)("docker.io")).toEqual({ username: "me", password: "pw" });
    expect(await removeCredentials(env, "docker.io")).toBe(true);
    expect(await removeCredentials(env, "docker.io")).toBe(false);
    expect(await defaultCredentials(env)("docker.io")).toEqual({ username: "dock", password: "er" });
  });

  it("credHelpers and credsStore run docker-credential-<name> get", async () => {
    const home = tmp();
    const bin = join(home, "bin");
    mkdirSync(bin);
    mkdirSync(join(home, ".docker"));
    writeFileSync(join(bin, "docker-credential-fake"), '#!/bin/sh\nread server\necho "{\\"ServerURL\\":\\"$server\\",\\"Username\\":\\"helper\\",\\"Secret\\":\\"for-$server\\"}"\n');
    chmodSync(join(bin, "docker-credential-fake"), 0o755);
    writeFileSync(join(home, ".docker/config.json"), JSON.stringify({ credHelpers: { "ghcr.io": "fake" }, credsStore: "fake" }));
    const env = { HOME: home, PATH: `${bin}:/usr/bin:/bin` };
    expect(await defaultCredentials(env)("ghcr.io")).toEqual({ username: "helper", password: "for-ghcr.io" });
    expect(await defaultCredentials(env)("docker.io")).toEqual({ username: "helper", password: "for-https://index.docker.io/v1/" });
    // A helper that is not installed means no credentials, not a crash.
    writeFileSync(join(home, ".docker/config.json"), JSON.stringify({ credsStore: "missing" }));
    expect(await defaultCredentials(env)("quay.io")).toBeUndefined();
  });
});

describe("RegistryClient over a fake registry", () => {
  it("follows the Bearer token flow with Basic credentials and caches the token per scope", async () => {
    let tokenCalls = 0;
    let authHeader = "";
    const reg = await serve((req, res) => {
      if (req.url!.startsWith("/token")) {
        tokenCalls++;
        authHeader = req.headers.authorization ?? "";
        const u = new URL(req.url!, "http://x");
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ token: `tok:${u.searchParams.getAll("scope").join(" ")}:${u.searchParams.get("service")}` }));
        return;
      }
      if (req.headers.authorization !== "Bearer tok:repository:team/app:pull:fake") {
        res.statusCode = 401;
        res.setHeader("www-authenticate", `Bearer realm="http://${req.headers.host}/token",service="fake",scope="repository:team/app:pull"`);
        res.end();
        return;
      }
      res.statusCode = req.url === "/v2/team/app/blobs/sha256:" + "a".repeat(64) ? 200 : 404;
      res.end();
    });
    try {
      const client = new RegistryClient({ registry: reg.host, credentials: async () => ({ username: "u", password: "p" }) });
      expect(await client.hasBlob("team/app", `sha256:${"a".repeat(64)}`)).toBe(true);
      expect(await client.hasBlob("team/app", `sha256:${"b".repeat(64)}`)).toBe(false);
      expect(tokenCalls).toBe(1);
      expect(authHeader).toBe(`Basic ${Buffer.from("u:p").toString("base64")}`);
    } finally {
      await reg.close();
    }
  });

  it("a refused token request is E_REGISTRY_AUTH", async () => {
    const reg = await serve((req, res) => {
      res.statusCode = 401;
      if (!req.url!.startsWith("/token")) res.setHeader("www-authenticate", `Bearer realm="http://${req.headers.host}/token",service="fake"`);
      res.end();
    });
    try {
      const client = new RegistryClient({ registry: reg.host, credentials: async () => ({ username: "u", password: "bad" }) });
      const err = await client.ping().catch((e: unknown) => e);
      expect((err as TbuildError).code).toBe("E_REGISTRY_AUTH");
      expect((err as TbuildError).message).toContain("refused the credentials");
    } finally {
      await reg.close();
    }
  });

  it("retries 5xx with backoff, then gives up with E_REGISTRY (bounded)", async () => {
    let calls = 0;
    const reg = await serve((_req, res) => {
      calls++;
      res.statusCode = calls < 3 ? 503 : 200;
      res.end();
    });
    try {
      await new RegistryClient({ registry: reg.host, retries: 3, backoffMs: 5 }).ping();
      expect(calls).toBe(3);
      calls = -100;
      const err = await new RegistryClient({ registry: reg.host, retries: 2, backoffMs: 5 }).ping().catch((e: unknown) => e);
      expect((err as TbuildError).code).toBe("E_REGISTRY");
      expect(calls).toBe(-97);
    } finally {
      await reg.close();
    }
  });

  it("a refused connection is retried, then reported; an aborted signal stops at once", async () => {
    const reg = await serve((_q, s) => s.end());
    const host = reg.host;
    await reg.close();
    const err = await new RegistryClient({ registry: host, retries: 1, backoffMs: 5 }).ping().catch((e: unknown) => e);
    expect((err as TbuildError).code).toBe("E_REGISTRY");
    expect((err as TbuildError).message).toContain("ECONNREFUSED");
    const ac = new AbortController();
    ac.abort();
    const err2 = await new RegistryClient({ registry: host, signal: ac.signal }).ping().catch((e: unknown) => e);
    expect((err2 as TbuildError).code).toBe("E_INTERRUPTED");
  });
});
