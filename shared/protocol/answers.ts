/**
 * The answer contract of `POST /v1/events` (DESIGN.md, "Wire contract"), typed once and used by the Lambdas, the hook
 * and the drill. Every answer body carries a machine `code` and a human `message`, on every path and method.
 */

/** Codes of the answers to an event that was authenticated and validated (2xx and 409). */
export const AnswerCode = {
  /** The claim won and is committed; the endpoint move follows asynchronously (202). */
  Accepted: 'accepted',
  /** Recorded; nothing to move (200). Also the primary re-asserting on its timeline with the endpoint converged. */
  Ignored: 'ignored',
  /** This event id was processed before; `first` is the answer it got then (200). */
  Duplicate: 'duplicate',
  /** Dry run: the decision and the planned targets; nothing was committed or moved (200). */
  DryRun: 'dry_run',
  /** A primary assertion not newer than the cluster's current one, from another node (409). */
  StaleClaim: 'stale_claim',
  /** A claim without usable facts: never accepted automatically (409). */
  UnverifiedClaim: 'unverified_claim',
  /** A claim from another cluster's data (409). */
  SystemIdentifierMismatch: 'system_identifier_mismatch',
  /** The answer to `vipswitch-hook ping`: the signature is valid; nothing was recorded (200). */
  Pong: 'pong',
} as const;
export type AnswerCode = (typeof AnswerCode)[keyof typeof AnswerCode];

/** Codes of refusals: the request changed nothing (4xx), or the service failed (5xx). */
export const ErrorCode = {
  EmptyBody: 'empty_body',
  InvalidJson: 'invalid_json',
  InvalidEvent: 'invalid_event',
  InvalidNodeHeader: 'invalid_node_header',
  InvalidArgv: 'invalid_argv',
  NodeMismatch: 'node_mismatch',
  MissingSignature: 'missing_signature',
  InvalidTimestamp: 'invalid_timestamp',
  TimestampOutOfWindow: 'timestamp_out_of_window',
  BadSignature: 'bad_signature',
  ReplayedRequest: 'replayed_request',
  UnknownCluster: 'unknown_cluster',
  UnknownNode: 'unknown_node',
  NodeIdMismatch: 'node_id_mismatch',
  EventIdReused: 'event_id_reused',
  PayloadTooLarge: 'payload_too_large',
  Throttled: 'throttled',
  NotFound: 'not_found',
  MethodNotAllowed: 'method_not_allowed',
  InternalError: 'internal_error',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** `decision` of an answer: what happened to the event, in one word. */
export const DecisionWord = { Accepted: 'accepted', Ignored: 'ignored', Duplicate: 'duplicate', Rejected: 'rejected' } as const;
export type DecisionWord = (typeof DecisionWord)[keyof typeof DecisionWord];

/** What every answer body has. */
export interface AnswerEnvelope {
  code: AnswerCode | ErrorCode;
  message: string;
}

/** 202: committed under fencing; `epoch` is the fencing token the actuator moves the endpoint for. */
export interface AcceptedAnswer extends AnswerEnvelope {
  code: typeof AnswerCode.Accepted;
  decision: typeof DecisionWord.Accepted;
  epoch: number;
  primary: string;
  timeline: number;
  /** Always `pending`: the move is carried out by the actuator, after the answer (watch `GET /v1/clusters/{c}`). */
  actuation: 'pending';
}

export interface IgnoredAnswer extends AnswerEnvelope {
  code: typeof AnswerCode.Ignored;
  decision: typeof DecisionWord.Ignored;
  /** The event's kind (`informational`, `fault`, `demotion`, `reassertion`, ...). */
  kind: string;
  epoch?: number;
}

export interface DryRunAnswer extends AnswerEnvelope {
  code: typeof AnswerCode.DryRun | typeof AnswerCode.Ignored | typeof AnswerCode.StaleClaim | typeof AnswerCode.UnverifiedClaim | typeof AnswerCode.SystemIdentifierMismatch;
  decision: DecisionWord;
  dryRun: true;
  epoch?: number;
  primary?: string;
  timeline?: number;
  /** For a winning claim: the targets the actuator would point at the node (desired state; nothing observed). */
  actions?: { mechanism: string; target: string; to: string; result: 'planned' }[];
}

export interface RejectedAnswer extends AnswerEnvelope {
  code: typeof AnswerCode.StaleClaim | typeof AnswerCode.UnverifiedClaim | typeof AnswerCode.SystemIdentifierMismatch;
  decision: typeof DecisionWord.Rejected;
  primary?: string | null;
  timeline?: number;
  epoch?: number;
  /** Stale claims: the cluster's fencing policy and what the actuator will do about the node. */
  fencing?: Record<string, unknown>;
}

export interface DuplicateAnswer extends AnswerEnvelope {
  code: typeof AnswerCode.Duplicate;
  decision: typeof DecisionWord.Duplicate;
  first: { status: number; body: EventAnswerBody };
}

/** A refusal: 4xx (the request changed nothing) or 5xx. */
export interface ErrorAnswer extends AnswerEnvelope {
  code: ErrorCode;
  [detail: string]: unknown;
}

/**
 * 200 to a ping (shared/protocol/ping.ts): authenticated, nothing recorded. `skewMs` is the server's clock minus the
 * ping's `sentAt` (positive: the node's clock is behind; it includes the request's one-way latency); `skewSeconds` the same against the signed timestamp
 * header (whole seconds), which is what the replay window is checked against.
 */
export interface PongAnswer extends AnswerEnvelope {
  code: typeof AnswerCode.Pong;
  decision: typeof DecisionWord.Ignored;
  id: string;
  cluster: string;
  node: string;
  /** Which key signed the ping: `next` only during a rotation (`vipswitch keys rotate`). */
  key: 'current' | 'next';
  /** A key rotation of this node is under way (both keys valid). */
  rotating: boolean;
  serverTime: string;
  skewMs: number | null;
  skewSeconds: number;
  windowSeconds: number;
}

export type EventAnswerBody = AcceptedAnswer | IgnoredAnswer | DryRunAnswer | RejectedAnswer | DuplicateAnswer;

/** One answer: HTTP status and body. */
export type EventAnswer =
  | { status: 202; body: AcceptedAnswer }
  | { status: 200; body: IgnoredAnswer | DryRunAnswer | DuplicateAnswer }
  | { status: 409; body: RejectedAnswer | DryRunAnswer };

/** True for an answer that means "delivered, do not send again" (2xx, and the 409 verdicts, which are final). */
export function isFinalVerdict(status: number, code: string | null): boolean {
  if (status >= 200 && status < 300) return true;
  return status === 409 && (code === AnswerCode.StaleClaim || code === AnswerCode.UnverifiedClaim || code === AnswerCode.SystemIdentifierMismatch || code === ErrorCode.EventIdReused);
}
