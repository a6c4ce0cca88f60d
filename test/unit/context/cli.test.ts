// `tbuild context` in-process through main(argv, io).
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../helpers/cli.js";

const tmp = fs.mkdtempSync(join(tmpdir(), "tbuild-ctxcli-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const run = (argv: string[]) => runCli(argv, { cwd: tmp });

describe("tbuild context", () => {
  const ctx = join(tmp, "ctx");
  fs.mkdirSync(join(ctx, "src"), { recursive: true });
  fs.writeFileSync(join(ctx, "Dockerfile"), "FROM scratch\n");
  fs.writeFileSync(join(ctx, "src/a.ts"), "abc");
  fs.writeFileSync(join(ctx, "big.log"), "0123456789");
  fs.writeFileSync(join(ctx, ".dockerignore"), "*.log\n");
  fs.writeFileSync(join(ctx, "other.Dockerfile.dockerignore"), "src\n");

  it("lists what the build would send, with totals", async () => {
    const r = await run(["context", "ctx"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toBe(".dockerignore\nDockerfile\nother.Dockerfile.dockerignore\nsrc/\nsrc/a.ts\n4 files, 26 bytes\n");
  });

  it("-f picks the Dockerfile's own ignore file", async () => {
    const r = await run(["context", "-f", "ctx/other.Dockerfile", "ctx"]);
    expect(r.out).toContain("big.log\n");
    expect(r.out).not.toContain("src/");
  });

  it("--hash prints a stable digest, unchanged by touch", async () => {
    const root = join(tmp, "store");
    const a = await run(["context", "--root", root, "--hash", "ctx"]);
    expect(a.out).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    fs.utimesSync(join(ctx, "src/a.ts"), new Date(), new Date(Date.now() + 5000));
    const b = await run(["context", "--root", root, "--hash", "ctx"]);
    expect(b.out).toBe(a.out);
  });

  it("reports a bad .dockerignore with exit 1", async () => {
    const bad = join(tmp, "bad");
    fs.mkdirSync(bad);
    fs.writeFileSync(join(bad, ".dockerignore"), "!\n");
    const r = await run(["context", "bad"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("E_CONTEXT_IGNORE");
  });
});
