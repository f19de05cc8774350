import { PowertoolsMetricsRecorder } from '../shared/adapters/powertools-metrics';
import { logger } from './wiring';

// The metrics recorder of the Lambdas that count something (ingest, actuate, reconcile), built once per cold start.
// Namespace and service come from POWERTOOLS_METRICS_NAMESPACE / POWERTOOLS_SERVICE_NAME (serverless.yml).
export const metrics = new PowertoolsMetricsRecorder({ onError: (error) => logger.warn('metric not recorded', { error: error as Error }) });
