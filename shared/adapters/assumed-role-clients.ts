import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { EndpointActuator } from '../ports/endpoint-actuator';
import { awsClientConfig, type AwsCallBounds } from './aws-clients';
import { createEndpointActuator } from './endpoint-actuators';
import { RoleRoutingActuator } from './role-routing-actuator';

/** Temporary credentials as SDK v3 clients take them (`credentials` may be a function returning these). */
export interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface AssumeRoleOptions {
  sts: Pick<STSClient, 'send'>;
  roleArn: string;
  /** Shown in the other account's CloudTrail (`assumed-role/<role>/<session>`): 2..64 of `[\w+=,.@-]`. */
  sessionName: string;
  /** How long the credentials last (STS: 900..43200, and at most the role's MaxSessionDuration; default 3600). */
  durationSeconds?: number;
  /** Renew this long before they expire (default 5 minutes: a move never starts on credentials about to lapse). */
  refreshBeforeMs?: number;
  now?: () => number;
}

/**
 * A credential provider for one role: `AssumeRole` on first use, then the same credentials until `refreshBeforeMs`
 * before they expire, then a new `AssumeRole`. Concurrent callers share one call in flight; a failed call is not
 * cached (the next caller tries again) and its error reaches the caller, so the move reports it (AccessDenied, ...).
 */
export function assumeRoleCredentials(options: AssumeRoleOptions): () => Promise<TemporaryCredentials> {
  const now = options.now ?? Date.now;
  const refreshBeforeMs = options.refreshBeforeMs ?? 5 * 60_000;
  let cached: TemporaryCredentials | null = null;
  let inFlight: Promise<TemporaryCredentials> | null = null;
  const assume = async (): Promise<TemporaryCredentials> => {
    const { Credentials: c } = await options.sts.send(new AssumeRoleCommand({ RoleArn: options.roleArn, RoleSessionName: options.sessionName, DurationSeconds: options.durationSeconds ?? 3600 }));
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) throw new Error(`AssumeRole of ${options.roleArn} answered without credentials`);
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: new Date(c.Expiration) };
  };
  return async () => {
    if (cached && cached.expiration.getTime() - refreshBeforeMs > now()) return cached;
    inFlight ??= assume()
      .then((credentials) => (cached = credentials))
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  };
}

/** The EC2 and Route 53 clients of an account: the deployment's own, or those of a role. */
export interface AccountClients {
  ec2: EC2Client;
  route53: Route53Client;
}

/**
 * EC2 and Route 53 clients acting as `roleArn`, one pair per role (kept: their credentials are cached and renewed by
 * {@link assumeRoleCredentials}), with the same bounds as every vipswitch client.
 */
export function roleClientsFactory(options: { sts: Pick<STSClient, 'send'>; bounds: Partial<AwsCallBounds>; sessionName: string }): (roleArn: string) => AccountClients {
  const byRole = new Map<string, AccountClients>();
  return (roleArn) => {
    let clients = byRole.get(roleArn);
    if (!clients) {
      const credentials = assumeRoleCredentials({ sts: options.sts, roleArn, sessionName: options.sessionName });
      const config = { ...awsClientConfig(options.bounds), credentials };
      byRole.set(roleArn, (clients = { ec2: new EC2Client(config), route53: new Route53Client(config) }));
    }
    return clients;
  };
}

/**
 * The endpoint actuator of a deployment whose clusters may name a role (`endpoints.assumeRoleArn`): those clusters
 * are moved with that role's clients, the others with `own`.
 */
export function createRoleAwareActuator(own: AccountClients, forRole: (roleArn: string) => AccountClients): EndpointActuator {
  return new RoleRoutingActuator({ base: createEndpointActuator(own), forRole: (roleArn) => createEndpointActuator(forRole(roleArn)) });
}

/** A session name for the Lambdas: `vipswitch-<function>` cut to STS's 64 characters, only the characters it takes. */
export function sessionNameFor(functionName: string | undefined): string {
  const name = `vipswitch-${functionName ?? 'local'}`.replace(/[^\w+=,.@-]/g, '-');
  return name.slice(0, 64);
}
