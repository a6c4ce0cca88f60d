// The Dockerfile syntax tree: plain readonly data with a range on every token. Produced by
// parser.ts for any input (tolerant); instructions/ decodes it into the typed `Command` union.
// Values are kept unexpanded: the planner expands them with src/shell.
import type { Diagnostic, Range } from "../util/index.js";

/** Every instruction keyword, lowercased. */
export const INSTRUCTION_KINDS = [
  "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label",
  "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir",
] as const;

export type InstructionKind = (typeof INSTRUCTION_KINDS)[number];

/** A piece of source text with its range. `text` is exactly what is written there. */
export interface Token {
  readonly text: string;
  readonly range: Range;
}

/** A `--name[=value]` flag as written before an instruction's arguments. */
export interface Flag {
  /** The name without the leading `--`. */
  readonly name: string;
  /** The value after `=` with quotes and escapes removed; undefined for `--flag` without `=`. */
  readonly value: string | undefined;
  /** The flag word with quotes and escapes removed (`--from=build`), as BuildKit's dump shows it. */
  readonly word: string;
  /** The whole flag as written. */
  readonly range: Range;
  readonly nameRange: Range;
  readonly valueRange?: Range;
}

/**
 * One argument node (BuildKit's `Node.Next` chain): a JSON element, a whitespace-separated
 * word, or the whole rest of the line, depending on the instruction.
 */
export interface Arg {
  /** The value: a decoded JSON string in exec form, else the text as written (quotes kept). */
  readonly value: string;
  /** Where it is written (for JSON elements, including the quotes). */
  readonly range: Range;
}

/** A `KEY=VALUE` (or legacy `KEY VALUE`) pair of ENV, LABEL or ARG. Values keep their quotes. */
export interface KeyValue {
  readonly key: string;
  /** Undefined only for `ARG NAME` without a default. */
  readonly value: string | undefined;
  /** `=` for `KEY=VALUE`, `""` for the legacy `KEY VALUE` form and for a bare `ARG NAME`. */
  readonly separator: "=" | "";
  readonly range: Range;
  readonly keyRange: Range;
  readonly valueRange?: Range;
}

/** A here-document attached to RUN, COPY or ADD. */
export interface Heredoc {
  /** The delimiter word with quotes removed. */
  readonly name: string;
  /** The raw body lines up to the terminator, each with its `\n` (tabs kept even when chomp). */
  readonly content: string;
  /** False when any part of the delimiter was quoted: the body is not expanded. */
  readonly expand: boolean;
  /** The `<<-` form: leading tabs are stripped from body lines when used (see chompHeredoc). */
  readonly chomp: boolean;
  /** Digits before `<<` (`3<<EOF`), default 0. */
  readonly fileDescriptor: number;
  /** The opener word in the instruction line (`<<-'EOF'`). */
  readonly markerRange: Range;
  /** The body (may be empty: start == end). */
  readonly contentRange: Range;
  /** The body and the terminator line. */
  readonly range: Range;
}

export interface Comment {
  /** The text after `#`, trimmed. */
  readonly text: string;
  readonly range: Range;
}

export interface Directive {
  /** Lowercased: `syntax`, `escape` or `check`. */
  readonly name: "syntax" | "escape" | "check";
  readonly value: string;
  readonly range: Range;
  readonly valueRange: Range;
}

/**
 * One instruction as parsed (before strict decoding). `kind` is `"unknown"` for a keyword
 * that is not a Dockerfile instruction (the decoder rejects it with a suggestion).
 */
export interface Instruction {
  readonly kind: InstructionKind | "unknown";
  /** The keyword as written (`run`, `Run`, `RUN`). */
  readonly keyword: Token;
  /** From the keyword to the end of the last line consumed (continuations and heredocs). */
  readonly range: Range;
  /** The instruction's original source text (continuations, comments and heredoc bodies included). */
  readonly raw: string;
  /** The logical line: continuations folded, comment lines dropped, heredoc bodies excluded. */
  readonly line: string;
  readonly flags: readonly Flag[];
  /** The text after the keyword and flags as written on the logical line (trimmed), with its range. */
  readonly rest: Token;
  /** Argument nodes, as BuildKit's parser makes them (see dump.ts and conformance README). */
  readonly args: readonly Arg[];
  /** True when the arguments were a JSON array of strings (exec form). */
  readonly json: boolean;
  readonly heredocs: readonly Heredoc[];
  /** ENV / LABEL / ARG pairs (empty for other kinds). */
  readonly pairs: readonly KeyValue[];
  /** HEALTHCHECK's first word (`CMD`, `NONE`, …) when present. */
  readonly subKeyword?: Token;
  /** ONBUILD's wrapped instruction. */
  readonly onbuild?: Instruction;
  /** Comment lines directly before this instruction. */
  readonly comments: readonly Comment[];
  /** Physical lines spanned, 1-based inclusive (BuildKit's StartLine/EndLine). */
  readonly startLine: number;
  readonly endLine: number;
}

export interface DockerfileAst {
  readonly file: string;
  /** The source text as given (BOM included, if any; offsets refer to this text). */
  readonly text: string;
  readonly escapeChar: "\\" | "`";
  readonly directives: readonly Directive[];
  readonly instructions: readonly Instruction[];
  /** Every comment line of the file, directives excluded, in order. */
  readonly comments: readonly Comment[];
}

export interface ParseResult {
  readonly ast: DockerfileAst;
  /** Errors and warnings found while parsing; the tree exists regardless. */
  readonly diagnostics: readonly Diagnostic[];
}

export interface ParseOptions {
  /** The file name used in locations (default `Dockerfile`). */
  readonly file?: string;
}
