/**
 * Whether Slipway's own output is coloured: `FORCE_COLOR` (any value but 0/false) turns colours
 * on even without a terminal, `NO_COLOR` (any non-empty value) turns them off, otherwise a
 * terminal gets colours and a pipe or file does not. FORCE_COLOR wins, as in Node.js itself.
 */
import { stripVTControlCharacters } from 'node:util';

export interface ColourChoice {
  /** Colour Slipway's own lines. */
  colour: boolean;
  /** The user asked for no colour (NO_COLOR, FORCE_COLOR=0): strip it from task output too. */
  strip: boolean;
}

export function colourChoice(env: NodeJS.ProcessEnv, isTTY: boolean): ColourChoice {
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    const off = force === '0' || force.toLowerCase() === 'false';
    return { colour: !off, strip: off };
  }
  if (env.NO_COLOR) return { colour: false, strip: true };
  return { colour: isTTY, strip: false };
}

/** Text without colour and other terminal control sequences. */
export function stripColour(text: string): string {
  return stripVTControlCharacters(text);
}
