/**
 * The stack files as Pulumi reads them: `Pulumi.yaml`'s declared defaults, then
 * `Pulumi.<stack>.yaml`. The local mode's settings (local/app/config.ts), the tests, the stack
 * evaluator (tools/stack.ts) and scripts/model-check.ts read the stack's values through here.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

/** The stack's values without the project namespace, and which file each came from. */
export interface StackConfig {
  values: Record<string, unknown>;
  /** Key → file name (Pulumi.dev.yaml, or Pulumi.yaml for a declared default). */
  origins: Record<string, string>;
  /** The stack file, when it exists. */
  file?: string;
  /** The project's name from Pulumi.yaml. */
  project?: string;
}

/**
 * Reads `Pulumi.yaml` + `Pulumi.<stack>.yaml` and returns the stack's config without the project
 * namespace; values the stack file leaves out take the project's declared defaults. With `stack`
 * null, the declared defaults alone: what a stack that sets nothing gets.
 */
export function readStackConfig(root: string, stack: string | null = "dev"): StackConfig {
  const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
  const projectFile = path.join(root, "Pulumi.yaml");
  const projectDoc = existsSync(projectFile) ? parse(readFileSync(projectFile, "utf8")) : undefined;
  const project = projectDoc?.name as string | undefined;
  const values: Record<string, unknown> = {};
  const origins: Record<string, string> = {};
  const set = (key: string, value: unknown, file: string) => {
    values[key] = value;
    origins[key] = path.basename(file);
  };
  for (const [name, schema] of Object.entries((projectDoc?.config ?? {}) as Record<string, unknown>)) {
    const declared = schema && typeof schema === "object" ? (schema as { default?: unknown }).default : schema;
    if (declared !== undefined) set(name, declared, projectFile);
  }
  if (stack === null || !existsSync(stackFile)) return { values, origins, project };
  const config = (parse(readFileSync(stackFile, "utf8"))?.config ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(config)) {
    const at = key.indexOf(":");
    // Keys of other namespaces (aws:region, …) stay namespaced; ours lose the project prefix.
    set(at >= 0 && key.slice(0, at) === project ? key.slice(at + 1) : key, value, stackFile);
  }
  return { values, origins, file: stackFile, project };
}
