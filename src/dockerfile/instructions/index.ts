// Strict decoding: syntax tree → typed commands. Each instruction is decoded inside one
// try/catch that attaches the instruction's location to any error that has none yet
// (innermost wins, as BuildKit's ParseInstruction does in its deferred step).
import { ERROR_CODES, TbuildError, didYouMean, withLocation } from "../../util/index.js";
import { KEYWORDS } from "../../../grammar/tokens.js";
import type { Instruction, ParseResult } from "../ast.js";
import { fail, type DecodeContext } from "../flags.js";
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
export function decodeInstruction(node: Instruction, file = "Dockerfile"): Command {
  const ctx: DecodeContext = { file };
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
    case "onbuild": return decodeOnbuild(ctx, node, (t) => decodeInstruction(t, ctx.file));
    case "workdir": case "user": case "stopsignal": case "maintainer": return decodeSimple(ctx, node, node.kind);
    case "expose": case "volume": return decodeList(ctx, node, node.kind);
    case "unknown": {
      const hint = didYouMean(node.keyword.text, KEYWORDS);
      return fail(ctx, "E_PARSE_UNKNOWN_INSTRUCTION", `unknown instruction: ${node.keyword.text}`, node.keyword.range, hint);
    }
  }
}

export interface DecodeResult {
  /** The instructions that decoded, in order. */
  readonly commands: readonly Command[];
  /** Parse errors (as TbuildError) and decoding errors, in source order. */
  readonly errors: readonly TbuildError[];
}

/**
 * Decode every instruction of a parse result, collecting errors instead of stopping at the
 * first (the linter wants them all; the planner uses `decodeDockerfileStrict`).
 */
export function decodeDockerfile(result: ParseResult): DecodeResult {
  const file = result.ast.file;
  const errors: TbuildError[] = [];
  for (const d of result.diagnostics) {
    if (d.severity !== "error") continue;
    const code = (d.code in ERROR_CODES_SET ? d.code : "E_PARSE_BAD_ARGS") as ConstructorParameters<typeof TbuildError>[0];
    errors.push(new TbuildError(code, d.message, { ...(d.location ? { location: d.location } : {}), ...(d.hint ? { hint: d.hint } : {}) }));
  }
  const commands: Command[] = [];
  for (const node of result.ast.instructions) {
    try {
      commands.push(decodeInstruction(node, file));
    } catch (e) {
      if (!(e instanceof TbuildError)) throw e;
      errors.push(e);
    }
  }
  errors.sort((a, b) => (a.location?.range.start.offset ?? 0) - (b.location?.range.start.offset ?? 0));
  return { commands, errors };
}

/** Decode every instruction; throws the first error (in source order), if any. */
export function decodeDockerfileStrict(result: ParseResult): readonly Command[] {
  const r = decodeDockerfile(result);
  if (r.errors.length > 0) throw r.errors[0]!;
  return r.commands;
}

const ERROR_CODES_SET: Record<string, unknown> = ERROR_CODES;
