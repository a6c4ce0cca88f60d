// --tls-verify against a real docker-registry served over HTTPS with a self-signed
// certificate (made here with openssl), as podman, buildah and skopeo read it: false talks
// HTTPS without checking the certificate (big layers on the download workers too); left on,
// the certificate is refused with a clear error, unless its CA is trusted
// (NODE_EXTRA_CA_CERTS); false against a plain-http registry falls back to http.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient, pullImage, pushImage, type TransferEvent } from "../../src/registry/index.js";
import { Store } from "../../src/store/index.js";
import { TbuildError, type Digest } from "../../src/util/index.js";
import { runCli } from "../helpers/cli.js";
import { closeFronts, listen, proxy } from "../helpers/http-front.js";
import { startRegistry, type RegistryServer } from "../helpers/registry-server.js";
import { openRealStore, putTarImage } from "../helpers/registry-store.js";
import { spawnCli } from "../helpers/run-cli.js";
import { buildTar } from "../helpers/tar-builder.js";
import { tempDirs } from "../helpers/temp-dirs.js";

const BIG = 20 * 1024 * 1024;
const fast = { retries: 2, backoffMs: 20 };
const tempDir = tempDirs();

/** A self-signed certificate for 127.0.0.1 (its own CA), and its key. */
function makeCertificate(dir: string): { certificate: string; key: string } {
  const certificate = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  return { certificate, key };
}

/** A store at a new root holding `ref`: one small layer; returns the root and the image ID. */
async function smallImage(ref: string): Promise<{ root: string; id: Digest }> {
  const root = tempDir("tls-store");
  const id = await putTarImage(await openRealStore(root), ref, [buildTar([{ name: "hello", content: "over https" }])]);
  return { root, id };
}

const pushedDigest = (out: string) => /: digest: (sha256:[a-f0-9]{64}) size: \d+/.exec(out)?.[1];

describe("--tls-verify with a registry over HTTPS (self-signed certificate)", () => {
  let tls: RegistryServer;
  let plain: RegistryServer;
  let cert: { certificate: string; key: string };
  beforeAll(async () => {
    cert = makeCertificate(tempDir("tls-cert"));
    [tls, plain] = await Promise.all([startRegistry({ tls: cert }), startRegistry()]);
  });
  afterAll(async () => {
    closeFronts();
    await Promise.all([tls?.stop(), plain?.stop()]);
  });

  /** An image of two big random layers pushed with --tls-verify=false (once): its ref, image ID and layer digests. */
  let big: Promise<{ ref: string; id: Digest; layers: Digest[] }> | undefined;
  /** `tbuild push --tls-verify=false ref` from `root`, which must succeed quietly; its stdout. */
  const pushUnverified = async (root: string, ref: string): Promise<string> => {
    const push = await runCli(["push", "--root", root, "--tls-verify=false", ref]);
    expect(push.err).toBe("");
    expect(push.code).toBe(0);
    return push.out;
  };

  const bigImage = () =>
    (big ??= (async () => {
      const ref = `${tls.host}/tls/big:v1`;
      const store = await openRealStore(tempDir("tls-big"));
      const id = await putTarImage(store, ref, [buildTar([{ name: "a", content: randomBytes(BIG) }]), buildTar([{ name: "b", content: randomBytes(BIG) }])]);
      const layers = (await pushImage(store, ref, { ...fast, tlsVerify: false })).layers.map((l) => l.digest);
      return { ref, id, layers };
    })());

  it("push and pull with --tls-verify=false talk HTTPS without checking the certificate; digests as usual", async () => {
    const ref = `${tls.host}/tls/app:v1`;
    const { root, id } = await smallImage(ref);
    const digest = pushedDigest(await pushUnverified(root, ref));
    expect(digest).toBeDefined();
    // skopeo reads the same manifest over HTTPS.
    const inspect = JSON.parse(execFileSync("skopeo", ["inspect", "--tls-verify=false", `docker://${ref}`], { encoding: "utf8" })) as { Digest: string };
    expect(inspect.Digest).toBe(digest);

    const rootB = tempDir("tls-pull");
    const pull = await runCli(["pull", "--root", rootB, "--tls-verify=false", ref]);
    expect(pull.err).toBe("");
    expect(pull.code).toBe(0);
    expect(pull.out).toContain(`Digest: ${digest}\n`);
    const got = await (await Store.open(rootB)).resolve(ref);
    expect(got.id).toBe(id);
    expect(got.manifestDigest).toBe(digest);
  });

  it("a pull with --tls-verify=false whose big layers download on a worker thread and on this one", async () => {
    const { ref, id, layers } = await bigImage();
    const b = await openRealStore(tempDir("tls-big-pull"));
    const events: TransferEvent[] = [];
    const pulled = await pullImage(b, ref, { ...fast, tlsVerify: false, workerThreads: 1, onEvent: (e) => events.push(e) });
    expect(pulled.imageId).toBe(id);
    expect(pulled.layers.map((l) => l.status)).toEqual(["pulled", "pulled"]);
    // A worker reports its layer once, at the end; this thread reports chunk by chunk.
    const reports = layers.map((d) => events.filter((e) => e.kind === "bytes" && e.digest === d).length);
    expect(reports.filter((n) => n === 1)).toHaveLength(1);
    expect(reports.filter((n) => n > 1)).toHaveLength(1);
    expect(await b.check()).toMatchObject({ temps: [], bad: [] });
  });

  it("with verification on, the self-signed certificate is refused at once with a clear error and a hint", async () => {
    const ref = `${tls.host}/tls/app:v1`;
    const cli = await runCli(["pull", "--root", tempDir("tls-refused"), "--tls-verify=true", ref]);
    expect(cli.code).toBe(1);
    expect(cli.err).toContain(`E_REGISTRY: the TLS certificate of registry ${tls.host} does not verify: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)`);
    expect(cli.err).toContain("--tls-verify=false");
    expect(cli.err).toContain("NODE_EXTRA_CA_CERTS");
    // Not retried: a certificate does not verify on a second try (retries would wait 5 s, then 10 s).
    const t0 = Date.now();
    const err = await pullImage(await openRealStore(tempDir("tls-refused-lib")), ref, { tlsVerify: true, retries: 2, backoffMs: 5_000 }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(err).toBeInstanceOf(TbuildError);
    expect((err as TbuildError).message).toContain("does not verify");
  });

  it("with verification on and the certificate trusted through NODE_EXTRA_CA_CERTS, the CLI pulls (big layers on a worker too)", async () => {
    const { ref } = await bigImage();
    const root = tempDir("tls-trusted");
    const pull = await spawnCli(["pull", "--root", root, "--tls-verify=true", ref], { env: { NODE_EXTRA_CA_CERTS: cert.certificate } });
    expect(pull.stderr).toBe("");
    expect(pull.code).toBe(0);
    expect(pull.stdout).toMatch(/Pull complete\n[\s\S]*Pull complete\n/);
  });

  it("with verification on, a plain-http registry is refused: it does not speak HTTPS; a --tls-verify that is not a boolean is a usage error", async () => {
    const ref = `${plain.host}/plain/none:v1`;
    const cli = await runCli(["pull", "--root", tempDir("plain-refused"), "--tls-verify=true", ref]);
    expect(cli.code).toBe(1);
    expect(cli.err).toContain(`E_REGISTRY: registry ${plain.host} does not speak HTTPS`);
    expect(cli.err).toContain("--tls-verify=false");
    for (const cmd of ["pull", "push", "login", "build"]) {
      const bad = await runCli([cmd, "--tls-verify=no", ...(cmd === "build" ? ["."] : [ref])]);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain('invalid --tls-verify "no"');
    }
  });

  it("with --tls-verify=false, a blob redirected to the registry's host is fetched unchecked; one redirected to another host is checked", async () => {
    const ref = `${plain.host}/plain/redirected:v1`;
    const { root } = await smallImage(ref);
    expect((await runCli(["push", "--root", root, ref])).code).toBe(0);
    const pem = { cert: readFileSync(cert.certificate), key: readFileSync(cert.key) };
    /** An HTTPS front for the plain registry that redirects blob GETs to `storage(port)`, which it serves too. */
    const redirecting = async (storage: (port: string) => string) => {
      let port = "";
      const host = await listen((req, res) => {
        const blob = /^\/v2\/.+\/blobs\/(sha256:[a-f0-9]{64})$/.exec(req.url!);
        if (req.method === "GET" && blob) return res.writeHead(307, { location: `${storage(port)}/storage${req.url}` }).end();
        if (req.url!.startsWith("/storage/")) req.url = req.url!.slice("/storage".length);
        proxy(plain.host, req, res);
      }, pem);
      port = host.split(":")[1]!;
      return host;
    };
    const same = await redirecting((port) => `https://127.0.0.1:${port}`);
    const pulled = await pullImage(await openRealStore(tempDir("redirect-same")), `${same}/plain/redirected:v1`, { ...fast, tlsVerify: false });
    expect(pulled.layers.map((l) => l.status)).toEqual(["pulled"]);

    const other = await redirecting((port) => `https://localhost:${port}`);
    const err = await pullImage(await openRealStore(tempDir("redirect-other")), `${other}/plain/redirected:v1`, { ...fast, tlsVerify: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TbuildError);
    expect((err as TbuildError).message).toMatch(new RegExp(`^the TLS certificate of localhost:${other.split(":")[1]}, where ${other} redirected GET /v2/plain/redirected/blobs/sha256:[a-f0-9]{64}, does not verify`));
    expect((err as TbuildError).hint).toContain("only the registry's own host");
  });

  it("--tls-verify=false against a plain-http registry falls back to http, after one failed TLS handshake per client", async () => {
    const ref = `${plain.host}/plain/app:v1`;
    const { root, id } = await smallImage(ref);
    await pushUnverified(root, ref);
    const rootB = tempDir("plain-pull");
    const pull = await runCli(["pull", "--root", rootB, "--tls-verify=false", ref]);
    expect(pull.code).toBe(0);
    expect((await (await Store.open(rootB)).resolve(ref)).id).toBe(id);

    // A plain-http front counting TLS handshakes (a ClientHello is not an HTTP request) and requests.
    let handshakes = 0;
    let requests = 0;
    const front: Server = createServer((req, res) => (requests++, proxy(plain.host, req, res)));
    front.on("clientError", (_e, socket) => (handshakes++, socket.destroy()));
    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
    try {
      const client = new RegistryClient({ registry: `127.0.0.1:${(front.address() as AddressInfo).port}`, tlsVerify: false });
      await Promise.all([client.ping(), client.headManifest("plain/app", "v1"), client.listTags("plain/app")]);
      expect(await client.headManifest("plain/app", "v1")).toMatchObject({ digest: expect.stringMatching(/^sha256:/) });
      expect(handshakes).toBe(1);
      expect(requests).toBe(5); // the probe's GET /v2/ over http, then the four requests
    } finally {
      front.closeAllConnections();
      front.close();
    }
  });

  it("a token service on the registry's host is not checked either; one on another host is", async () => {
    const key = readFileSync(cert.key);
    const certPem = readFileSync(cert.certificate);
    /** An HTTPS front for the plain registry that asks for a Bearer token from `realm(port)`. */
    const tokenFront = async (realm: (port: string) => string) => {
      let port = "";
      const host = await listen((req, res) => {
        if (req.url!.startsWith("/token")) return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: "t1" }));
        if (req.headers.authorization !== "Bearer t1") return res.writeHead(401, { "www-authenticate": `Bearer realm="${realm(port)}",service="front"` }).end();
        proxy(plain.host, req, res);
      }, { cert: certPem, key });
      port = host.split(":")[1]!;
      return host;
    };
    const same = await tokenFront((port) => `https://127.0.0.1:${port}/token`);
    const sameRef = `${same}/plain/app:v1`;
    const pulled = await pullImage(await openRealStore(tempDir("tls-token")), sameRef, { ...fast, tlsVerify: false });
    expect(pulled.remoteDigest).toMatch(/^sha256:/);

    // localhost is another host name than 127.0.0.1 (same server, same certificate).
    const other = await tokenFront((port) => `https://localhost:${port}/token`);
    const err = await pullImage(await openRealStore(tempDir("tls-token-other")), `${other}/plain/app:v1`, { ...fast, tlsVerify: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TbuildError);
    expect((err as TbuildError).message).toMatch(/^the TLS certificate of the token service https:\/\/localhost:\d+ does not verify/);
    expect((err as TbuildError).hint).toContain("only the registry's own host");
  });
});
