/**
 * Where better-sqlite3's compiled module is (sqlite.ts passes it as the `nativeBinding` option),
 * and whether the cold deploy bundle may use the copy of better-sqlite3's JavaScript it carries
 * (scripts/bundle.mjs): one file the bundle shares with the ES modules.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The installed package's folder and version, once known (null: not looked for yet). */
let installed: { dir: string; version: unknown } | undefined | null = null;

function installedPackage(): { dir: string; version: unknown } | undefined {
  if (installed !== null) return installed;
  installed = undefined;
  try {
    const file = createRequire(import.meta.url).resolve('better-sqlite3/package.json');
    installed = {
      dir: path.dirname(file),
      version: (JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }).version,
    };
  } catch {
    // Its own lookup says what is missing.
  }
  return installed;
}

/** betterSqliteBinding's answer, once known (null: not looked for yet). */
let binding: string | undefined | null = null;

/**
 * better-sqlite3's compiled module, where its install put it, for its `nativeBinding` option: its
 * own lookup (the `bindings` package) reads a stack trace and tries one path after another, ~5 ms
 * of CPU of each cold `slipway deploy`'s ~35 ms store opening (measured: require, open and close
 * 13.5 -> 8 ms). Undefined (its own lookup, with its own errors) when a path it tries before
 * build/Release holds the module, or when build/Release does not.
 */
export function betterSqliteBinding(): string | undefined {
  if (binding !== null) return binding;
  binding = undefined;
  const pkg = installedPackage();
  if (!pkg) return binding;
  const build = path.join(pkg.dir, 'build');
  const [first, debug, release] = ['', 'Debug', 'Release'].map((d) =>
    path.join(build, d, 'better_sqlite3.node'),
  );
  if (!existsSync(first!) && !existsSync(debug!) && existsSync(release!)) binding = release;
  return binding;
}

/**
 * Whether better-sqlite3's JavaScript of version `version` (the copy a bundle carries) fits the
 * installed package: the same version, with its compiled module where betterSqliteBinding finds
 * it (the copy then never asks the `bindings` package, which would look beside the bundle).
 */
export function bundledCopyFits(version: string): boolean {
  return installedPackage()?.version === version && betterSqliteBinding() !== undefined;
}
