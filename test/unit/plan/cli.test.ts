// `tbuild plan` in-process: a real context directory (hashed through src/context), no
// store (bases unknown), text and JSON output, a COPY source edit changing exactly the
// keys it should, and usage/plan errors as exit codes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../helpers/cli.js";
import { DEFAULT_PATH, type Plan, type PlanJson, type RunPreimage, type RunStep, type Step } from "../../../src/plan/index.js";
import { merkleDigest } from "../../../src/util/index.js";

const dir = mkdtempSync(join(tmpdir(), "tbuild-plan-cli-"));
const root = join(dir, "no-store");
const ctx = join(dir, "ctx");
mkdirSync(join(ctx, "src"), { recursive: true });
writeFileSync(join(ctx, "Dockerfile"), "ARG NODE=20\nFROM node:$NODE AS build\nWORKDIR /app\nCOPY package.json ./\nRUN npm ci\nCOPY src/ ./src/\nRUN npm run build\nFROM scratch\nCOPY --from=build /app/dist /dist\nCMD [\"/dist/app\"]\n");
writeFileSync(join(ctx, "package.json"), "{}");
writeFileSync(join(ctx, "src", "index.ts"), "export {}");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (argv: string[]) => runCli(argv, { cwd: dir, env: { TBUILD_ROOT: root, NODE_FROM_ENV: "18" } });

const keysOf = (p: Plan): string[] => p.stages.flatMap((s) => s.steps.map((x) => x.key));

describe("tbuild plan", () => {
  it("prints stages, short keys, layers and summaries; warns about unknown bases", async () => {
    const r = await run(["plan", "ctx"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^stage #0 build from docker\.io\/library\/node:20 \(unresolved\)/);
    expect(r.out).toMatch(/[0-9a-f]{12} layer +4 {2}COPY package\.json \.\//);
    expect(r.out).toContain("stage #1 (target) from scratch deps=[0]");
    expect(r.err).toContain("node:20 is not known");
  });

  it("--format json gives the plan; a changed source byte changes that COPY and later keys", async () => {
    const a = JSON.parse((await run(["plan", "--format", "json", "ctx"])).out) as Plan;
    writeFileSync(join(ctx, "src", "index.ts"), "export {};");
    const b = JSON.parse((await run(["plan", "--format", "json", "ctx"])).out) as Plan;
    const ka = keysOf(a);
    const kb = keysOf(b);
    const copyAt = a.stages[0]!.steps.findIndex((s) => s.text === "COPY src/ ./src/");
    expect(kb.slice(0, copyAt)).toEqual(ka.slice(0, copyAt));
    expect(kb[copyAt]).not.toBe(ka[copyAt]);
    chmodSync(join(ctx, "src", "index.ts"), 0o755);
    const c = JSON.parse((await run(["plan", "--format", "json", "ctx"])).out) as Plan;
    expect(keysOf(c)[copyAt]).not.toBe(kb[copyAt]);
  });

  it("--format json gives each RUN environment once, by the digests its preimage holds", async () => {
    const json = (await run(["plan", "--format", "json", "--build-arg", "HTTP_PROXY=http://p:3128", "ctx"])).out;
    const p = JSON.parse(json) as PlanJson;
    const runs = p.stages.flatMap((s) => s.steps).filter((s): s is RunStep => (s as Step).kind === "run");
    expect(runs.map((r) => r.text)).toEqual(["RUN npm ci", "RUN npm run build"]);
    for (const r of runs) {
      expect(r).not.toHaveProperty("env");
      expect(r).not.toHaveProperty("keyEnv");
      expect(r).not.toHaveProperty("argNames");
      const pre = r.preimage as RunPreimage;
      expect(merkleDigest(p.environments[pre.env]!)).toBe(pre.env);
      expect(merkleDigest(p.environments[pre.args]!)).toBe(pre.args);
    }
    // Both RUNs share one environment: node's (unknown here) Env is the default PATH alone.
    expect(Object.values(p.environments)).toEqual([[`PATH=${DEFAULT_PATH}`], []]);
    expect(json).not.toContain("HTTP_PROXY");
  });

  it("takes --build-arg K=V and bare K from the environment, and --target", async () => {
    const r = await run(["plan", "--build-arg", "NODE=22", "--target", "build", "ctx"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("node:22");
    expect(r.out).not.toContain("stage #1");
    const e = await run(["plan", "--build-arg", "NODE_FROM_ENV", "ctx"]);
    expect(e.err).toContain("build-arg NODE_FROM_ENV was not consumed");
  });

  it("fails with the planner's error and hint", async () => {
    const r = await run(["plan", "--target", "buld", "ctx"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("E_PLAN_NO_STAGE");
    expect(r.err).toContain("did you mean build?");
    const u = await run(["plan", "--format", "xml", "ctx"]);
    expect(u.code).toBe(2);
  });
});
