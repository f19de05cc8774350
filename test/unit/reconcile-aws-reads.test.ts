import { DescribeAddressesCommand, DescribeNetworkInterfacesCommand, DescribeRouteTablesCommand } from '@aws-sdk/client-ec2';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { describeAddresses, describeNetworkInterfaces, describeNetworkInterfacesHolding, describeRouteTables, listZone, recordKey } from '../../shared/adapters/reconcile-aws-reads';

/** An EC2 error as SDK v3 throws it (EC2 has no modelled errors: `name` is the code). */
const ec2Error = (code: string) => Object.assign(new Error(code), { name: code, $metadata: { httpStatusCode: 400 } });

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(17, '0')}`);

/** A fake EC2 holding route tables `existing`: ids over 1000 a call or filter values over 200 fail as EC2 does. */
function fakeEc2(existing: string[], pageSize = 100) {
  const sent: Array<{ type: string; input: any }> = [];
  const tables = new Set(existing);
  const send = async (command: any) => {
    sent.push({ type: command.constructor.name, input: command.input });
    if (command instanceof DescribeRouteTablesCommand) {
      const { RouteTableIds = [], Filters = [], NextToken, MaxResults } = command.input;
      if (RouteTableIds.length > 1000) throw ec2Error('InvalidParameterValue');
      if (Filters.flatMap((f) => f.Values ?? []).length > 200) throw ec2Error('FilterLimitExceeded');
      if (RouteTableIds.length > 0) {
        if (RouteTableIds.some((id) => !tables.has(id))) throw ec2Error('InvalidRouteTableID.NotFound');
        return { RouteTables: RouteTableIds.map((RouteTableId) => ({ RouteTableId })) };
      }
      const wanted = (Filters[0]?.Values ?? []).filter((id) => tables.has(id));
      const start = Number(NextToken ?? 0);
      const size = Math.min(MaxResults ?? 1000, pageSize);
      const page = wanted.slice(start, start + size);
      return { RouteTables: page.map((RouteTableId) => ({ RouteTableId })), NextToken: start + size < wanted.length ? String(start + size) : undefined };
    }
    throw new Error(`unexpected ${command.constructor.name}`);
  };
  return { send, sent };
}

describe('batched fleet reads', () => {
  it('reads route tables by id, 1,000 a call', async () => {
    const all = ids('rtb', 2500);
    const ec2 = fakeEc2(all);

    const found = await describeRouteTables(ec2.send, [...all, ...all.slice(0, 10)]);

    expect(found.size).toBe(2500);
    expect(ec2.sent.map((c) => c.input.RouteTableIds.length)).toEqual([1000, 1000, 500]);
  });

  it('reads a chunk naming a missing table again by filter, 200 values a call, following every page', async () => {
    const all = ids('rtb', 450);
    const ec2 = fakeEc2(all.filter((_, i) => i !== 123), 100);

    const found = await describeRouteTables(ec2.send, all);

    expect(found.size).toBe(449);
    expect(found.has(all[123]!)).toBe(false);
    const byFilter = ec2.sent.slice(1);
    expect(byFilter.every((c) => c.input.Filters[0].Name === 'route-table-id' && c.input.MaxResults === 100)).toBe(true);
    // 450 ids: filters of 200, 200, 50 values; 199, 200, 50 tables found, 100 a page.
    expect(byFilter.map((c) => [c.input.Filters[0].Values.length, c.input.NextToken ?? null])).toEqual([
      [200, null],
      [200, '100'],
      [200, null],
      [200, '100'],
      [50, null],
    ]);
  });

  it('gives up on a page token that comes back twice instead of looping', async () => {
    const send = async () => ({ RouteTables: [], NextToken: 'again' });
    const failing = async (command: any) => {
      if (command.input.RouteTableIds) throw ec2Error('InvalidRouteTableID.NotFound');
      return send();
    };

    await expect(describeRouteTables(failing, ['rtb-1'])).rejects.toThrow(/same NextToken twice/);
  });

  it('passes other errors through (the sweep then leaves the account unobserved)', async () => {
    const send = async () => {
      throw ec2Error('RequestLimitExceeded');
    };

    await expect(describeRouteTables(send, ['rtb-1'])).rejects.toMatchObject({ name: 'RequestLimitExceeded' });
  });

  it('reads Elastic IPs by allocation id (no paging in that API), and by filter when one is missing', async () => {
    const sent: any[] = [];
    const send = async (command: any) => {
      sent.push(command.input);
      expect(command).toBeInstanceOf(DescribeAddressesCommand);
      if (command.input.AllocationIds?.includes('eipalloc-gone')) throw ec2Error('InvalidAllocationID.NotFound');
      const asked: string[] = command.input.AllocationIds ?? command.input.Filters[0].Values;
      return { Addresses: asked.filter((a) => a !== 'eipalloc-gone').map((AllocationId) => ({ AllocationId })) };
    };

    const found = await describeAddresses(send, ['eipalloc-1', 'eipalloc-gone', 'eipalloc-2']);

    expect([...found.keys()].sort()).toEqual(['eipalloc-1', 'eipalloc-2']);
    expect(sent).toEqual([{ AllocationIds: ['eipalloc-1', 'eipalloc-gone', 'eipalloc-2'] }, { Filters: [{ Name: 'allocation-id', Values: ['eipalloc-1', 'eipalloc-gone', 'eipalloc-2'] }] }]);
  });

  it('reads network interfaces by id, and who holds addresses by filter (200 a call, paged)', async () => {
    const sent: any[] = [];
    const send = async (command: any) => {
      sent.push(command.input);
      expect(command).toBeInstanceOf(DescribeNetworkInterfacesCommand);
      if (command.input.NetworkInterfaceIds) return { NetworkInterfaces: command.input.NetworkInterfaceIds.map((NetworkInterfaceId: string) => ({ NetworkInterfaceId })) };
      const token = command.input.NextToken;
      return token ? { NetworkInterfaces: [{ NetworkInterfaceId: 'eni-b' }] } : { NetworkInterfaces: [{ NetworkInterfaceId: 'eni-a' }], NextToken: 'p2' };
    };

    const enis = await describeNetworkInterfaces(send, ['eni-1', 'eni-2']);
    const holders = await describeNetworkInterfacesHolding(send, Array.from({ length: 250 }, (_, i) => `10.0.${i >> 8}.${i & 255}`));

    expect([...enis.keys()]).toEqual(['eni-1', 'eni-2']);
    expect(holders.map((n) => n.NetworkInterfaceId)).toEqual(['eni-a', 'eni-b']);
    expect(sent.slice(1).map((i) => [i.Filters[0].Name, i.Filters[0].Values.length, i.MaxResults, i.NextToken ?? null])).toEqual([
      ['addresses.private-ip-address', 200, 1000, null],
      ['addresses.private-ip-address', 200, 1000, 'p2'],
      ['addresses.private-ip-address', 50, 1000, null],
      ['addresses.private-ip-address', 50, 1000, 'p2'],
    ]);
  });

  it('walks a hosted zone 300 record sets a call, from each NextRecordName / NextRecordType', async () => {
    const records = Array.from({ length: 650 }, (_, i) => ({ Name: `c${String(i).padStart(4, '0')}.fleet.internal.`, Type: 'A' as const, TTL: 10, ResourceRecords: [{ Value: '10.0.0.1' }] }));
    const sent: any[] = [];
    const send = async (command: any) => {
      expect(command).toBeInstanceOf(ListResourceRecordSetsCommand);
      sent.push(command.input);
      const start = command.input.StartRecordName ? records.findIndex((r) => r.Name === command.input.StartRecordName) : 0;
      const page = records.slice(start, start + command.input.MaxItems);
      const next = records[start + command.input.MaxItems];
      return { ResourceRecordSets: page, IsTruncated: next !== undefined, NextRecordName: next?.Name, NextRecordType: next?.Type, MaxItems: command.input.MaxItems };
    };

    const zone = await listZone(send, '/hostedzone/Z0F1EE7');

    expect(zone.size).toBe(650);
    expect(zone.get(recordKey('C0649.FLEET.INTERNAL', 'A'))?.Name).toBe('c0649.fleet.internal.');
    expect(sent.map((i) => [i.HostedZoneId, i.MaxItems, i.StartRecordName ?? null])).toEqual([
      ['Z0F1EE7', 300, null],
      ['Z0F1EE7', 300, 'c0300.fleet.internal.'],
      ['Z0F1EE7', 300, 'c0600.fleet.internal.'],
    ]);
  });
});
