import { AwsServiceError, missingParameter } from './errors';

/** One `Filter.N` of an EC2 Describe call. */
export interface QueryFilter {
  name: string;
  values: string[];
}

/**
 * The flat key/value parameters of an AWS Query request (EC2, SNS), with the list conventions those
 * protocols use: `Name.1`, `Name.2`… and `Filter.N.Name` / `Filter.N.Value.M`.
 */
export class QueryParams {
  private readonly map: Map<string, string>;

  constructor(source: URLSearchParams | Iterable<[string, string]>) {
    this.map = new Map(source);
  }

  /** The value, or `undefined` when absent. */
  get(name: string): string | undefined {
    return this.map.get(name);
  }

  /** The value; an absent or empty one is EC2's `MissingParameter`. */
  require(name: string, error: (name: string) => AwsServiceError = missingParameter): string {
    const value = this.map.get(name);
    if (value === undefined || value === '') throw error(name);
    return value;
  }

  /** `true`/`false`, or `undefined` when absent; anything else is `InvalidParameterValue`. */
  bool(name: string): boolean | undefined {
    const value = this.map.get(name);
    if (value === undefined) return undefined;
    const lower = value.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    throw new AwsServiceError('InvalidParameterValue', `Invalid value '${value}' for ${name}: expected true or false`);
  }

  /** A non-negative integer, or `undefined` when absent. */
  int(name: string): number | undefined {
    const value = this.map.get(name);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new AwsServiceError('InvalidParameterValue', `Invalid value '${value}' for ${name}`);
    return Number(value);
  }

  /** The values of `prefix.1`, `prefix.2`, … in index order. */
  list(prefix: string): string[] {
    const found: Array<[number, string]> = [];
    const pattern = new RegExp(`^${escapeRegExp(prefix)}\\.(\\d+)$`);
    for (const [key, value] of this.map) {
      const m = pattern.exec(key);
      if (m !== null) found.push([Number(m[1]), value]);
    }
    return found.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  }

  /** The indices N for which some `prefix.N.…` key exists, ascending. */
  indices(prefix: string): number[] {
    const pattern = new RegExp(`^${escapeRegExp(prefix)}\\.(\\d+)\\.`);
    const set = new Set<number>();
    for (const key of this.map.keys()) {
      const m = pattern.exec(key);
      if (m !== null) set.add(Number(m[1]));
    }
    return [...set].sort((a, b) => a - b);
  }

  /** EC2 `Filter.N.Name` / `Filter.N.Value.M`. */
  filters(): QueryFilter[] {
    return this.indices('Filter').map((n) => {
      const name = this.get(`Filter.${n}.Name`);
      if (name === undefined || name === '') throw missingParameter(`Filter.${n}.Name`);
      return { name, values: this.list(`Filter.${n}.Value`) };
    });
  }

  /** Every parameter but `Action` and `Version`, values cut to 200 characters: the call log's summary. */
  summary(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, value] of this.map) {
      if (key === 'Action' || key === 'Version') continue;
      out[key] = value.length > 200 ? `${value.slice(0, 200)}…` : value;
    }
    return out;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
