// Token rules of the Dockerfile language, as data: the moo rule tables that
// src/dockerfile/lexer.ts compiles (one lexer per escape character). Terminal names here are
// the terminals of grammar/dockerfile.ebnf; test/unit/grammar.test.ts keeps them in step.

/** The two escape characters a `# escape=` directive may choose. */
export type EscapeChar = "\\" | "`";

/** A moo rule as plain data (the subset tbuild uses). */
export interface TokenRule {
  readonly match: RegExp | string | readonly string[];
  readonly lineBreaks?: boolean;
  /** Marks moo's error token: whatever no other rule matches becomes one token. */
  readonly error?: true;
}

/** Instruction keywords, upper case (the lexer compares case-insensitively). */
export const KEYWORDS: readonly string[] = [
  "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
  "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
];

function escapeRe(c: EscapeChar): string {
  return c === "\\" ? "\\\\" : "`";
}

/**
 * Rules for one logical instruction line (continuations already folded by lines.ts).
 * Order matters: at each position the first rule that matches wins. Every alternative
 * inside a rule starts with a distinct character, so no rule can backtrack badly.
 *
 * - `ws`: BuildKit's separator class `[\t\v\f\r ]`.
 * - `heredoc`: a heredoc opener at a word start: `[fd]<<[-][ \t]*WORD` (quotes allowed).
 * - `flag`: `--name[=value]`; quotes and backslash escapes stay inside the flag (BuildKit's
 *   extractBuilderFlags always uses `\`, whatever the escape directive says).
 * - `lbracket`, `rbracket`, `comma`, `string`: JSON exec-form punctuation and strings.
 * - `squote`: a single-quoted run; `quote`: a lone, unbalanced quote character.
 * - `escaped`: the escape character and the character after it.
 * - `word`: any run of other characters. Its type is mapped to `keyword` when the text is an
 *   instruction name (case-insensitively) by the lexer.
 * - `newline`: never inside a logical line; kept so the table is total over any text.
 * - `invalid`: moo's error rule; a bad character becomes a token instead of a throw.
 */
export function rules(escapeChar: EscapeChar): Readonly<Record<string, TokenRule>> {
  const e = escapeRe(escapeChar);
  return {
    ws: { match: /[ \t\v\f\r]+/ },
    heredoc: { match: /[0-9]*<<-?[ \t]*(?:"[^"]*"|'[^']*'|\\[^]|[^\s"'<\\])+/ },
    flag: { match: /--(?:"(?:[^"\\]|\\[^])*"|'[^']*'|\\[^]|[^\s"'\\])*/ },
    lbracket: { match: "[" },
    rbracket: { match: "]" },
    comma: { match: "," },
    string: { match: /"(?:[^"\\\n]|\\[^])*"/ },
    squote: { match: /'[^'\n]*'/ },
    quote: { match: ["\"", "'"] },
    escaped: { match: new RegExp(`${e}[^]`) },
    word: { match: new RegExp(`[^ \\t\\v\\f\\r\\n"'\\[\\],${e}]+`) },
    newline: { match: /\r?\n/, lineBreaks: true },
    invalid: { match: /[^]/, error: true },
  };
}

/**
 * Rules for comment lines in the leading block, where parser directives live
 * (`# name=value`, BuildKit's `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`).
 */
export function directiveRules(): Readonly<Record<string, TokenRule>> {
  return {
    directive: { match: /#[ \t]*[a-zA-Z][a-zA-Z0-9]*[ \t]*=[^\n]*/ },
    comment: { match: /#[^\n]*/ },
    ws: { match: /[ \t\v\f\r]+/ },
    newline: { match: /\r?\n/, lineBreaks: true },
    invalid: { match: /[^]/, error: true },
  };
}
