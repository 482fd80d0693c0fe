/**
 * `.dockerignore` as BuildKit reads it (moby/patternmatcher): one pattern a line, `#` comments,
 * paths cleaned and relative to the context root, `*` and `?` within one path segment, `**` any
 * number of segments, `[...]` classes, `!` re-includes; the last matching pattern wins, and a
 * pattern matching a directory matches everything below it.
 */

export interface IgnorePattern {
  pattern: string;
  exclusion: boolean;
  re: RegExp;
  /** 1-based line in .dockerignore. */
  line: number;
}

export interface DockerIgnore {
  patterns: IgnorePattern[];
  /** True when the file or directory (context-relative, `/`-separated) is left out of the context. */
  ignores(relPath: string): boolean;
  /** True when some `!` pattern could re-include a path below this directory. */
  mayReinclude(relDir: string): boolean;
}

/** Parses .dockerignore text. */
export function parseDockerIgnore(text: string): DockerIgnore {
  const patterns: IgnorePattern[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    let p = raw.trim();
    if (!p || p.startsWith('#')) return;
    const exclusion = p.startsWith('!');
    if (exclusion) p = p.slice(1).trim();
    p = cleanPath(p);
    if (!p) return;
    patterns.push({ pattern: p, exclusion, re: compile(p), line: i + 1 });
  });
  const matchesOrParent = (re: RegExp, rel: string): boolean => {
    if (re.test(rel)) return true;
    const parts = rel.split('/');
    for (let n = parts.length - 1; n > 0; n--) if (re.test(parts.slice(0, n).join('/'))) return true;
    return false;
  };
  return {
    patterns,
    ignores(relPath) {
      const rel = cleanPath(relPath);
      let ignored = false;
      for (const p of patterns) if (matchesOrParent(p.re, rel)) ignored = !p.exclusion;
      return ignored;
    },
    mayReinclude(relDir) {
      const dir = cleanPath(relDir);
      return patterns.some(
        (p) =>
          p.exclusion &&
          (p.pattern.startsWith(`${dir}/`) ||
            p.pattern.includes('*') ||
            p.pattern.includes('?') ||
            p.pattern.includes('[')),
      );
    },
  };
}

/** filepath.Clean, then relative: `./a//b/` → `a/b`, `/a` → `a`. */
function cleanPath(p: string): string {
  const out: string[] = [];
  for (const seg of p.replace(/\\/g, '/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return out.join('/');
}

function compile(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        // `**/` matches zero or more directories; a trailing `**` everything below.
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        let cls = pattern.slice(i + 1, end);
        if (cls.startsWith('^') || cls.startsWith('!')) cls = `^${cls.slice(1)}`;
        re += `[${cls.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) {
      re += escapeChar(pattern[++i]!);
    } else re += escapeChar(c);
  }
  return new RegExp(`^${re}$`);
}

function escapeChar(c: string): string {
  return /[.+^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}
