// Strict decoding: syntax tree → typed commands. Each instruction is decoded inside one
// try/catch that attaches the instruction's location to any error that has none yet
// (innermost wins, as BuildKit's ParseInstruction does in its deferred step).
import { ERROR_CODES, TbuildError, didYouMean, withLocation, type Diagnostic, type ErrorCode } from "../../util/index.js";
import { KEYWORDS } from "../../../grammar/tokens.js";
import type { Instruction, ParseResult } from "../ast.js";
import type { DecodeContext } from "../flags.js";
import { decodeCmd, decodeShell } from "./cmd-entrypoint-shell.js";
import { decodeCopyAdd } from "./copy-add.js";
import { decodeArg, decodeEnvLabel } from "./env-label-arg.js";
import { decodeFrom } from "./from.js";
import { decodeHealthcheck } from "./healthcheck.js";
import { decodeOnbuild } from "./onbuild.js";
import { decodeRun } from "./run.js";
import { decodeList, decodeSimple } from "./simple.js";
import type { Command } from "./types.js";

export type * from "./types.js";
export type { Mount, MountType } from "./run-mount.js";
export { decodeMount, splitCsv } from "./run-mount.js";
export { parseDuration } from "./healthcheck.js";

/** Decode one instruction. Throws TbuildError (with a location) when it is malformed. */
export function decodeInstruction(node: Instruction, file = "Dockerfile", hints?: HintCache): Command {
  const ctx: DecodeContext = { file, hints };
  try {
    return decode(ctx, node);
  } catch (e) {
    throw withLocation(e, { file, range: node.range });
  }
}

function decode(ctx: DecodeContext, node: Instruction): Command {
  switch (node.kind) {
    case "from": return decodeFrom(ctx, node);
    case "run": return decodeRun(ctx, node);
    case "copy": case "add": return decodeCopyAdd(ctx, node, node.kind);
    case "env": case "label": return decodeEnvLabel(ctx, node, node.kind);
    case "arg": return decodeArg(ctx, node);
    case "cmd": case "entrypoint": return decodeCmd(ctx, node, node.kind);
    case "shell": return decodeShell(ctx, node);
    case "healthcheck": return decodeHealthcheck(ctx, node);
    case "onbuild": return decodeOnbuild(ctx, node, (t) => decodeInstruction(t, ctx.file, ctx.hints));
    case "workdir": case "user": case "stopsignal": case "maintainer": return decodeSimple(ctx, node, node.kind);
    case "expose": case "volume": return decodeList(ctx, node, node.kind);
    case "unknown":
      throw unknownInstruction(ctx, node);
  }
}

/** The error of an unknown instruction, collected (no stack trace: see TbuildError.collected). */
function unknownInstruction(ctx: DecodeContext, node: Instruction): TbuildError {
  const hint = keywordHint(node.keyword.text, ctx.hints);
  return TbuildError.collected("E_PARSE_UNKNOWN_INSTRUCTION", `unknown instruction: ${node.keyword.text}`, { location: { file: ctx.file, range: node.keyword.range }, ...(hint ? { hint } : {}) });
}

type HintCache = NonNullable<DecodeContext["hints"]>;

/**
 * A file of many unknown instructions (binary garbage, a mangled repeat) usually repeats the
 * same few keywords: the edit-distance scan over every keyword runs once per distinct one.
 */
function keywordHint(keyword: string, hints: HintCache | undefined): string | undefined {
  if (!hints) return didYouMean(keyword, KEYWORDS);
  if (hints.has(keyword)) return hints.get(keyword);
  const hint = didYouMean(keyword, KEYWORDS);
  hints.set(keyword, hint);
  return hint;
}

export interface DecodeResult {
  /** The instructions that decoded, in order. */
  readonly commands: readonly Command[];
  /** Parse errors (as TbuildError) and decoding errors, in source order. */
  readonly errors: readonly TbuildError[];
}

/**
 * A parser error diagnostic as a TbuildError (an unknown code becomes E_PARSE_BAD_ARGS):
 * collected (no stack trace) unless it is about to be thrown.
 */
function parseError(d: Diagnostic, thrown = false): TbuildError {
  const code = (d.code in ERROR_CODES_SET ? d.code : "E_PARSE_BAD_ARGS") as ErrorCode;
  const opts = { ...(d.location ? { location: d.location } : {}), ...(d.hint ? { hint: d.hint } : {}) };
  return thrown ? new TbuildError(code, d.message, opts) : TbuildError.collected(code, d.message, opts);
}

/** The parser's error diagnostics as TbuildErrors. */
function parseErrors(result: ParseResult): TbuildError[] {
  const errors: TbuildError[] = [];
  for (const d of result.diagnostics) if (d.severity === "error") errors.push(parseError(d));
  return errors;
}

/** The parser's first error diagnostic in source order (the first of equals), if any. */
function firstParseError(result: ParseResult): Diagnostic | undefined {
  let first: Diagnostic | undefined;
  for (const d of result.diagnostics) {
    if (d.severity !== "error") continue;
    if (!first || (d.location?.range.start.offset ?? 0) < (first.location?.range.start.offset ?? 0)) first = d;
  }
  return first;
}

/** Stable sort by start offset (an error without a location counts as offset 0). */
function inSourceOrder(errors: TbuildError[]): TbuildError[] {
  return errors.sort((a, b) => (a.location?.range.start.offset ?? 0) - (b.location?.range.start.offset ?? 0));
}

/**
 * Decode every instruction of a parse result, collecting errors instead of stopping at the
 * first (the linter wants them all; the planner uses `decodeDockerfileStrict`).
 */
export function decodeDockerfile(result: ParseResult): DecodeResult {
  const file = result.ast.file;
  const errors = parseErrors(result);
  const hints: HintCache = new Map();
  const commands: Command[] = [];
  for (const node of result.ast.instructions) {
    // Built, not thrown and caught twice: garbage input can hold 100k unknown instructions.
    if (node.kind === "unknown") {
      errors.push(unknownInstruction({ file, hints }, node));
      continue;
    }
    try {
      commands.push(decodeInstruction(node, file, hints));
    } catch (e) {
      if (!(e instanceof TbuildError)) throw e;
      errors.push(e);
    }
  }
  return { commands, errors: inSourceOrder(errors) };
}

/**
 * Decode every instruction; throws the first error (in source order), if any. Decoding stops
 * at the first failing instruction: an instruction's errors lie inside its own range, so no
 * later instruction can hold an earlier error, and a file of 100k broken lines costs one.
 */
export function decodeDockerfileStrict(result: ParseResult): readonly Command[] {
  const file = result.ast.file;
  // Only the error thrown becomes a TbuildError: a parse of garbage has one diagnostic per line.
  const parseFirst = firstParseError(result);
  const commands: Command[] = [];
  for (const node of result.ast.instructions) {
    try {
      commands.push(decodeInstruction(node, file));
    } catch (e) {
      if (!(e instanceof TbuildError)) throw e;
      // A parse error at the same offset came first in the collected order, and wins.
      if (parseFirst && (parseFirst.location?.range.start.offset ?? 0) <= (e.location?.range.start.offset ?? 0)) throw parseError(parseFirst, true);
      throw e;
    }
  }
  if (parseFirst) throw parseError(parseFirst, true);
  return commands;
}

const ERROR_CODES_SET: Record<string, unknown> = ERROR_CODES;
