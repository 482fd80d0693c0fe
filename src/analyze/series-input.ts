/**
 * Metric series from a file, for `slipway regressions --input FILE`: CSV with a header row (a time
 * column, metric columns, and any other columns as attributes such as a commit, as Apache Otava's
 * CSV import reads it) or JSON lines (one object per line, the same roles by field). Rows are
 * sorted by time; empty cells are missing values, skipped in that metric's series.
 */

export interface InputPoint {
  /** Epoch ms. */
  time: number;
  value: number;
  /** 1-based line of the row in the file. */
  line: number;
  /** The row's attribute values (e.g. commit), in column order. */
  attributes: Record<string, string>;
}

export interface InputSeries {
  metric: string;
  points: InputPoint[];
}

/** Why a file could not be read as series, with the place in the file. */
export interface InputProblem {
  line: number;
  col?: number;
  message: string;
  hint: string;
}

export type InputResult =
  | { ok: true; series: InputSeries[]; rows: number }
  | { ok: false; problem: InputProblem };

export interface InputOptions {
  /** Name of the time column or field (default "time"). */
  timeColumn?: string;
  /** Only these metric columns (default: every column whose values are all numbers). */
  metrics?: readonly string[];
  format?: 'csv' | 'jsonl';
}

interface Row {
  line: number;
  cells: Map<string, { text: string; col: number }>;
}

/** Splits CSV text into records of fields (RFC 4180: quoted fields may hold commas, quotes, newlines). */
function csvRecords(text: string): { line: number; fields: { text: string; col: number }[] }[] {
  const out: { line: number; fields: { text: string; col: number }[] }[] = [];
  let line = 1;
  let col = 1;
  let fields: { text: string; col: number }[] = [];
  let field = '';
  let fieldCol = 1;
  let recordLine = 1;
  let quoted = false;
  let any = false;
  const endField = () => {
    fields.push({ text: field, col: fieldCol });
    field = '';
  };
  const endRecord = () => {
    endField();
    if (any || fields.length > 1 || fields[0]!.text !== '') out.push({ line: recordLine, fields });
    fields = [];
    any = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
        col += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
      if (c === '\n') {
        line++;
        col = 1;
      } else col++;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      any = true;
      col++;
    } else if (c === ',') {
      endField();
      col++;
      fieldCol = col;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      col = 1;
      fieldCol = 1;
      recordLine = line;
    } else {
      field += c;
      any = true;
      col++;
    }
  }
  if (field !== '' || fields.length || any) endRecord();
  return out;
}

function csvRows(text: string): { headers: string[]; rows: Row[] } | InputProblem {
  const records = csvRecords(text);
  const header = records.shift();
  if (!header)
    return {
      line: 1,
      message: 'the file is empty',
      hint: 'the first line names the columns, e.g. time,commit,metric1',
    };
  const headers = header.fields.map((f) => f.text.trim());
  const rows: Row[] = [];
  for (const r of records) {
    if (r.fields.length !== headers.length)
      return {
        line: r.line,
        message: `${r.fields.length} values for ${headers.length} columns`,
        hint: `the header names ${headers.join(', ')}`,
      };
    rows.push({
      line: r.line,
      cells: new Map(r.fields.map((f, i) => [headers[i]!, { text: f.text.trim(), col: f.col }])),
    });
  }
  return { headers, rows };
}

function jsonRows(text: string): { headers: string[]; rows: Row[] } | InputProblem {
  const headers: string[] = [];
  const rows: Row[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (!raw) continue;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (e) {
      return { line: i + 1, message: `not JSON: ${(e as Error).message}`, hint: 'one JSON object per line' };
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      return {
        line: i + 1,
        message: 'not a JSON object',
        hint: 'one object per line, e.g. {"time": "2026-11-01T10:00:00Z", "build_ms": 1234}',
      };
    const cells = new Map<string, { text: string; col: number }>();
    for (const [k, x] of Object.entries(v)) {
      if (!headers.includes(k)) headers.push(k);
      if (x === null || x === undefined) continue;
      cells.set(k, {
        text: typeof x === 'string' ? x : typeof x === 'number' ? String(x) : JSON.stringify(x),
        col: 1,
      });
    }
    rows.push({ line: i + 1, cells });
  }
  return { headers, rows };
}

/**
 * Epoch ms of a time cell: an ISO time or date, epoch seconds or milliseconds, or Otava's sample
 * form "2026.01.01 3:00:00 +0100".
 */
function parseTime(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) {
    const n = Number(t);
    return n < 1e11 ? n * 1000 : n;
  }
  const direct = Date.parse(t);
  if (!Number.isNaN(direct)) return direct;
  const m =
    /^(\d{4})[./-](\d{1,2})[./-](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*(Z|[+-]\d{2}:?\d{2})?$/.exec(t);
  if (!m) return undefined;
  const pad = (s: string) => s.padStart(2, '0');
  const zone = m[7] ? (m[7] === 'Z' ? 'Z' : `${m[7].slice(0, 3)}:${m[7].slice(-2)}`) : 'Z';
  const iso = `${m[1]}-${pad(m[2]!)}-${pad(m[3]!)}T${pad(m[4]!)}:${m[5]}:${m[6] ?? '00'}${zone}`;
  const v = Date.parse(iso);
  return Number.isNaN(v) ? undefined : v;
}

const isNumber = (s: string) => s !== '' && Number.isFinite(Number(s));

/** Parses the file's text into one series per metric. */
export function readSeries(raw: string, opts: InputOptions = {}): InputResult {
  // Spreadsheet exports often start with a byte-order mark.
  const text = raw.replace(/^\uFEFF/, '');
  const format = opts.format ?? (text.trimStart().startsWith('{') ? 'jsonl' : 'csv');
  const parsed = format === 'jsonl' ? jsonRows(text) : csvRows(text);
  if (!('rows' in parsed)) return { ok: false, problem: parsed };
  const { headers, rows } = parsed;
  const timeColumn = opts.timeColumn ?? 'time';
  if (!headers.includes(timeColumn))
    return {
      ok: false,
      problem: {
        line: 1,
        message: `no time column "${timeColumn}"`,
        hint: `columns: ${headers.join(', ')}; name the time column with --time-column`,
      },
    };
  const unknown = (opts.metrics ?? []).filter((m) => !headers.includes(m));
  if (unknown.length)
    return {
      ok: false,
      problem: {
        line: 1,
        message: `no column ${unknown.map((m) => `"${m}"`).join(', ')}`,
        hint: `columns: ${headers.join(', ')}`,
      },
    };
  const others = headers.filter((h) => h !== timeColumn);
  const metrics =
    opts.metrics ??
    others.filter(
      (h) =>
        rows.every((r) => {
          const c = r.cells.get(h);
          return !c || c.text === '' || isNumber(c.text);
        }) && rows.some((r) => isNumber(r.cells.get(h)?.text ?? '')),
    );
  if (!metrics.length)
    return {
      ok: false,
      problem: {
        line: 1,
        message: 'no numeric column',
        hint: 'metric columns hold numbers; other columns (e.g. commit) are attributes',
      },
    };
  const attributes = others.filter((h) => !metrics.includes(h));
  const timed: { row: Row; time: number }[] = [];
  for (const row of rows) {
    const cell = row.cells.get(timeColumn);
    const time = cell ? parseTime(cell.text) : undefined;
    if (time === undefined)
      return {
        ok: false,
        problem: {
          line: row.line,
          ...(cell ? { col: cell.col } : {}),
          message: `bad time ${JSON.stringify(cell?.text ?? '')} in column "${timeColumn}"`,
          hint: 'write an ISO time (2026-11-01T10:00:00Z), a date, or epoch seconds',
        },
      };
    timed.push({ row, time });
  }
  timed.sort((a, b) => a.time - b.time || a.row.line - b.row.line);
  const series: InputSeries[] = [];
  for (const metric of metrics) {
    const points: InputPoint[] = [];
    for (const { row, time } of timed) {
      const cell = row.cells.get(metric);
      if (!cell || cell.text === '') continue;
      if (!isNumber(cell.text))
        return {
          ok: false,
          problem: {
            line: row.line,
            col: cell.col,
            message: `"${cell.text}" in column "${metric}" is not a number`,
            hint: 'leave the cell empty for a missing value',
          },
        };
      points.push({
        time,
        value: Number(cell.text),
        line: row.line,
        attributes: Object.fromEntries(
          attributes.flatMap((a) => {
            const c = row.cells.get(a);
            return c ? [[a, c.text]] : [];
          }),
        ),
      });
    }
    series.push({ metric, points });
  }
  return { ok: true, series, rows: rows.length };
}
