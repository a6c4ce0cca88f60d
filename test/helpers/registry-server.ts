// A real distribution registry (Debian's docker-registry) for the test suites: started on
// 127.0.0.1 with a free port, a temporary storage folder and a generated config.yml
// (optionally htpasswd basic auth, optionally HTTPS with a given certificate). Reusable by any suite: startRegistry() … stop(); a
// test that kills it mid-way restarts it with restart(), and stop() of the last one
// removes every folder they made.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RegistryServerOptions {
  /** Enable htpasswd basic auth with this one user. */
  readonly auth?: { readonly user: string; readonly password: string };
  /** Reuse a storage folder (to restart a registry on the same data). */
  readonly storageDir?: string;
  /** Reuse a port (to restart a registry at the same address). */
  readonly port?: number;
  /** Serve HTTPS with this certificate and key (PEM files; http.tls in the config). */
  readonly tls?: { readonly certificate: string; readonly key: string };
}

/** One request as seen by the registry's access log. */
export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
}

export interface RegistryServer {
  /** host:port, e.g. `127.0.0.1:40123`. */
  readonly host: string;
  readonly port: number;
  /** The folder holding `docker/registry/v2/…`. */
  readonly storageDir: string;
  /** Requests served so far (from the access log), oldest first. */
  requests(): LoggedRequest[];
  /** Forget the requests logged so far. */
  clearRequests(): void;
  /** Path of a blob's data file on the registry's disk. */
  blobPath(digest: string): string;
  /** Kill the server now (SIGKILL), keeping its storage. */
  kill(): Promise<void>;
  /**
   * Kill the server (if running) and start a new one on the same storage and port. The new
   * server's stop() removes this one's folders too: call it instead of this one's.
   */
  restart(): Promise<RegistryServer>;
  /** Kill the server and remove its temporary folders (storageDir only when it made it). */
  stop(): Promise<void>;
}

const BIN = "/usr/bin/docker-registry";

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The status of a GET of `url`; an https server's certificate is not checked. */
async function statusOf(url: string): Promise<number> {
  const send = url.startsWith("https:") ? httpsRequest : httpRequest;
  return await new Promise((resolve, reject) => {
    const req = send(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

/** Start a registry and wait until GET /v2/ answers (200, or 401 with auth). */
export async function startRegistry(opts: RegistryServerOptions = {}): Promise<RegistryServer> {
  return await start(opts, []);
}

/** startRegistry, whose stop() also removes `earlier` (the folders of the servers it replaces). */
async function start(opts: RegistryServerOptions, earlier: readonly string[]): Promise<RegistryServer> {
  const work = mkdtempSync(join(tmpdir(), "tbuild-registry-"));
  try {
    return await serve(opts, work, [...earlier, work]);
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
}

async function serve(opts: RegistryServerOptions, work: string, owned: readonly string[]): Promise<RegistryServer> {
  const storageDir = opts.storageDir ?? join(work, "storage");
  const port = opts.port ?? (await freePort());
  const host = `127.0.0.1:${port}`;
  let authYaml = "";
  if (opts.auth) {
    const htpasswd = join(work, "htpasswd");
    // bcrypt is the only hash distribution accepts.
    const line = execFileSync("htpasswd", ["-nbB", opts.auth.user, opts.auth.password], { encoding: "utf8" }).trim();
    writeFileSync(htpasswd, line + "\n");
    authYaml = `auth:\n  htpasswd:\n    realm: tbuild-test\n    path: ${htpasswd}\n`;
  }
  const tlsYaml = opts.tls ? [`  tls:`, `    certificate: ${opts.tls.certificate}`, `    key: ${opts.tls.key}`] : [];
  const config = join(work, "config.yml");
  writeFileSync(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "  formatter: text",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${storageDir}`,
      "  delete:",
      "    enabled: true",
      "  maintenance:",
      "    uploadpurging:",
      "      enabled: false",
      "http:",
      `  addr: ${host}`,
      "  secret: tbuild-test-secret",
      ...tlsYaml,
      authYaml,
    ].join("\n"),
  );

  const log: LoggedRequest[] = [];
  let stderrText = "";
  const child: ChildProcess = spawn(BIN, ["serve", config], { stdio: ["ignore", "pipe", "pipe"] });
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once("exit", () => ((exited = true), resolve())));
  // Access log: Apache combined format on stdout, one request per line.
  let pending = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => {
    pending += s;
    let nl;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      const m = /"([A-Z]+) ([^ "]+) HTTP\/[\d.]+" (\d{3})/.exec(line);
      if (m) log.push({ method: m[1]!, path: m[2]!, status: Number(m[3]) });
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (s: string) => {
    stderrText = (stderrText + s).slice(-4000);
  });

  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) throw new Error(`docker-registry exited early:\n${stderrText}`);
    try {
      const status = await statusOf(`${opts.tls ? "https" : "http"}://${host}/v2/`);
      if (status === 200 || status === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`docker-registry did not answer on ${host}:\n${stderrText}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  log.length = 0;

  const kill = async () => {
    if (!exited) {
      child.kill("SIGKILL");
      await exitPromise;
    }
  };
  return {
    host,
    port,
    storageDir,
    requests: () => [...log],
    clearRequests: () => void (log.length = 0),
    blobPath: (digest: string) => {
      const hex = digest.replace(/^sha256:/, "");
      return join(storageDir, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
    },
    kill,
    restart: async () => {
      await kill();
      return await start({ ...opts, storageDir, port }, owned);
    },
    stop: async () => {
      await kill();
      for (const d of owned) rmSync(d, { recursive: true, force: true });
    },
  };
}
