// Unit rules of the planner: ARG scope, ports, WORKDIR/destination resolution, errors
// with locations, and the executor-facing fields of RUN/COPY steps.
import { describe, expect, it } from "vitest";
import { isTbuildError } from "../../../src/util/index.js";
import { parsePorts, planBuild, resolveDest, resolveWorkdir, type CopyStep, type Plan, type RunStep, type Step } from "../../../src/plan/index.js";
import { ArgScope, BuildArgs, parseBuildArgs } from "../../../src/plan/args.js";
import { cleanPath } from "../../../src/util/index.js";
import { FakeHasher, FakeResolver, HOST } from "./fakes.js";

async function plan(dockerfile: string, extra: { buildArgs?: string[]; target?: string; files?: Record<string, string> } = {}): Promise<Plan> {
  return planBuild({ dockerfile, ...extra, platform: HOST, resolver: new FakeResolver({ "alpine:3.20": { config: { Env: ["PATH=/bin"] } } }), hasher: new FakeHasher(extra.files ?? {}) });
}

async function planError(dockerfile: string, extra: Parameters<typeof plan>[1] = {}): Promise<{ code: string; line: number | undefined; message: string }> {
  try {
    await plan(dockerfile, extra);
  } catch (e) {
    if (isTbuildError(e)) return { code: e.code, line: e.location?.range.start.line, message: e.message };
    throw e;
  }
  throw new Error("planned without error");
}

const last = (p: Plan): readonly Step[] => p.stages.at(-1)!.steps;
const runs = (p: Plan): RunStep[] => last(p).filter((s): s is RunStep => s.kind === "run");
const envOf = (s: RunStep): Record<string, string> => Object.fromEntries(s.env.map((e) => [e.key, e.value]));

describe("ARG scope", () => {
  it("a stage ARG takes the build arg, else its default, else the global value", () => {
    const ba = new BuildArgs(parseBuildArgs(["A=cli", "BARE"], { BARE: "from-env" }));
    const global = new ArgScope();
    global.declare("G", "global", ba);
    const stage = new ArgScope(global);
    expect(stage.declare("A", "default", ba).value).toBe("cli");
    expect(stage.declare("G", undefined, ba).value).toBe("global");
    expect(stage.declare("G2", undefined, ba).value).toBeUndefined();
    expect(stage.declare("BARE", undefined, ba).value).toBe("from-env");
    expect(ba.unused()).toEqual([]);
  });

  it("a bare --build-arg missing from the environment is ignored", () => {
    expect([...parseBuildArgs(["MISSING", "X=1=2"], {})]).toEqual([["X", "1=2"]]);
  });

  it("ARG values reach RUN's env; undeclared globals and unset ARGs do not", async () => {
    const p = await plan("ARG G=1\nARG H=2\nFROM alpine:3.20\nARG G\nARG UNSET\nRUN x\n");
    const env = envOf(runs(p)[0]!);
    expect(env.G).toBe("1");
    expect("H" in env).toBe(false);
    expect("UNSET" in env).toBe(false);
  });

  it("ENV wins over an ARG of the same name in expansion and in RUN's env", async () => {
    const p = await plan("FROM alpine:3.20\nARG V=arg\nENV V=env\nWORKDIR /$V\nRUN x\n", { buildArgs: ["V=cli"] });
    const r = runs(p)[0]!;
    expect(r.cwd).toBe("/env");
    expect(r.env.filter((e) => e.key === "V")).toEqual([{ key: "V", value: "env" }]);
  });

  it("an ARG expanding to a blank base name is an error at the FROM", async () => {
    expect(await planError("ARG IMG\nFROM $IMG\n")).toMatchObject({ code: "E_PLAN_INVALID", line: 2 });
  });

  it("platform ARGs are global; TARGETARCH needs re-declaring in a stage", async () => {
    const p = await plan("FROM alpine:3.20\nRUN echo $TARGETARCH\nARG TARGETARCH\nRUN echo $TARGETARCH\n");
    expect("TARGETARCH" in envOf(runs(p)[0]!)).toBe(false);
    expect(envOf(runs(p)[1]!).TARGETARCH).toBe("amd64");
  });
});

describe("config rules", () => {
  it.each([
    ["80", ["80/tcp"]],
    ["80/TCP", ["80/tcp"]],
    ["53/udp", ["53/udp"]],
    ["8000-8002", ["8000/tcp", "8001/tcp", "8002/tcp"]],
    ["9/sctp", ["9/sctp"]],
  ])("EXPOSE %s", (w, want) => expect(parsePorts(w)).toEqual(want));

  it.each(["http", "80/xyz", "9-1", "70000"])("EXPOSE %s is refused", (w) => {
    expect(() => parsePorts(w)).toThrow(/invalid/);
  });

  it("WORKDIR and COPY destinations resolve against the previous WORKDIR", () => {
    expect(resolveWorkdir(undefined, "app")).toBe("/app");
    expect(resolveWorkdir("/a/b", "../c/./d/")).toBe("/a/c/d");
    expect(resolveWorkdir("/a", "/x/../y")).toBe("/y");
    expect(resolveDest("/app", ".")).toBe("/app/");
    expect(resolveDest("/app", "sub/")).toBe("/app/sub/");
    expect(resolveDest("/app", "file")).toBe("/app/file");
    expect(resolveDest(undefined, "/")).toBe("/");
  });

  it("resolveWorkdir is Go's path.Clean of prev/path, whether prev is clean or not", () => {
    // The fast path extends a clean prev segment by segment; anything else goes through cleanPath.
    const parts = ["a", "bc", ".", "..", "", "...", ".x", "é"];
    let seed = 7;
    const pick = (n: number): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    const word = (): string => Array.from({ length: pick(5) }, () => parts[pick(parts.length)]!).join("/");
    for (let i = 0; i < 2000; i++) {
      const prev = [undefined, "", "/", `/${word()}`, word(), `/${word()}/`][pick(6)];
      const path = [word(), `${word()}/`, `./${word()}`, `/${word()}`][pick(4)]!;
      const want = path.startsWith("/") ? cleanPath(path) : cleanPath(`${prev || "/"}/${path}`);
      expect(resolveWorkdir(prev, path), `${JSON.stringify(prev)} + ${JSON.stringify(path)}`).toBe(want);
    }
  });

  it("a WORKDIR longer than Linux's PATH_MAX (4,095 bytes) is refused when planned", async () => {
    const long = (bytes: number, unit = "a"): string => `/${unit.repeat(Math.ceil((bytes - 1) / new TextEncoder().encode(unit).length))}`;
    expect((await plan(`FROM scratch\nWORKDIR ${long(4095)}\nRUN x\n`)).stages[0]!.steps[1]!.kind).toBe("workdir");
    await expect(plan(`FROM scratch\nWORKDIR ${long(4096)}\n`)).rejects.toMatchObject({ code: "E_PLAN_INVALID", message: expect.stringContaining("longer than 4095 bytes") });
    // Counted in UTF-8 bytes: 1,400 × "é" is 2,800 bytes, 1,400 × "€" 4,200.
    expect((await plan(`FROM scratch\nWORKDIR ${long(2801, "é")}\n`)).stages[0]!.steps).toHaveLength(2);
    await expect(plan(`FROM scratch\nWORKDIR ${long(4201, "€")}\n`)).rejects.toMatchObject({ code: "E_PLAN_INVALID" });
    // Nested relative WORKDIRs reach it too, with the instruction's location.
    await expect(plan(`FROM scratch\n${"WORKDIR abcdefg\n".repeat(600)}`)).rejects.toMatchObject({ code: "E_PLAN_INVALID", location: { range: { start: { line: 513 } } } });
  });
});

describe("errors carry locations", () => {
  it.each([
    ["RUN x\nFROM alpine:3.20\n", "E_PLAN_INVALID", 1],
    ["FROM alpine:3.20 AS 1bad\n", "E_PARSE_BAD_ARGS", 1],
    ["FROM alpine:3.20 AS context\n", "E_PLAN_INVALID", 1],
    ["FROM alpine:3.20\nCOPY --from=missing-image-with-UPPER /a /b\n", "E_REF_INVALID", 2],
    ["FROM alpine:3.20\nCOPY --from=0 /a /b\n", "E_PLAN_CYCLE", 2],
    ["FROM alpine:3.20\nEXPOSE eighty\n", "E_PLAN_INVALID", 2],
    ["FROM alpine:3.20\nRUN --mount=type=bind,from=nowhere/../x,target=/x true\n", "E_REF_INVALID", 2],
    ["FROM --platform=windows/amd64 alpine:3.20\n", "E_PLAN_PLATFORM", 1],
    ["FROM alpine:3.20\nENV A=${B:?required}\n", "E_SHELL_UNSET", 2],
    ["FROM alpine:3.20\nCOPY missing /x\n", "E_COPY_NO_SOURCE", 2],
  ])("%j → %s at line %i", async (df, code, line) => {
    expect(await planError(df)).toMatchObject({ code, line });
  });

  it("an empty Dockerfile", async () => {
    expect((await planError("# nothing\n")).code).toBe("E_PARSE_EMPTY");
  });
});

describe("executor-facing fields", () => {
  it("RUN: argv, env, cwd, user, mounts, network", async () => {
    const p = await plan("FROM alpine:3.20 AS t\nFROM alpine:3.20\nWORKDIR /w\nUSER app\nSHELL [\"/bin/bash\",\"-c\"]\nRUN --mount=type=cache,target=cache --mount=from=t,source=/x --network=host make\n", { files: {} });
    const r = runs(p)[0]!;
    expect(r.argv).toEqual(["/bin/bash", "-c", "make"]);
    expect(r.cwd).toBe("/w");
    expect(r.user).toBe("app");
    expect(r.network).toBe("host");
    expect(r.mounts.map((m) => [m.type, m.target, m.from?.kind ?? "context"])).toEqual([["cache", "/w/cache", "context"], ["bind", "/w", "stage"]]);
    expect(p.stages.at(-1)!.dependsOn).toEqual([0]);
  });

  it("COPY: sources, absolute dest, flags, content digest and per-file digests", async () => {
    const p = await plan("FROM alpine:3.20\nWORKDIR /app\nARG OWNER=1000\nCOPY --chown=$OWNER:$OWNER --exclude=*.md --parents src/ docs/ ./\n", { files: { "src/a.ts": "a", "docs/x.md": "x", "docs/y.txt": "y" } });
    const c = last(p).find((s): s is CopyStep => s.kind === "copy")!;
    expect(c.dest).toBe("/app/");
    expect(c.chown).toBe("1000:1000");
    expect(c.parents).toBe(true);
    expect(c.exclude).toEqual(["*.md"]);
    expect(c.sources).toEqual([{ kind: "context", path: "src/" }, { kind: "context", path: "docs/" }]);
    expect(Object.keys(c.files ?? {})).toEqual(["docs/y.txt", "src/a.ts"]);
    expect(c.contentDigest).toMatch(/^sha256:/);
  });

  it("history follows BuildKit's created_by forms; metadata steps are empty layers", async () => {
    const p = await plan("FROM alpine:3.20\nARG V=1\nENV A=b\nRUN echo hi\nCOPY --from=alpine:3.20 /etc /etc\nWORKDIR /app\nEXPOSE 80\nCMD [\"x\"]\nLABEL a=b\n");
    expect(p.stages[0]!.history.map((h) => [h.created_by, h.empty_layer ?? false])).toEqual([
      ["ARG V=1", true],
      ["ENV A=b", true],
      ["RUN |1 V=1 /bin/sh -c echo hi # buildkit", false],
      ["COPY /etc /etc # buildkit", false],
      ["WORKDIR /app", false],
      ["EXPOSE map[80/tcp:{}]", true],
      ['CMD ["x"]', true],
      ["LABEL a=b", true],
    ]);
  });

  it("exec-form created_by quotes like Go's %q (strconv.Quote), control and non-printable runes included", async () => {
    const p = await plan('FROM alpine:3.20\nCMD ["a\\u0007b", "\\u007f", "\\u00ad", "é"]\n');
    expect(p.stages[0]!.history.map((h) => h.created_by)).toEqual(['CMD ["a\\ab" "\\x7f" "\\u00ad" "é"]']);
  });
});

describe("ONBUILD triggers of a base image", () => {
  it("a malformed or forbidden trigger fails at the FROM line, naming the trigger", async () => {
    for (const trig of ["FROM busybox", "ENV A", "NOPE x"]) {
      try {
        await planBuild({ dockerfile: "FROM x\n", platform: HOST, resolver: new FakeResolver({ x: { config: { OnBuild: [trig] } } }), hasher: new FakeHasher() });
        throw new Error("planned");
      } catch (e) {
        expect(isTbuildError(e) && e.code).toBe("E_PARSE_ONBUILD");
        expect(isTbuildError(e) && e.location?.range.start.line).toBe(1);
        expect((e as Error).message).toContain(JSON.stringify(trig));
      }
    }
  });
});
