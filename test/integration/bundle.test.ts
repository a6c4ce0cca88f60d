// The bundle the package's bin runs (dist/bundle/tbuild.js, scripts/bundle.mjs): the paths
// that depend on where a module's file sits still work there. package.json is found from a
// chunk, and the worker threads' scripts load as the bundle's own entries: a load of a big
// layer (range-copy-worker.js) and a pull of two big layers (download-worker.js), each of
// which fails if its worker script cannot start.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry, type RegistryServer } from "../helpers/registry-server.js";
import { CLI, spawnCli } from "../helpers/run-cli.js";

// Above both worker thresholds: RANGE_WORKER_MIN (8 MiB) and WORKER_MIN_SIZE (16 MiB).
const BIG = 17 * 1024 * 1024;

let work: string;
let reg: RegistryServer;
let env: Record<string, string>;

async function ok(args: string[]): Promise<string> {
  const r = await spawnCli(args, { cwd: work, env });
  expect(r.code, `${args.join(" ")}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

const imageId = async (root: string, ref: string) => (await ok(["images", "--root", root, "-q", "--no-trunc", ref])).trim();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "tbuild-bundle-"));
  env = { HOME: work, XDG_CONFIG_HOME: join(work, "cfg"), DOCKER_CONFIG: join(work, "docker"), SOURCE_DATE_EPOCH: "1700000000" };
  reg = await startRegistry();
  const ctx = join(work, "ctx");
  mkdirSync(ctx);
  writeFileSync(join(ctx, "a"), randomBytes(BIG)); // random: its gzip is big too
  writeFileSync(join(ctx, "b"), randomBytes(BIG));
  writeFileSync(join(ctx, "Dockerfile"), "FROM scratch\nCOPY a /a\nCOPY b /b\n");
  await ok(["build", "--root", join(work, "seed"), "-q", "-t", "big:1", ctx]);
}, 120_000);

afterAll(async () => {
  await reg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the bundled CLI", () => {
  it("is what the package's bin runs", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { bin: { tbuild: string } };
    expect(CLI).toBe(join(new URL("../..", import.meta.url).pathname, pkg.bin.tbuild));
  });

  it("reads its version from package.json", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(await ok(["version"])).toBe(`tbuild ${pkg.version}\n`);
  });

  it("loads an archive's big layers on its range-copy workers", async () => {
    const archive = join(work, "big.tar");
    await ok(["save", "--root", join(work, "seed"), "-o", archive, "big:1"]);
    await ok(["load", "--root", join(work, "loaded"), "-i", archive]);
    expect(await imageId(join(work, "loaded"), "big:1")).toBe(await imageId(join(work, "seed"), "big:1"));
  });

  it("pulls two big layers, one on a download worker", async () => {
    const ref = `${reg.host}/bundle/big:1`;
    await ok(["tag", "--root", join(work, "seed"), "big:1", ref]);
    await ok(["push", "--root", join(work, "seed"), ref]);
    await ok(["pull", "--root", join(work, "pulled"), ref]);
    expect(await imageId(join(work, "pulled"), ref)).toBe(await imageId(join(work, "seed"), "big:1"));
  });
});
