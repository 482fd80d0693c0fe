/** `secrets:` entries the environment does not set: a warning before a run, not an error (the task may not need it on this machine). */
import type { TaskConfig } from './types.js';

/** One sentence per unset secret name, naming the tasks that list it. */
export function unsetSecretWarnings(tasks: Iterable<TaskConfig>, env: NodeJS.ProcessEnv): string[] {
  const missing = new Map<string, string[]>();
  for (const t of tasks) {
    for (const name of t.secrets) {
      if (env[name]) continue;
      missing.set(name, [...(missing.get(name) ?? []), t.id]);
    }
  }
  return [...missing].map(
    ([name, ids]) =>
      `secret ${name} is not set in the environment; ${ids.join(', ')} will run without it (export ${name}=… to pass it)`,
  );
}
