/** Image content rules: what ends up in the shipped image and how long installs take. */
import type { ContainerFinding } from '../findings.js';
import { INSTALL } from './layers.js';
import { type DockerfileModel, type DockerInstruction, finalStage, lineOf, shippedStages } from './model.js';

const BUILD_TOOLS =
  /\b(build-essential|gcc|g\+\+|make|cmake|python3?-dev|git|autoconf|automake|libtool|musl-dev|linux-headers)\b/;
const PKG_INSTALL = /\b(apt-get|apt)\s+install\b|\bapk\s+add\b|\b(yum|dnf|microdnf)\s+install\b/;
const PM =
  /\b(npm\s+(ci|install|i)|yarn(?:\s+install\b|(?=\s*(?:$|&&|;|\|))|\s+--)|pnpm\s+(install|i)|pip3?\s+install|apt-get\s+(-\S+\s+)*install|apk\s+add)\b/;
const PROD_FLAGS = /--omit[= ]dev|--only[= ]prod(uction)?|--production|NODE_ENV=production|--prod\b/;

/** Findings about image content. */
export function imageRules(model: DockerfileModel): ContainerFinding[] {
  const out: ContainerFinding[] = [];
  const at = (ins: DockerInstruction, needle: string | RegExp) => ({
    file: model.file,
    ...lineOf(model, ins, needle),
  });
  const shipped = shippedStages(model);
  const final = finalStage(model);
  const runs = model.stages.flatMap((s) => s.instructions.filter((i) => i.keyword === 'RUN'));

  if (model.stages.length === 1 && final) {
    const builds = runs.find(
      (r) =>
        INSTALL.test(r.text) ||
        /\b(npm|yarn|pnpm)\s+(run\s+)?build\b|\btsc\b|\bgo\s+build\b|\bmvn\b|\bgradle\b/.test(r.text),
    );
    if (builds)
      out.push({
        rule: 'DL-no-multi-stage',
        severity: 'warning',
        ...at(final.instructions[0]!, /\S/),
        message: `one stage installs and builds (line ${builds.line}) and is shipped: compilers, dev dependencies and sources go to production`,
        hint: 'build in a `FROM … AS build` stage and COPY --from=build only the output and production dependencies into a slim final stage',
      });
  }

  for (const ins of runs) {
    const inFinal = shipped.has(ins.stage);
    const npmDeprecated =
      /\bnpm\s+(ci|install|i|prune)\b[^&;|]*?(--only[= ]prod(uction)?|--production)\b/.exec(ins.text);
    if (npmDeprecated)
      out.push({
        rule: 'DL-npm-only-production',
        severity: 'warning',
        ...at(ins, npmDeprecated[2]!),
        message: `\`${npmDeprecated[2]}\` is deprecated since npm 7 (npm prints a warning and may drop it)`,
        hint: `use \`--omit=dev\` (${npmDeprecated[0].replace(npmDeprecated[2]!, '--omit=dev')})`,
      });

    if (inFinal) {
      const npmInstall =
        /\b(?:npm\s+(?:ci|install|i)|yarn(?:\s+install\b|(?=\s*(?:$|&&|;|\|))|\s+--)|pnpm\s+(?:install|i)\b)([^&;|]*)/.exec(
          ins.text,
        );
      if (npmInstall && !PROD_FLAGS.test(npmInstall[1] ?? '') && !hasProdEnv(model, ins))
        out.push({
          rule: 'DL-dev-deps-final',
          severity: 'warning',
          ...at(ins, /\b(npm|yarn|pnpm)\b/),
          message: `\`${npmInstall[0].trim()}\` in the shipped stage installs devDependencies into the image`,
          hint: 'add --omit=dev here, or install everything in a build stage and copy production dependencies only',
        });
      const pkg = PKG_INSTALL.exec(ins.text);
      const tools = pkg && BUILD_TOOLS.exec(ins.text.slice(pkg.index));
      if (tools && !/\b(apk\s+del|apt-get\s+(purge|remove|autoremove))\b/.test(ins.text))
        out.push({
          rule: 'DL-build-tools-final',
          severity: 'warning',
          ...at(ins, tools[1]!),
          message: `build tool \`${tools[1]}\` installed in the shipped stage`,
          hint: 'compile native modules in a build stage; ship only the result (or remove the tools in the same RUN)',
        });
      out.push(...cacheCleanup(model, ins));
    }

    if (/\bapt-get\s+update\b/.test(ins.text) && !/\bapt-get\s+(-\S+\s+)*install\b/.test(ins.text))
      out.push({
        rule: 'DL-apt-update-alone',
        severity: 'warning',
        ...at(ins, 'apt-get update'),
        message:
          '`apt-get update` without an install in the same RUN: a later install uses the cached (stale) index',
        hint: 'RUN apt-get update && apt-get install -y --no-install-recommends … && rm -rf /var/lib/apt/lists/*',
      });

    const mount = ins.flags.get('mount') ?? '';
    const pm = PM.exec(ins.text);
    if (pm && !/type=cache/.test(mount) && !/--no-cache\b|--no-cache-dir\b/.test(ins.text))
      out.push({
        rule: 'DL-no-cache-mount',
        severity: 'note',
        ...at(ins, PM),
        message: `\`${pm[0]!.trim()}\` downloads every package again whenever this layer reruns`,
        hint: `RUN --mount=type=cache,target=${cacheTarget(pm[0]!)} ${pm[0]!.trim()} … (BuildKit keeps the download cache between builds, outside the image)`,
      });
  }
  return out;
}

function cacheTarget(cmd: string): string {
  if (/^npm/.test(cmd)) return '/root/.npm';
  if (/^yarn/.test(cmd)) return '/usr/local/share/.cache/yarn';
  if (/^pnpm/.test(cmd)) return '/root/.local/share/pnpm/store';
  if (/^pip/.test(cmd)) return '/root/.cache/pip';
  if (/^apk/.test(cmd)) return '/var/cache/apk';
  return '/var/cache/apt';
}

function hasProdEnv(model: DockerfileModel, ins: DockerInstruction): boolean {
  const stage = model.stages[ins.stage]!;
  return stage.instructions.some(
    (i) => i.keyword === 'ENV' && i.line < ins.line && /NODE_ENV[= ]+["']?production/.test(i.text),
  );
}

/** A package cache written into a layer of the shipped image and not removed in the same RUN. */
function cacheCleanup(model: DockerfileModel, ins: DockerInstruction): ContainerFinding[] {
  if (/type=cache/.test(ins.flags.get('mount') ?? '')) return [];
  const out: ContainerFinding[] = [];
  const at = (needle: string | RegExp) => ({ file: model.file, ...lineOf(model, ins, needle) });
  const t = ins.text;
  if (/\bapt-get\s+(-\S+\s+)*install\b/.test(t) && !/\/var\/lib\/apt\/lists/.test(t))
    out.push({
      rule: 'DL-cache-cleanup',
      severity: 'note',
      ...at(/apt-get\s+(-\S+\s+)*install/),
      message: 'apt lists stay in the layer (tens of MB)',
      hint: 'end the RUN with `&& rm -rf /var/lib/apt/lists/*`',
    });
  if (/\bapk\s+add\b/.test(t) && !/--no-cache\b/.test(t) && !/\/var\/cache\/apk/.test(t))
    out.push({
      rule: 'DL-cache-cleanup',
      severity: 'note',
      ...at('apk add'),
      message: 'the apk index stays in the layer',
      hint: 'apk add --no-cache …',
    });
  if (/\bpip3?\s+install\b/.test(t) && !/--no-cache-dir\b/.test(t))
    out.push({
      rule: 'DL-cache-cleanup',
      severity: 'note',
      ...at(/pip3?\s+install/),
      message: "pip's download cache stays in the layer",
      hint: 'pip install --no-cache-dir …',
    });
  const npm = /\bnpm\s+(ci|install|i)\b([^&;|]*)/.exec(t);
  if (npm) {
    const custom = /--cache[= ](\S+)/.exec(npm[2] ?? '');
    const cleaned = /\bnpm\s+cache\s+clean\b([^&;|]*)/.exec(t);
    const cleanedSame = cleaned && (!custom || (cleaned[1] ?? '').includes(custom[1]!));
    if (
      custom &&
      !cleanedSame &&
      !new RegExp(`rm\\s+-rf?\\s+\\S*${custom[1]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`).test(t)
    )
      out.push({
        rule: 'DL-cache-cleanup',
        severity: 'note',
        ...at(custom[0]!),
        message: `npm's cache goes to ${custom[1]} inside the image${cleaned ? '; `npm cache clean` cleans the default cache, not this one' : ''}`,
        hint: `drop --cache ${custom[1]} and use RUN --mount=type=cache,target=/root/.npm, or rm -rf ${custom[1]} in the same RUN`,
      });
  }
  return out;
}
