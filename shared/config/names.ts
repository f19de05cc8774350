/**
 * The one naming of a deployment's resources, `<service>-<stage>-<role>` as serverless.yml names them
 * (`${self:service}-${sls:stage}-...`): the Lambdas' environment, the local stack and the operator CLI all derive
 * their table, function and topic names here.
 */

/** serverless.yml's `service`. */
export const SERVICE = 'vipswitch';

/** A stage name as the Serverless Framework takes it (and as it can appear in a table name). */
export const STAGE_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** The local stack's stage (`npm start`, the tests). */
export const LOCAL_STAGE = 'local';

/** Names of one stage's resources. */
export interface StageNames {
  stage: string;
  /** The DynamoDB state table (clusters, nodes, journal, replay guard, event ids). */
  state: string;
  /** The actuator and reconcile Lambdas. */
  actuate: string;
  reconcile: string;
  /**
   * The pages topic's name. serverless.yml names it `vipswitch-<stage>-pages`; the local stage uses the topic the
   * example topology seeds, `vipswitch-pages` (serverless.yml `params.local.topicArn`).
   */
  pagesTopic: string;
}

/** @throws Error naming the rule when `stage` is not a valid stage name. */
export function stageNames(stage: string): StageNames {
  if (!STAGE_PATTERN.test(stage)) throw new Error(`stage ${JSON.stringify(stage)} is not a stage name (lower-case letters, digits and "-", at most 32)`);
  return {
    stage,
    state: `${SERVICE}-${stage}-state`,
    actuate: `${SERVICE}-${stage}-actuate`,
    reconcile: `${SERVICE}-${stage}-reconcile`,
    pagesTopic: stage === LOCAL_STAGE ? `${SERVICE}-pages` : `${SERVICE}-${stage}-pages`,
  };
}
