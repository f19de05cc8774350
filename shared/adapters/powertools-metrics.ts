import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricDimension, MetricsRecorder } from '../ports/metrics';

/**
 * {@link MetricsRecorder} on Powertools Metrics: one Embedded Metric Format line per dimension set on stdout at each
 * flush, which CloudWatch turns into metrics (namespace from `POWERTOOLS_METRICS_NAMESPACE`, a `service` dimension from
 * `POWERTOOLS_SERVICE_NAME`, unless given). Series split by a dimension (`outcome`, `type`) are kept in a Powertools
 * instance of their own, created on first use: one EMF line carries one dimension set.
 */
export class PowertoolsMetricsRecorder implements MetricsRecorder {
  readonly #options: { namespace?: string; serviceName?: string };
  readonly #plain: Metrics;
  readonly #split = new Map<string, Metrics>();
  readonly #onError: (error: unknown) => void;

  /** @param options.onError told about a metric Powertools refused (a bad name, too many values); never rethrown. */
  constructor(options: { namespace?: string; serviceName?: string; onError?: (error: unknown) => void } = {}) {
    this.#options = { ...(options.namespace ? { namespace: options.namespace } : {}), ...(options.serviceName ? { serviceName: options.serviceName } : {}) };
    this.#plain = new Metrics(this.#options);
    this.#onError = options.onError ?? (() => undefined);
  }

  count(name: string, value = 1, dimension?: MetricDimension): void {
    this.#guard(() => this.#instance(dimension).addMetric(name, MetricUnit.Count, value));
  }

  milliseconds(name: string, value: number): void {
    if (!Number.isFinite(value) || value < 0) return;
    this.#guard(() => this.#plain.addMetric(name, MetricUnit.Milliseconds, Math.round(value)));
  }

  flush(): void {
    for (const metrics of [this.#plain, ...this.#split.values()]) {
      // Publishing an empty set only logs a warning: skip it, an invocation that counted nothing says nothing.
      if (metrics.hasStoredMetrics()) this.#guard(() => metrics.publishStoredMetrics());
    }
  }

  #instance(dimension: MetricDimension | undefined): Metrics {
    if (!dimension) return this.#plain;
    const key = `${dimension.name}\u0000${dimension.value}`;
    let metrics = this.#split.get(key);
    if (!metrics) {
      metrics = new Metrics({ ...this.#options, defaultDimensions: { [dimension.name]: dimension.value } });
      this.#split.set(key, metrics);
    }
    return metrics;
  }

  #guard(record: () => void): void {
    try {
      record();
    } catch (error) {
      this.#onError(error);
    }
  }
}
