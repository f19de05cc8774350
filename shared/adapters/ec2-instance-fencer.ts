import { StopInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { InstanceFencer } from '../ports/instance-fencer';
import { awsError } from './ec2-route-actuator';

/** `StopInstances` with `Force` (no OS shutdown: a split-brain primary must stop accepting writes now). */
export class Ec2InstanceFencer implements InstanceFencer {
  readonly #ec2: EC2Client;

  constructor(options: { client: EC2Client }) {
    this.#ec2 = options.client;
  }

  async stop(instanceId: string) {
    try {
      const out = await this.#ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId], Force: true }));
      return { ok: true as const, state: out.StoppingInstances?.[0]?.CurrentState?.Name ?? 'stopping' };
    } catch (error) {
      return { ok: false as const, error: awsError(error) };
    }
  }
}
