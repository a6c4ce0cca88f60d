// A build parses its Dockerfile once: the tree the lint checks were given is the one the
// planner uses (dockerfileParsed), and the build returns the tree it planned from, for the
// checks after it (src/cli/commands/build.ts).
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImage, type BuildOptions } from "../../src/build/index.js";
import { parseDockerfile } from "../../src/dockerfile/index.js";
import { lintParsed } from "../../src/lint/index.js";
import { makeStore } from "../helpers/fixtures.js";

const DOCKERFILE = "FROM busybox:test\nCOPY a.txt /a.txt\nCMD cat /a.txt\n";

let work: string;
let root: string;
let dir: string;

beforeAll(async () => {
  ({ work, root } = await makeStore("tbuild-parse-once-", { SOURCE_DATE_EPOCH: "0" }));
  dir = join(work, "ctx");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Dockerfile"), DOCKERFILE);
  writeFileSync(join(dir, "a.txt"), "a\n");
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const options = (o: Partial<BuildOptions>): BuildOptions => ({
  root, contextDir: dir, dockerfile: join(dir, "Dockerfile"), displayName: "Dockerfile", tags: [], buildArgs: [], environ: {},
  dryRun: true, progress: () => undefined, signal: new AbortController().signal, ...o,
});

describe("a build parses its Dockerfile once", () => {
  it("plans from the tree it is given with the text, and returns it", async () => {
    const parsed = parseDockerfile(DOCKERFILE, { file: "Dockerfile" });
    expect(lintParsed(parsed).map((d) => d.code)).toEqual(["JSONArgsRecommended"]);
    const r = await buildImage(options({ dockerfileText: DOCKERFILE, dockerfileParsed: parsed }));
    expect(r.parsed).toBe(parsed);
    expect(r.plan?.stages.at(-1)?.steps.map((s) => s.kind)).toEqual(["from", "copy", "config"]);
  });

  it("parses the text itself without a tree, and returns the tree it planned from", async () => {
    const r = await buildImage(options({ dockerfileText: DOCKERFILE }));
    expect(r.parsed?.ast.text).toBe(DOCKERFILE);
    expect(r.parsed?.ast.file).toBe("Dockerfile");
    expect(r.plan?.stages.at(-1)?.steps).toHaveLength(3);
  });
});
