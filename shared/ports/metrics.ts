/** One dimension of a metric: CloudWatch keeps one series per value, so values come from a small, fixed set. */
export interface MetricDimension {
  name: string;
  value: string;
}

/**
 * Where vipswitch's operational metrics go (in AWS: CloudWatch, through Embedded Metric Format log lines).
 *
 * Contract: recording is buffered in memory, never throws and never waits on the network, so a metric can never change
 * an answer, a move or a page. `flush` writes everything recorded since the last flush (and nothing when nothing was
 * recorded); it is called once at the end of each invocation, also when the invocation failed. Not shared across
 * concurrent invocations (a Lambda runs one at a time).
 */
export interface MetricsRecorder {
  /** Add `value` (default 1) occurrences of `name`, in the series of `dimension` when given. */
  count(name: string, value?: number, dimension?: MetricDimension): void;
  /** One duration sample of `name`, in milliseconds (negative samples are clock skew and are dropped). */
  milliseconds(name: string, value: number): void;
  /** Write what was recorded since the last flush. Never throws. */
  flush(): void;
}
