/** Text output helpers of the CLI: tables like `repmgr cluster show`, durations, `--since`. */

/** A table with a header row and a rule, columns separated by " | " (as `repmgr cluster show` prints). */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => ` ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join(' | ')}`.trimEnd();
  return [line(headers), `-${widths.map((w) => '-'.repeat(w)).join('-+-')}-`, ...cells.map(line)].join('\n');
}

/** `30s`, `30m`, `12h`, `7d` as milliseconds; null when the text is not a duration. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|min|h|d)$/.exec(text.trim());
  if (!m) return null;
  const unit = { s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'min' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** `--since`: an ISO 8601 time, or a duration back from `now` (`30m`, `2h`, `7d`). Null when it is neither. */
export function parseSince(text: string, now: Date): Date | null {
  const back = parseDuration(text);
  if (back !== null) return new Date(now.getTime() - back);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return null;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : new Date(at);
}

/** How long ago `iso` was, as people read it (`45 s ago`); `-` for none. */
export function ago(iso: string | null | undefined, now: Date): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
