// `tbuild build` runs the lint checks as BuildKit does: a summary of warnings after the
// image is written, and with `# check=error=true` a finding stops the build before it starts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCliSync } from "../helpers/run-cli.js";

let dir: string;
let root: string;

function project(name: string, dockerfile: string): string {
  const ctx = join(dir, name);
  mkdirSync(ctx);
  writeFileSync(join(ctx, "Dockerfile"), dockerfile);
  writeFileSync(join(ctx, "x"), "x\n");
  return ctx;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tbuild-checks-"));
  root = join(dir, "store");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("build runs the lint checks", () => {
  it("builds, then lists each warning with its rule and line", () => {
    const ctx = project("warn", "from scratch as Base\nENV a b\nCOPY x /\n");
    const r = spawnCliSync(["build", "--root", root, "--progress", "plain", "-t", "warn", ctx]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("naming to docker.io/library/warn:latest");
    expect(r.stderr).toContain(" 3 warnings found (use --check for more details):");
    expect(r.stderr).toContain(" - StageNameCasing: Stage name 'Base' should be lowercase (line 1)");
    expect(r.stderr).toContain(' - LegacyKeyValueFormat: "ENV key=value" should be used instead of legacy "ENV key value" format (line 2)');
    // The summary comes after the image is named, as BuildKit prints it.
    expect(r.stderr.indexOf("warnings found")).toBeGreaterThan(r.stderr.indexOf("naming to"));
  });

  it("prints nothing extra for a clean Dockerfile, and -q prints only the ID", () => {
    const ctx = project("clean", "FROM scratch\nCOPY x /\n");
    const r = spawnCliSync(["build", "--root", root, "--progress", "plain", "-t", "clean", ctx]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("warning");
    const q = spawnCliSync(["build", "--root", root, "-q", project("quiet", "FROM scratch AS A\nCOPY x /\n")]);
    expect(q.code).toBe(0);
    expect(q.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(q.stderr).toBe("");
  });

  it("# check=error=true stops the build at the first finding and stores nothing", () => {
    const ctx = project("strict", "# check=error=true\nfrom scratch as Base\nCOPY x /\n");
    const r = spawnCliSync(["build", "--root", root, "-t", "strict", ctx]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("E_LINT: lint violation found for rules: ConsistentInstructionCasing, StageNameCasing");
    expect(r.stderr).toContain(">>> from scratch as Base");
    expect(spawnCliSync(["images", "--root", root, "-q", "strict"]).stdout).toBe("");
  });

  it("BUILDKIT_DOCKERFILE_CHECK as a build arg can skip the rules that fired", () => {
    const ctx = project("skip", "# check=error=true\nFROM scratch AS Base\nCOPY x /\n");
    const r = spawnCliSync(["build", "--root", root, "--build-arg", "BUILDKIT_DOCKERFILE_CHECK=skip=StageNameCasing;error=true", "-t", "skip", ctx]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("StageNameCasing");
  });
});
