// plan/dispatch-copy.ts: COPY / ADD → CopyStep. Sources, destination and flags are expanded
// with the stage's ENV and ARGs; the destination is resolved against WORKDIR; the key covers
// the flags and the content digest of exactly the sources selected (or the source stage's
// key), and with --link not the steps before it.
import { TbuildError, sha256Digest, shortDigest } from "../util/index.js";
import { chompHeredoc, type CopyCommand } from "../dockerfile/index.js";
import { processWord } from "../shell/index.js";
import { resolveDest } from "./config.js";
import { history, type DispatchOrigin, wordEnv } from "./dispatch.js";
import { computeStepKey, type CopyPreimage } from "./keys.js";
import { snapshotConfig, type PlannerServices, type ResolvedSource, type StageState } from "./state.js";
import type { CopySource, CopyStep, Step } from "./steps.js";

const URL_RE = /^https?:\/\//i;
const GIT_RE = /^(?:git@[^:]+:|git:\/\/|ssh:\/\/)|^https?:\/\/\S+\.git(?:#\S*)?$/i;

export async function dispatchCopy(svc: PlannerServices, st: StageState, cmd: CopyCommand, origin: DispatchOrigin): Promise<Step> {
  const KW = cmd.kind.toUpperCase();
  const env = wordEnv(st);
  const x = (w: string): string => processWord(w, env, svc.shell);
  const paths = cmd.sources.map((a) => x(a.value));
  const rawDest = x(cmd.dest.value);
  if (rawDest === "") throw new TbuildError("E_COPY_DEST", `${KW} needs a destination`, { hint: `write ${KW} SOURCE... DEST` });
  const dest = resolveDest(st.config.WorkingDir, rawDest);
  const chown = cmd.chown?.value === undefined ? undefined : x(cmd.chown.value);
  const chmod = cmd.chmod?.value === undefined ? undefined : x(cmd.chmod.value);
  const checksum = cmd.checksum?.value === undefined ? undefined : x(cmd.checksum.value);
  const exclude = cmd.exclude.map((f) => x(f.value ?? ""));

  let from: ResolvedSource | undefined;
  if (cmd.from?.value !== undefined) {
    from = await svc.resolveFrom(st, x(cmd.from.value), { file: origin.location.file, range: cmd.from.range });
  }

  const sources: CopySource[] = [];
  const keySources: string[] = [];
  const contextPaths: string[] = [];
  for (const p of paths) {
    if (!from && URL_RE.test(p) || !from && GIT_RE.test(p)) {
      if (cmd.kind === "copy") throw new TbuildError("E_PLAN_INVALID", `source can't be a URL for COPY: ${p}`, { hint: "use ADD to fetch a URL, or download it in a RUN" });
      const kind = GIT_RE.test(p) ? "git" : "url";
      sources.push({ kind, url: p });
      keySources.push(`${kind}:${p}`);
      continue;
    }
    if (!from) {
      sources.push({ kind: "context", path: p });
      contextPaths.push(p);
    } else if (from.source.kind === "stage") sources.push({ kind: "stage", stage: from.source.stage, path: p });
    else if (from.source.kind === "image") sources.push({ kind: "image", ref: from.source.ref, digest: from.source.digest, path: p });
    else sources.push({ kind: "stage", stage: -1, path: p });
    keySources.push(p);
  }
  for (const h of cmd.heredocs) {
    let content = h.chomp ? chompHeredoc(h.content) : h.content;
    if (h.expand) content = processWord(content, env, { ...svc.shell, skipProcessQuotes: true });
    sources.push({ kind: "heredoc", name: h.name, content });
    keySources.push(`heredoc:${h.name}:${sha256Digest(content)}`);
  }
  if (sources.length > 1 && !dest.endsWith("/")) {
    throw new TbuildError("E_COPY_DEST", `When using ${KW} with more than one source file, the destination must be a directory and end with a /`, { hint: `write ${rawDest}/` });
  }

  let content: Awaited<ReturnType<PlannerServices["hasher"]["hash"]>> | undefined;
  if (contextPaths.length > 0) {
    content = await svc.hasher.hash({ sources: contextPaths, exclude, parents: cmd.parents, followPaths: true });
  }
  const preimage: CopyPreimage = {
    kind: cmd.kind,
    parent: cmd.link ? null : st.key,
    dest,
    flags: {
      chown: chown ?? null, chmod: chmod ?? null, link: cmd.link, parents: cmd.parents, exclude,
      checksum: checksum ?? null, unpack: cmd.kind === "add" ? cmd.unpack ?? null : null, keepGitDir: cmd.keepGitDir,
    },
    from: from ? from.keyPart : "context",
    sources: keySources,
    content: content?.digest ?? null,
  };
  const parentKey = st.key;
  const key = computeStepKey(preimage);
  const mergedKey = cmd.link ? computeStepKey({ kind: "merge", parent: parentKey, layer: key }) : undefined;
  st.key = mergedKey ?? key;
  // BuildKit's history form: `COPY src… dest # buildkit` (flags left out).
  const srcWords = [...paths, ...cmd.heredocs.map((h) => `<<${h.name}`)];
  const h = history(`${KW} ${[...srcWords, rawDest].join(" ")} # buildkit`, true);
  st.history.push(h);
  const origins = from
    ? from.source.kind === "stage" ? `stage #${from.source.stage} (${shortDigest(from.keyPart)})` : from.source.kind === "image" ? `image ${from.source.ref}` : "scratch"
    : content ? `context ${Object.keys(content.files).length} files ${shortDigest(content.digest)}` : "inline";
  const flagText = [chown && `chown ${chown}`, chmod && `chmod ${chmod}`, cmd.link && "link", cmd.parents && "parents", exclude.length && `exclude ${exclude.join(",")}`, checksum && `checksum ${checksum}`]
    .filter(Boolean).join(", ");
  const summary = `${JSON.stringify(keySources.map((s) => s.replace(/:sha256:[0-9a-f]+$/, "")))} from ${origins} → ${dest}${flagText ? `; ${flagText}` : ""}`;
  const step: CopyStep = {
    kind: cmd.kind, sources, dest,
    from: from ? from.source : { kind: "context" },
    ...(chown !== undefined ? { chown } : {}),
    ...(chmod !== undefined ? { chmod } : {}),
    link: cmd.link, parents: cmd.parents, exclude,
    ...(checksum !== undefined ? { checksum } : {}),
    ...(cmd.kind === "add" && cmd.unpack !== undefined ? { unpack: cmd.unpack } : {}),
    keepGitDir: cmd.keepGitDir,
    ...(content ? { contentDigest: content.digest, files: content.files } : {}),
    stage: st.index, index: st.steps.length, location: origin.location, text: cmd.node.line,
    ...(origin.trigger ? { trigger: true } : {}),
    ...(mergedKey ? { mergedKey } : {}),
    key, preimage, summary, layer: true, history: h, config: snapshotConfig(st),
  };
  st.steps.push(step);
  return step;
}
