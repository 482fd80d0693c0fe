/** A Dockerfile as stages of instructions with 1-based lines, read with dockerfile-ast. */
import { DockerfileParser, type From, type Instruction, ModifiableInstruction } from 'dockerfile-ast';

export interface DockerInstruction {
  keyword: string;
  /** 1-based first and last line (a RUN may span lines with `\`). */
  line: number;
  endLine: number;
  col: number;
  /** Arguments after the flags, as written. */
  args: string[];
  /** The arguments as one string, continuation lines joined. */
  text: string;
  /** `--from=build` → from: build. */
  flags: Map<string, string | null>;
  /** JSON (exec) form, for CMD/ENTRYPOINT/RUN. */
  execForm: boolean;
  stage: number;
}

export interface Stage {
  index: number;
  name: string | null;
  /** The FROM image as written (`node:18-alpine`), or a previous stage's name. */
  image: string;
  tag: string | null;
  digest: string | null;
  line: number;
  /** The stage this one builds on, when FROM names a previous stage. */
  baseStage: number | null;
  instructions: DockerInstruction[];
}

export interface DockerfileModel {
  file: string;
  lines: string[];
  stages: Stage[];
}

/** Parses a Dockerfile's text. Instructions before the first FROM (ARG) are left out. */
export function parseDockerfile(file: string, text: string): DockerfileModel {
  const df = DockerfileParser.parse(text);
  const stages: Stage[] = [];
  for (const ins of df.getInstructions()) {
    const keyword = ins.getKeyword().toUpperCase();
    if (keyword === 'FROM') {
      const from = ins as From;
      const image = from.getImage() ?? '';
      const name = from.getBuildStage();
      const baseStage = stages.findIndex(
        (s) => s.name !== null && s.name.toLowerCase() === image.toLowerCase(),
      );
      stages.push({
        index: stages.length,
        name,
        image,
        tag: from.getImageTag(),
        digest: from.getImageDigest(),
        line: ins.getRange().start.line + 1,
        baseStage: baseStage >= 0 ? baseStage : null,
        instructions: [],
      });
    }
    const stage = stages.at(-1);
    if (!stage) continue;
    stage.instructions.push(toInstruction(ins, keyword, stage.index));
  }
  return { file, lines: text.split(/\r?\n/), stages };
}

function toInstruction(ins: Instruction, keyword: string, stage: number): DockerInstruction {
  const flags = new Map<string, string | null>();
  if (ins instanceof ModifiableInstruction) {
    for (const f of ins.getFlags()) flags.set(f.getName().toLowerCase(), f.getValue());
  }
  const args = ins.getArguments().map((a) => a.getValue());
  const range = ins.getRange();
  const raw = (ins.getArgumentsContent() ?? '').replace(/\\\r?\n/g, ' ');
  return {
    keyword,
    line: range.start.line + 1,
    endLine: range.end.line + 1,
    col: range.start.character + 1,
    args,
    text: raw,
    flags,
    execForm: /^\s*\[/.test(raw.replace(/^(\s*--\S+\s+)*/, '')),
    stage,
  };
}

/** The line (1-based) and column within an instruction where `needle` first occurs. */
export function lineOf(
  model: DockerfileModel,
  ins: DockerInstruction,
  needle: string | RegExp,
): { line: number; col: number } {
  for (let l = ins.line; l <= ins.endLine; l++) {
    const text = model.lines[l - 1] ?? '';
    const i = typeof needle === 'string' ? text.indexOf(needle) : text.search(needle);
    if (i >= 0) return { line: l, col: i + 1 };
  }
  return { line: ins.line, col: ins.col };
}

/** The last stage: the image that is shipped (unless --target picks another). */
export function finalStage(model: DockerfileModel): Stage | undefined {
  return model.stages.at(-1);
}

/** Stages whose files end up in the final image through FROM chains (not COPY --from). */
export function shippedStages(model: DockerfileModel): Set<number> {
  const out = new Set<number>();
  let s = finalStage(model);
  while (s) {
    out.add(s.index);
    s = s.baseStage === null ? undefined : model.stages[s.baseStage];
  }
  return out;
}
