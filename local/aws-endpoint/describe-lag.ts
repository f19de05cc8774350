/**
 * EC2's eventual consistency, as Describe calls see it: for a while after a mutation, a Describe may still show
 * the changed resources as they were before it (AWS documents the model; Terraform met it as a route that
 * CreateRoute made but the very next DescribeRouteTables did not list). Only reads lag: mutations always act on
 * the true current state, and so does the control plane (`GET /_local/state`), so tests can tell when the
 * endpoint really moved.
 */
import type { AddressRecord, AwsWorld, EniRecord, RouteTableRecord } from './state';

/** The lagging maps: route tables, Elastic IPs and ENIs (what DescribeRouteTables/Addresses/NetworkInterfaces read). */
type LaggedMap = 'routeTables' | 'addresses' | 'enis';
const LAGGED_MAPS: readonly LaggedMap[] = ['routeTables', 'addresses', 'enis'];

type AnyRecord = RouteTableRecord | AddressRecord | EniRecord;

/** The lagged resources before a mutation: per map, per id, the JSON (to compare) and a deep copy (to serve). */
export type LagSnapshot = Record<LaggedMap, Map<string, { json: string; copy: AnyRecord }>>;

/** A resource's state before one mutation, served to lagging reads until `until` (epoch ms). */
interface PendingVersion {
  copy: AnyRecord;
  until: number;
}

/** Holds, per resource, its versions from before recent mutations whose lag window is still open. */
export class DescribeLag {
  private pending: Record<LaggedMap, Map<string, PendingVersion[]>> = { routeTables: new Map(), addresses: new Map(), enis: new Map() };

  /** Copy the lagged resources before a mutation runs. */
  snapshot(world: AwsWorld): LagSnapshot {
    const out = {} as LagSnapshot;
    for (const name of LAGGED_MAPS) {
      const m = new Map<string, { json: string; copy: AnyRecord }>();
      for (const [id, record] of world[name] as Map<string, AnyRecord>) m.set(id, { json: JSON.stringify(record), copy: structuredClone(record) });
      out[name] = m;
    }
    return out;
  }

  /** After a mutation: every resource that changed keeps its old version visible to lagging reads until `now + windowMs`. */
  record(world: AwsWorld, before: LagSnapshot, now: number, windowMs: number): void {
    if (windowMs <= 0) return;
    for (const name of LAGGED_MAPS) {
      for (const [id, record] of world[name] as Map<string, AnyRecord>) {
        const old = before[name].get(id);
        if (old === undefined || old.json === JSON.stringify(record)) continue;
        const versions = this.pending[name].get(id) ?? [];
        versions.push({ copy: old.copy, until: now + windowMs });
        this.pending[name].set(id, versions);
      }
    }
  }

  /** Whether some resource still has an open lag window at `now` (drops the closed ones). */
  lagging(now: number): boolean {
    let any = false;
    for (const name of LAGGED_MAPS) {
      for (const [id, versions] of this.pending[name]) {
        const open = versions.filter((v) => v.until > now);
        if (open.length === 0) this.pending[name].delete(id);
        else {
          this.pending[name].set(id, open);
          any = true;
        }
      }
    }
    return any;
  }

  /**
   * The world as a lagging read sees it at `now`: each resource with an open window shows its oldest still-open
   * version (a replica that has not yet applied that change, nor any after it), everything else is current.
   * The result shares every other map and method with `world`, and must only be read.
   */
  staleView(world: AwsWorld, now: number): AwsWorld {
    this.lagging(now);
    // A prototype-linked overlay: methods such as addressAt or eniHolding run against the overlaid maps.
    const view = Object.create(world) as AwsWorld;
    const props: PropertyDescriptorMap = {};
    for (const name of LAGGED_MAPS) {
      const map = new Map(world[name] as Map<string, AnyRecord>);
      for (const [id, versions] of this.pending[name]) {
        const oldest = versions[0];
        if (oldest !== undefined && map.has(id)) map.set(id, oldest.copy);
      }
      props[name] = { value: map, enumerable: true };
    }
    Object.defineProperties(view, props);
    return view;
  }

  /** Forget every open window (the account was reset). */
  clear(): void {
    for (const name of LAGGED_MAPS) this.pending[name].clear();
  }
}
