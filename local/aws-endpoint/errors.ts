import type { XmlObject } from './xml';

/**
 * An error the endpoint answers with, in the calling service's own wire format. `code` is AWS's error code
 * (what SDK v3 turns into `err.name`), `status` the HTTP status AWS uses for it.
 */
export class AwsServiceError extends Error {
  /** AWS's error code, e.g. `InvalidRoute.NotFound`. */
  readonly code: string;
  /** HTTP status of the answer. */
  readonly status: number;
  /** Extra members rendered inside `<Error>` (Route 53 `InvalidChangeBatch` carries its `messages` there). */
  readonly extra: XmlObject | undefined;

  constructor(code: string, message: string, status = 400, extra?: XmlObject) {
    super(message);
    this.name = 'AwsServiceError';
    this.code = code;
    this.status = status;
    this.extra = extra;
  }

  /** `Sender` for 4xx, `Receiver` for 5xx: the `<Type>` the query and REST-XML protocols carry. */
  get faultType(): 'Sender' | 'Receiver' {
    return this.status >= 500 ? 'Receiver' : 'Sender';
  }
}

/** EC2 `MissingParameter`, worded as EC2 words it. */
export function missingParameter(name: string): AwsServiceError {
  return new AwsServiceError('MissingParameter', `The request must contain the parameter ${name}`);
}

/** EC2/SNS-style `InvalidParameterValue`. */
export function invalidParameterValue(message: string): AwsServiceError {
  return new AwsServiceError('InvalidParameterValue', message);
}
