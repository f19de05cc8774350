/**
 * What the hook's own log line (hooks/src/log.ts, written to stderr) says about one delivery:
 * `vipswitch-hook <iso time> id=… type=… outcome=delivered status=202 code=accepted attempts=1 ms=<send>`.
 * The line is written right after the answer, so its time is "answer received" and `ms` is request → answer
 * (sendEvent's own clock), which puts "request sent" at time − ms.
 */
export interface HookDelivery {
  /** Wall clock (ms since the epoch) when the answer was logged. */
  answeredAt: number;
  /** Request → answer, as the hook measured it (rounded to 1 ms by the hook). */
  sendMs: number;
  status: number | null;
  code: string | null;
  attempts: number | null;
}

/** Parse one `k=v` field (bare or JSON-quoted) out of a log line. */
function field(line: string, key: string): string | null {
  const match = new RegExp(`(?:^| )${key}=("(?:[^"\\\\]|\\\\.)*"|\\S+)`).exec(line);
  if (match === null) return null;
  const raw = match[1]!;
  return raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
}

/** The delivery line for event type `type` (delivered or answered), or null when the hook logged none. */
export function parseHookDelivery(stderr: string, type: string): HookDelivery | null {
  for (const line of stderr.split('\n')) {
    const m = /^vipswitch-hook (\d{4}-\d\d-\d\dT[\d:.]+Z) (.*)$/.exec(line.trim());
    if (m === null) continue;
    const rest = m[2]!;
    const outcome = field(rest, 'outcome');
    if (field(rest, 'type') !== type || (outcome !== 'delivered' && outcome !== 'answered')) continue;
    const num = (key: string) => {
      const v = field(rest, key);
      return v === null || !Number.isFinite(Number(v)) ? null : Number(v);
    };
    const sendMs = num('ms');
    if (sendMs === null) continue;
    return { answeredAt: Date.parse(m[1]!), sendMs, status: num('status'), code: field(rest, 'code'), attempts: num('attempts') };
  }
  return null;
}
