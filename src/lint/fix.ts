// --fix: apply the text edits attached to findings. Edits come from ranges the parser
// recorded (fixes are computed in the checks); this file only merges and applies them.
import type { LintDiagnostic, TextEdit } from "./types.js";

export interface FixResult {
  /** The text with every non-overlapping edit applied. */
  readonly text: string;
  /** Findings whose edits were applied. */
  readonly fixed: readonly LintDiagnostic[];
}

/**
 * Apply the fixes of `findings` to `text`. A finding's edits apply all-or-nothing; a finding
 * whose edits overlap an earlier accepted one is skipped (a second `--fix` run picks it up).
 */
export function applyFixes(text: string, findings: readonly LintDiagnostic[]): FixResult {
  const accepted: TextEdit[] = [];
  const fixed: LintDiagnostic[] = [];
  const overlaps = (e: TextEdit) => accepted.some((a) => e.start < a.end && a.start < e.end || (e.start === e.end && e.start === a.start));
  for (const d of findings) {
    if (!d.fix || d.fix.length === 0) continue;
    if (d.fix.some((e) => e.start < 0 || e.end > text.length || e.end < e.start || overlaps(e))) continue;
    accepted.push(...d.fix);
    fixed.push(d);
  }
  accepted.sort((a, b) => b.start - a.start);
  let out = text;
  for (const e of accepted) out = out.slice(0, e.start) + e.newText + out.slice(e.end);
  return { text: out, fixed };
}
