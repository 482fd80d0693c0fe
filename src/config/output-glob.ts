/**
 * An output glob must stay inside the task's folder: outputs are archived and restored relative
 * to it, so a path that leaves it ("../x/**", "/tmp/out") would be saved by nothing and restored
 * by nothing while every run still reported a cache hit. Inputs may leave it (a shared lockfile,
 * a sibling package's sources): the hasher resolves those through the repository.
 */
import * as z from 'zod';

/** Why `glob` cannot be an output, or undefined when it can. */
function outputGlobProblem(glob: string): string | undefined {
  const g = glob.startsWith('!') ? glob.slice(1) : glob;
  if (g.startsWith('/') || g.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(g))
    return `output ${JSON.stringify(glob)} is an absolute path`;
  if (g.split(/[\\/]/).includes('..')) return `output ${JSON.stringify(glob)} leaves the task's folder`;
  return undefined;
}

export const outputGlob = z.string().superRefine((glob, ctx) => {
  const problem = outputGlobProblem(glob);
  if (!problem) return;
  ctx.addIssue({
    code: 'custom',
    message: `${problem}: outputs are cached relative to the task's folder and could never be restored`,
    params: {
      hint: 'write a path inside the task\'s folder, e.g. "dist/**"; for files elsewhere, point the task\'s "cwd:" at a folder that contains them',
    },
  });
});
