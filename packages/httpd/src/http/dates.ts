/** HTTP dates (RFC 9110 section 5.6.7): IMF-fixdate out, all three formats in. */

/** IMF-fixdate of a time in whole seconds since the epoch. */
export function formatHttpDate(seconds: number): string {
  return new Date(seconds * 1000).toUTCString();
}

let cachedSecond = -1;
let cachedDate = '';

/**
 * The current time as an IMF-fixdate, recomputed at most once per second.
 * `ms` is a clock the caller read already (Date.now()), so one read serves a whole request.
 */
export function currentHttpDate(ms: number = Date.now()): string {
  const now = Math.floor(ms / 1000);
  if (now !== cachedSecond) {
    cachedSecond = now;
    cachedDate = formatHttpDate(now);
  }
  return cachedDate;
}

/** The second `currentHttpDate()` last returned a date for. */
export function currentHttpSecond(): number {
  return cachedSecond;
}

export function nowSeconds(ms: number = Date.now()): number {
  return Math.floor(ms / 1000);
}

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
const IMF = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850 = /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

function build(year: number, month: number, day: number, h: number, m: number, s: number): number | undefined {
  if (day < 1 || day > 31 || h > 23 || m > 59 || s > 60) return undefined;
  const ms = Date.UTC(year, month, day, h, m, s);
  const check = new Date(ms);
  if (check.getUTCDate() !== day) return undefined; // e.g. 31 Feb
  return Math.floor(ms / 1000);
}

/**
 * Parses an HTTP-date into seconds since the epoch, or undefined when it is
 * not one (RFC 9110 section 13.1.3: an invalid date makes the condition be ignored).
 * Two-digit RFC 850 years are read per RFC 9110 section 5.6.7 (more than 50 years ahead means the past century).
 */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  let m = IMF.exec(v);
  if (m) return build(+m[3]!, MONTHS[m[2]!]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  m = RFC850.exec(v);
  if (m) {
    const thisYear = new Date().getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + +m[3]!;
    if (year > thisYear + 50) year -= 100;
    return build(year, MONTHS[m[2]!]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  }
  m = ASCTIME.exec(v);
  if (m) return build(+m[6]!, MONTHS[m[1]!]!, +m[2]!.trim(), +m[3]!, +m[4]!, +m[5]!);
  return undefined;
}
