// The registry's HTTP transport (src/registry/http.ts) over TLS: node:https loads only for
// the first https URL, and then carries requests as node:http does for plain ones. A
// node:https server with a self-signed certificate made by openssl, trusted through the
// global agent sendHttp uses (a direct GET's TLS connection trusts its `ca` too).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, globalAgent, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendHttp } from "../../../src/registry/http.js";
import { tempDirs } from "../../helpers/temp-dirs.js";

const tmp = tempDirs();
const BLOB = randomBytes(3 << 20);

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
      else if (req.url === "/blob") res.writeHead(200, { "content-length": String(BLOB.length) }).end(BLOB);
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

  it("reads a direct GET's body over TLS into a sink, after a redirect", async () => {
    const res = await sendHttp(`https://${host}/moved`, { method: "GET", direct: true });
    expect(await res.text()).toBe("GET /v2/ over TLS");
    const blob = await sendHttp(`https://${host}/blob`, { method: "GET", direct: true });
    const parts: Buffer[] = [];
    await blob.pushTo((piece) => void parts.push(Buffer.from(piece)));
    expect(Buffer.compare(Buffer.concat(parts), BLOB)).toBe(0);
  });

  it("verifies the server's name on a direct GET: the certificate names 127.0.0.1, not localhost", async () => {
    const port = host.split(":")[1];
    await expect(sendHttp(`https://localhost:${port}/blob`, { method: "GET", direct: true })).rejects.toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID" });
    await expect(sendHttp(`https://localhost:${port}/blob`, { method: "GET" })).rejects.toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID" });
  });

  it("refuses a URL scheme it cannot send", async () => {
    await expect(sendHttp("ftp://127.0.0.1/x", { method: "GET" })).rejects.toThrow("unsupported URL scheme in ftp://127.0.0.1/x");
  });
});
