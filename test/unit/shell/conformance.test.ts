// BuildKit's shell conformance tables, read in place from ../shared/conformance/shell:
// envVarTest (ProcessWord), wordsTest (ProcessWords) and processWord-cases.json
// (ProcessWordWithMatches and friends, transcribed from lex_test.go). One `it` per line.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { expandWord, processWord, processWords, setEnv, type Environment } from "../../../src/shell/index.js";
import { TbuildError } from "../../../src/util/index.js";

const DIR = new URL("../../../../shared/conformance/shell/", import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, DIR), "utf8");

/** The fixed environment of envVarTest (README: PWD, SHELL, KOREAN, NULL). */
const ENV_VAR_TEST_ENV: Environment = [
  { key: "PWD", value: "/home" },
  { key: "SHELL", value: "bash" },
  { key: "KOREAN", value: "한국어" },
  { key: "NULL", value: "" },
];

function outcome(fn: () => string): string {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TbuildError) return "error";
    throw e;
  }
}

describe("envVarTest (ProcessWord)", () => {
  const lines = read("envVarTest").split("\n");
  const cases = lines.flatMap((line, i) => {
    if (line.startsWith("#") || line.trim() === "") return [];
    const fields = line.split("|").map((f) => f.trim());
    if (fields.length !== 3) throw new Error(`envVarTest line ${i + 1} has ${fields.length} fields`);
    const [platform, input, expected] = fields as [string, string, string];
    return [{ lineNo: i + 1, platform, input, expected }];
  });

  it("has the documented number of cases (228 Linux + 2 Windows-only)", () => {
    expect(cases.filter((c) => c.platform !== "W")).toHaveLength(228);
    expect(cases.filter((c) => c.platform === "W")).toHaveLength(2);
  });

  for (const c of cases) {
    if (c.platform === "W") {
      // Windows-only: names are looked up case-insensitively there. tbuild targets Linux,
      // so these run with the explicit Windows option rather than the default.
      it(`line ${c.lineNo} [W, Windows-only: caseInsensitiveNames] ${c.input} → ${c.expected}`, () => {
        expect(outcome(() => processWord(c.input, ENV_VAR_TEST_ENV, { caseInsensitiveNames: true }))).toBe(c.expected);
      });
      continue;
    }
    if (c.platform !== "A" && c.platform !== "U") throw new Error(`envVarTest line ${c.lineNo}: unknown platform ${c.platform}`);
    it(`line ${c.lineNo} [${c.platform}] ${c.input} → ${c.expected === "" ? "(empty)" : c.expected}`, () => {
      expect(outcome(() => processWord(c.input, ENV_VAR_TEST_ENV))).toBe(c.expected);
    });
  }
});

describe("wordsTest (ProcessWords)", () => {
  const lines = read("wordsTest").split("\n");
  let env: Environment = [];
  let count = 0;
  lines.forEach((line, i) => {
    if (line.startsWith("#") || line === "") return;
    if (line.startsWith("ENV ")) {
      const def = line.slice(4).replace(/^ +/, "");
      const eq = def.indexOf("=");
      env = setEnv(env, def.slice(0, eq), def.slice(eq + 1));
      return;
    }
    const parts = line.split("|");
    if (parts.length !== 2) throw new Error(`wordsTest line ${i + 1} must have one |`);
    const input = parts[0]!.trim();
    const expected = parts[1]!.replace(/^ +/, "").split(",");
    const lineEnv = env;
    count++;
    it(`line ${i + 1}: ${input} → ${JSON.stringify(expected)}`, () => {
      let got: string[];
      try {
        got = processWords(input, lineEnv);
      } catch (e) {
        if (!(e instanceof TbuildError)) throw e;
        got = ["error"];
      }
      expect(got).toEqual(expected);
    });
  });
  it("has the documented 24 cases", () => expect(count).toBe(24));
});

interface PwCase {
  id: string;
  input: string;
  env: Record<string, string>;
  expect?: string;
  expectError?: boolean;
  errorContains?: string;
  matched?: string[];
  unmatched?: string[];
}

describe("processWord-cases.json (lex_test.go)", () => {
  const cases = JSON.parse(read("processWord-cases.json")) as PwCase[];
  it("has the documented 56 cases", () => expect(cases).toHaveLength(56));
  for (const c of cases) {
    it(`${c.id}: ${c.input}`, () => {
      if (c.expectError) {
        let err: unknown;
        try {
          expandWord(c.input, c.env);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(TbuildError);
        if (c.errorContains !== undefined) expect((err as TbuildError).message).toContain(c.errorContains);
        return;
      }
      const r = expandWord(c.input, c.env);
      expect(r.value).toBe(c.expect);
      if (c.matched) expect([...r.matched].sort()).toEqual([...c.matched].sort());
      if (c.unmatched) expect([...r.unmatched].sort()).toEqual([...c.unmatched].sort());
    });
  }
});
