// explain goldens: testdata/explain/<case>/ holds Dockerfile (and optionally
// Dockerfile.after), before.json and after.json (plan options); explain.txt is what
// explainPlan says about the first changed step of each stage. UPDATE_GOLDEN=1 rewrites it.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { diffFiles, explainPlan, keyEnvsToStore, planBuild, type Plan } from "../../../src/plan/index.js";
import { FakeHasher, FakeResolver, HOST, type FakeFile, type FakeImage } from "./fakes.js";

const ROOT = join(import.meta.dirname, "../../../testdata/explain");

interface Options {
  buildArgs?: string[];
  images?: Record<string, FakeImage>;
  files?: Record<string, FakeFile>;
}

async function planWith(dockerfile: string, o: Options): Promise<Plan> {
  return planBuild({ dockerfile, buildArgs: o.buildArgs ?? [], platform: HOST, resolver: new FakeResolver(o.images ?? {}), hasher: new FakeHasher(o.files ?? {}) });
}

const read = (p: string): string => readFileSync(p, "utf8");

describe("explain goldens", () => {
  const cases = readdirSync(ROOT, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  for (const name of cases) {
    it(name, async () => {
      const dir = join(ROOT, name);
      const before = read(join(dir, "Dockerfile"));
      const after = existsSync(join(dir, "Dockerfile.after")) ? read(join(dir, "Dockerfile.after")) : before;
      const a = await planWith(before, JSON.parse(read(join(dir, "before.json"))) as Options);
      const b = await planWith(after, JSON.parse(read(join(dir, "after.json"))) as Options);
      const got = explainPlan(a, b).map((e) => `#${e.stage}.${e.index} ${e.message}`).join("\n") + "\n";
      const golden = join(dir, "explain.txt");
      if (process.env.UPDATE_GOLDEN === "1") writeFileSync(golden, got);
      else if (!existsSync(golden)) throw new Error(`missing golden ${golden}: run with UPDATE_GOLDEN=1 and review it`);
      expect(got).toBe(read(golden));
    });
  }
});

describe("explain", () => {
  it("works from stored step records as well as a plan", async () => {
    const df = "FROM alpine\nCOPY . /app\n";
    const a = await planWith(df, { files: { "a.txt": "1" } });
    const b = await planWith(df, { files: { "a.txt": "2" } });
    const records = JSON.parse(JSON.stringify(a.stages.flatMap((s) => s.steps))) as Parameters<typeof explainPlan>[0];
    expect(explainPlan(records, b).map((e) => e.message)).toEqual(["COPY . /app: a.txt changed"]);
  });

  it("names the variable that changed from stored records, which hold a RUN's env by digest, once per environment", async () => {
    // Stage 1's RUN has stage 0's environment: its record holds no keyEnv of its own.
    const df = "FROM alpine\nARG VERSION=1\nENV MODE=dev\nRUN make\nRUN make check\nFROM alpine\nARG VERSION=1\nENV MODE=dev\nRUN make dist\nCOPY --from=0 /out /out\n";
    const a = await planWith(df, {});
    const b = await planWith(df.replaceAll("MODE=dev", "MODE=prod"), { buildArgs: ["VERSION=2"] });
    // What a build writes (build.ts): the preimage plus keyEnv where keyEnvsToStore says, through JSON.
    const steps = a.stages.flatMap((s) => s.steps);
    const keyEnvs = keyEnvsToStore(steps);
    expect(keyEnvs.filter((e) => e !== undefined)).toHaveLength(1);
    const records = JSON.parse(JSON.stringify(steps.map((st, i) => ({ stage: st.stage, index: st.index, text: st.text, key: st.key, preimage: st.preimage, ...(keyEnvs[i] ? { keyEnv: keyEnvs[i] } : {}) }))));
    expect(JSON.stringify(records)).not.toContain("MODE=dev\"]"); // the preimage holds no values
    const change = 'ENV MODE changed from "dev" to "prod"; build arg VERSION changed from "1" to "2"';
    expect(explainPlan(records, b).map((e) => e.message)).toEqual([`RUN make: ${change}`, `RUN make dist: ${change}`]);
  });

  it("says the key format changed for a record made before RUN keys held the environment by digest", async () => {
    const df = "FROM alpine\nENV MODE=dev\nRUN make\n";
    const b = await planWith(df, {});
    const run = b.stages[0]!.steps[2]!;
    const v1 = { ...run.preimage!, env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "MODE=dev"], args: undefined };
    const oldRun = { stage: 0, index: 2, text: run.text, key: `sha256:${"0".repeat(64)}` as const, preimage: JSON.parse(JSON.stringify(v1)) };
    const records = (r: typeof oldRun) => [...b.stages[0]!.steps.slice(0, 2), r];
    expect(explainPlan(records(oldRun), b).map((e) => e.message)).toEqual(["RUN make: cache key format changed (tbuild upgrade)"]);
    const changed = { ...oldRun, preimage: { ...oldRun.preimage, env: ["MODE=test"] } };
    expect(explainPlan(records(changed), b)[0]!.changes).toContain('ENV MODE changed from "test" to "dev"');
  });

  it("lists files changed, added and removed, capped", () => {
    const d = (n: number): `sha256:${string}` => `sha256:${String(n).repeat(64).slice(0, 64)}`;
    const before = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`f${i}`, d(1)]));
    const after = { ...Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`f${i}`, d(2)])), g: d(3) };
    expect(diffFiles(before, after)).toEqual(["f0, f1, f2, f3, f4 and 2 more changed", "g added", "f7 removed"]);
  });
});
