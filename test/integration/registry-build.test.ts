// tbuild build and registries, against a real docker-registry on 127.0.0.1: FROM pulls a
// base the store lacks, --pull picks up a newer base for a tag the store already has,
// --push and --output type=registry send the result, which an empty store pulls back with
// the same image ID.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBusyboxRootfsTar } from "../helpers/fixtures.js";
import { startRegistry, type RegistryServer } from "../helpers/registry-server.js";
import { spawnCli } from "../helpers/run-cli.js";


let work: string;
let reg: RegistryServer;
let env: Record<string, string>;

const tb = (args: string[]) => spawnCli(args, { cwd: work, env });

async function ok(args: string[]): Promise<string> {
  const r = await tb(args);
  expect(r.code, `${args.join(" ")}\n${r.stderr}`).toBe(0);
  return r.stdout + r.stderr;
}

function context(name: string, dockerfile: string, files: Record<string, string> = {}): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
}

const iid = (file: string) => readFileSync(file, "utf8").trim();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "tbuild-regbuild-"));
  env = { HOME: work, XDG_CONFIG_HOME: join(work, "cfg"), DOCKER_CONFIG: join(work, "docker"), SOURCE_DATE_EPOCH: "1700000000" };
  reg = await startRegistry();
  const tar = await buildBusyboxRootfsTar();
  await ok(["import", "--root", join(work, "seed"), tar, `${reg.host}/base/busybox:1`]);
  await ok(["push", "--root", join(work, "seed"), `${reg.host}/base/busybox:1`]);
}, 120_000);

afterAll(async () => {
  await reg?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("build with a registry", () => {
  it("--push sends the image; an empty store pulls it back with the same image ID", async () => {
    const ref = `${reg.host}/app/pushed:v1`;
    const ctx = context("ctx-push", `FROM ${reg.host}/base/busybox:1\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt > /copy.txt\n`, { "hello.txt": "hello\n" });
    const out = await ok(["build", "--root", join(work, "P"), "--progress", "plain", "-t", ref, "--push", "--iidfile", join(work, "p.iid"), ctx]);
    expect(out).toContain(`pulling ${reg.host}/base/busybox:1`); // FROM pulled the base into the empty store
    // The base layer is mounted from base/busybox, where FROM pulled it; the two new ones are sent.
    expect(out).toMatch(new RegExp(`pushed ${ref.replace(/[.]/g, "\\.")}: sha256:[a-f0-9]{64} \\(2 of 3 layers sent\\)`));
    await ok(["pull", "--root", join(work, "Q"), ref]);
    const inspect = JSON.parse(await ok(["inspect", "--root", join(work, "Q"), ref])) as { Id: string }[] | { Id: string };
    const id = Array.isArray(inspect) ? inspect[0]!.Id : inspect.Id;
    expect(id).toBe(iid(join(work, "p.iid")));
  });

  it("--output type=registry pushes too; --push without a tag is a usage error", async () => {
    const ref = `${reg.host}/app/output:v1`;
    const ctx = context("ctx-output", `FROM ${reg.host}/base/busybox:1\nCOPY x.txt /x.txt\n`, { "x.txt": "x\n" });
    const out = await ok(["build", "--root", join(work, "P"), "--progress", "plain", "-t", ref, "--output", `type=registry,name=${ref}`, ctx]);
    expect(out).toContain(`pushed ${ref}`);
    expect(reg.requests().some((q) => q.method === "PUT" && q.path === "/v2/app/output/manifests/v1" && q.status === 201)).toBe(true);
    const bad = await tb(["build", "--root", join(work, "P"), "--push", ctx]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--push needs a tag");
    const bad2 = await tb(["build", "--root", join(work, "P"), "--output", "type=tar,dest=x.tar", ctx]);
    expect(bad2.code).toBe(2);
  });

  it("--pull picks up a newer image for a tag the store already has; without it the store's is used", async () => {
    const base = `${reg.host}/base/moving:1`;
    // v1 of the base: plain busybox.
    await ok(["tag", "--root", join(work, "seed"), `${reg.host}/base/busybox:1`, base]);
    await ok(["push", "--root", join(work, "seed"), base]);
    const ctx = context("ctx-pull", `FROM ${base}\nRUN cat /marker.txt > /seen.txt\n`);
    const store = join(work, "R");
    const first = await tb(["build", "--root", store, "--progress", "plain", ctx]);
    expect(first.code).toBe(1); // v1 has no marker
    expect(first.stderr).toContain(`pulling ${base}`);
    // v2 of the base, pushed from another store.
    const v2 = context("ctx-v2", `FROM ${reg.host}/base/busybox:1\nCOPY marker.txt /marker.txt\n`, { "marker.txt": "v2\n" });
    await ok(["build", "--root", join(work, "seed"), "--progress", "plain", "-t", base, "--push", v2]);
    const stale = await tb(["build", "--root", store, "--progress", "plain", ctx]);
    expect(stale.code).toBe(1); // still the store's v1
    const fresh = await tb(["build", "--root", store, "--progress", "plain", "--pull", ctx]);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stderr).toContain(`checking ${base} for a newer image`);
  });

  it("an unreachable registry names the image and the reason", async () => {
    const ctx = context("ctx-down", "FROM 127.0.0.1:1/nothing/here:1\nRUN true\n");
    const r = await tb(["build", "--root", join(work, "S"), "--progress", "plain", ctx]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("127.0.0.1:1/nothing/here:1: not in the store and could not be pulled");
  });
});
