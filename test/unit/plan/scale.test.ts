// Planner cost against Dockerfile size: thousands of ARG and ENV lines once took minutes
// (the expansion environment was rebuilt entry by entry for every word: 1,000 lines 3 s,
// 5,000 lines > 500 s; found by bench/fuzz.bench.mjs). The bounds are generous on purpose:
// they catch the blow-up, not a slow machine. Also pins the semantics the incremental
// environment (src/plan/stage-env.ts) must keep.
import { describe, expect, it } from "vitest";
import { planBuild, type Plan, type RunStep } from "../../../src/plan/index.js";
import { FakeHasher, FakeResolver, HOST } from "./fakes.js";
import { MAX_RATIO, SCALE_FACTOR, scaleRatio } from "../../helpers/scale.js";

const resolver = new FakeResolver({ "dup:1": { config: { Env: ["A=1", "B=2", "A=3", "PATH=/bin"] } } });

async function plan(dockerfile: string): Promise<Plan> {
  return planBuild({ dockerfile, platform: HOST, resolver, hasher: new FakeHasher({}) });
}

async function timed(dockerfile: string): Promise<{ plan: Plan; ms: number }> {
  const t0 = performance.now();
  const p = await plan(dockerfile);
  return { plan: p, ms: performance.now() - t0 };
}

const lines = (n: number, f: (i: number) => string): string => Array.from({ length: n }, (_, i) => `${f(i)}\n`).join("");
const lastRun = (p: Plan): RunStep => p.stages.at(-1)!.steps.filter((s): s is RunStep => s.kind === "run").at(-1)!;

describe("thousands of ARG / ENV lines plan in linear time (fuzz: quadratic expansion env)", () => {
  // Values stay short on purpose: `ENV V2=$V1.2` chains would make the output itself
  // quadratic in size (every value holds all the earlier ones), which no environment fixes.
  it("5,000 ENV lines, each using the one before", async () => {
    const { plan: p, ms } = await timed(`FROM scratch\n${lines(5000, (i) => `ENV V${i}=${i} PREV=$V${i - 1}`)}RUN x\n`);
    expect(ms).toBeLessThan(5000);
    const env = new Map(lastRun(p).env.map((e) => [e.key, e.value]));
    expect(env.size).toBe(5002);
    expect(env.get("V4999")).toBe("4999");
    expect(env.get("PREV")).toBe("4998");
  });

  it("5,000 stage ARG lines", async () => {
    const { plan: p, ms } = await timed(`FROM scratch\n${lines(5000, (i) => `ARG A${i}=${i}`)}WORKDIR /$A4999\nRUN x\n`);
    expect(ms).toBeLessThan(5000);
    expect(lastRun(p).cwd).toBe("/4999");
    expect(lastRun(p).argNames).toHaveLength(5000);
  });

  it("5,000 global ARG lines used by FROM", async () => {
    const { plan: p, ms } = await timed(`${lines(5000, (i) => `ARG G${i}=${i ? `$G${i - 1}` : "scratch"}`)}FROM $G4999\nRUN x\n`);
    expect(ms).toBeLessThan(5000);
    expect(p.stages[0]!.base).toEqual({ kind: "scratch" });
  });

  it("2,500 ARG and 2,500 ENV lines interleaved, then RUNs", async () => {
    const { ms } = await timed(`FROM scratch\n${lines(5000, (i) => (i % 2 ? `ENV E${i}=$A${i - 1}` : `ARG A${i}=${i}`))}${lines(20, (i) => `RUN echo ${i}`)}`);
    expect(ms).toBeLessThan(5000);
  });
});

describe("thousands of LABEL / EXPOSE / VOLUME lines plan in linear time (each step copied the whole map)", () => {
  // 5,000 LABEL lines took 4.6 s (EXPOSE, VOLUME 6.4 s): every instruction spread the map
  // into a new object for the step's config. Steps now share a change log (config-maps.ts).
  it("5,000 LABEL lines; each step's Labels is the map after it", async () => {
    const { plan: p, ms } = await timed(`FROM scratch\n${lines(5000, (i) => `LABEL l${i}=${i} same=${i}`)}RUN x\n`);
    expect(ms).toBeLessThan(5000);
    const st = p.stages[0]!;
    expect(Object.keys(st.config.Labels!)).toHaveLength(5001);
    expect(st.config.Labels!["same"]).toBe("4999");
    expect(st.steps[0]!.config.Labels).toBeUndefined();
    expect(st.steps[3]!.config.Labels).toEqual({ l0: "0", same: "2", l1: "1", l2: "2" });
    expect(st.steps[5001]!.config.Labels).toBe(st.steps[5000]!.config.Labels);
  });

  it("5,000 EXPOSE lines", async () => {
    const { plan: p, ms } = await timed(`FROM scratch\n${lines(5000, (i) => `EXPOSE ${i + 1}/udp`)}RUN x\n`);
    expect(ms).toBeLessThan(5000);
    expect(Object.keys(p.stages[0]!.config.ExposedPorts!)).toHaveLength(5000);
    expect(p.stages[0]!.steps[2]!.config.ExposedPorts).toEqual({ "1/udp": {}, "2/udp": {} });
  });

  it("5,000 VOLUME lines", async () => {
    const { plan: p, ms } = await timed(`FROM scratch\n${lines(5000, (i) => `VOLUME /v${i}`)}RUN x\n`);
    expect(ms).toBeLessThan(5000);
    expect(Object.keys(p.stages[0]!.config.Volumes!)).toHaveLength(5000);
    expect(p.stages[0]!.steps[1]!.config.Volumes).toEqual({ "/v0": {} });
  });

  it("a base image's maps keep their place in the config and are extended, not replaced", async () => {
    const p = await planBuild({
      dockerfile: "FROM base:1 AS b\nLABEL b=2\nEXPOSE $NONE\nFROM b\nLABEL c=3\n", platform: HOST, hasher: new FakeHasher({}),
      resolver: new FakeResolver({ "base:1": { config: { Labels: { a: "1" }, User: "u" } } }),
    });
    const [s0, s1] = p.stages;
    expect(Object.keys(s0!.config)).toEqual(["Labels", "User", "Env", "ExposedPorts"]);
    expect(s0!.config.Labels).toEqual({ a: "1", b: "2" });
    expect(s0!.config.ExposedPorts).toEqual({});
    expect(s0!.steps[0]!.config.Labels).toEqual({ a: "1" });
    expect(s1!.config.Labels).toEqual({ a: "1", b: "2", c: "3" });
    expect(JSON.parse(JSON.stringify(s1!.steps[0]!.config)).Labels).toEqual({ a: "1", b: "2" });
  });
});

describe("steps × state: each step costs the same however much state the stage holds (n vs 8n, a ratio bound)", () => {
  // RUN keys hashed the whole environment, and each RUN built its env list, summary and
  // history line: planning cost steps × variables (4,999 ENV + 5,000 RUN lines: 105 s;
  // 4,999 ARG + 5,000 RUN: 36 s). Keys now hold digests kept up to date per change, and
  // those fields are built when read (test/unit/plan/keys.test.ts pins their values).
  const PAIRS = 600;
  // Short runs (50–500 ms): five large ones, so one the machine slowed does not decide.
  const ratioOf = (make: (n: number) => string) => scaleRatio(PAIRS, make, plan, 5);

  it("ENV + RUN pairs", async () => {
    const r = await ratioOf((n) => `FROM scratch\n${lines(n, (i) => `ENV V${i}=${i}\nRUN echo ${i}`)}`);
    const last = lastRun(r.large);
    expect(last.keyEnv).toHaveLength(SCALE_FACTOR * PAIRS + 1);
    expect(last.keyEnv.at(-1)).toBe(`V${SCALE_FACTOR * PAIRS - 1}=${SCALE_FACTOR * PAIRS - 1}`);
    // `tbuild plan` reads every summary: past SMALL_ENV (32) variables it counts them.
    expect(last.summary).toBe(`argv ["/bin/sh","-c","echo ${SCALE_FACTOR * PAIRS - 1}"]; cwd /; user (default); env ${SCALE_FACTOR * PAIRS + 1} variables`);
    expect(lastRun(r.small).summary).toMatch(/; env 601 variables$/);
    // One limit (SMALL_ENV, 32) for listing, for the Env's small form and for Merkle leaves.
    const summaryAt = async (n: number) => lastRun(await plan(`FROM scratch\n${lines(n, (i) => `ENV V${i}=${i}`)}RUN x\n`)).summary;
    expect(await summaryAt(31)).toMatch(/; env V0=0 V1=1 .* V30=30$/); // PATH is the 32nd
    expect(await summaryAt(32)).toMatch(/; env 33 variables$/);
    expect(r.ratio, `${SCALE_FACTOR}× the pairs took ${r.ratio.toFixed(1)}× the time`).toBeLessThan(MAX_RATIO);
  }, 300_000);

  it("a large Env is read, never copied, per step; RUNs with no change between share one environment", async () => {
    // 33–64 entries were copied into every step's config (a second, larger limit).
    const p = await plan(`FROM scratch\n${lines(40, (i) => `ENV V${i}=${i}`)}RUN a\nRUN b\nENV LAST=1\nRUN c\n`);
    const runs = p.stages[0]!.steps.filter((s): s is RunStep => s.kind === "run");
    for (const r of runs) expect(Object.getOwnPropertyDescriptor(r.config, "Env")!.get, r.text).toBeTypeOf("function");
    expect(runs[0]!.config.Env).toHaveLength(41);
    expect(runs[2]!.config.Env!.at(-1)).toBe("LAST=1");
    // One snapshot per environment state: a and b read the same lists, c its own.
    expect(runs[1]!.env).toBe(runs[0]!.env);
    expect(runs[1]!.keyEnv).toBe(runs[0]!.keyEnv);
    expect(runs[2]!.env).not.toBe(runs[0]!.env);
    expect(runs[2]!.keyEnv).toHaveLength(42);
  });

  it("ARG + RUN pairs", async () => {
    const r = await ratioOf((n) => `FROM scratch\n${lines(n, (i) => `ARG A${i}=${i}\nRUN echo ${i}`)}`);
    const last = lastRun(r.large);
    expect(last.argNames).toHaveLength(SCALE_FACTOR * PAIRS);
    expect(last.history!.created_by).toMatch(new RegExp(`^RUN \\|${SCALE_FACTOR * PAIRS} A0=0 A1=1 .* echo ${SCALE_FACTOR * PAIRS - 1} # buildkit$`));
    expect(r.ratio, `${SCALE_FACTOR}× the pairs took ${r.ratio.toFixed(1)}× the time`).toBeLessThan(MAX_RATIO);
  }, 300_000);

  it("ONBUILD lines (each copied the trigger list)", async () => {
    const r = await ratioOf((n) => `FROM scratch\n${lines(n, (i) => `ONBUILD RUN echo ${i}`)}`);
    const steps = r.large.stages[0]!.steps;
    expect(r.large.stages[0]!.config.OnBuild).toHaveLength(SCALE_FACTOR * PAIRS);
    expect(steps[2]!.config.OnBuild).toEqual(["RUN echo 0", "RUN echo 1"]);
    expect(r.ratio, `${SCALE_FACTOR}× the lines took ${r.ratio.toFixed(1)}× the time`).toBeLessThan(MAX_RATIO);
  }, 300_000);

  // Each WORKDIR one level deeper: the path grew with every line (20,000+ characters at
  // 9,999 lines), and each step re-cleaned and re-hashed it (8 s). Linux takes at most
  // 4,095 bytes, so the planner now refuses longer ones at the first WORKDIR past it; the
  // cost near the limit is the next test's subject.
  it("relative WORKDIRs, each one level deeper, stop at the first one past 4,095 bytes", async () => {
    // "/d0/d1/…": each WORKDIR adds 3 bytes: 1,365 make 4,095 bytes, the 1,366th makes 4,098.
    const text = `FROM scratch\n${lines(1366, (i) => `WORKDIR d${i % 10}`)}`;
    const err = await plan(text).then(() => undefined, (e: { code?: string; message?: string; range?: { start: { line: number } } }) => e);
    expect(err?.code).toBe("E_PLAN_INVALID");
    expect(err?.message).toMatch(/4,?095/);
    await expect(plan(`FROM scratch\n${lines(1365, (i) => `WORKDIR d${i % 10}`)}`)).resolves.toBeDefined();
  });

  it("relative WORKDIRs in and out of a directory near the path limit", async () => {
    const deep = `/${Array.from({ length: 975 }, (_, i) => `d${i % 10}x`).join("/")}`;
    const r = await ratioOf((n) => `FROM scratch\nWORKDIR ${deep}\n${lines(n, (i) => (i % 2 ? "WORKDIR .." : "WORKDIR sub"))}RUN pwd\n`);
    expect(lastRun(r.large).cwd).toBe(deep);
    expect(r.ratio, `${SCALE_FACTOR}× the WORKDIRs took ${r.ratio.toFixed(1)}× the time`).toBeLessThan(MAX_RATIO);
  }, 300_000);
});

describe("expansion environment rules", () => {
  it("all words of one ARG or ENV see the environment from before it", async () => {
    const p = await plan("FROM scratch\nARG A=1 B=$A\nENV C=$A D=$C\nRUN x\n");
    expect(lastRun(p).env.filter((e) => e.key !== "PATH")).toEqual([
      { key: "C", value: "1" }, { key: "D", value: "" }, { key: "A", value: "1" }, { key: "B", value: "" },
    ]);
  });

  it("ENV wins over ARG whatever the order; an ARG re-declared without value is unset", async () => {
    const p = await plan("FROM scratch\nARG V=1\nARG V\nWORKDIR /w$V\nARG V=2\nENV V=3\nARG V=4\nWORKDIR /$V\nRUN x\n");
    expect(p.stages[0]!.steps[3]!.summary).toContain("/w");
    expect(lastRun(p).cwd).toBe("/3");
  });

  it("ENV of a key a base image repeats replaces the first entry and drops the repeats", async () => {
    const p = await plan("FROM dup:1\nWORKDIR /$A\nENV A=9 C=$A\nRUN x\n");
    expect(p.stages[0]!.steps[1]!.summary).toContain("/3");
    expect(p.stages[0]!.config.Env).toEqual(["A=9", "B=2", "PATH=/bin", "C=3"]);
  });

  it("an expanded ENV key holding '=' re-parses as Docker's Env does", async () => {
    const p = await plan("FROM scratch\nARG K=a=b\nENV $K=v\nWORKDIR /$a\nENV a=z\nRUN x\n");
    expect(p.stages[0]!.config.Env).toContain("a=z");
    expect(p.stages[0]!.steps[3]!.summary).toContain("/b=v");
  });
});
