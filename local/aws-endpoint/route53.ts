import { AwsServiceError } from './errors';
import { isIpv4 } from './ip';
import { type AwsWorld, type ChangeRecord, compareRecordSets, type HostedZoneRecord, randomUpperId, type RecordSetRecord, sortRecordSets } from './state';
import { RECORD_TYPES } from './topology';
import { childElement, childElements, childText, parseXml, XmlParseError, xmlList, type XmlElement, type XmlObject } from './xml';

/** Route 53's API version, the first path segment of every call. */
export const ROUTE53_VERSION = '2013-04-01';
/** Namespace of every Route 53 response element. */
export const ROUTE53_XMLNS = `https://route53.amazonaws.com/doc/${ROUTE53_VERSION}/`;

/** Behaviour knobs of the simulated Route 53. */
export interface Route53Options {
  /** Milliseconds the next change stays PENDING before GetChange reports INSYNC (asked once per change). */
  insyncAfterMs: () => number;
}

/** A Route 53 call recognised from its method and path. */
export interface Route53Call {
  action: string;
  zoneId?: string;
  changeId?: string;
}

/** A Route 53 success: the root element name and its children. */
export interface Route53Result {
  root: string;
  body: XmlObject;
}

/** The SDK strips `/hostedzone/` and `/change/`; other clients may not, so both forms are accepted. */
function bareId(segment: string, prefix: 'hostedzone' | 'change'): string {
  const decoded = decodeURIComponent(segment);
  return decoded.replace(new RegExp(`^/?${prefix}/`), '');
}

/** Which action a method + path is (unknown routes are `Unknown`, answered with `InvalidAction`). */
export function identifyRoute53(method: string, path: string): Route53Call {
  const rest = path.slice(`/${ROUTE53_VERSION}`.length).replace(/\/+$/, '');
  const parts = rest.split('/').filter((p) => p !== '');
  if (parts[0] === 'hostedzone') {
    if (parts.length === 1 && method === 'GET') return { action: 'ListHostedZones' };
    const zoneId = parts[1] === undefined ? undefined : bareId(parts[1], 'hostedzone');
    if (parts.length === 2 && method === 'GET') return { action: 'GetHostedZone', zoneId };
    if (parts.length === 3 && parts[2] === 'rrset') {
      if (method === 'POST') return { action: 'ChangeResourceRecordSets', zoneId };
      if (method === 'GET') return { action: 'ListResourceRecordSets', zoneId };
    }
  }
  if (parts[0] === 'change' && parts.length === 2 && method === 'GET') return { action: 'GetChange', changeId: bareId(parts[1] ?? '', 'change') };
  return { action: 'Unknown' };
}

function getZone(world: AwsWorld, id: string | undefined): HostedZoneRecord {
  const zone = id === undefined ? undefined : world.zones.get(id);
  if (zone === undefined) throw new AwsServiceError('NoSuchHostedZone', `No hosted zone found with ID: ${id ?? ''}`, 404);
  return zone;
}

function invalidInput(message: string): AwsServiceError {
  return new AwsServiceError('InvalidInput', message);
}

/** Route 53 stores names lower-case and fully qualified. */
function normaliseName(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

function zoneXml(zone: HostedZoneRecord): XmlObject {
  return {
    Id: `/hostedzone/${zone.id}`,
    Name: zone.name,
    CallerReference: zone.callerReference,
    Config: { Comment: zone.comment, PrivateZone: zone.privateZone },
    ResourceRecordSetCount: zone.records.length,
  };
}

function changeInfoXml(world: AwsWorld, change: ChangeRecord): XmlObject {
  return { Id: `/change/${change.id}`, Status: world.changeStatus(change), SubmittedAt: change.submittedAt, Comment: change.comment };
}

function listHostedZones(world: AwsWorld, query: URLSearchParams): Route53Result {
  const maxItems = Math.min(Number(query.get('maxitems') ?? '100') || 100, 100);
  const zones = [...world.zones.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const marker = query.get('marker');
  const start = marker === null ? 0 : Math.max(0, zones.findIndex((z) => z.id === bareId(marker, 'hostedzone')));
  const page = zones.slice(start, start + maxItems);
  const next = zones[start + maxItems];
  return {
    root: 'ListHostedZonesResponse',
    body: {
      HostedZones: xmlList(
        'HostedZone',
        page.map(zoneXml),
      ),
      Marker: marker ?? undefined,
      IsTruncated: next !== undefined,
      NextMarker: next?.id,
      MaxItems: maxItems,
    },
  };
}

function getHostedZone(world: AwsWorld, call: Route53Call): Route53Result {
  const zone = getZone(world, call.zoneId);
  const ns = zone.records.find((r) => r.name === zone.name && r.type === 'NS')?.values ?? [];
  return {
    root: 'GetHostedZoneResponse',
    body: {
      HostedZone: zoneXml(zone),
      // Private zones answer with their VPCs; public ones with their delegation set.
      DelegationSet: zone.privateZone ? undefined : { NameServers: xmlList('NameServer', ns) },
      VPCs: zone.privateZone
        ? xmlList(
            'VPC',
            zone.vpcIds.map((v) => ({ VPCRegion: world.region, VPCId: v })),
          )
        : undefined,
    },
  };
}

function recordXml(r: RecordSetRecord): XmlObject {
  return {
    Name: r.name,
    Type: r.type,
    TTL: r.ttl,
    ResourceRecords: xmlList(
      'ResourceRecord',
      r.values.map((v) => ({ Value: v })),
    ),
  };
}

function listResourceRecordSets(world: AwsWorld, call: Route53Call, query: URLSearchParams): Route53Result {
  const zone = getZone(world, call.zoneId);
  const maxItems = Math.min(Number(query.get('maxitems') ?? '300') || 300, 300);
  const name = query.get('name');
  const type = query.get('type');
  if (type !== null && name === null) throw invalidInput('The input is not valid: a type needs a name to start from');
  if (type !== null && !RECORD_TYPES.has(type)) throw invalidInput(`The input is not valid: unknown record type ${type}`);
  let start = 0;
  if (name !== null) {
    const from = { name: normaliseName(name), type: type ?? '' };
    start = zone.records.findIndex((r) => compareRecordSets(r, from) >= 0);
    if (start === -1) start = zone.records.length;
  }
  const page = zone.records.slice(start, start + maxItems);
  const next = zone.records[start + maxItems];
  return {
    root: 'ListResourceRecordSetsResponse',
    body: {
      ResourceRecordSets: xmlList('ResourceRecordSet', page.map(recordXml)),
      IsTruncated: next !== undefined,
      NextRecordName: next?.name,
      NextRecordType: next?.type,
      MaxItems: maxItems,
    },
  };
}

interface ParsedChange {
  action: 'CREATE' | 'UPSERT' | 'DELETE';
  record: RecordSetRecord;
}

const UNSUPPORTED_RRSET_MEMBERS = [
  'AliasTarget',
  'SetIdentifier',
  'Weight',
  'Region',
  'GeoLocation',
  'Failover',
  'MultiValueAnswer',
  'HealthCheckId',
  'TrafficPolicyInstanceId',
  'CidrRoutingConfig',
  'GeoProximityLocation',
];

function parseChangeBatch(body: string): { comment: string | undefined; changes: ParsedChange[] } {
  let root: XmlElement;
  try {
    root = parseXml(body);
  } catch (err) {
    if (err instanceof XmlParseError) throw invalidInput(`Could not parse the request body: ${err.message}`);
    throw err;
  }
  if (root.name !== 'ChangeResourceRecordSetsRequest') throw invalidInput(`Unexpected root element ${root.name}`);
  const batch = childElement(root, 'ChangeBatch');
  if (batch === undefined) throw invalidInput('1 validation error detected: Value null at \'changeBatch\' failed to satisfy constraint: Member must not be null');
  const changeElements = childElements(childElement(batch, 'Changes'), 'Change');
  if (changeElements.length === 0) {
    throw invalidInput("1 validation error detected: Value '[]' at 'changeBatch.changes' failed to satisfy constraint: Member must have length greater than or equal to 1");
  }
  const changes = changeElements.map((el): ParsedChange => {
    const action = childText(el, 'Action') ?? '';
    if (action !== 'CREATE' && action !== 'UPSERT' && action !== 'DELETE') {
      throw invalidInput(`1 validation error detected: Value '${action}' at 'changeBatch.changes.1.member.action' failed to satisfy constraint: Member must satisfy enum value set: [CREATE, DELETE, UPSERT]`);
    }
    const rrset = childElement(el, 'ResourceRecordSet');
    const rawName = childText(rrset, 'Name');
    const type = childText(rrset, 'Type');
    if (rrset === undefined || rawName === undefined || rawName === '' || type === undefined) {
      throw invalidInput('Invalid request: a change needs a ResourceRecordSet with Name and Type');
    }
    const name = normaliseName(rawName);
    for (const member of UNSUPPORTED_RRSET_MEMBERS) {
      if (childElement(rrset, member) !== undefined) throw invalidInput(`${member} is not supported by the local AWS endpoint (simple records only)`);
    }
    if (!RECORD_TYPES.has(type)) throw invalidInput(`Invalid request: unknown record type ${type}`);
    const ttlText = childText(rrset, 'TTL');
    const values = childElements(childElement(rrset, 'ResourceRecords'), 'ResourceRecord').map((rr) => childText(rr, 'Value') ?? '');
    if (ttlText === undefined || values.length === 0) {
      throw invalidInput(
        `Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=${action}, Name=${name}, Type=${type}, SetIdentifier=null]`,
      );
    }
    if (!/^\d+$/.test(ttlText)) throw invalidInput(`Invalid request: TTL ${ttlText} is not a non-negative integer`);
    return { action, record: { name, type, ttl: Number(ttlText), values } };
  });
  return { comment: childText(batch, 'Comment'), changes };
}

function describe(r: { name: string; type: string }): string {
  return `[name='${r.name}', type='${r.type}']`;
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((v, i) => v === sb[i]);
}

/** Apply a batch to a copy of the zone's records; every problem is collected, as Route 53 lists them all. */
function applyBatch(zone: HostedZoneRecord, changes: readonly ParsedChange[]): { records: RecordSetRecord[]; messages: string[] } {
  const records = zone.records.map((r) => ({ ...r, values: [...r.values] }));
  const messages: string[] = [];
  for (const { action, record } of changes) {
    if (record.name !== zone.name && !record.name.endsWith(`.${zone.name}`)) {
      messages.push(`RRSet with DNS name ${record.name} is not permitted in zone ${zone.name}`);
      continue;
    }
    if (record.type === 'A') {
      const bad = record.values.find((v) => !isIpv4(v));
      if (bad !== undefined) {
        messages.push(`[Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '${bad}'']`);
        continue;
      }
    }
    if (record.type === 'CNAME' && record.values.length > 1) {
      messages.push(`RRSet of type CNAME with DNS name ${record.name} has more than one value`);
      continue;
    }
    const index = records.findIndex((r) => r.name === record.name && r.type === record.type);
    const existing = records[index];
    if (action === 'DELETE') {
      if (existing === undefined) messages.push(`Tried to delete resource record set ${describe(record)} but it was not found`);
      else if (existing.ttl !== record.ttl || !sameValues(existing.values, record.values)) {
        messages.push(`Tried to delete resource record set ${describe(record)} but the values provided do not match the current values`);
      } else if (record.name === zone.name && (record.type === 'SOA' || record.type === 'NS')) {
        messages.push(record.type === 'SOA' ? 'A HostedZone must contain exactly one SOA record.' : 'A HostedZone must contain at least one NS record for the zone itself.');
      } else records.splice(index, 1);
      continue;
    }
    if (action === 'CREATE' && existing !== undefined) {
      messages.push(`Tried to create resource record set ${describe(record)} but it already exists`);
      continue;
    }
    // A CNAME cannot share its name with any other record (DNS forbids it; Route 53 refuses it).
    const clash = records.find((r) => r.name === record.name && r.type !== record.type && (r.type === 'CNAME' || record.type === 'CNAME'));
    if (clash !== undefined) {
      messages.push(`RRSet of type ${record.type} with DNS name ${record.name} is not permitted as it conflicts with other records with the same DNS name in zone ${zone.name}`);
      continue;
    }
    if (existing !== undefined) records[index] = { ...record };
    else records.push({ ...record });
  }
  return { records: sortRecordSets(records), messages };
}

function changeResourceRecordSets(world: AwsWorld, call: Route53Call, body: string, options: Route53Options): Route53Result {
  const zone = getZone(world, call.zoneId);
  const { comment, changes } = parseChangeBatch(body);
  const { records, messages } = applyBatch(zone, changes);
  if (messages.length > 0) {
    // Sent in the standard <ErrorResponse> form so SDK v3 builds its modelled InvalidChangeBatch; the
    // `messages` member (the model's name for the list) rides inside <Error> where the SDK reads it.
    throw new AwsServiceError('InvalidChangeBatch', messages.length === 1 ? (messages[0] ?? '') : `[${messages.join(', ')}]`, 400, {
      messages: xmlList('Message', messages),
    });
  }
  zone.records = records;
  const now = world.clock();
  const change: ChangeRecord = {
    id: `C${randomUpperId(13)}`,
    zoneId: zone.id,
    submittedAt: new Date(now),
    insyncAt: now + options.insyncAfterMs(),
    comment,
    changes: changes.map((c) => ({ action: c.action, name: c.record.name, type: c.record.type, values: [...c.record.values] })),
  };
  world.changes.set(change.id, change);
  return { root: 'ChangeResourceRecordSetsResponse', body: { ChangeInfo: changeInfoXml(world, change) } };
}

function getChange(world: AwsWorld, call: Route53Call): Route53Result {
  const change = call.changeId === undefined ? undefined : world.changes.get(call.changeId);
  if (change === undefined) throw new AwsServiceError('NoSuchChange', `A change with the specified change ID does not exist: ${call.changeId ?? ''}`, 404);
  return { root: 'GetChangeResponse', body: { ChangeInfo: changeInfoXml(world, change) } };
}

/** Run one Route 53 call. */
export function handleRoute53(world: AwsWorld, call: Route53Call, query: URLSearchParams, body: string, options: Route53Options): Route53Result {
  switch (call.action) {
    case 'ListHostedZones':
      return listHostedZones(world, query);
    case 'GetHostedZone':
      return getHostedZone(world, call);
    case 'ListResourceRecordSets':
      return listResourceRecordSets(world, call, query);
    case 'ChangeResourceRecordSets':
      return changeResourceRecordSets(world, call, body, options);
    case 'GetChange':
      return getChange(world, call);
    default:
      throw new AwsServiceError('InvalidAction', 'The requested action is not supported by the local Route 53 endpoint');
  }
}

/** A short human summary of a change batch for the call log (`UPSERT writer.db.example.internal. A`). */
export function summariseChangeBatch(body: string): string {
  try {
    const { changes } = parseChangeBatch(body);
    return changes.map((c) => `${c.action} ${c.record.name} ${c.record.type} ${c.record.values.join(',')}`).join('; ');
  } catch {
    return body.length > 200 ? `${body.slice(0, 200)}…` : body;
  }
}
