// Basic auth against a docker-registry with an htpasswd file: the right password works
// (from tbuild's auth file and from Docker's config.json), a wrong one is E_REGISTRY_AUTH.
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient, defaultCredentials, pullImage, pushImage, saveCredentials } from "../../src/registry/index.js";
import { TbuildError } from "../../src/util/index.js";
import { startRegistry, type RegistryServer } from "../helpers/registry-server.js";
import { openRealStore, putTarImage } from "../helpers/registry-store.js";
import { tempDirs } from "../helpers/temp-dirs.js";

const tempDir = tempDirs();

describe("registry basic auth (htpasswd)", () => {
  let reg: RegistryServer;
  let home: string;
  beforeAll(async () => {
    reg = await startRegistry({ auth: { user: "alice", password: "s3cret" } });
    home = mkdtempSync(join(tmpdir(), "tbuild-auth-home-"));
  });
  afterAll(async () => {
    await reg?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it("pushes and pulls with credentials from tbuild's auth file (written 0600)", async () => {
    const env = { HOME: home, XDG_CONFIG_HOME: join(home, "config") };
    const file = await saveCredentials(env, reg.host, { username: "alice", password: "s3cret" });
    expect(file).toBe(join(home, "config/tbuild/auth.json"));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const store = await openRealStore(tempDir("reg-store"));
    const ref = `${reg.host}/secure/app:v1`;
    await putTarImage(store, ref, [Buffer.alloc(1024, 7)]);
    const pushed = await pushImage(store, ref, { credentials: defaultCredentials(env) });
    const other = await openRealStore(tempDir("reg-store"));
    // Docker's config.json works too (auths, base64).
    const dockerEnv = { HOME: join(home, "dockeruser") };
    mkdirSync(join(home, "dockeruser/.docker"), { recursive: true });
    writeFileSync(join(home, "dockeruser/.docker/config.json"), JSON.stringify({ auths: { [`http://${reg.host}`]: { auth: Buffer.from("alice:s3cret").toString("base64") } } }));
    const pulled = await pullImage(other, ref, { credentials: defaultCredentials(dockerEnv) });
    expect(pulled.remoteDigest).toBe(pushed.digest);
  });

  it("a wrong password gets a clear E_REGISTRY_AUTH error", async () => {
    const client = new RegistryClient({ registry: reg.host, credentials: async () => ({ username: "alice", password: "wrong" }) });
    const err = await client.getManifest("secure/app", "v1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TbuildError);
    expect((err as TbuildError).code).toBe("E_REGISTRY_AUTH");
    expect((err as TbuildError).message).toMatch(/refused access \(401\)/);
    expect((err as TbuildError).hint).toContain(`tbuild login ${reg.host}`);
  });

  it("no credentials at all: E_REGISTRY_AUTH asking for a login", async () => {
    const client = new RegistryClient({ registry: reg.host, credentials: async () => undefined });
    const err = await client.ping().catch((e: unknown) => e);
    expect((err as TbuildError).code).toBe("E_REGISTRY_AUTH");
    expect((err as TbuildError).message).toContain("requires a login");
  });
});
