// plan/: the build planner. Dockerfile text + build options + facts from ports → a Plan:
// stages (a graph), steps with expanded words, cache keys and their preimages. Pure.
export { planBuild, planParsed, type PlanInput, type PlanOptions } from "./plan.js";
export type { Plan, PlanStage, Step, StepBase, FromStep, RunStep, RunMount, CopyStep, CopySource, WorkdirStep, ConfigStep, ConfigInstruction, StageSource } from "./steps.js";
export type { BaseImageResolver, ResolvedImage, SourceHasher, SourceRequest, SourceHash } from "./ports.js";
export { computeStepKey, type KeyPreimage, type FromPreimage, type RunPreimage, type CopyPreimage, type WorkdirPreimage, type MountPreimage, type MergePreimage } from "./keys.js";
export { PROXY_ARGS, PLATFORM_ARGS, parseBuildArgs } from "./args.js";
export { DEFAULT_PATH, parsePorts, resolveWorkdir, resolveDest } from "./config.js";
export { MAX_STAGES } from "./stages.js";
export { dumpPlan, dumpStep, formatPlan, planJson, stepKind, type DumpOptions, type PlanJson } from "./dump.js";
export { explainPlan, explainChange, diffFiles, keyEnvsToStore, type Explanation, type RecordedEnvs, type StepRecord } from "./explain.js";
