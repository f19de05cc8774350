import type { TargetStatus } from '../ports/cluster-store';

/** One endpoint target as operators read it: desired vs observed, and its state. */
export interface TargetView {
  mechanism: string;
  target: string;
  desired: string;
  observed: string | null;
  state: 'converged' | 'converging' | 'failed';
  result: string;
  /** How long the target took (observe + act + read-back), and whether its change was confirmed (the status page's timeline). */
  ms?: number;
  verified?: boolean;
  error?: { code: string; message: string };
}

/** Where a cluster's endpoint stands for its current epoch (the status API's `endpoint`, the CLI's status). */
export interface EndpointView {
  epoch: number;
  phase: 'converging' | 'converged' | 'failed';
  since: string | null;
  at: string | null;
  targets: TargetView[];
}

/**
 * Where the endpoint stands, per target: desired (`to`) vs observed before the move (`from`), `converging` or
 * `converged` (or `failed`), and when. A newer epoch than the actuator's last status is `converging` (not started yet).
 * The same shape as `GET /v1/clusters/{cluster}`'s `endpoint` (functions/status/handler.ts).
 */
export function endpointView(epoch: number, targets: TargetStatus | null): EndpointView {
  if (targets === null || targets.epoch < epoch) {
    return { epoch, phase: epoch === 0 ? 'converged' : 'converging', since: null, at: null, targets: [] };
  }
  return {
    epoch: targets.epoch,
    phase: targets.phase,
    since: targets.since,
    at: targets.at,
    targets: targets.targets.map((t) => ({
      mechanism: t.mechanism,
      target: t.target,
      desired: t.to,
      observed: t.result === 'in_place' || t.result === 'moved' || t.result === 'created' ? t.to : (t.from ?? null),
      state: t.result === 'failed' ? 'failed' : t.result === 'superseded' ? 'converging' : 'converged',
      result: t.result,
      ...(t.ms !== undefined ? { ms: t.ms } : {}),
      ...(t.verified !== undefined ? { verified: t.verified } : {}),
      ...(t.error ? { error: t.error } : {}),
    })),
  };
}
