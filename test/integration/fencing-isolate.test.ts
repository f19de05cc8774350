/**
 * Fencing without a reboot, end to end on the local stack: under `fencing: isolate` a stale claim's node gets its ENI
 * security groups swapped for the cluster's isolating group, the originals kept in tags on the ENI (the local AWS
 * endpoint models ModifyNetworkInterfaceAttribute `Groups`, CreateTags / DescribeTags / DeleteTags); `vipswitch
 * unfence` (the built CLI) puts them back; the current primary is never isolated. Every step journaled and paged.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { applyClusterFile } from '../../local/apply';
import type { LocalStack } from '../../local/stack';
import { waitFor } from '../../local/wait-for';
import { exampleTopology, primaryFacts, registerCluster, repmgrArgs, ROOT, routesOn, runHook, settled, startTestStack, type TestCluster } from '../support/local';

const run = promisify(execFile);
const CLI = join(ROOT, 'bin/vipswitch.mjs');
const VPC = 'vpc-0a1b2c3d4e5f60000';
const SG_DB = 'sg-0a1b2c3d4e5f600db';
const SG_SSH = 'sg-0a1b2c3d4e5f60055';
const SG_ISOLATE = 'sg-0a1b2c3d4e5f600ff';

describe('fencing policy isolate (local stack, real hook, built CLI)', () => {
  let stack: LocalStack;
  let cluster: TestCluster;

  const eni = (id: string) => stack.aws.state().networkInterfaces.find((n) => n.networkInterfaceId === id)!;
  const modifyCalls = (id: string) => stack.aws.calls().filter((c) => c.action === 'ModifyNetworkInterfaceAttribute' && c.params.NetworkInterfaceId === id);
  const pages = (type: string) => stack.aws.state().topics.flatMap((t) => t.published).filter((m) => m.message.includes(cluster.name) && m.message.includes(`"type":"${type}"`));
  const journal = async () => stack.store.readJournal(cluster.name, 100);

  beforeAll(async () => {
    await run(process.execPath, [join(ROOT, 'scripts/build-cli.mjs')]);
    stack = await startTestStack();
    // The example account, with security groups: every node's ENI in sg-db and sg-ssh; an isolating group beside them.
    const topology = await exampleTopology();
    topology.securityGroups = [
      { groupId: SG_DB, vpcId: VPC, groupName: 'db' },
      { groupId: SG_SSH, vpcId: VPC, groupName: 'ssh' },
      { groupId: SG_ISOLATE, vpcId: VPC, groupName: 'vipswitch-isolated' },
    ];
    for (const n of topology.networkInterfaces) n.securityGroupIds = [SG_DB, SG_SSH];
    stack.aws.reset(topology);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  beforeEach(async () => {
    cluster = await registerCluster(stack);
    // The same cluster file, with the isolate policy.
    const file = join(cluster.dir, 'cluster.yaml');
    const config = parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, stringify({ ...config, fencing: 'isolate', isolationSecurityGroupId: SG_ISOLATE }));
    await applyClusterFile(stack.store, file);
    // node1 primary on timeline 1, then node2 promoted on timeline 2 (node1 is now the old primary).
    const { node1, node2 } = cluster.nodes;
    await runHook(node1!, repmgrArgs(node1!, 'repmgrd_start'), primaryFacts(1));
    await runHook(node2!, repmgrArgs(node2!, 'standby_promote'), primaryFacts(2));
    await routesOn(stack, cluster, node2!.eni);
    await settled(stack, cluster);
  });

  afterEach(async () => {
    await cluster.cleanup();
  });

  it('a stale claim isolates the old primary (groups swapped, originals in its tags), unfence restores them; the primary is never touched', async () => {
    const { node1, node2 } = cluster.nodes;

    // Act 1: the old primary restarted without a rejoin claims timeline 1 again
    await runHook(node1!, repmgrArgs(node1!, 'repmgrd_start', 'monitoring cluster primary "node1" (ID: 1)'), primaryFacts(1));

    // Assert 1: isolated after the answer, recorded, journaled, paged
    await waitFor('node1 isolated', 15_000, () => eni(node1!.eni).groups.join() === SG_ISOLATE, 20);
    expect(eni(node1!.eni).tags).toMatchObject({ 'vipswitch:original-groups': `${SG_DB},${SG_SSH}`, 'vipswitch:isolated': expect.stringContaining(`${cluster.name}/node1 stale claim`) });
    await waitFor('the stale claim page', 15_000, () => pages('stale_claim').length > 0, 20);
    expect(pages('stale_claim')[0]!.message).toContain(`isolated (security groups ${SG_DB}, ${SG_SSH} swapped for ${SG_ISOLATE}`);
    expect((await journal()).find((j) => j.type === 'isolate_eni')).toMatchObject({ node: 'node1', outcome: 'fencing_action', details: { policy: 'isolate', result: 'isolated', eni: node1!.eni, originalGroups: [SG_DB, SG_SSH], groups: [SG_ISOLATE] } });
    // The primary and its routes untouched
    expect(eni(node2!.eni).groups).toEqual([SG_DB, SG_SSH]);
    expect(modifyCalls(node2!.eni)).toEqual([]);
    await routesOn(stack, cluster, node2!.eni);

    // Act 2: a repeated stale claim (the hook's retry, a second event) keeps the record of the real originals
    await runHook(node1!, repmgrArgs(node1!, 'repmgrd_start'), primaryFacts(1));
    await waitFor('the second fencing action', 15_000, async () => (await journal()).filter((j) => j.type === 'isolate_eni').length === 2, 20);
    expect(eni(node1!.eni).tags['vipswitch:original-groups']).toBe(`${SG_DB},${SG_SSH}`);
    expect((await journal()).filter((j) => j.type === 'isolate_eni').map((j) => (j.details as { result: string }).result).sort()).toEqual(['already_isolated', 'isolated']);

    // Act 3: after node1's rejoin, the operator unfences it with the built CLI
    const unfenced = await run(process.execPath, [CLI, 'unfence', cluster.name, 'node1', '--reason', 'rejoined as a standby of node2', '--json'], { env: { ...process.env, ...stack.env, VIPSWITCH_STAGE: 'local' } });

    // Assert 3: the groups are back, the record gone, journaled and paged
    expect(JSON.parse(unfenced.stdout)).toMatchObject({ ok: true, cluster: cluster.name, node: 'node1', eni: node1!.eni, result: 'restored', from: [SG_ISOLATE], groups: [SG_DB, SG_SSH] });
    expect(eni(node1!.eni).groups).toEqual([SG_DB, SG_SSH]);
    expect(Object.keys(eni(node1!.eni).tags).filter((k) => k.startsWith('vipswitch:') && k !== 'vipswitch:cluster')).toEqual([]);
    expect((await journal()).find((j) => j.type === 'unisolate_eni')).toMatchObject({ node: 'node1', outcome: 'fencing_action', details: { result: 'restored', groups: [SG_DB, SG_SSH] } });
    await waitFor('the unfence page', 15_000, () => pages('unfenced').length > 0, 20);
    expect(eni(node2!.eni).groups).toEqual([SG_DB, SG_SSH]);
    expect(modifyCalls(node2!.eni)).toEqual([]);
  }, 90_000);

  it('the current primary is never isolated, even on its own stale claim (an older timeline from the holder)', async () => {
    const { node2 } = cluster.nodes;

    // Act: node2, the primary on timeline 2, reports timeline 1
    await runHook(node2!, repmgrArgs(node2!, 'repmgrd_start'), primaryFacts(1));

    // Assert: journaled and paged as a stale claim, the fencing skipped; no call on its ENI
    await waitFor('the stale claim page', 15_000, () => pages('stale_claim').length > 0, 20);
    const claim = (await journal()).find((j) => j.outcome === 'stale_claim');
    expect(claim).toMatchObject({ node: 'node2', details: { fencing: { policy: 'isolate', result: 'skipped', why: 'node is the current primary' } } });
    expect(claim?.fence).toBeUndefined();
    await stack.trigger.idle();
    expect(eni(node2!.eni).groups).toEqual([SG_DB, SG_SSH]);
    expect(modifyCalls(node2!.eni)).toEqual([]);
  }, 60_000);
});
