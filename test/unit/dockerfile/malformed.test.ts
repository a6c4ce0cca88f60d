// Hostile and malformed input: always a tree plus diagnostics or a TbuildError, never a
// crash or a hang.
import { describe, expect, it } from "vitest";
import { decodeDockerfile, dumpAst, parseDockerfile } from "../../../src/dockerfile/index.js";
import { TbuildError } from "../../../src/util/index.js";

function check(text: string): { errors: string[]; ms: number } {
  const t0 = performance.now();
  const r = parseDockerfile(text);
  const d = decodeDockerfile(r);
  for (const e of d.errors) expect(e).toBeInstanceOf(TbuildError);
  return { errors: d.errors.map((e) => `${e.code} ${e.location?.range.start.line}:${e.location?.range.start.column}`), ms: performance.now() - t0 };
}

describe("malformed input", () => {
  it("binary garbage", () => {
    let s = "";
    let x = 12345;
    for (let i = 0; i < 200_000; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      s += String.fromCharCode(x % 256);
    }
    const r = check(s);
    expect(r.ms).toBeLessThan(3000);
  });
  it("a 10 MB single line is an E_PARSE_LIMIT error, quickly", () => {
    const r = check(`FROM a\nRUN ${"x".repeat(10 * 1024 * 1024)}\n`);
    expect(r.errors[0]).toBe("E_PARSE_LIMIT 2:1");
    expect(r.ms).toBeLessThan(2000);
  });
  it("an unterminated heredoc is located at its instruction", () => {
    expect(check("FROM a\nRUN <<EOF\necho hi\n").errors).toEqual(["E_PARSE_HEREDOC 2:1"]);
  });
  it("unbalanced JSON falls back to shell form (BuildKit)", () => {
    const r = parseDockerfile('FROM a\nCMD ["a", "b"\n');
    expect(dumpAst(r.ast)).toBe('(from "a")\n(cmd "[\\"a\\", \\"b\\"")');
  });
  it("nested JSON array is an error", () => {
    expect(check('FROM a\nCMD ["a", ["b"]]\n').errors).toEqual(["E_PARSE_BAD_JSON 2:5"]);
  });
  it("a lone escape at EOF", () => {
    const r = parseDockerfile("FROM a\nRUN x \\");
    expect(dumpAst(r.ast)).toBe('(from "a")\n(run "x")');
    expect(check("\\").errors.length).toBeGreaterThan(0);
  });
  it("ONBUILD ONBUILD is rejected with a hint", () => {
    expect(check("FROM a\nONBUILD ONBUILD RUN x\n").errors).toEqual(["E_PARSE_ONBUILD 2:9"]);
  });
  it("deeply nested ONBUILD does not overflow the stack", () => {
    expect(check(`FROM a\n${"ONBUILD ".repeat(5000)}RUN x\n`).errors[0]).toMatch(/^E_PARSE_/);
  });
  it("many heredoc openers on one line", () => {
    expect(check(`FROM a\nRUN ${"<<A ".repeat(2000)}\nA\n`).errors[0]).toBe("E_PARSE_HEREDOC 2:1");
  });
  it("pathological quotes and escapes", () => {
    for (const s of ['"'.repeat(50000), "'".repeat(50000), "\\".repeat(50000), "--".repeat(30000), "<<".repeat(30000), "[".repeat(30000)]) {
      expect(check(`FROM a\nCOPY ${s} /x\nENV ${s}\nARG ${s}\n`).ms).toBeLessThan(2000);
    }
  });
  it("unknown instruction and flag carry suggestions", () => {
    const r = decodeDockerfile(parseDockerfile("FROM a\nCOPPY a b\nCOPY --chmood=1 a b\n"));
    expect(r.errors.map((e) => [e.code, e.hint])).toEqual([["E_PARSE_UNKNOWN_INSTRUCTION", "did you mean COPY?"], ["E_PARSE_UNKNOWN_FLAG", "did you mean --chmod?"]]);
  });
});
