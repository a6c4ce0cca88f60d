// Debian's docker-registry for the benches, on 127.0.0.1 with empty storage in `dir`
// (nothing to mount or skip from an earlier run). Not a bench itself.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

async function freePort() {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = srv.address().port;
      srv.close(() => resolve(port));
    });
  });
}

/** Start a registry with empty storage under `dir`; resolves `{ host, stop }` once it answers. */
export async function startRegistry(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const host = `127.0.0.1:${await freePort()}`;
  const config = join(dir, "config.yml");
  fs.writeFileSync(config, ["version: 0.1", "log:", "  level: error", "  accesslog:", "    disabled: true", "storage:", "  filesystem:", `    rootdirectory: ${join(dir, "storage")}`, "http:", `  addr: ${host}`, "  secret: bench", ""].join("\n"));
  const child = spawn("/usr/bin/docker-registry", ["serve", config], { stdio: ["ignore", "ignore", "ignore"] });
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(`http://${host}/v2/`);
      await r.arrayBuffer();
      if (r.status === 200) return { host, stop: () => child.kill("SIGKILL") };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  throw new Error("docker-registry did not start");
}
