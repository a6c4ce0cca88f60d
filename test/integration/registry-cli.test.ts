// tbuild pull / push / login / logout through main() with the real src/store Store and a
// real docker-registry (with htpasswd auth) on 127.0.0.1.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Store } from "../../src/store/index.js";
import { runCli } from "../helpers/cli.js";
import { startRegistry, type RegistryServer } from "../helpers/registry-server.js";

const run = (argv: string[], env: Record<string, string>, stdin = "") => runCli(argv, { env, stdin });

describe("tbuild pull/push/login/logout", () => {
  let reg: RegistryServer;
  let dir: string;
  beforeAll(async () => {
    reg = await startRegistry({ auth: { user: "bob", password: "pw" } });
    dir = mkdtempSync(join(tmpdir(), "tbuild-regcli-"));
  });
  afterAll(async () => {
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("login, push from one store, pull into an empty one, logout", async () => {
    const env = { HOME: dir, XDG_CONFIG_HOME: join(dir, "cfg") };
    expect((await run(["login", "--help"], env)).out).toContain("--password-stdin");
    const bad = await run(["login", "-u", "bob", "-p", "nope", reg.host], env);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("E_REGISTRY_AUTH");
    const ok = await run(["login", "-u", "bob", "--password-stdin", reg.host], env, "pw\n");
    expect(ok.out).toBe("Login Succeeded\n");

    const rootA = join(dir, "a");
    const store = await Store.open(rootA);
    const layer = new Uint8Array(2048).fill(1); // not a real tar: the store does not care
    const l = await store.putBlob(layer);
    const ref = `${reg.host}/team/app:v1`;
    const img = await store.putImage({ config: { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [l.digest] } }, layers: [{ diffId: l.digest, size: l.size }], tags: [ref] });

    const push = await run(["push", "--root", rootA, ref], env);
    expect(push.err).toBe("");
    expect(push.code).toBe(0);
    expect(push.out).toContain(`The push refers to repository [${reg.host}/team/app]`);
    expect(push.out).toMatch(/: Pushed\n/);
    const digest = /v1: digest: (sha256:[a-f0-9]{64}) size: \d+/.exec(push.out)![1];
    const again = await run(["push", "--root", rootA, ref], env);
    expect(again.out).toMatch(/: Layer already exists\n/);

    const rootB = join(dir, "b");
    const pull = await run(["pull", "--root", rootB, ref], env);
    expect(pull.err).toBe("");
    expect(pull.out).toContain(`v1: Pulling from team/app`);
    expect(pull.out).toMatch(/[a-f0-9]{12}: Pull complete\n/);
    expect(pull.out).toContain(`Digest: ${digest}\n`);
    expect(pull.out).toContain(`Status: Downloaded newer image for ${ref}\n`);
    const b = await Store.open(rootB);
    const got = await b.resolve(ref);
    expect(got.id).toBe(img.imageId);
    // The pulled image keeps the registry's manifest (gzip layers as they came), and its digest.
    expect(got.manifestDigest).toBe(digest);
    const second = await run(["pull", "--root", rootB, ref], env);
    expect(second.out).toMatch(/: Already exists\n/);
    expect(second.out).toContain(`Status: Image is up to date for ${ref}`);
    const q = await run(["pull", "-q", "--root", rootB, ref], env);
    expect(q.out).toBe(`${ref}\n`);
    const all = await run(["pull", "-a", "--root", join(dir, "c"), `${reg.host}/team/app`], env);
    expect(all.code).toBe(0);
    expect(all.out).toContain("Pulling from team/app");

    expect((await run(["logout", reg.host], env)).out).toBe(`Removing login credentials for ${reg.host}\n`);
    const denied = await run(["pull", "--root", join(dir, "d"), ref], env);
    expect(denied.code).toBe(1);
    expect(denied.err).toContain("E_REGISTRY_AUTH");
  });
  it("pull reports a store that cannot be opened before the registry's answer, though it asks the registry while the store opens", async () => {
    const env = { HOME: join(dir, "nobody"), XDG_CONFIG_HOME: join(dir, "nobody", "cfg") };
    const root = join(dir, "not-a-folder");
    writeFileSync(root, "x");
    // Without credentials the registry refuses (401): the store's error must still win.
    const pull = await run(["pull", "--root", root, `${reg.host}/team/none:v1`], env);
    expect(pull.code).toBe(1);
    expect(pull.err).toContain("E_IO");
    expect(pull.err).toContain(`cannot open the store at ${root}`);
    expect(pull.err).not.toContain("E_REGISTRY");
    expect(pull.out).toBe("");
  });
});
