// Hostile Dockerfiles at and past every front-end limit, binary garbage and deep ${}
// nesting: each gives its exact TbuildError (never a RangeError, a hang or a stack trace).
// Limits: MAX_DOCKERFILE_CHARS (16 MiB, src/dockerfile/parser.ts), MAX_LINE_BYTES (65535,
// BuildKit's line buffer, src/dockerfile/lines.ts), ONBUILD depth, DEFAULT_MAX_DEPTH (64
// ${...} levels, src/shell/lex.ts), MAX_INSTRUCTIONS (10,000, src/dockerfile/parser.ts),
// MAX_STAGES (5,000, src/plan/stages.ts). There is no limit of its own on heredoc size: the
// file-size limit bounds it (tested here).
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MAX_DOCKERFILE_CHARS, MAX_INSTRUCTIONS, decodeDockerfile, parseDockerfile } from "../../src/dockerfile/index.js";
import { DEFAULT_MAX_DEPTH, expandWord } from "../../src/shell/index.js";
import { lintDockerfile, lintParsed } from "../../src/lint/index.js";
import { MAX_STAGES, planBuild } from "../../src/plan/index.js";
import { TbuildError, type Digest } from "../../src/util/index.js";

const platform = { os: "linux", architecture: "amd64" } as const;
const digest = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}` as Digest;
const resolver = { resolve: async (ref: string) => ({ ref, digest: digest(ref), config: {}, platform }) };
const hasher = { hash: async (req: { sources: readonly string[] }) => ({ digest: digest(req.sources.join("\0")), files: {} }) };

/** Plan `text`; the TbuildError it throws (or undefined when it plans). Anything else fails the test. */
async function planError(text: string): Promise<TbuildError | undefined> {
  try {
    await planBuild({ dockerfile: text, platform, resolver, hasher });
    return undefined;
  } catch (e) {
    if (!(e instanceof TbuildError)) throw e;
    return e;
  }
}

function firstError(text: string): { code: string; message: string; line?: number } | undefined {
  const d = parseDockerfile(text).diagnostics.find((x) => x.severity === "error");
  return d ? { code: d.code, message: d.message, ...(d.location ? { line: d.location.range.start.line } : {}) } : undefined;
}

describe("Dockerfile size limit (MAX_DOCKERFILE_CHARS = 16 MiB)", () => {
  it("accepts a Dockerfile of exactly the limit", () => {
    const head = "FROM scratch\n";
    const text = head + "#".repeat(MAX_DOCKERFILE_CHARS - head.length - 1) .replace(/#{60000}/g, (m) => `${m.slice(0, -1)}\n`) + "\n";
    expect(text.length).toBe(MAX_DOCKERFILE_CHARS);
    expect(firstError(text)).toBeUndefined();
  });

  it("refuses one character past it with E_PARSE_LIMIT, without parsing", async () => {
    const text = "FROM scratch\n" + "#".repeat(MAX_DOCKERFILE_CHARS - 13) + "x";
    expect(text.length).toBe(MAX_DOCKERFILE_CHARS + 1);
    expect(firstError(text)).toEqual({ code: "E_PARSE_LIMIT", message: `Dockerfile is ${MAX_DOCKERFILE_CHARS + 1} characters; the limit is ${MAX_DOCKERFILE_CHARS}`, line: 1 });
    expect((await planError(text))?.code).toBe("E_PARSE_EMPTY");
  });

  it("bounds a giant heredoc (no heredoc limit of its own): 15 MiB body parses and plans", async () => {
    const body = "echo x\n".repeat(Math.floor((15 * 1024 * 1024) / 7));
    const text = `FROM scratch\nRUN <<EOF\n${body}EOF\n`;
    const t0 = performance.now();
    expect(firstError(text)).toBeUndefined();
    expect(await planError(text)).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});

describe("line length limit (MAX_LINE_BYTES = 65535, BuildKit's bufio limit)", () => {
  it("accepts a line of 65535 bytes", () => {
    const line = `LABEL a=${"x".repeat(65535 - 8)}`;
    expect(Buffer.byteLength(line)).toBe(65535);
    expect(firstError(`FROM scratch\n${line}\n`)).toBeUndefined();
  });

  it("refuses 65536 bytes with E_PARSE_LIMIT on that line", async () => {
    const text = `FROM scratch\nLABEL a=${"x".repeat(65536 - 8)}\n`;
    expect(firstError(text)).toEqual({ code: "E_PARSE_LIMIT", message: "dockerfile line greater than max allowed size of 65535", line: 2 });
    const e = await planError(text);
    expect(e?.code).toBe("E_PARSE_LIMIT");
    expect(e?.location?.range.start.line).toBe(2);
  });

  it("counts UTF-8 bytes, not characters: 21846 three-byte characters are 65538 bytes", () => {
    expect(firstError(`FROM scratch\nLABEL a=${"€".repeat(21846)}\n`)?.code).toBe("E_PARSE_LIMIT");
  });
});

describe("${...} nesting limit (DEFAULT_MAX_DEPTH = 64)", () => {
  const nest = (d: number) => `${"${A:-".repeat(d)}x${"}".repeat(d)}`;
  it("expands 64 levels", () => {
    expect(DEFAULT_MAX_DEPTH).toBe(64);
    expect(expandWord(nest(64), new Map()).value).toBe("x");
  });

  it("refuses 65 levels with E_SHELL_LIMIT", () => {
    expect(() => expandWord(nest(65), new Map())).toThrowError(expect.objectContaining({ code: "E_SHELL_LIMIT", message: expect.stringContaining("nested deeper than 64 levels") }));
  });

  it("deeply nested ${ (12k levels, no closing braces, under the line limit) is E_SHELL_LIMIT in a plan, located on its line, not a stack overflow", async () => {
    const e = await planError(`FROM scratch\nENV A=${"${B:-".repeat(12_000)}\n`);
    expect(e?.code).toBe("E_SHELL_LIMIT");
    expect(e?.location?.range.start.line).toBe(2);
  });
});

describe("ONBUILD nesting, instructions and stages", () => {
  it("ONBUILD ONBUILD is refused with E_PARSE_ONBUILD", async () => {
    expect((await planError("FROM scratch\nONBUILD ONBUILD RUN x\n"))?.code).toBe("E_PARSE_ONBUILD");
  });

  it("ONBUILD nested three deep is E_PARSE_LIMIT", () => {
    expect(firstError("FROM scratch\nONBUILD ONBUILD ONBUILD RUN x\n")?.code).toBe("E_PARSE_LIMIT");
  });

  it("MAX_INSTRUCTIONS (10,000) instructions parse, decode, lint and plan", async () => {
    expect(MAX_INSTRUCTIONS).toBe(10_000);
    const text = "FROM scratch\n" + "EXPOSE 80\n".repeat(MAX_INSTRUCTIONS - 1);
    const parsed = parseDockerfile(text);
    expect(parsed.ast.instructions).toHaveLength(MAX_INSTRUCTIONS);
    expect(parsed.diagnostics).toEqual([]);
    expect(decodeDockerfile(parsed).errors).toEqual([]);
    expect(lintParsed(parsed).filter((d) => d.code.startsWith("E_"))).toEqual([]);
    expect(await planError(text)).toBeUndefined();
  });

  it("MAX_INSTRUCTIONS + 1 instructions (unknown ones count) is one E_PARSE_LIMIT at instruction 10,001", async () => {
    // Line 1 FROM, then unknown instructions: the 10,001st instruction is on line 10,001.
    const text = "FROM scratch\n" + "NOPE 1\n".repeat(MAX_INSTRUCTIONS - 1) + "EXPOSE 80\n" + "NOPE 2\n".repeat(5);
    const parsed = parseDockerfile(text);
    expect(parsed.ast.instructions).toHaveLength(MAX_INSTRUCTIONS);
    const limits = parsed.diagnostics.filter((d) => d.code === "E_PARSE_LIMIT");
    expect(limits).toEqual([{
      severity: "error",
      code: "E_PARSE_LIMIT",
      message: "the Dockerfile has more than 10,000 instructions",
      location: { file: "Dockerfile", range: { start: { line: 10_001, column: 1, offset: 13 + 7 * 9_999 }, end: { line: 10_001, column: 10, offset: 13 + 7 * 9_999 + 9 } } },
      hint: "merge RUN steps (one RUN can run many commands) or split the build into several Dockerfiles",
    }]);
    const lint = lintParsed(parsed).filter((d) => d.code === "E_PARSE_LIMIT");
    expect(lint.map((d) => [d.message, d.location.range.start.line])).toEqual([["the Dockerfile has more than 10,000 instructions", 10_001]]);
    // The planner stops at the first unknown instruction (line 2), before the limit.
    expect((await planError(text))?.code).toBe("E_PARSE_UNKNOWN_INSTRUCTION");
    const valid = "FROM scratch\n" + "EXPOSE 80\n".repeat(MAX_INSTRUCTIONS);
    const e = await planError(valid);
    expect(e?.code).toBe("E_PARSE_LIMIT");
    expect(e?.message).toBe("the Dockerfile has more than 10,000 instructions");
    expect(e?.location?.range.start.line).toBe(10_001);
  });

  it("1,000 chained stages plan within seconds", async () => {
    const text = Array.from({ length: 1000 }, (_, i) => `FROM ${i ? `s${i - 1}` : "scratch"} AS s${i}\n`).join("");
    const t0 = performance.now();
    expect(await planError(text)).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  // Was a RangeError at 2,000: planStage recursed once per FROM <previous stage>. Each stage
  // now starts in a job of its own, so a chain waits on promises instead of nesting calls.
  it("2,000 chained stages plan within seconds, not RangeError", async () => {
    const text = Array.from({ length: 2000 }, (_, i) => `FROM ${i ? `s${i - 1}` : "scratch"} AS s${i}\n`).join("");
    const t0 = performance.now();
    expect(await planError(text)).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it("a chain of MAX_STAGES (5,000) stages through COPY --from plans within seconds", async () => {
    expect(MAX_STAGES).toBe(5000);
    const text = Array.from({ length: MAX_STAGES }, (_, i) => `FROM scratch AS s${i}\n${i ? `COPY --from=s${i - 1} /a /a\n` : ""}`).join("");
    const t0 = performance.now();
    expect(await planError(text)).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it("MAX_STAGES + 1 stages is E_PARSE_LIMIT at the first FROM past the limit", async () => {
    const text = Array.from({ length: MAX_STAGES + 1 }, (_, i) => `FROM ${i ? `s${i - 1}` : "scratch"} AS s${i}\n`).join("");
    const e = await planError(text);
    expect(e?.code).toBe("E_PARSE_LIMIT");
    expect(e?.message).toBe("the Dockerfile has more than 5000 stages");
    expect(e?.location?.range.start.line).toBe(MAX_STAGES + 1);
  });
});

describe("binary garbage", () => {
  const bytes = (seed: number, n: number) => {
    let a = seed;
    let s = "";
    for (let i = 0; i < n; i++) {
      a = (Math.imul(a, 1103515245) + 12345) >>> 0;
      s += String.fromCharCode((a >>> 16) & 0xff);
    }
    return s;
  };

  it.each([1, 2, 3, 4, 5])("random bytes (seed %i): parse and lint return, plan throws a located TbuildError", async (seed) => {
    const text = bytes(seed, 64 * 1024);
    expect(() => parseDockerfile(text)).not.toThrow();
    expect(() => lintDockerfile(text)).not.toThrow();
    const e = await planError(text);
    expect(e).toBeInstanceOf(TbuildError);
    expect(e?.code).toMatch(/^E_PARSE_/);
  });

  it("NUL bytes, lone surrogates and a BOM in the middle are an unknown instruction, located", async () => {
    const e = await planError("FROM scratch\n\u0000\ud800\ufeffRUN x\n");
    expect(e?.code).toBe("E_PARSE_UNKNOWN_INSTRUCTION");
    expect(e?.location?.range.start.line).toBe(2);
  });
});
