import type { StateView } from './aws-endpoint/index';
import type { EndpointConfig } from '../shared/domain/cluster';

/** Where each configured mechanism of a cluster points, read from the local AWS endpoint's state view. */
export interface EndpointView {
  routes: { table: string; eni: string | null }[];
  elasticIp: { allocationId: string; eni: string | null } | null;
  secondaryIp: { address: string; eni: string | null } | null;
  writer: { name: string; values: string[] } | null;
  reader: { name: string; values: string[] } | null;
}

export function endpointView(state: StateView, endpoints: EndpointConfig): EndpointView {
  const rt = endpoints.routeTables;
  const eip = endpoints.elasticIp;
  const sec = endpoints.secondaryIp;
  const r53 = endpoints.route53;
  const zone = r53 ? state.hostedZones.find((z) => z.id === r53.hostedZoneId.replace(/^\/hostedzone\//, '')) : undefined;
  const record = (name: string | undefined) => (name === undefined ? null : { name, values: [...(zone?.records.find((r) => r.name === name && r.type === 'A')?.values ?? [])].sort() });
  return {
    routes: rt
      ? state.routeTables.filter((t) => rt.routeTableIds.includes(t.routeTableId)).map((t) => ({ table: t.routeTableId, eni: t.routes.find((r) => r.destinationCidrBlock === `${rt.vip}/32`)?.networkInterfaceId ?? null }))
      : [],
    elasticIp: eip ? { allocationId: eip.allocationId, eni: state.addresses.find((a) => a.allocationId === eip.allocationId)?.networkInterfaceId ?? null } : null,
    secondaryIp: sec ? { address: sec.address, eni: state.networkInterfaces.find((n) => n.secondaryPrivateIpAddresses.includes(sec.address))?.networkInterfaceId ?? null } : null,
    writer: r53 ? record(r53.writerRecord) : null,
    reader: r53 ? record(r53.readerRecord) : null,
  };
}

/**
 * True when every configured mechanism points at the node with `eni` / `privateIp`.
 */
export function pointsAt(view: EndpointView, node: { eni: string; privateIp: string | null }): boolean {
  return (
    view.routes.every((r) => r.eni === node.eni) &&
    (view.elasticIp === null || view.elasticIp.eni === node.eni) &&
    (view.secondaryIp === null || view.secondaryIp.eni === node.eni) &&
    (view.writer === null || (view.writer.values.length === 1 && view.writer.values[0] === node.privateIp))
  );
}

/** One line per mechanism, naming nodes by ENI / IP. */
export function describeView(view: EndpointView, nameOf: (eniOrIp: string | null) => string): string[] {
  const lines = view.routes.map((r) => `route ${r.table}: -> ${r.eni ?? 'missing'} (${nameOf(r.eni)})`);
  if (view.elasticIp) lines.push(`elastic IP ${view.elasticIp.allocationId}: -> ${view.elasticIp.eni ?? 'unassociated'} (${nameOf(view.elasticIp.eni)})`);
  if (view.secondaryIp) lines.push(`secondary IP ${view.secondaryIp.address}: on ${view.secondaryIp.eni ?? 'no ENI'} (${nameOf(view.secondaryIp.eni)})`);
  if (view.writer) lines.push(`route53 ${view.writer.name} A ${view.writer.values.join(', ') || '(none)'} (${view.writer.values.map((v) => nameOf(v)).join(', ')})`);
  if (view.reader) lines.push(`route53 ${view.reader.name} A ${view.reader.values.join(', ') || '(none)'} (${view.reader.values.map((v) => nameOf(v)).join(', ') || '-'})`);
  return lines;
}
