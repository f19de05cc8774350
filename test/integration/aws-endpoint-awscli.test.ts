/**
 * A second, independent client against the local AWS endpoint: Debian's awscli (botocore's own parsers).
 * If both it and SDK v3 accept the answers, they are shaped like AWS's rather than like one client's quirks.
 */
import type { AwsEndpoint } from '../../local/aws-endpoint/index';
import { awsCli, TOPIC, useLocalAws, VIP, ZONE } from '../support/aws-endpoint';

const RTB = 'rtb-0a1b2c3d4e5f60001';

let endpoint: AwsEndpoint;

useLocalAws({ route53InsyncAfterMs: 0 }, (aws) => ({ endpoint } = aws));

/** Run awscli against this file's endpoint (see {@link awsCli}). */
function aws(...args: string[]): ReturnType<typeof awsCli> {
  return awsCli(endpoint.url, ...args);
}

describe('awscli against the local endpoint', () => {
  it('ec2 describe-route-tables parses routes and associations', async () => {
    const out = await aws('ec2', 'describe-route-tables', '--route-table-ids', RTB, '--filters', 'Name=vpc-id,Values=vpc-0a1b2c3d4e5f60000');
    const parsed = JSON.parse(out.stdout) as { RouteTables: Array<{ RouteTableId: string; Routes: Array<Record<string, string>>; Associations: Array<{ Main: boolean }> }> };

    expect(out.code).toBe(0);
    expect(parsed.RouteTables.map((t) => t.RouteTableId)).toEqual([RTB]);
    expect(parsed.RouteTables[0]?.Routes.find((r) => r.DestinationCidrBlock === VIP)).toEqual(
      expect.objectContaining({ NetworkInterfaceId: 'eni-0a1b2c3d4e5f60001', State: 'active' }),
    );
    expect(parsed.RouteTables[0]?.Associations[0]?.Main).toBe(true);
  });

  it('ec2 replace-route succeeds and the state view shows the new target', async () => {
    const out = await aws('ec2', 'replace-route', '--route-table-id', RTB, '--destination-cidr-block', VIP, '--network-interface-id', 'eni-0a1b2c3d4e5f60003');

    expect(out.code).toBe(0);
    expect(endpoint.state().routeTables[0]?.routes.find((r) => r.destinationCidrBlock === VIP)?.networkInterfaceId).toBe('eni-0a1b2c3d4e5f60003');
    expect(endpoint.calls().at(-1)).toEqual(expect.objectContaining({ service: 'ec2', action: 'ReplaceRoute', status: 200 }));
  });

  it('an EC2 error exits non-zero with the code named on stderr', async () => {
    const out = await aws('ec2', 'replace-route', '--route-table-id', RTB, '--destination-cidr-block', '10.9.9.9/32', '--network-interface-id', 'eni-0a1b2c3d4e5f60003');

    expect(out.code).toBe(254);
    expect(out.stderr).toContain('An error occurred (InvalidRoute.NotFound) when calling the ReplaceRoute operation');
  });

  it('route53 change-resource-record-sets (trailing-slash path) then list-resource-record-sets shows the change', async () => {
    const batch = JSON.stringify({
      Comment: 'awscli',
      Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: 'writer.db.example.internal', Type: 'A', TTL: 30, ResourceRecords: [{ Value: '10.0.1.12' }] } }],
    });
    const change = await aws('route53', 'change-resource-record-sets', '--hosted-zone-id', ZONE, '--change-batch', batch);
    const list = await aws('route53', 'list-resource-record-sets', '--hosted-zone-id', ZONE);
    const changeInfo = (JSON.parse(change.stdout) as { ChangeInfo: { Id: string; Status: string; SubmittedAt: string } }).ChangeInfo;
    const records = (JSON.parse(list.stdout) as { ResourceRecordSets: Array<{ Name: string; Type: string; ResourceRecords: Array<{ Value: string }> }> }).ResourceRecordSets;

    expect(change.code).toBe(0);
    expect(changeInfo.Id).toMatch(/^\/change\/C/);
    expect(['PENDING', 'INSYNC']).toContain(changeInfo.Status);
    expect(Number.isNaN(Date.parse(changeInfo.SubmittedAt))).toBe(false);
    expect(records.find((r) => r.Name === 'writer.db.example.internal.' && r.Type === 'A')?.ResourceRecords).toEqual([{ Value: '10.0.1.12' }]);
    expect(endpoint.calls().find((c) => c.action === 'ChangeResourceRecordSets')?.params.path).toBe(`/2013-04-01/hostedzone/${ZONE}/rrset/`);
  });

  it('a Route 53 InvalidChangeBatch is named on stderr', async () => {
    const batch = JSON.stringify({
      Changes: [{ Action: 'CREATE', ResourceRecordSet: { Name: 'writer.db.example.internal.', Type: 'A', TTL: 30, ResourceRecords: [{ Value: '10.0.1.12' }] } }],
    });
    const out = await aws('route53', 'change-resource-record-sets', '--hosted-zone-id', ZONE, '--change-batch', batch);

    expect(out.code).toBe(254);
    expect(out.stderr).toContain('An error occurred (InvalidChangeBatch) when calling the ChangeResourceRecordSets operation: Tried to create resource record set');
  });

  it('sns publish returns a MessageId and the message is kept', async () => {
    const out = await aws('sns', 'publish', '--topic-arn', TOPIC, '--subject', 'failover', '--message', 'node3 promoted', '--message-attributes', '{"cluster":{"DataType":"String","StringValue":"pg1"}}');
    const messageId = (JSON.parse(out.stdout) as { MessageId: string }).MessageId;

    expect(out.code).toBe(0);
    expect(endpoint.state().topics[0]?.published).toEqual([
      expect.objectContaining({ messageId, subject: 'failover', message: 'node3 promoted', messageAttributes: { cluster: { Type: 'String', Value: 'pg1' } } }),
    ]);
  });
});
