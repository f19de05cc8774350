import { z } from 'zod';
import { ConfigError } from '../domain/errors';
import { FENCING_POLICIES, TOOLS, type ClusterConfig, type NodeRecord } from '../domain/cluster';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, "_", "." or "-" (max 63), starting with a letter or digit');
const ipv4 = z.string().regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, 'an IPv4 address like 10.0.255.10');

/** `cluster.yaml`, as an operator writes it (see README, "Cluster config"). */
export const clusterFileSchema = z
  .object({
    cluster: name,
    tool: z.enum(TOOLS, { error: (issue) => `expected one of ${TOOLS.join(', ')} (what calls vipswitch-hook on the nodes), got ${JSON.stringify(issue.input)}` }),
    systemIdentifier: z.string().regex(/^\d{1,20}$/, 'the decimal system identifier from pg_controldata').optional(),
    replayWindowSeconds: z.number().int().min(30).max(3600).default(300),
    fencing: z.enum(FENCING_POLICIES).default('alert'),
    isolationSecurityGroupId: z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'a security group id like sg-0123456789abcdef0').optional(),
    dryRun: z.boolean().default(false),
    nodes: z
      .array(
        z
          .object({
            name,
            repmgrNodeId: z.number().int().min(1).optional(),
            eni: z.string().regex(/^eni-[0-9a-f]{8,17}$/, 'an ENI id like eni-0123456789abcdef0'),
            instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/, 'an instance id like i-0123456789abcdef0').optional(),
            privateIp: ipv4.optional(),
            fenced: z.boolean().default(false),
            keyFile: z.string().min(1, 'path of the file holding the node hook key'),
          })
          .strict(),
      )
      .min(1, 'at least one node'),
    endpoints: z
      .object({
        routeTables: z
          .object({
            vip: ipv4,
            routeTableIds: z.array(z.string().regex(/^rtb-[0-9a-f]{8,17}$/, 'a route table id like rtb-0123456789abcdef0')).min(1),
          })
          .strict()
          .optional(),
        elasticIp: z.object({ allocationId: z.string().regex(/^eipalloc-[0-9a-f]{8,17}$/, 'an allocation id like eipalloc-0123456789abcdef0') }).strict().optional(),
        secondaryIp: z.object({ address: ipv4 }).strict().optional(),
        route53: z
          .object({
            hostedZoneId: z.string().regex(/^(\/hostedzone\/)?Z[A-Z0-9]{1,32}$/, 'a hosted zone id like Z0123456789ABCDEFGHIJ'),
            writerRecord: z.string().regex(/^([a-z0-9-]+\.)+$/i, 'an FQDN with a trailing dot, like writer.db.example.internal.'),
            readerRecord: z.string().regex(/^([a-z0-9-]+\.)+$/i, 'an FQDN with a trailing dot').optional(),
            ttl: z.number().int().min(1).max(86400).default(10),
            waitForInsync: z.boolean().default(false),
            insyncTimeoutSeconds: z.number().int().min(1).max(600).default(60),
          })
          .strict()
          .optional(),
        // A role vipswitch assumes for this endpoint's EC2 and Route 53 calls (a shared VPC's route tables, a central
        // networking account); the deployment must list it (serverless.yml params: assumableRoles).
        assumeRoleArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/, 'an IAM role ARN like arn:aws:iam::111122223333:role/vipswitch-network')
          .optional(),
      })
      .strict(),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.nodes.forEach((node, i) => {
      if (seen.has(node.name)) ctx.addIssue({ code: 'custom', path: ['nodes', i, 'name'], message: `duplicate node name ${node.name}` });
      seen.add(node.name);
      if (file.tool === 'repmgr' && node.repmgrNodeId === undefined) {
        ctx.addIssue({ code: 'custom', path: ['nodes', i, 'repmgrNodeId'], message: 'required for repmgr clusters (the node_id in repmgr.conf, %n)' });
      }
      if (file.tool === 'pgpool' && node.repmgrNodeId !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['nodes', i, 'repmgrNodeId'], message: 'not for pgpool clusters: the nodes are the Pgpool-II watchdog members, and only vipswitch-hook pgpool calls move the endpoint' });
      }
    });
    if (file.tool === 'pgpool') {
      // The endpoint follows the watchdog leader, ordered by leadership tokens: no PostgreSQL identity is checked.
      if (file.systemIdentifier !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['systemIdentifier'], message: 'not for pgpool clusters: the endpoint follows the Pgpool-II watchdog leader, not a PostgreSQL system identifier; remove it' });
      }
      if (file.fencing === 'stop-instance' || file.fencing === 'isolate') {
        ctx.addIssue({ code: 'custom', path: ['fencing'], message: `${file.fencing} is not available for pgpool clusters (an older leadership token is most often a claim delayed in the old leader's spool, not a running split brain); use alert` });
      }
    }
    const ids = file.nodes.map((n) => n.repmgrNodeId).filter((id) => id !== undefined);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: 'custom', path: ['nodes'], message: 'repmgrNodeId values must be unique' });
    if (file.fencing === 'isolate' && file.isolationSecurityGroupId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['isolationSecurityGroupId'], message: 'required with fencing: isolate (the security group a stale node\'s ENI is left with)' });
    }
    if (file.fencing !== 'isolate' && file.isolationSecurityGroupId !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['isolationSecurityGroupId'], message: 'only used with fencing: isolate; remove it or set fencing: isolate' });
    }
    const e = file.endpoints;
    if (!e.routeTables && !e.elasticIp && !e.secondaryIp && !e.route53) {
      ctx.addIssue({ code: 'custom', path: ['endpoints'], message: 'configure at least one endpoint mechanism (routeTables, elasticIp, secondaryIp, route53)' });
    }
    file.nodes.forEach((node, i) => {
      if (e.route53 && node.privateIp === undefined) ctx.addIssue({ code: 'custom', path: ['nodes', i, 'privateIp'], message: 'required when endpoints.route53 is set (the A record value)' });
      if (file.fencing === 'stop-instance' && node.instanceId === undefined) ctx.addIssue({ code: 'custom', path: ['nodes', i, 'instanceId'], message: 'required with fencing: stop-instance' });
    });
  });

export type ClusterFile = z.output<typeof clusterFileSchema>;

export interface ParsedCluster {
  config: ClusterConfig;
  systemIdentifier: string | null;
  nodes: (NodeRecord & { keyFile: string })[];
}

/**
 * Validate a parsed cluster file. @throws ConfigError listing every bad field as `path: message`.
 */
export function parseClusterFile(input: unknown): ParsedCluster {
  const result = clusterFileSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(file)'}: ${i.message}`));
  }
  const file = result.data;
  return {
    config: {
      cluster: file.cluster,
      tool: file.tool,
      endpoints: file.endpoints,
      replayWindowSeconds: file.replayWindowSeconds,
      fencing: file.fencing,
      ...(file.isolationSecurityGroupId === undefined ? {} : { isolationSecurityGroupId: file.isolationSecurityGroupId }),
      dryRun: file.dryRun,
    },
    systemIdentifier: file.systemIdentifier ?? null,
    nodes: file.nodes.map((n) => ({
      cluster: file.cluster,
      name: n.name,
      repmgrNodeId: n.repmgrNodeId ?? null,
      eni: n.eni,
      instanceId: n.instanceId ?? null,
      privateIp: n.privateIp ?? null,
      fenced: n.fenced,
      keyFile: n.keyFile,
    })),
  };
}
