import { CreateTagsCommand, DeleteTagsCommand, DescribeNetworkInterfacesCommand, DescribeTagsCommand, ModifyNetworkInterfaceAttributeCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { IsolateOutcome, IsolationFailure, NetworkIsolator, RestoreOutcome } from '../ports/network-isolator';
import { awsError } from './ec2-route-actuator';
import { DEFAULT_READ_BACK, readBack, type ReadBackOptions } from './read-back';

/** The ENI tag holding its original security groups (comma-separated); `:2`, `:3`... when over one tag value. */
export const ORIGINAL_GROUPS_TAG = 'vipswitch:original-groups';
/** The ENI tag saying when and why it was isolated (for humans and `vipswitch unfence`). */
export const ISOLATED_TAG = 'vipswitch:isolated';
/** EC2 tag values hold at most 256 characters. */
const TAG_VALUE_MAX = 256;

/** The original groups as tags: one value per 256 characters, split between group ids. */
export function groupTags(groups: readonly string[]): { Key: string; Value: string }[] {
  const chunks: string[] = [];
  for (const group of groups) {
    const last = chunks.length - 1;
    if (last >= 0 && chunks[last]!.length + 1 + group.length <= TAG_VALUE_MAX) chunks[last] += `,${group}`;
    else chunks.push(group);
  }
  return chunks.map((value, i) => ({ Key: i === 0 ? ORIGINAL_GROUPS_TAG : `${ORIGINAL_GROUPS_TAG}:${i + 1}`, Value: value }));
}

/** Read the original groups back from an ENI's tags; null when there is no record. */
export function groupsFromTags(tags: readonly { Key?: string; Value?: string }[]): string[] | null {
  const parts = tags
    .filter((t) => t.Key === ORIGINAL_GROUPS_TAG || t.Key?.startsWith(`${ORIGINAL_GROUPS_TAG}:`))
    .map((t) => ({ index: t.Key === ORIGINAL_GROUPS_TAG ? 1 : Number(t.Key!.slice(ORIGINAL_GROUPS_TAG.length + 1)), value: t.Value ?? '' }))
    .sort((a, b) => a.index - b.index);
  if (parts.length === 0) return null;
  return parts.flatMap((p) => p.value.split(',')).filter((g) => g !== '');
}

const sameGroups = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().every((g, i) => g === [...b].sort()[i]);

/**
 * {@link NetworkIsolator} on EC2: DescribeNetworkInterfaces, CreateTags / DescribeTags / DeleteTags on the ENI, and
 * ModifyNetworkInterfaceAttribute with `Groups`. Each step reads what is, compares with what should be, and acts on the
 * difference, so a run cut short is completed by the next. Verifications re-read for a bounded time (Describe calls lag
 * a change: shared/adapters/read-back.ts).
 */
export class Ec2EniIsolator implements NetworkIsolator {
  readonly #ec2: EC2Client;
  readonly #readBack: ReadBackOptions;

  constructor(options: { client: EC2Client; readBack?: ReadBackOptions }) {
    this.#ec2 = options.client;
    this.#readBack = options.readBack ?? DEFAULT_READ_BACK;
  }

  async isolate(eni: string, isolationGroupId: string, note: string): Promise<IsolateOutcome> {
    const read = await this.#read(eni);
    if (!read.ok) return read;
    const recorded = await this.#recordedGroups(eni);
    if (!recorded.ok) return recorded;
    const isolated = sameGroups(read.groups, [isolationGroupId]);
    if (isolated) return { ok: true, result: 'already_isolated', originalGroups: recorded.groups, groups: read.groups };
    // Keep a record already there (an isolation cut short after its backup): it holds the real originals.
    let originalGroups = recorded.groups;
    if (originalGroups === null) {
      originalGroups = read.groups;
      try {
        await this.#ec2.send(new CreateTagsCommand({ Resources: [eni], Tags: [...groupTags(originalGroups), { Key: ISOLATED_TAG, Value: note.slice(0, TAG_VALUE_MAX) }] }));
      } catch (error) {
        return fail('backup', error);
      }
      // Never swap on an unverified record: the original groups would be lost.
      const wanted = originalGroups;
      const check = await this.#until(() => this.#recordedGroups(eni), (seen) => seen.ok && seen.groups !== null && sameGroups(seen.groups, wanted));
      if (!check.ok) return { ...check, step: 'verify_backup' };
      if (check.groups === null || !sameGroups(check.groups, originalGroups)) {
        return { ok: false, step: 'verify_backup', error: { code: 'BackupMismatch', message: `the tags on ${eni} read back ${JSON.stringify(check.groups)}, not ${JSON.stringify(originalGroups)}: not swapped` } };
      }
    }
    try {
      await this.#ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni, Groups: [isolationGroupId] }));
    } catch (error) {
      return fail('swap', error);
    }
    const after = await this.#until(() => this.#read(eni), (seen) => seen.ok && sameGroups(seen.groups, [isolationGroupId]));
    if (!after.ok) return { ...after, step: 'verify' };
    if (!sameGroups(after.groups, [isolationGroupId])) {
      return { ok: false, step: 'verify', error: { code: 'NotIsolated', message: `${eni} reads back groups ${after.groups.join(', ')} after the swap` } };
    }
    return { ok: true, result: 'isolated', originalGroups, groups: after.groups };
  }

  async restore(eni: string): Promise<RestoreOutcome> {
    const read = await this.#read(eni);
    if (!read.ok) return read;
    const recorded = await this.#recordedGroups(eni);
    if (!recorded.ok) return recorded;
    if (recorded.groups === null) return { ok: true, result: 'not_isolated', from: read.groups, groups: read.groups };
    if (!sameGroups(read.groups, recorded.groups)) {
      try {
        await this.#ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni, Groups: recorded.groups }));
      } catch (error) {
        return fail('swap', error);
      }
    }
    const want = recorded.groups;
    const after = await this.#until(() => this.#read(eni), (seen) => seen.ok && sameGroups(seen.groups, want));
    if (!after.ok) return { ...after, step: 'verify' };
    if (!sameGroups(after.groups, recorded.groups)) {
      return { ok: false, step: 'verify', error: { code: 'NotRestored', message: `${eni} reads back groups ${after.groups.join(', ')}, not ${recorded.groups.join(', ')}` } };
    }
    // The record goes only after a verified restore (a failed cleanup leaves it: restoring again is harmless).
    try {
      await this.#ec2.send(new DeleteTagsCommand({ Resources: [eni], Tags: [...groupTags(recorded.groups).map((t) => ({ Key: t.Key })), { Key: ISOLATED_TAG }] }));
    } catch (error) {
      return fail('cleanup', error);
    }
    return { ok: true, result: 'restored', from: read.groups, groups: after.groups };
  }

  /** Re-read until `done` or the read-back bound; the last read is the answer (a failure stays a failure). */
  async #until<T>(read: () => Promise<T>, done: (seen: T) => boolean): Promise<T> {
    const result = await readBack(read, done, this.#readBack);
    return result.last as T;
  }

  async #read(eni: string): Promise<{ ok: true; groups: string[] } | IsolationFailure> {
    try {
      const out = await this.#ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eni] }));
      const found = out.NetworkInterfaces?.[0];
      if (!found) return { ok: false, step: 'read', error: { code: 'InvalidNetworkInterfaceID.NotFound', message: `${eni} not found` } };
      return { ok: true, groups: (found.Groups ?? []).map((g) => g.GroupId ?? '').filter((g) => g !== '') };
    } catch (error) {
      return fail('read', error);
    }
  }

  /** The groups recorded in the ENI's tags (DescribeTags: what the record says, not what the ENI holds). */
  async #recordedGroups(eni: string): Promise<{ ok: true; groups: string[] | null } | IsolationFailure> {
    try {
      const out = await this.#ec2.send(
        new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [eni] }, { Name: 'key', Values: [ORIGINAL_GROUPS_TAG, `${ORIGINAL_GROUPS_TAG}:*`] }] }),
      );
      return { ok: true, groups: groupsFromTags(out.Tags ?? []) };
    } catch (error) {
      return fail('read', error);
    }
  }
}

function fail(step: IsolationFailure['step'], error: unknown): IsolationFailure {
  return { ok: false, step, error: awsError(error) };
}
