import type { MiddlewareObj, Request } from '@middy/core';
import type { MetricsRecorder } from '../ports/metrics';

/** Write the invocation's metrics when it ends, whether it answered or threw (never adds an error of its own). */
export function flushMetrics(recorder: MetricsRecorder): MiddlewareObj {
  const flush = async (): Promise<void> => recorder.flush();
  return { after: flush, onError: flush };
}

/**
 * Count the HTTP answer with `record`, then flush. `use` it BEFORE `errorResponder`: middy runs `onError` handlers last
 * used first, so by then a refusal has become its answer (401, 409, 500...) and is counted like any other.
 */
export function answerMetrics(recorder: MetricsRecorder, record: (recorder: MetricsRecorder, answer: { status: number; body: unknown }) => void): MiddlewareObj {
  const count = async (request: Request): Promise<void> => {
    const response = request.response as { statusCode?: number; body?: unknown } | undefined;
    if (response) record(recorder, { status: response.statusCode ?? 200, body: parsed(response.body) });
    recorder.flush();
  };
  return { after: count, onError: count };
}

function parsed(body: unknown): unknown {
  if (typeof body !== 'string') return body ?? null;
  try {
    return JSON.parse(body);
  } catch {
    return null;
  }
}
