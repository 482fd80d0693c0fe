/** Runtime rules: how the shipped image runs (user, base image, PID 1, health). */
import type { ContainerFinding } from '../findings.js';
import { type DockerfileModel, finalStage, lineOf } from './model.js';

/** Findings about how the final image runs. */
export function runtimeRules(model: DockerfileModel): ContainerFinding[] {
  const out: ContainerFinding[] = [];
  const final = finalStage(model);
  if (!final) return out;
  const from = final.instructions[0]!;

  for (const s of model.stages) {
    if (s.baseStage !== null || s.image.toLowerCase() === 'scratch' || s.digest) continue;
    const fromIns = s.instructions[0]!;
    const latest = s.tag === null || s.tag === 'latest';
    out.push({
      rule: 'DL-unpinned-base',
      severity: latest ? 'warning' : 'note',
      file: model.file,
      ...lineOf(model, fromIns, s.image),
      message: latest
        ? `base image \`${s.image}\` is ${s.tag ? 'latest' : 'untagged (latest)'}: any build can pick up a new major version`
        : `base image \`${s.image}\` has no digest: the tag moves, so two builds of one commit can differ (and miss the layer cache)`,
      hint: `pin a version and digest: FROM ${s.image.replace(/:.*/, '')}:<version>@sha256:… (a bot such as Renovate keeps it current)`,
    });
  }

  // USER inherits through FROM <stage> chains.
  let user: { name: string; line: number } | null = null;
  for (
    let s: typeof final | undefined = final;
    s && !user;
    s = s.baseStage === null ? undefined : model.stages[s.baseStage]
  ) {
    const u = s.instructions.filter((i) => i.keyword === 'USER').at(-1);
    if (u) user = { name: u.args[0] ?? '', line: u.line };
  }
  if (!user || /^(root|0)(:|$)/.test(user.name))
    out.push({
      rule: 'DL-root-user',
      severity: 'warning',
      file: model.file,
      line: user?.line ?? from.line,
      col: 1,
      message: user
        ? 'USER root in the shipped stage'
        : 'no USER in the shipped stage: the process runs as root',
      hint:
        /alpine/.test(final.image) || final.image.startsWith('node')
          ? 'USER node (the node images have it), or addgroup/adduser and USER <name>'
          : 'create a user (useradd -r -u 10001 app) and add USER app before CMD',
    });

  const entry = final.instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
  const cmd = final.instructions.filter((i) => i.keyword === 'CMD').at(-1);
  for (const ins of [entry, cmd]) {
    if (!ins || ins.execForm) continue;
    if (ins === cmd && entry?.execForm) continue; // CMD then only gives arguments... in shell form they go through sh -c anyway
    out.push({
      rule: 'DL-shell-form-cmd',
      severity: 'warning',
      file: model.file,
      line: ins.line,
      col: ins.col,
      message: `shell-form ${ins.keyword}: /bin/sh -c is PID 1 and does not pass SIGTERM on, so the pod waits out its grace period on every rollout`,
      hint: `exec form: ${ins.keyword} ${JSON.stringify(ins.text.trim().split(/\s+/))}`,
    });
  }
  const pid1 = entry ?? cmd;
  const words = pid1 ? (pid1.execForm ? safeJson(pid1.text) : pid1.text.trim().split(/\s+/)) : [];
  if (pid1 && /^(npm|yarn|pnpm)$/.test(words[0] ?? '') && /^(start|run|exec)$/.test(words[1] ?? ''))
    out.push({
      rule: 'DL-npm-start-pid1',
      severity: 'warning',
      file: model.file,
      ...lineOf(model, pid1, words[0]!),
      message: `\`${words.join(' ')}\` runs as PID 1: ${words[0]} does not forward SIGTERM to node, so shutdown waits for SIGKILL (terminationGracePeriodSeconds, 30 s by default) on every pod replaced`,
      hint: 'CMD ["node", "dist/server.js"] (the script `start` runs), or add an init: `docker run --init` / tini',
    });

  const hasHealth = model.stages.some((s) => s.instructions.some((i) => i.keyword === 'HEALTHCHECK'));
  if (!hasHealth)
    out.push({
      rule: 'DL-no-healthcheck',
      severity: 'note',
      file: model.file,
      line: from.line,
      col: 1,
      message: 'no HEALTHCHECK: Docker, Compose and Swarm cannot tell a hung container from a healthy one',
      hint: 'HEALTHCHECK CMD wget -qO- http://127.0.0.1:3000/health || exit 1 (Kubernetes ignores it and uses probes: then this is fine)',
    });
  return out;
}

function safeJson(text: string): string[] {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}
