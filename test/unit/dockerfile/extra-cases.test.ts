// The small tables of ../shared/conformance/parser/extra-cases.json, one `it` per case.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { chompHeredoc, dumpAst, findDirective, heredocsFromLine, parseDockerfile, parseHeredocWord, parseJsonArray, parseWords } from "../../../src/dockerfile/index.js";

const X = JSON.parse(readFileSync(new URL("../../../../shared/conformance/parser/extra-cases.json", import.meta.url), "utf8"));

describe("parseWords", () => {
  for (const c of X.parseWords.cases as { input: string; expect: string[] }[]) {
    it(JSON.stringify(c.input), () => expect(parseWords(c.input, "\\").map((w) => w.text)).toEqual(c.expect));
  }
});

describe("jsonArrays", () => {
  for (const c of X.jsonArrays.valid as { input: string; expect: string[] }[]) {
    it(`valid ${c.input}`, () => expect(parseJsonArray(c.input)).toEqual({ kind: "array", values: c.expect }));
  }
  for (const input of X.jsonArrays.invalidNotStrings as string[]) {
    it(`not strings ${input}`, () => {
      expect(parseJsonArray(input).kind).toBe("not-strings");
      const r = parseDockerfile(`FROM a\nCMD ${input}\n`);
      const e = r.diagnostics.find((d) => d.severity === "error");
      expect(e?.message).toContain("arrays must be comprised of strings only");
      expect(e?.location?.range.start.line).toBe(2);
    });
  }
});

describe("nameVal", () => {
  for (const c of X.nameVal.cases as { instruction: string; args: string; expectTriples?: string[][]; expectError?: string }[]) {
    it(`${c.instruction} ${c.args}`, () => {
      const r = parseDockerfile(`FROM a\n${c.instruction} ${c.args}\n`);
      if (c.expectError) {
        expect(r.diagnostics.find((d) => d.severity === "error")?.message).toBe(c.expectError);
      } else {
        expect(r.ast.instructions[1]!.pairs.map((p) => [p.key, p.value, p.separator])).toEqual(c.expectTriples);
      }
    });
  }
});

describe("directives", () => {
  (X.directives.cases as { api: string; input?: string; inputHex?: string; expect: unknown }[]).forEach((c, i) => {
    it(`${i}: ${c.api} ${JSON.stringify(c.input ?? c.inputHex)}`, () => {
      const text = c.input ?? Buffer.from(c.inputHex!, "hex").toString("utf8");
      if (c.api === "ParseAll") {
        const r = parseDockerfile(text + "FROM a\n");
        expect(r.ast.directives.map((d) => ({ name: d.name, value: d.value }))).toEqual(c.expect);
        return;
      }
      const name = c.api === "DetectSyntax" ? "syntax" : "check";
      const got = findDirective(text, name);
      if (c.expect === null) {
        expect(got).toBeUndefined();
        return;
      }
      const want = c.expect as { ref: string; cmdline?: string; line?: number };
      expect(got?.ref).toBe(want.ref);
      if (want.cmdline !== undefined) expect(got?.cmdline).toBe(want.cmdline);
      if (want.line !== undefined) expect(got?.line).toBe(want.line);
    });
  });
});

describe("heredocWord", () => {
  for (const w of X.heredocWord.validNameEOF as string[]) {
    it(`valid ${w}`, () => expect(parseHeredocWord(w)?.name).toBe("EOF"));
  }
  for (const w of X.heredocWord.invalidError as string[]) {
    it(`error ${w}`, () => expect(() => parseHeredocWord(w)).toThrow());
  }
  for (const w of X.heredocWord.notHeredoc as string[]) {
    it(`not heredoc ${JSON.stringify(w)}`, () => expect(parseHeredocWord(w)).toBeUndefined());
  }
});

describe("heredocChomp", () => {
  it("strips leading tabs", () => expect(chompHeredoc(X.heredocChomp.input)).toBe(X.heredocChomp.expect));
});

describe("heredocsFromLine", () => {
  for (const c of X.heredocsFromLine.cases as { line: string; names: string[] | null }[]) {
    // As the Go test: names are compared for the heredocs found; null means none.
    it(c.line, () => {
      const got = heredocsFromLine(c.line).map((h) => h.name);
      if (c.names === null) expect(got).toEqual([]);
      else got.forEach((n, i) => expect(n).toBe(c.names![i]));
      expect(got.length).toBeLessThanOrEqual((c.names ?? []).length);
    });
  }
});

describe("lineTooLong", () => {
  it("a 64 KiB line is an E_PARSE_LIMIT error", () => {
    const text = `\n\t\tFROM image\n\t\tLABEL test=${"a".repeat(65536)}\n`;
    const r = parseDockerfile(text);
    const e = r.diagnostics.find((d) => d.severity === "error");
    expect(e?.code).toBe("E_PARSE_LIMIT");
    expect(e?.message).toBe(X.lineTooLong.expectError);
    expect(e?.location?.range.start.line).toBe(3);
    expect(dumpAst(r.ast)).toBe('(from "image")');
  });
});
