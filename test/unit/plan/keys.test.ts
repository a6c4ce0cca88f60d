// Cache-key properties (DESIGN.md "Cache keys"): what changes a key, what must not, and
// that a change reaches exactly the step and the later steps of its stage.
import { describe, expect, it } from "vitest";
import { planBuild, type Plan, type RunPreimage, type RunStep, type Step } from "../../../src/plan/index.js";
import { MerkleList } from "../../../src/util/index.js";
import { SMALL_ENV } from "../../../src/plan/stage-env.js";
import { FakeHasher, FakeResolver, HOST, type FakeFile, type FakeImage } from "./fakes.js";

const ALPINE_A = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const ALPINE_B = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

const BASE = `FROM alpine:3.20
ARG VERSION=1
ENV APP=/app
RUN apk add curl
WORKDIR /app
COPY . /app
RUN echo $VERSION
LABEL a=b
RUN make
`;

const FILES: Record<string, FakeFile> = { "src/index.ts": "export {}", "package.json": "{}", "run.sh": { content: "#!/bin/sh", mode: 0o755 } };

interface Opts {
  dockerfile?: string;
  buildArgs?: string[];
  digest?: string;
  files?: Record<string, FakeFile>;
  images?: Record<string, FakeImage>;
}

async function plan(o: Opts = {}): Promise<Plan> {
  return planBuild({
    dockerfile: o.dockerfile ?? BASE,
    buildArgs: o.buildArgs ?? [],
    platform: HOST,
    resolver: new FakeResolver(o.images ?? { "alpine:3.20": { digest: o.digest ?? ALPINE_A } }),
    hasher: new FakeHasher(o.files ?? FILES),
  });
}

function steps(p: Plan): readonly Step[] {
  return p.stages.at(-1)!.steps;
}

function keys(p: Plan): string[] {
  return steps(p).map((s) => s.key);
}

/** Index of the first step whose key differs, and whether every later layer step differs too. */
function firstChange(a: Plan, b: Plan): { first: number; allLaterChanged: boolean } {
  const ka = keys(a);
  const kb = keys(b);
  expect(kb.length).toBe(ka.length);
  const first = ka.findIndex((k, i) => k !== kb[i]);
  const sb = steps(b);
  const allLaterChanged = first >= 0 && ka.every((k, i) => i < first || k !== kb[i] || !sb[i]!.layer && sb.slice(first, i).every((s) => !s.layer));
  return { first, allLaterChanged };
}

const idx = (p: Plan, text: string): number => steps(p).findIndex((s) => s.text === text);

describe("cache keys", () => {
  it("ignore comments, blank lines and instruction casing", async () => {
    const a = await plan();
    const edited = BASE.replace("RUN apk add curl", "# install curl\n\nrun apk add curl").replace("COPY . /app", "copy . /app").replace("LABEL a=b", "label a=b");
    const b = await plan({ dockerfile: edited });
    expect(keys(b)).toEqual(keys(a));
  });

  it("a changed RUN text changes that step and every later one, none before", async () => {
    const a = await plan();
    const b = await plan({ dockerfile: BASE.replace("echo $VERSION", "echo v$VERSION") });
    const { first, allLaterChanged } = firstChange(a, b);
    expect(first).toBe(idx(a, "RUN echo $VERSION"));
    expect(allLaterChanged).toBe(true);
  });

  it("a used build arg changes the first RUN that sees it", async () => {
    const a = await plan();
    const b = await plan({ buildArgs: ["VERSION=2"] });
    const { first, allLaterChanged } = firstChange(a, b);
    // ARGs enter every RUN's env after their declaration (BuildKit), so `RUN apk add curl` changes.
    expect(first).toBe(idx(a, "RUN apk add curl"));
    expect(allLaterChanged).toBe(true);
    expect(keys(b)[0]).toBe(keys(a)[0]);
  });

  it("a build arg no ARG declares changes nothing (and is reported)", async () => {
    const a = await plan();
    const b = await plan({ buildArgs: ["NOBODY=1"] });
    expect(keys(b)).toEqual(keys(a));
    expect(b.diagnostics.map((d) => d.code)).toContain("UnusedBuildArg");
    expect(a.diagnostics.map((d) => d.code)).not.toContain("UnusedBuildArg");
  });

  it("proxy build args reach RUN's env but no key", async () => {
    const a = await plan();
    const b = await plan({ buildArgs: ["HTTP_PROXY=http://p:3128", "no_proxy=localhost"] });
    expect(keys(b)).toEqual(keys(a));
    const run = steps(b).find((s) => s.kind === "run");
    expect(run?.kind === "run" && run.env.some((e) => e.key === "HTTP_PROXY" && e.value === "http://p:3128")).toBe(true);
    expect(b.diagnostics.map((d) => d.code)).not.toContain("UnusedBuildArg");
    expect(steps(b).flatMap((s) => (s.history ? [s.history.created_by] : [])).join("\n")).not.toContain("PROXY");
  });

  it("a new base image digest changes every key", async () => {
    const a = await plan();
    const b = await plan({ digest: ALPINE_B });
    const ka = keys(a);
    const kb = keys(b);
    expect(ka.every((k, i) => k !== kb[i])).toBe(true);
  });

  it("one byte of a COPY source changes the COPY and later steps, none before", async () => {
    const a = await plan();
    const b = await plan({ files: { ...FILES, "src/index.ts": "export {};" } });
    const { first, allLaterChanged } = firstChange(a, b);
    expect(first).toBe(idx(a, "COPY . /app"));
    expect(allLaterChanged).toBe(true);
  });

  it("one mode bit of a COPY source changes the COPY key", async () => {
    const a = await plan();
    const b = await plan({ files: { ...FILES, "run.sh": { content: "#!/bin/sh", mode: 0o754 } } });
    expect(firstChange(a, b).first).toBe(idx(a, "COPY . /app"));
  });

  it("a file the COPY does not select changes nothing", async () => {
    const df = BASE.replace("COPY . /app", "COPY src/ /app/src/");
    const a = await plan({ dockerfile: df });
    const b = await plan({ dockerfile: df, files: { ...FILES, "package.json": '{"x":1}' } });
    expect(keys(b)).toEqual(keys(a));
  });

  it.each([
    ["LABEL", "LABEL a=b", "LABEL a=c"],
    ["EXPOSE", "LABEL a=b", "EXPOSE 8080"],
    ["CMD", "LABEL a=b", 'CMD ["serve"]'],
    ["ENTRYPOINT", "LABEL a=b", "ENTRYPOINT /bin/true"],
  ])("changing a %s changes no later RUN's key", async (_name, from, to) => {
    const a = await plan();
    const b = await plan({ dockerfile: BASE.replace(from, to) });
    expect(keys(b)).toEqual(keys(a));
  });

  it("ENV, USER and WORKDIR reach later RUN keys", async () => {
    const a = await plan();
    for (const edit of [["ENV APP=/app", "ENV APP=/srv"], ["LABEL a=b", "USER nobody"], ["LABEL a=b", "WORKDIR /tmp"]] as const) {
      const b = await plan({ dockerfile: BASE.replace(edit[0], edit[1]) });
      expect(keys(b).at(-1)).not.toBe(keys(a).at(-1));
    }
  });

  it("COPY --link keys do not depend on earlier steps", async () => {
    const df = "FROM alpine:3.20\nRUN echo one\nCOPY --link src/ /app/src/\nRUN echo after\n";
    const a = await plan({ dockerfile: df });
    const b = await plan({ dockerfile: df.replace("echo one", "echo two"), digest: ALPINE_B });
    const ia = steps(a).findIndex((s) => s.kind === "copy");
    expect(keys(b)[ia]).toBe(keys(a)[ia]);
    expect(keys(b)[ia + 1]).not.toBe(keys(a)[ia + 1]);
    const c = await plan({ dockerfile: df.replace("--link ", "") });
    const d = await plan({ dockerfile: df.replace("--link ", "").replace("echo one", "echo two") });
    expect(keys(d)[ia]).not.toBe(keys(c)[ia]);
  });

  it("COPY --from=stage keys follow the source stage's final key", async () => {
    const df = "FROM alpine:3.20 AS build\nRUN make\nFROM alpine:3.20\nCOPY --from=build /out /out\n";
    const a = await plan({ dockerfile: df });
    const b = await plan({ dockerfile: df.replace("RUN make", "RUN make all") });
    expect(a.stages.map((s) => s.index)).toEqual([0, 1]);
    expect(a.stages[1]!.dependsOn).toEqual([0]);
    expect(keys(b)[1]).not.toBe(keys(a)[1]);
    expect(keys(b)[0]).toBe(keys(a)[0]);
  });

  it("FROM <stage> starts from the stage's key; independent stages have no dependency", async () => {
    const df = "FROM alpine:3.20 AS a\nRUN one\nFROM alpine:3.20 AS b\nRUN two\nFROM a\nCOPY --from=b /x /x\n";
    const p = await plan({ dockerfile: df });
    expect(p.stages.map((s) => s.dependsOn)).toEqual([[], [], [0, 1]]);
    expect(p.stages[2]!.steps[0]!.key).toBe(p.stages[0]!.key);
  });

  it("ONBUILD triggers are part of the child's keys and run once", async () => {
    const df = "FROM alpine:3.20 AS t\nONBUILD RUN echo trig\nFROM t AS c\nRUN x\nFROM c\nRUN y\n";
    const p = await plan({ dockerfile: df });
    const all = p.stages.flatMap((s) => s.steps);
    expect(all.filter((s) => s.trigger).map((s) => [s.stage, s.text])).toEqual([[1, "RUN echo trig"]]);
    expect(p.stages[1]!.config.OnBuild).toBeUndefined();
    expect(p.stages[0]!.config.OnBuild).toEqual(["RUN echo trig"]);
  });

  it("a base image with triggers runs them after FROM", async () => {
    const p = await plan({ dockerfile: "FROM onb\nRUN z\n", images: { onb: { config: { OnBuild: ["ENV X=1", "RUN echo $X"] } } } });
    const s = steps(p);
    expect(s.map((x) => [x.text, !!x.trigger])).toEqual([["FROM onb", false], ["ENV X=1", true], ["RUN echo $X", true], ["RUN z", false]]);
    expect(p.stages[0]!.config.OnBuild).toBeUndefined();
  });

  it("keys are stable across runs (no clock, no randomness)", async () => {
    expect(keys(await plan())).toEqual(keys(await plan()));
  });

  it("the preimage of every layer step hashes to its key", async () => {
    const { computeStepKey } = await import("../../../src/plan/index.js");
    const all = steps(await plan());
    expect(all.filter((s) => s.preimage).length).toBeGreaterThan(2);
    for (const s of all) {
      if (s.preimage) expect(computeStepKey(s.preimage)).toBe(s.key);
      else expect(s.layer).toBe(false);
    }
  });
});

describe("stage order", () => {
  it("lists a stage after the stages it copies from, even declared later", async () => {
    const p = await planBuild({
      dockerfile: "FROM alpine:3.20 AS final\nCOPY --from=late /x /x\nFROM alpine:3.20 AS late\nRUN make\n",
      target: "final",
      platform: HOST,
      resolver: new FakeResolver(),
      hasher: new FakeHasher(),
    });
    expect(p.stages.map((s) => s.index)).toEqual([1, 0]);
    expect(p.stages[1]!.dependsOn).toEqual([1]);
  });
});

describe("a RUN key holds the environment by digest (RunPreimage env, args)", () => {
  const runs = (p: Plan): RunStep[] => steps(p).filter((s): s is RunStep => s.kind === "run");
  const runKey = async (dockerfile: string, buildArgs: string[] = []): Promise<string> => runs(await plan({ dockerfile, buildArgs })).at(-1)!.key;

  // Every way the incremental digests change: Env set in place and appended, a base Env
  // with a repeated key (the slow path), a key holding '=', ARGs declared, redeclared with
  // and without a value, taken over by ENV, proxies declared and given.
  const TRICKY = `FROM dup:1
ARG A=1 B=2 C=3
RUN one
ENV B=env PATH=/x:$PATH
ARG C
ARG HTTP_PROXY D=4
RUN two
ARG C=again A=9
ENV A=1 E=5
RUN three
ARG K=k=v
ENV $K=w
RUN four
`;

  it("the digests are the Merkle list digests of exactly the step's keyEnv", async () => {
    const p = await plan({ dockerfile: TRICKY, buildArgs: ["HTTP_PROXY=http://p", "D=40"], images: { "dup:1": { config: { Env: ["A=0", "PATH=/bin", "A=1", "NOEQ"] } } } });
    const all = runs(p);
    expect(all).toHaveLength(4);
    for (const r of all) {
      const pre = r.preimage as RunPreimage;
      const argCount = r.argNames.length;
      expect(pre.env).toBe(new MerkleList(r.keyEnv.slice(0, r.keyEnv.length - argCount)).digest());
      expect(pre.args).toBe(new MerkleList(r.keyEnv.slice(r.keyEnv.length - argCount)).digest());
      expect(r.keyEnv.join(" ")).not.toContain("PROXY");
    }
    expect(all.map((r) => r.keyEnv)).toEqual([
      // The base Env sets A: ARG A never enters (ENV wins); ENV A replaces the first A and drops the repeat.
      ["A=0", "PATH=/bin", "A=1", "NOEQ=", "B=2", "C=3"],
      ["A=0", "PATH=/x:/bin", "A=1", "NOEQ=", "B=env", "D=40"],
      ["A=1", "PATH=/x:/bin", "NOEQ=", "B=env", "E=5", "C=again", "D=40"],
      ["A=1", "PATH=/x:/bin", "NOEQ=", "B=env", "E=5", "k=v=w", "C=again", "D=40", "K=k=v"],
    ]);
  });

  it("stays exact across the switch from plain lists to a log and trees (past SMALL_ENV entries)", async () => {
    const n = SMALL_ENV + 8;
    const body = Array.from({ length: n }, (_, i) => `ENV E${i}=${i}\nARG A${i}=a${i}\nRUN r${i}\n`).join("");
    const p = await plan({ dockerfile: `FROM scratch\n${body}ENV E0=again\nARG A0=again\nRUN last\n` });
    const all = runs(p);
    expect(all).toHaveLength(n + 1);
    const path = all[0]!.keyEnv[0]!;
    expect(path).toMatch(/^PATH=/);
    all.forEach((r, i) => {
      const k = Math.min(i + 1, n);
      const env = [path, ...Array.from({ length: k }, (_, j) => `E${j}=${j === 0 && i === n ? "again" : j}`)];
      const args = Array.from({ length: k }, (_, j) => `A${j}=${j === 0 && i === n ? "again" : `a${j}`}`);
      // Read in order, so an earlier step is checked after later ones changed the stage.
      expect(r.keyEnv, `RUN ${i}`).toEqual([...env, ...args]);
      expect(r.config.Env, `RUN ${i}`).toEqual(env);
      expect(r.argNames).toEqual(args.map((a) => a.slice(0, a.indexOf("="))));
      const pre = r.preimage as RunPreimage;
      expect(pre.env).toBe(new MerkleList(env).digest());
      expect(pre.args).toBe(new MerkleList(args).digest());
    });
    expect(all[0]!.config.Env).toEqual([path, "E0=0"]);
  });

  it("equal environments give equal keys however they were reached", async () => {
    expect(await runKey("FROM scratch\nENV A=0\nENV A=1\nRUN x\n")).toBe(await runKey("FROM scratch\nENV A=1\nRUN x\n"));
    expect(await runKey("FROM scratch\nARG X=1\nENV X=2\nRUN x\n")).toBe(await runKey("FROM scratch\nENV X=2\nARG X=1\nRUN x\n"));
    expect(await runKey("FROM scratch\nARG A=1\nARG A\nARG B=2\nRUN x\n")).toBe(await runKey("FROM scratch\nARG B=2\nRUN x\n"));
    expect(await runKey("FROM scratch\nARG HTTP_PROXY=p\nRUN x\n")).toBe(await runKey("FROM scratch\nRUN x\n"));
  });

  it("different environments give different keys, order included", async () => {
    const distinct = [
      "FROM scratch\nENV A=1 B=2\nRUN x\n",
      "FROM scratch\nENV B=2 A=1\nRUN x\n",
      "FROM scratch\nENV A=1\nARG B=2\nRUN x\n",
      "FROM scratch\nARG A=1 B=2\nRUN x\n",
      "FROM scratch\nARG B=2 A=1\nRUN x\n",
      "FROM scratch\nENV A=1B=2\nRUN x\n",
      "FROM scratch\nRUN x\n",
    ];
    const got = await Promise.all(distinct.map((d) => runKey(d)));
    expect(new Set(got).size).toBe(distinct.length);
    expect(await runKey("FROM scratch\nARG V\nRUN x\n", ["V=1"])).not.toBe(await runKey("FROM scratch\nARG V\nRUN x\n", ["V=2"]));
  });
});
