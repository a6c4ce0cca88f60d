// The registry's HTTP transport (src/registry/http.ts) over TLS: node:https loads only for
// the first https URL, and then carries requests as node:http does for plain ones (a
// direct GET too). A node:https server with a self-signed certificate made by openssl,
// trusted through the global agent sendHttp uses; `unverifiedHost` (--tls-verify=false).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, globalAgent, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "../../../src/registry/client.js";
import { sendHttp } from "../../../src/registry/http.js";
import { TbuildError } from "../../../src/util/index.js";
import { tempDirs } from "../../helpers/temp-dirs.js";

const tmp = tempDirs();
const BLOB = randomBytes(3 << 20);
/** A big blob's size: what a pull sends through a direct GET (WORKER_MIN_SIZE and up). */
const BIG = randomBytes(20 << 20);

describe("sendHttp over https", () => {
  let server: Server;
  let host: string;
  beforeAll(async () => {
    const dir = tmp("https");
    const [key, cert] = [join(dir, "key.pem"), join(dir, "cert.pem")];
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], { stdio: "ignore" });
    globalAgent.options.ca = readFileSync(cert);
    server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      if (req.url === "/moved") res.writeHead(307, { location: "/v2/" }).end();
      else if (req.url === "/to-localhost") res.writeHead(307, { location: `https://localhost:${host.split(":")[1]}/v2/` }).end();
      else if (req.url === "/blob") res.writeHead(200, { "content-length": String(BLOB.length) }).end(BLOB);
      else if (req.url === "/big") res.writeHead(200, { "content-length": String(BIG.length) }).end(BIG);
      else res.writeHead(200, { "content-type": "text/plain", "docker-distribution-api-version": "registry/2.0" }).end(`${req.method} ${req.url} over TLS`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server?.closeAllConnections();
    server?.close();
  });

  it("sends a request and reads the answer", async () => {
    const res = await sendHttp(`https://${host}/v2/`, { method: "GET" });
    expect(res.status).toBe(200);
    expect(res.header("docker-distribution-api-version")).toBe("registry/2.0");
    expect(await res.text()).toBe("GET /v2/ over TLS");
  });

  it("follows a redirect on the same https origin", async () => {
    const res = await sendHttp(`https://${host}/moved`, { method: "GET" });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("GET /v2/ over TLS");
  });

  it("a GET asked to be direct goes through node:https over TLS (direct reads are plain-http only), after a redirect, into a sink", async () => {
    const res = await sendHttp(`https://${host}/moved`, { method: "GET", direct: true });
    expect(await res.text()).toBe("GET /v2/ over TLS");
    const blob = await sendHttp(`https://${host}/blob`, { method: "GET", direct: true });
    const parts: Buffer[] = [];
    await blob.pushTo((piece) => void parts.push(Buffer.from(piece)));
    expect(Buffer.compare(Buffer.concat(parts), BLOB)).toBe(0);
  });

  it("a GET asked to be direct, over TLS, whose sink waits now and then (as the store's writer waits for its disk), gets every byte", async () => {
    const blob = await sendHttp(`https://${host}/big`, { method: "GET", direct: true });
    const parts: Buffer[] = [];
    let n = 0;
    await blob.pushTo((piece) => {
      parts.push(Buffer.from(piece));
      if (++n % 3 === 0) return new Promise((resolve) => setTimeout(resolve, 2));
    });
    expect(Buffer.compare(Buffer.concat(parts), BIG)).toBe(0);
  });

  it("leaves the certificate of unverifiedHost unchecked, and checks every other host's, a redirect's too", async () => {
    const port = host.split(":")[1];
    const res = await sendHttp(`https://localhost:${port}/v2/`, { method: "GET", unverifiedHost: "localhost" });
    expect(await res.text()).toBe("GET /v2/ over TLS");
    const direct = await sendHttp(`https://localhost:${port}/blob`, { method: "GET", direct: true, unverifiedHost: "localhost" });
    const parts: Buffer[] = [];
    await direct.pushTo((piece) => void parts.push(Buffer.from(piece)));
    expect(Buffer.compare(Buffer.concat(parts), BLOB)).toBe(0);
    await expect(sendHttp(`https://${host}/to-localhost`, { method: "GET", unverifiedHost: "127.0.0.1" })).rejects.toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID" });
  });

  it("names the hop a fault happened at (url): after a redirect, the host redirected to", async () => {
    const port = host.split(":")[1];
    await expect(sendHttp(`https://${host}/to-localhost`, { method: "GET" })).rejects.toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID", url: `https://localhost:${port}/v2/` });
  });

  it("a registry client blames a certificate fault after a redirect on the host redirected to, with verification on (not on the registry, nor suggesting --tls-verify=false for it)", async () => {
    const port = host.split(":")[1];
    const client = new RegistryClient({ registry: host, tlsVerify: true, retries: 0 });
    const err = await client.send("GET", "/to-localhost", { scopes: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TbuildError);
    expect((err as TbuildError).message).toBe(`the TLS certificate of localhost:${port}, where ${host} redirected GET /to-localhost, does not verify: ${(err as { cause: Error }).cause.message} (ERR_TLS_CERT_ALTNAME_INVALID)`);
    expect((err as TbuildError).hint).toContain("only the registry's own host");
  });

  it("verifies the server's name on a GET asked to be direct as on any: the certificate names 127.0.0.1, not localhost", async () => {
    const port = host.split(":")[1];
    await expect(sendHttp(`https://localhost:${port}/blob`, { method: "GET", direct: true })).rejects.toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID" });
    await expect(sendHttp(`https://localhost:${port}/blob`, { method: "GET" })).rejects.toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID" });
  });

  it("refuses a URL scheme it cannot send", async () => {
    await expect(sendHttp("ftp://127.0.0.1/x", { method: "GET" })).rejects.toThrow("unsupported URL scheme in ftp://127.0.0.1/x");
  });
});
