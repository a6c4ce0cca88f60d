// node:http servers in front of a real registry, for the registry suites: a front that
// asks for auth, redirects, fails or stalls some requests and proxies the rest as they are.
import { createServer, request, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer, type Server as TlsServer } from "node:https";
import type { AddressInfo } from "node:net";

/** Servers started by listen(); close them with closeFronts() when the suite ends. */
const servers: (Server | TlsServer)[] = [];

/** A node:http server on 127.0.0.1 (node:https with `tls`: PEM certificate and key); returns its host:port. */
export async function listen(handler: RequestListener, tls?: { readonly cert: string | Buffer; readonly key: string | Buffer }): Promise<string> {
  const server = tls ? createTlsServer(tls, handler) : createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export function closeFronts(): void {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
}

/**
 * Forward a request to `host` as it is and stream the answer back; `onBody` sees each chunk
 * of the answer as it passes. When `host` fails, the client's connection is destroyed.
 */
export function proxy(host: string, req: IncomingMessage, res: ServerResponse, onBody?: (chunk: Buffer) => void): void {
  const out = request(`http://${host}${req.url}`, { method: req.method, headers: { ...req.headers, host } }, (up) => {
    res.writeHead(up.statusCode!, up.headers);
    up.on("data", (c: Buffer) => onBody?.(c));
    up.on("error", () => res.destroy());
    up.pipe(res);
  });
  out.on("error", () => res.destroy());
  req.pipe(out);
}
