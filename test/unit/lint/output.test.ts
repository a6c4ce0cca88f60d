// Output formats (text, JSON, SARIF 2.1.0, Checkstyle), --fix, suppression and the CLI's
// exit codes, plus a crash-free run over the real-world corpus.
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../helpers/cli.js";
import { tempDirs } from "../../helpers/temp-dirs.js";
import { parseReference } from "../../../src/image/index.js";
import { parseDockerfile } from "../../../src/dockerfile/index.js";
import {
  RULES,
  applyFixes,
  formatCheckstyle,
  formatText,
  lintDockerfile,
  lintDockerfileReport,
  parseImageRef,
  toJsonFinding,
  toSarif,
} from "../../../src/lint/index.js";

const SAMPLE = "FROM alpine\nrun apk add curl\nMAINTAINER me@example.org\nENV A 1\nCMD node server.js\nEXPOSE 80/TCP\n";

const cli = (argv: string[], cwd: string) => runCli(argv, { cwd });

describe("lint output", () => {
  const findings = lintDockerfile(SAMPLE, { file: "app/Dockerfile" });

  it("text: FILE:LINE:COL  severity  Rule  message", () => {
    const line = formatText(findings).split("\n").find((l) => l.includes("MaintainerDeprecated"));
    expect(line).toBe("app/Dockerfile:3:1  warning  MaintainerDeprecated  Maintainer instruction is deprecated in favor of using label");
  });

  it("json: 1-based fields with the rule URL", () => {
    const j = findings.map(toJsonFinding).find((f) => f.rule === "ExposeProtoCasing")!;
    expect(j).toEqual({
      rule: "ExposeProtoCasing",
      severity: "warning",
      message: "Defined protocol '80/TCP' in EXPOSE instruction should be lowercase",
      file: "app/Dockerfile",
      line: 6,
      column: 8,
      endLine: 6,
      endColumn: 14,
      url: "https://docs.docker.com/go/dockerfile/rule/expose-proto-casing/",
    });
  });

  it("sarif: the structure SARIF 2.1.0 requires", () => {
    const log = toSarif(findings, { toolVersion: "1.2.3", files: ["app/Dockerfile"] });
    expect(log.version).toBe("2.1.0");
    expect(log.$schema).toMatch(/sarif-2\.1\.0/);
    expect(log.runs).toHaveLength(1);
    const run = log.runs[0]!;
    expect(run.tool.driver.name).toBe("tbuild");
    expect(run.tool.driver.rules.map((r) => r.id)).toEqual(RULES.map((r) => r.name));
    for (const r of run.tool.driver.rules) {
      expect(r.shortDescription.text.length).toBeGreaterThan(0);
      expect(["error", "warning", "note"]).toContain(r.defaultConfiguration.level);
      expect(r.helpUri).toMatch(/^https:\/\//);
    }
    expect(run.results).toHaveLength(findings.length);
    for (const res of run.results) {
      expect(typeof res.message.text).toBe("string");
      expect(["error", "warning", "note"]).toContain(res.level);
      expect(run.tool.driver.rules[res.ruleIndex!]!.id).toBe(res.ruleId);
      const loc = res.locations[0]!.physicalLocation;
      expect(loc.artifactLocation.uri).toBe("app/Dockerfile");
      expect(run.artifacts[loc.artifactLocation.index]!.location.uri).toBe("app/Dockerfile");
      const g = loc.region;
      for (const v of [g.startLine, g.startColumn, g.endLine, g.endColumn]) expect(Number.isInteger(v) && v >= 1).toBe(true);
      expect(g.endLine > g.startLine || g.endColumn > g.startColumn).toBe(true);
    }
    // Round-trips as JSON (no undefined, no cycles).
    expect(JSON.parse(JSON.stringify(log))).toEqual(log);
  });

  it("checkstyle: XML with escaped attributes", () => {
    const xml = formatCheckstyle([{ ...findings[0]!, message: `a "quoted" <tag> & more` }], ["app/Dockerfile", "other/Dockerfile"]);
    expect(xml).toContain('<checkstyle version="4.3">');
    expect(xml).toContain('message="a &quot;quoted&quot; &lt;tag&gt; &amp; more"');
    expect(xml).toContain('<file name="other/Dockerfile">\n  </file>');
  });
});

describe("lint suppression", () => {
  it("# tbuild-lint ignore= on the line before an instruction", () => {
    const text = "FROM alpine:3.20\n# tbuild-lint ignore=ApkAddMissingNoCache\nRUN apk add curl\nRUN apk add git\n";
    expect(lintDockerfile(text).map((d) => `${d.code}@${d.location.range.start.line}`)).toEqual(["ApkAddMissingNoCache@4"]);
  });
  it("# check=skip= directive and options.ignore", () => {
    expect(lintDockerfile("# check=skip=BaseImageUntagged\nFROM alpine\n")).toEqual([]);
    expect(lintDockerfile("FROM alpine\n", { ignore: ["BaseImageUntagged"] })).toEqual([]);
  });
  it("# check=error=true promotes findings and fails", () => {
    const r = lintDockerfileReport("# check=error=true\nFROM alpine\n");
    expect(r.diagnostics.map((d) => d.severity)).toEqual(["error"]);
    expect(r.failure).toBe("lint violation found for rules: BaseImageUntagged");
  });
  it("a malformed # check= is an error, not a crash", () => {
    const r = lintDockerfile("# check=bogus=1\nFROM alpine:3.20\n");
    expect(r.map((d) => d.code)).toEqual(["E_PARSE_DIRECTIVE"]);
  });
});

describe("lint --fix", () => {
  const FIXABLE = "from alpine:3.20 AS build\nRUN echo hi\nMAINTAINER Jane \"JD\" Doe <jane@example.org>\nENV GREETING hello  world\nLABEL version 1.0\nCMD node server.js --port=8080\nfrom build as final\n";
  it("fixes casing, AS, legacy ENV/LABEL, MAINTAINER and shell-form CMD; the result re-parses and re-lints clean of them", () => {
    let text = FIXABLE;
    for (let i = 0; i < 5; i++) {
      const { text: next, fixed } = applyFixes(text, lintDockerfile(text));
      if (!fixed.length) break;
      text = next;
    }
    expect(text).toBe(
      'FROM alpine:3.20 AS build\nRUN echo hi\nLABEL org.opencontainers.image.authors="Jane \\"JD\\" Doe <jane@example.org>"\nENV GREETING=hello\\ \\ world\nLABEL version=1.0\nCMD ["node", "server.js", "--port=8080"]\nFROM build AS final\n',
    );
    const parsed = parseDockerfile(text);
    expect(parsed.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const env = parsed.ast.instructions.find((i) => i.kind === "env")!;
    expect(env.pairs.map((p) => [p.key, p.separator])).toEqual([["GREETING", "="]]);
    const left = lintDockerfile(text).map((d) => d.code);
    for (const r of ["ConsistentInstructionCasing", "FromAsCasing", "LegacyKeyValueFormat", "MaintainerDeprecated", "JSONArgsRecommended"]) expect(left).not.toContain(r);
  });
  it("leaves unsafe rewrites reported: CMD with shell syntax, ENTRYPOINT", () => {
    const text = "FROM alpine:3.20\nCMD echo $HOME && sleep 1\n";
    const { fixed } = applyFixes(text, lintDockerfile(text));
    expect(fixed).toEqual([]);
    expect(lintDockerfile("FROM alpine:3.20\nENTRYPOINT run\n")[0]!.fix).toBeUndefined();
  });
});

describe("tbuild lint (CLI)", () => {
  const dir = tempDirs()("lint");
  mkdirSync(join(dir, "svc", "node_modules", "x"), { recursive: true });
  writeFileSync(join(dir, "Dockerfile"), "FROM alpine:3.20\nRUN echo ok\n");
  writeFileSync(join(dir, "svc", "api.Dockerfile"), "FROM alpine\n");
  writeFileSync(join(dir, "svc", "node_modules", "x", "Dockerfile"), "FROM alpine\n");

  it("exit 0 on a clean ./Dockerfile", async () => {
    expect(await cli(["lint"], dir)).toMatchObject({ code: 0, out: "" });
  });
  it("walks a directory (skipping node_modules), exit 1 on a warning", async () => {
    const r = await cli(["lint", "."], dir);
    expect(r.code).toBe(1);
    expect(r.out).toBe("svc/api.Dockerfile:1:6  warning  BaseImageUntagged  Base image \"alpine\" has no tag or digest; pin one (e.g. alpine:<version>)\n");
  });
  it("--severity-threshold error → exit 0 with warnings; --format json", async () => {
    const r = await cli(["lint", "--severity-threshold", "error", "--format", "json", "svc"], dir);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toHaveLength(1);
  });
  it("--ignore hides a rule; an unknown rule or format is a usage error (exit 2)", async () => {
    expect((await cli(["lint", "--ignore", "BaseImageUntagged", "svc"], dir)).code).toBe(0);
    expect((await cli(["lint", "--ignore", "NoSuchRule", "svc"], dir)).code).toBe(2);
    expect((await cli(["lint", "--format", "yaml", "svc"], dir)).code).toBe(2);
  });
  it("--fix rewrites the file", async () => {
    const f = join(dir, "fixme.Dockerfile");
    writeFileSync(f, "FROM alpine:3.20\nenv A 1\n");
    const r = await cli(["lint", "--fix", "fixme.Dockerfile"], dir);
    expect(readFileSync(f, "utf8")).toBe("FROM alpine:3.20\nENV A=1\n");
    expect(r.code).toBe(0);
  });
  it("--context enables CopyIgnoredFile", async () => {
    const ctx = join(dir, "ctx");
    mkdirSync(ctx);
    writeFileSync(join(ctx, ".dockerignore"), "secret.txt\n");
    writeFileSync(join(ctx, "Dockerfile"), "FROM alpine:3.20\nCOPY secret.txt /\n");
    const r = await cli(["lint", "--context", "ctx", "ctx/Dockerfile"], dir);
    expect(r.out).toContain("CopyIgnoredFile  Attempting to Copy file \"secret.txt\" that is excluded by .dockerignore");
    expect((await cli(["lint", "ctx/Dockerfile"], dir)).out).toBe("");
  });
});

describe("lint over the corpus", () => {
  const CORPUS = new URL("../../../../shared/corpus/dockerfiles/", import.meta.url);
  it("lints the odd files (templates, negative parser cases) without throwing", () => {
    const WEIRD = new URL("../../../../shared/corpus/weird/", import.meta.url);
    for (const f of readdirSync(WEIRD)) expect(() => lintDockerfile(readFileSync(new URL(f, WEIRD), "utf8"), { file: f }), f).not.toThrow();
  });
  it("lints every file without throwing", () => {
    const files = readdirSync(CORPUS);
    expect(files.length).toBeGreaterThan(500);
    let total = 0;
    for (const f of files) {
      const text = readFileSync(new URL(f, CORPUS), "utf8");
      const found = lintDockerfile(text, { file: f });
      for (const d of found) {
        expect(d.location.range.start.line, f).toBeGreaterThanOrEqual(1);
        expect(d.location.range.start.column, f).toBeGreaterThanOrEqual(1);
      }
      total += found.length;
    }
    expect(total).toBeGreaterThan(0);
  });
});

// lint reads base images with the store's grammar: every row of testdata/refs.tsv that the
// store refuses, lint refuses, and the other way round (they used to differ on digests lint
// took loosely, such as md5:, sha512: and short or upper-case hex, and on overlong names).
describe("lint and the store agree on image references", () => {
  const rows = readFileSync(new URL("../../../testdata/refs.tsv", import.meta.url), "utf8")
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split("\t").map((c) => (c === "-" ? "" : c)) as [string, string, string, string]);
  it.each(rows.map(([input, , , code]) => [input.length > 60 ? `${input.slice(0, 60)}…` : input, input, code]))("%s", (_, input, code) => {
    const ref = parseImageRef(input!);
    if (code) expect(ref).toBeUndefined();
    else expect(ref).toEqual(parseReference(input!, { defaultTag: false }));
  });
  it("a FROM the store would refuse is InvalidDefaultArgInFrom, not BaseImageUntagged", () => {
    const short = `alpine@sha256:${"0123456789abcdef".repeat(2)}`;
    expect(lintDockerfile(`ARG IMG=${short}\nFROM $IMG\n`).map((d) => d.code)).toEqual(["InvalidDefaultArgInFrom"]);
  });
});
