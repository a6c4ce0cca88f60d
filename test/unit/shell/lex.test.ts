// tbuild's own expander tests: limits, error codes and offsets, matched/unmatched
// reporting, and the BuildKit lexer options (escape token, raw quotes/escapes, skip unset).
import { describe, expect, it } from "vitest";
import { expandWord, expandWordMatches, processWord, processWords, tryExpandWordMatches, type ShellOptions } from "../../../src/shell/index.js";
import { SourceText, TbuildError } from "../../../src/util/index.js";

function errorOf(word: string, env: Record<string, string> = {}, opts: ShellOptions = {}): TbuildError {
  try {
    expandWord(word, env, opts);
  } catch (e) {
    if (e instanceof TbuildError) return e;
    throw e;
  }
  throw new Error(`expected ${word} to fail`);
}

describe("limits", () => {
  const nested = (n: number, close = true): string => "${A:-".repeat(n) + "x" + (close ? "}".repeat(n) : "");

  it("expands nesting up to the default depth", () => {
    expect(processWord(nested(64), {})).toBe("x");
  });

  it("rejects 10,000 nested ${} levels with E_SHELL_LIMIT, quickly and without a stack overflow", () => {
    const t0 = performance.now();
    const e = errorOf(nested(10_000));
    expect(e.code).toBe("E_SHELL_LIMIT");
    expect(e.message).toMatch(/nested deeper than 64 levels/);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("rejects 10,000 unclosed nested levels with E_SHELL_LIMIT too", () => {
    expect(errorOf(nested(10_000, false)).code).toBe("E_SHELL_LIMIT");
  });

  it("honours a custom maxDepth", () => {
    expect(errorOf(nested(3), {}, { maxDepth: 2 }).code).toBe("E_SHELL_LIMIT");
    expect(processWord(nested(2), {}, { maxDepth: 2 })).toBe("x");
  });

  it("turns a stack overflow under an unlimited maxDepth into E_SHELL_LIMIT", () => {
    const e = errorOf(nested(200_000), {}, { maxDepth: Infinity });
    expect(e.code).toBe("E_SHELL_LIMIT");
  });

  it("handles a long flat word in linear time", () => {
    const word = "$A".repeat(100_000) + "\\ x".repeat(50_000);
    const t0 = performance.now();
    expect(processWord(word, { A: "a" })).toHaveLength(100_000 + 100_000);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe("syntax errors carry E_SHELL_SYNTAX and an offset", () => {
  it.each([
    ["${", 0, /missing '\}'/],
    ["${VAR", 0, /missing '\}'/],
    ["ab${VAR", 2, /missing '\}'/],
    ["${:-x}", 0, /bad substitution/],
    ["${}", 0, /bad substitution/],
    ["x${.}", 1, /bad substitution/],
    ["${VAR:=x}", 5, /unsupported modifier \(:=\)/],
    ["${VAR=x}", 5, /unsupported modifier \(=\)/],
    ["${VAR:#x}", 5, /unsupported modifier \(:#\)/],
    ["${VAR:", 0, /missing '\}'/],
    ["${VAR:-${X}", 0, /missing '\}'/],
    ["${VAR/a", 0, /missing '\/'/],
    ["${VAR/a/b", 0, /missing '\}'/],
    ["abc'def", 3, /single-quote/],
    ['a"b$X', 1, /double-quote/],
  ])("%s fails at offset %i", (word, offset, msg) => {
    const e = errorOf(word);
    expect(e.code).toBe("E_SHELL_SYNTAX");
    expect(e.message).toMatch(msg);
    expect(e.message).toContain(`failed to process ${JSON.stringify(word)}`);
    expect(e.message).toContain(`(at offset ${offset})`);
    expect(e.hint).toBeTruthy();
  });

  it("places the error in the Dockerfile when given the word's origin", () => {
    const text = "FROM scratch\nENV A=${B\n";
    const word = "A=${B";
    const e = errorOf(word, {}, { origin: { file: "Dockerfile", source: new SourceText(text), offset: text.indexOf(word) } });
    expect(e.location?.file).toBe("Dockerfile");
    expect(e.location?.range.start).toMatchObject({ line: 2, column: 7 });
  });

  it("reports ${VAR:?msg} as E_SHELL_UNSET with the expanded message", () => {
    const e = errorOf("${VAR:?need $WHAT}", { WHAT: "a value", VAR: "" });
    expect(e.code).toBe("E_SHELL_UNSET");
    expect(e.message).toContain("VAR: need a value");
    expect(errorOf("${VAR?}").message).toContain("VAR: is not allowed to be unset");
    expect(errorOf("${VAR:?}", { VAR: "" }).message).toContain("VAR: is not allowed to be empty");
  });
});

describe("matched and unmatched names", () => {
  const sets = (word: string, env: Record<string, string>) => {
    const r = expandWord(word, env);
    return { value: r.value, matched: [...r.matched].sort(), unmatched: [...r.unmatched].sort() };
  };

  it("records $X and ${X} forms, set-but-empty counting as matched", () => {
    expect(sets("$A ${B} $C", { A: "1", B: "" })).toEqual({ value: "1  ", matched: ["A", "B"], unmatched: ["C"] });
  });

  it("records names inside default words, patterns and replacements", () => {
    expect(sets("${A:-$B}", {})).toEqual({ value: "", matched: [], unmatched: ["A", "B"] });
    expect(sets("${A#$P}${A/$Q/$R}", { A: "xy", P: "x" })).toEqual({ value: "yxy", matched: ["A", "P"], unmatched: ["Q", "R"] });
  });

  it("evaluates the default word even when the variable is set, as BuildKit does", () => {
    expect(sets("${A:-$B}", { A: "a" })).toEqual({ value: "a", matched: ["A"], unmatched: ["B"] });
  });

  it("records names inside double quotes but not single quotes or after an escape", () => {
    expect(sets(`"$A" '$B' \\$C`, { A: "a" })).toEqual({ value: "a $B $C", matched: ["A"], unmatched: [] });
  });

  it("reports positional and special parameters as unmatched", () => {
    expect(sets("$1${@}$$", {})).toEqual({ value: "", matched: [], unmatched: ["$", "1", "@"] });
  });

  it("never finds Object.prototype members in a record environment", () => {
    expect(sets("${constructor}${toString:-d}", {})).toEqual({ value: "d", matched: [], unmatched: ["constructor", "toString"] });
  });

  it("accepts a Map and an ordered list where the later entry wins", () => {
    expect(processWord("$A", new Map([["A", "m"]]))).toBe("m");
    expect(processWord("$A", [{ key: "A", value: "1" }, { key: "A", value: "2" }])).toBe("2");
  });
});

describe("options", () => {
  it("uses the backtick as escape character when asked, leaving backslashes literal", () => {
    expect(processWord("C:\\dir\\$A `$A a` b", { A: "x" }, { escapeToken: "`" })).toBe("C:\\dir\\x $A a b");
    expect(processWord('"a`"b"', {}, { escapeToken: "`" })).toBe('a"b');
  });

  it("skipUnsetEnv keeps references to unset variables as written", () => {
    const opts = { skipUnsetEnv: true };
    expect(processWord("$X ${Y} ${Z:-d} ${Z+d} ${W##p*} ${V//a/b} $S", { S: "s" }, opts)).toBe(
      "$X ${Y} ${Z:-d} ${Z+d} ${W##p*} ${V//a/b} s",
    );
  });

  it("rawQuotes keeps quotes, rawEscapes keeps escapes", () => {
    expect(processWord(`'a b' "c $A"`, { A: "x" }, { rawQuotes: true })).toBe(`'a b' "c x"`);
    expect(processWord("a\\ b\\$A", { A: "x" }, { rawEscapes: true })).toBe("a\\ b\\$A");
  });

  it("skipProcessQuotes treats quotes as ordinary characters", () => {
    expect(processWord(`'$A' "$A`, { A: "x" }, { skipProcessQuotes: true })).toBe(`'x' "x`);
  });

  it("caseInsensitiveNames looks names up as Windows does, reporting the name as written", () => {
    const r = expandWord("$path", { PATH: "/bin" }, { caseInsensitiveNames: true });
    expect(r.value).toBe("/bin");
    expect([...r.matched]).toEqual(["path"]);
    expect(processWord("$path", { PATH: "/bin" })).toBe("");
  });
});

describe("word splitting (processWords)", () => {
  it.each([
    ["a  b\tc", {}, ["a", "b", "c"]],
    ["$L x", { L: " 1  2 " }, ["1", "2", "x"]],
    ['"$L" x', { L: " 1  2 " }, [" 1  2 ", "x"]],
    ["a\\ b c", {}, ["a b", "c"]],
    ["'' x", {}, ["x"]],
    ["", {}, []],
    ["${U:-a b}", {}, ["a", "b"]],
    ["a\u3000b\u00a0c\u200bd \u{1F600}e", {}, ["a", "b", "c\u200bd", "\u{1F600}e"]], // Go unicode.IsSpace: U+3000 and NBSP split, ZWSP does not
  ] as const)("%s", (word, env, want) => {
    expect(processWords(word, env)).toEqual(want);
  });

  it("keeps the single-word value with its inner spaces", () => {
    expect(expandWord("a  $L", { L: "b  c" }).value).toBe("a  b  c");
  });
});

describe("pattern operators", () => {
  const env = { F: "path/to/file.tar.gz", E: "", U: "😀x😀" };
  it.each([
    ["${F#*/}", "to/file.tar.gz"],
    ["${F##*/}", "file.tar.gz"],
    ["${F%.*}", "path/to/file.tar"],
    ["${F%%.*}", "path/to/file"],
    ["${F/t?/T}", "paT/to/file.tar.gz"],
    ["${F//t?/T}", "paT/T/file.Tr.gz"],
    ["${F//[aeiou]/_}", "p_th/t_/f_l_.t_r.gz"],
    ["${F//[!a-z]/}", "pathtofiletargz"],
    ["${F//[[:punct:]]/-}", "path-to-file-tar-gz"],
    ["${F#\\*}", "path/to/file.tar.gz"],
    ["${F/\\//:}", "path:to/file.tar.gz"],
    ["${E#*}", ""],
    ["${U#?}", "x😀"],
    ["${U%?}", "😀x"],
    ["${NOPE//a/b}", ""],
    ["${F//*/X}", "X"],
  ])("%s → %s", (word, want) => {
    expect(processWord(word, env)).toBe(want);
  });

  it("takes [ literally with globBrackets: false, as BuildKit does", () => {
    expect(processWord("${V#[ab]}", { V: "[ab]c" }, { globBrackets: false })).toBe("c");
    expect(processWord("${V#[ab]}", { V: "[ab]c" })).toBe("[ab]c");
    expect(processWord("${V#[ab]}", { V: "bc" })).toBe("c");
  });

  it("matches hostile patterns in linear time", () => {
    const v = "a".repeat(20_000);
    const t0 = performance.now();
    expect(processWord("${V//*a*a*a*a*a*b/x}", { V: v })).toBe(v);
    expect(processWord("${V%%*a*a*a*a*b}", { V: v })).toBe(v);
    expect(processWord("${V##*a*a*a*a*a}", { V: v })).toBe("");
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe("value and names without the split (expandWordMatches, tryExpandWordMatches)", () => {
  const words = ["$A ${B:-b c} 'd $e'", '"$A"x\\ y ${C#a*}', "${A/1/2}$1", "plain", ""];
  const env = { A: "1 2", C: "abc" };

  it.each(words)("gives expandWord's value and names for %j", (word) => {
    const { words: _split, ...full } = expandWord(word, env);
    expect(expandWordMatches(word, env)).toEqual(full);
    expect(tryExpandWordMatches(word, env)).toEqual(full);
  });

  it("expandWordMatches throws expandWord's located error; tryExpandWordMatches gives undefined", () => {
    const source = new SourceText("ENV X=${A");
    const origin = { file: "Dockerfile", source, offset: 6 };
    const thrown = (f: () => unknown): unknown => {
      try {
        f();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const e = thrown(() => expandWordMatches("${A", {}, { origin }));
    expect(e).toBeInstanceOf(TbuildError);
    expect(e).toEqual(thrown(() => expandWord("${A", {}, { origin })));
    expect((e as TbuildError).location?.range.start.column).toBe(7);
    expect(tryExpandWordMatches("${A", {})).toBeUndefined();
    expect(tryExpandWordMatches("${A:?unset}", {})).toBeUndefined();
    expect(tryExpandWordMatches("${A:-".repeat(100) + "}".repeat(100), {})).toBeUndefined();
  });
});
