import {
  DescribeAddressesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  type Address,
  type DescribeAddressesCommandOutput,
  type DescribeNetworkInterfacesCommandOutput,
  type DescribeRouteTablesCommandOutput,
  type Filter,
  type NetworkInterface,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { ListResourceRecordSetsCommand, type ListResourceRecordSetsCommandOutput, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import { awsError } from './actuation-cycle';

/**
 * The fleet sweep's batched reads: many resources per call, chunked to the APIs' limits, every page followed. Each
 * read returns what exists; an id that does not exist is simply absent (the caller says what that means).
 *
 * Limits, as AWS states them:
 * - IDs: "you should not specify more than 1,000 IDs in a single call" (Amazon EC2 developer guide, Pagination).
 * - Filter values: "The maximum number of filter values specified on a single call is 200" (EC2's FilterLimitExceeded).
 * - An unknown id in an id list fails the whole call (`InvalidRouteTableID.NotFound`, ...); a filter value that
 *   matches nothing does not. So a chunk is read by id (1,000 a call), and only a chunk naming a missing resource is
 *   read again by filter (200 values a call), which tells exactly which ids are missing without failing the others.
 * - DescribeRouteTables pages (MaxResults 5..100), DescribeNetworkInterfaces too (5..1000), both only when no id list
 *   is given; DescribeAddresses does not page. ListResourceRecordSets returns at most 300 record sets a call.
 */

export const EC2_IDS_PER_CALL = 1000;
export const EC2_FILTER_VALUES_PER_CALL = 200;
export const ROUTE53_RECORDS_PER_CALL = 300;
/** A paged read that has not ended after this many pages is broken (a token that never ends): it throws. */
const MAX_PAGES = 10_000;

/** Sends one SDK command (the caller paces it). */
export type Send = (command: any) => Promise<any>;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Follow a NextToken-paged Describe to its end. */
async function allPages<O extends { NextToken?: string | undefined }>(send: Send, make: (token: string | undefined) => unknown): Promise<O[]> {
  const pages: O[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  do {
    if (pages.length >= MAX_PAGES) throw new Error(`paged read did not end after ${MAX_PAGES} pages`);
    const page = (await send(make(token))) as O;
    pages.push(page);
    token = page.NextToken || undefined;
    if (token !== undefined) {
      if (seen.has(token)) throw new Error(`paged read returned the same NextToken twice (${token.slice(0, 40)})`);
      seen.add(token);
    }
  } while (token !== undefined);
  return pages;
}

/**
 * Read resources by id, 1,000 a call; a chunk that fails because one of its ids is unknown (`notFoundCode`) is read
 * again by `filterName`, 200 values a call. Returns what exists, keyed by id.
 */
async function byIds<T>(ids: readonly string[], notFoundCode: string, readIds: (ids: string[]) => Promise<T[]>, readFilter: (ids: string[]) => Promise<T[]>, idOf: (t: T) => string | undefined): Promise<Map<string, T>> {
  const found = new Map<string, T>();
  for (const chunk of chunks([...new Set(ids)], EC2_IDS_PER_CALL)) {
    let items: T[];
    try {
      items = await readIds(chunk);
    } catch (error) {
      if (awsError(error).code !== notFoundCode) throw error;
      items = [];
      for (const sub of chunks(chunk, EC2_FILTER_VALUES_PER_CALL)) items.push(...(await readFilter(sub)));
    }
    const wanted = new Set(chunk);
    for (const item of items) {
      const id = idOf(item);
      if (id !== undefined && wanted.has(id)) found.set(id, item);
    }
  }
  return found;
}

/** Route tables by id. */
export function describeRouteTables(send: Send, ids: readonly string[]): Promise<Map<string, RouteTable>> {
  const pagesOf = async (make: (token: string | undefined) => unknown) => (await allPages<DescribeRouteTablesCommandOutput>(send, make)).flatMap((p) => p.RouteTables ?? []);
  return byIds(
    ids,
    'InvalidRouteTableID.NotFound',
    (chunk) => pagesOf((NextToken) => new DescribeRouteTablesCommand({ RouteTableIds: chunk, NextToken })),
    (chunk) => pagesOf((NextToken) => new DescribeRouteTablesCommand({ Filters: [{ Name: 'route-table-id', Values: chunk }], MaxResults: 100, NextToken })),
    (t) => t.RouteTableId,
  );
}

/** Elastic IPs by allocation id (DescribeAddresses does not page). */
export function describeAddresses(send: Send, allocationIds: readonly string[]): Promise<Map<string, Address>> {
  const read = async (input: { AllocationIds?: string[]; Filters?: Filter[] }) => ((await send(new DescribeAddressesCommand(input))) as DescribeAddressesCommandOutput).Addresses ?? [];
  return byIds(
    allocationIds,
    'InvalidAllocationID.NotFound',
    (chunk) => read({ AllocationIds: chunk }),
    (chunk) => read({ Filters: [{ Name: 'allocation-id', Values: chunk }] }),
    (a) => a.AllocationId,
  );
}

/** Network interfaces by id. */
export function describeNetworkInterfaces(send: Send, ids: readonly string[]): Promise<Map<string, NetworkInterface>> {
  const pagesOf = async (make: (token: string | undefined) => unknown) => (await allPages<DescribeNetworkInterfacesCommandOutput>(send, make)).flatMap((p) => p.NetworkInterfaces ?? []);
  return byIds(
    ids,
    'InvalidNetworkInterfaceID.NotFound',
    (chunk) => pagesOf((NextToken) => new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: chunk, NextToken })),
    (chunk) => pagesOf((NextToken) => new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'network-interface-id', Values: chunk }], MaxResults: 1000, NextToken })),
    (n) => n.NetworkInterfaceId,
  );
}

/** Every network interface holding one of `addresses` (primary or secondary private IP), 200 addresses a call. */
export async function describeNetworkInterfacesHolding(send: Send, addresses: readonly string[]): Promise<NetworkInterface[]> {
  const found = new Map<string, NetworkInterface>();
  for (const chunk of chunks([...new Set(addresses)], EC2_FILTER_VALUES_PER_CALL)) {
    const pages = await allPages<DescribeNetworkInterfacesCommandOutput>(send, (NextToken) => new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'addresses.private-ip-address', Values: chunk }], MaxResults: 1000, NextToken }));
    for (const n of pages.flatMap((p) => p.NetworkInterfaces ?? [])) found.set(n.NetworkInterfaceId ?? '', n);
  }
  return [...found.values()];
}

/** Route 53 answers names lower-case, fully qualified, with `\NNN` octal escapes for special characters. */
export function dnsName(name: string): string {
  const plain = name.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))).toLowerCase();
  return plain.endsWith('.') ? plain : `${plain}.`;
}

/** The key a record set is found by in a zone walk: its DNS name and type. */
export const recordKey = (name: string, type: string): string => `${dnsName(name)} ${type}`;

/** A hosted zone id as the SDK sends it: the bare id (`/hostedzone/Z…` → `Z…`). */
export const bareZoneId = (id: string): string => id.replace(/^\/?hostedzone\//, '');

/**
 * Every record set of a hosted zone: one walk, 300 record sets a call, following NextRecordName / NextRecordType /
 * NextRecordIdentifier while IsTruncated. Keyed by {@link recordKey}; sets with a SetIdentifier (routing policies)
 * share a key, and the first one listed is kept (the actuator manages simple records only, and treats those as not its own).
 */
export async function listZone(send: Send, hostedZoneId: string): Promise<Map<string, ResourceRecordSet>> {
  const records = new Map<string, ResourceRecordSet>();
  let start: { StartRecordName?: string; StartRecordType?: ResourceRecordSet['Type']; StartRecordIdentifier?: string } = {};
  let last = '';
  for (let page = 0; ; page++) {
    if (page >= MAX_PAGES) throw new Error(`ListResourceRecordSets of ${hostedZoneId} did not end after ${MAX_PAGES} pages`);
    const out = (await send(new ListResourceRecordSetsCommand({ HostedZoneId: bareZoneId(hostedZoneId), MaxItems: ROUTE53_RECORDS_PER_CALL, ...start }))) as ListResourceRecordSetsCommandOutput;
    for (const set of out.ResourceRecordSets ?? []) {
      const key = recordKey(set.Name ?? '', set.Type ?? '');
      if (!records.has(key)) records.set(key, set);
    }
    if (!out.IsTruncated) return records;
    const next = `${out.NextRecordName}|${out.NextRecordType}|${out.NextRecordIdentifier ?? ''}`;
    if (next === last) throw new Error(`ListResourceRecordSets of ${hostedZoneId} returned the same next record twice (${next})`);
    last = next;
    start = { StartRecordName: out.NextRecordName, StartRecordType: out.NextRecordType, ...(out.NextRecordIdentifier ? { StartRecordIdentifier: out.NextRecordIdentifier } : {}) };
  }
}
