/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser build). Undefined, with
 * a warning saying why, when /usr/bin/chromium is absent, so browser tests skip.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';

export const CHROMIUM = process.env.SLIPWAY_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where screenshots go (git-ignored; CI keeps them as artifacts). */
export const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-artifacts');

export async function launchChromium(label: string): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM)) {
    console.warn(`${label}: browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
    return undefined;
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}
