import { randomBytes } from 'node:crypto';
import { AwsServiceError } from './errors';
import type { QueryParams } from './query-params';
import type { XmlObject } from './xml';

/**
 * STS over the Query protocol (Version 2011-06-15), as far as vipswitch needs it: AssumeRole (temporary credentials
 * for a role, e.g. a central networking account's) and GetCallerIdentity. Errors as STS sends them:
 * `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>…` with HTTP 403 for a role the caller may not
 * assume (the wording of a real answer: "User: <caller> is not authorized to perform: sts:AssumeRole on resource:
 * <role>"), `ValidationError` (400) for a malformed parameter, as STS words its constraint failures.
 *
 * There is no IAM here: which roles may be assumed is this service's own list (`allowRoles`), every well-formed role
 * ARN when no list is set. Credentials are remembered, so a test can tell which role signed a later EC2 call (the
 * call log's `accessKeyId`). An expired key is not refused by the other services.
 */

export const STS_VERSION = '2011-06-15';
export const STS_XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';

/** One role that may be assumed, and how long its sessions may last (IAM's MaxSessionDuration, default 1 hour). */
export interface StsRole {
  arn: string;
  maxSessionDurationSeconds?: number;
}

/** Credentials AssumeRole handed out. */
export interface IssuedCredentials {
  accessKeyId: string;
  roleArn: string;
  /** The account of the role (from its ARN): the account these credentials act in. */
  accountId: string;
  sessionName: string;
  assumedRoleArn: string;
  expiration: string;
  /** The access key that asked for them. */
  callerAccessKeyId: string | null;
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/((?:[\w+=,.@-]+\/)*)([\w+=,.@-]{1,64})$/;
const SESSION_NAME = /^[\w+=,.@-]*$/;
const DEFAULT_MAX_SESSION_SECONDS = 3600;

/** STS's wording of a parameter that fails its constraint. */
function validation(value: string | undefined, member: string, constraint: string): AwsServiceError {
  const shown = value === undefined ? 'null' : `'${value}'`;
  return new AwsServiceError('ValidationError', `1 validation error detected: Value ${shown} at '${member}' failed to satisfy constraint: ${constraint}`);
}

/** The local STS: see the file comment. */
export class StsService {
  readonly #accountId: string;
  readonly #now: () => Date;
  #roles: Map<string, StsRole> | null = null;
  readonly #issued = new Map<string, IssuedCredentials>();

  constructor(options: { accountId: string; now?: () => Date }) {
    this.#accountId = options.accountId;
    this.#now = options.now ?? (() => new Date());
  }

  /** Only these roles may be assumed from now on (`null`: every well-formed role ARN, the default). */
  allowRoles(roles: StsRole[] | null): void {
    this.#roles = roles === null ? null : new Map(roles.map((r) => [r.arn, r]));
  }

  /** Every set of credentials handed out so far, oldest first. */
  issued(): IssuedCredentials[] {
    return [...this.#issued.values()].map((c) => ({ ...c }));
  }

  /** The credentials an access key belongs to, if AssumeRole issued it. */
  credentialsOf(accessKeyId: string | null | undefined): IssuedCredentials | null {
    const c = accessKeyId ? this.#issued.get(accessKeyId) : undefined;
    return c ? { ...c } : null;
  }

  /** The identity behind an access key: an assumed role for keys issued here, else the account's local user. */
  callerArn(accessKeyId: string | null): string {
    return this.#issued.get(accessKeyId ?? '')?.assumedRoleArn ?? `arn:aws:iam::${this.#accountId}:user/local`;
  }

  /** Serve one STS action. @throws AwsServiceError in STS's terms. */
  handle(action: string, params: QueryParams, callerAccessKeyId: string | null): XmlObject {
    switch (action) {
      case 'AssumeRole':
        return { AssumeRoleResult: this.#assumeRole(params, callerAccessKeyId) };
      case 'GetCallerIdentity': {
        const issued = this.#issued.get(callerAccessKeyId ?? '');
        const arn = this.callerArn(callerAccessKeyId);
        return { GetCallerIdentityResult: { Arn: arn, UserId: issued ? `AROA${issued.accessKeyId.slice(4)}:${issued.sessionName}` : 'AIDALOCALUSER', Account: issued?.accountId ?? this.#accountId } };
      }
      default:
        throw new AwsServiceError('InvalidAction', `Could not find operation ${action} for version ${STS_VERSION}`);
    }
  }

  #assumeRole(params: QueryParams, callerAccessKeyId: string | null): XmlObject {
    const roleArn = params.get('RoleArn');
    const sessionName = params.get('RoleSessionName');
    if (roleArn === undefined) throw validation(undefined, 'roleArn', 'Member must not be null');
    if (sessionName === undefined) throw validation(undefined, 'roleSessionName', 'Member must not be null');
    if (roleArn.length < 20 || roleArn.length > 2048) throw validation(roleArn, 'roleArn', `Member must have length ${roleArn.length < 20 ? 'greater than or equal to 20' : 'less than or equal to 2048'}`);
    if (sessionName.length < 2 || sessionName.length > 64) throw validation(sessionName, 'roleSessionName', `Member must have length ${sessionName.length < 2 ? 'greater than or equal to 2' : 'less than or equal to 64'}`);
    if (!SESSION_NAME.test(sessionName)) throw validation(sessionName, 'roleSessionName', 'Member must satisfy regular expression pattern: [\\w+=,.@-]*');
    const durationText = params.get('DurationSeconds');
    const duration = durationText === undefined ? 3600 : Number(durationText);
    if (!Number.isInteger(duration) || duration < 900) throw validation(durationText, 'durationSeconds', 'Member must have value greater than or equal to 900');
    if (duration > 43200) throw validation(durationText, 'durationSeconds', 'Member must have value less than or equal to 43200');
    const match = ROLE_ARN.exec(roleArn);
    const allowed = this.#roles === null ? (match ? { arn: roleArn } : undefined) : this.#roles.get(roleArn);
    if (!match || !allowed) {
      throw new AwsServiceError('AccessDenied', `User: ${this.callerArn(callerAccessKeyId)} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403);
    }
    if (duration > (allowed.maxSessionDurationSeconds ?? DEFAULT_MAX_SESSION_SECONDS)) {
      throw new AwsServiceError('ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    }
    const [, accountId, , roleName] = match;
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const expiration = new Date(this.#now().getTime() + duration * 1000);
    const assumedRoleArn = `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}`;
    this.#issued.set(accessKeyId, { accessKeyId, roleArn, accountId: accountId!, sessionName, assumedRoleArn, expiration: expiration.toISOString(), callerAccessKeyId });
    return {
      Credentials: {
        AccessKeyId: accessKeyId,
        SecretAccessKey: randomBytes(30).toString('base64'),
        SessionToken: randomBytes(48).toString('base64'),
        // STS sends the expiry without milliseconds.
        Expiration: expiration.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
      AssumedRoleUser: { AssumedRoleId: `AROA${accessKeyId.slice(4)}:${sessionName}`, Arn: assumedRoleArn },
      PackedPolicySize: params.get('Policy') === undefined ? undefined : 6,
    };
  }
}

/** The actions STS serves here (for routing an unsigned request by its Action). */
export const STS_ACTIONS = new Set(['AssumeRole', 'GetCallerIdentity']);
