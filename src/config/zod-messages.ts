/**
 * zod's default messages ("Too small: expected number to be >=0", "Invalid input: expected 1",
 * "Invalid key in record") as sentences about the value the user wrote, with a hint. Passed to
 * `safeParse` as the per-parse error map, so a message a schema sets itself still wins.
 */
import type * as z from 'zod';
import { didYouMean } from './diagnostic.js';

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/** A name for what zod expected, as a user would say it. */
export function expectedName(expected: string): string {
  switch (expected) {
    case 'int':
      return 'a whole number';
    case 'number':
      return 'a number';
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'a mapping';
    case 'boolean':
      return 'true or false';
    default:
      return `a ${expected}`;
  }
}

/** The per-parse error map: our sentence for each default message (undefined: zod's own). */
export function issueMessage(iss: z.core.$ZodRawIssue): string | undefined {
  const got = iss.input === undefined ? '' : `, got ${show(iss.input)}`;
  switch (iss.code) {
    case 'invalid_value': {
      const values = iss.values.map(show);
      return values.length === 1 ? `must be ${values[0]}${got}` : `must be one of ${values.join(', ')}${got}`;
    }
    case 'too_small': {
      const min = Number(iss.minimum);
      if (iss.origin === 'string')
        return min === 1 ? 'must not be empty' : `must have at least ${min} characters${got}`;
      if (iss.origin === 'array' || iss.origin === 'set')
        return `needs at least ${min} item${min === 1 ? '' : 's'}`;
      return `must be ${iss.inclusive ? `${min} or more` : `more than ${min}`}${got}`;
    }
    case 'too_big': {
      const max = Number(iss.maximum);
      if (iss.origin === 'string') return `must have at most ${max} characters`;
      if (iss.origin === 'array' || iss.origin === 'set')
        return `takes at most ${max} item${max === 1 ? '' : 's'}`;
      return `must be ${iss.inclusive ? `${max} or less` : `less than ${max}`}${got}`;
    }
    case 'invalid_key': {
      const why = iss.issues.map((i) => i.message).join('; ');
      return `${show(iss.input)} is not a valid name${why ? `: ${why}` : ''}`;
    }
    case 'invalid_format':
      return `${show(iss.input)} is not in the expected form${iss.format === 'regex' && 'pattern' in iss ? ` (${String(iss.pattern)})` : ''}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(iss.divisor)}${got}`;
    case 'invalid_union':
      return `${show(iss.input)} is none of the forms this key accepts`;
    case 'invalid_type':
      return `expected ${expectedName(iss.expected)}${got}`;
    default:
      return undefined;
  }
}

/** A hint for an issue the schema gave none for; `value` is what the file holds there. */
export function issueHint(issue: z.core.$ZodIssue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_value': {
      const values = issue.values.map(show);
      const guess = typeof value === 'string' ? didYouMean(value, issue.values.map(String)) : undefined;
      if (guess) return `did you mean "${guess}"?`;
      return values.length === 1 ? `write ${values[0]}` : `write one of ${values.join(', ')}`;
    }
    case 'too_small':
      if (issue.origin === 'string') return 'write a value, or leave the key out';
      if (issue.origin === 'array' || issue.origin === 'set') return `list at least ${String(issue.minimum)}`;
      return `write a number ${issue.inclusive ? 'of at least' : 'greater than'} ${String(issue.minimum)}`;
    case 'too_big':
      return `write a smaller value (at most ${String(issue.maximum)})`;
    case 'invalid_key':
      return 'rename the key';
    default:
      return 'see the pipeline file reference in the README';
  }
}
