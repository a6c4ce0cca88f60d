// Table-driven planner goldens: each testdata/plan/<case>/ holds a Dockerfile and
// options.json (buildArgs, environ, target, images, files); plan.txt is the expected dump
// (or `error CODE LINE: message`). UPDATE_GOLDEN=1 rewrites plan.txt.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isTbuildError } from "../../../src/util/index.js";
import { dumpPlan, planBuild } from "../../../src/plan/index.js";
import { FakeHasher, FakeResolver, HOST, type FakeFile, type FakeImage } from "./fakes.js";

const ROOT = join(import.meta.dirname, "../../../testdata/plan");

interface CaseOptions {
  buildArgs?: string[];
  environ?: Record<string, string>;
  target?: string;
  images?: Record<string, FakeImage>;
  files?: Record<string, FakeFile>;
}

export async function runCase(dir: string): Promise<string> {
  const dockerfile = readFileSync(join(dir, "Dockerfile"), "utf8");
  const optPath = join(dir, "options.json");
  const opts: CaseOptions = existsSync(optPath) ? (JSON.parse(readFileSync(optPath, "utf8")) as CaseOptions) : {};
  try {
    const plan = await planBuild({
      dockerfile,
      ...(opts.buildArgs ? { buildArgs: opts.buildArgs } : {}),
      ...(opts.environ ? { environ: opts.environ } : {}),
      ...(opts.target ? { target: opts.target } : {}),
      platform: HOST,
      resolver: new FakeResolver(opts.images ?? {}),
      hasher: new FakeHasher(opts.files ?? {}),
    });
    return dumpPlan(plan);
  } catch (e) {
    if (!isTbuildError(e)) throw e;
    return `error ${e.code} ${e.location ? `${e.location.range.start.line}:${e.location.range.start.column}` : "-"}: ${e.message}${e.hint ? `\nhint: ${e.hint}` : ""}\n`;
  }
}

const cases = readdirSync(ROOT, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

describe("plan goldens", () => {
  it("has cases", () => expect(cases.length).toBeGreaterThan(10));
  for (const name of cases) {
    it(name, async () => {
      const dir = join(ROOT, name);
      const got = await runCase(dir);
      const goldenPath = join(dir, "plan.txt");
      if (process.env.UPDATE_GOLDEN === "1") writeFileSync(goldenPath, got);
      else if (!existsSync(goldenPath)) throw new Error(`missing golden ${goldenPath}: run with UPDATE_GOLDEN=1 and review it`);
      expect(got).toBe(readFileSync(goldenPath, "utf8"));
    });
  }
});
