/**
 * A private network made of Linux network namespaces, for daemons that must talk over a real link (keepalived's
 * VRRP): one namespace per node with a `veth0`, all wired to a bridge in a namespace of its own, addresses in
 * 10.77.<n>.0/24 that exist only inside them, IPv6 off. Nothing is added to the root namespace: no interface, no
 * route, no address; no packet can leave the namespaces.
 *
 * The root namespace gets a NAME (`<tag>-host`, `ip netns attach <tag>-host <this pid>`) so that a program started
 * inside a node namespace can enter it (`nsenter --net=/run/netns/<tag>-host`) to reach 127.0.0.1 of the root
 * namespace (the local stack's API), and nothing else: that is how keepalived's notify scripts reach the hook's
 * endpoint. Deleting the name does not touch the root namespace.
 *
 * Every namespace is listed in `<baseDir>/netns.json` (for reapOrphans) and deleted by destroy() or, if this
 * process dies first, by its exit hook.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const IP = '/usr/sbin/ip';
export const NETNS_FILE = 'netns.json';
/** Namespace names of the drill start with this (`ip netns list | grep ^vsd-`). */
export const NETNS_PREFIX = 'vsd-';

async function ip(args: string[]): Promise<string> {
  try {
    return (await run(IP, args, { timeout: 10_000 })).stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

const live = new Set<NetnsLab>();
let exitHook = false;

export class NetnsLab {
  private destroyed = false;

  private constructor(
    readonly tag: string,
    readonly count: number,
    readonly subnet: string,
    private readonly baseDir: string,
  ) {}

  /** `vsd-<hex>-n<i>` (1-based): node i's namespace. */
  nodeNs(i: number): string {
    return `${this.tag}-n${i}`;
  }
  get bridgeNs(): string {
    return `${this.tag}-br`;
  }
  /** The root namespace's name, for nsenter. */
  get hostNs(): string {
    return `${this.tag}-host`;
  }
  get hostNsPath(): string {
    return `/run/netns/${this.hostNs}`;
  }
  /** node i's address on veth0 */
  addressOf(i: number): string {
    return `${this.subnet}.${10 + i}`;
  }
  /** an address of the private subnet no node has (for a VIP) */
  get vip(): string {
    return `${this.subnet}.100`;
  }
  get namespaces(): string[] {
    return [...Array.from({ length: this.count }, (_, i) => this.nodeNs(i + 1)), this.bridgeNs, this.hostNs];
  }

  /** Creates `count` node namespaces wired to a bridge; lists them in `<baseDir>/netns.json` first. */
  static async create(opts: { count: number; baseDir: string; log?: (m: string) => void }): Promise<NetnsLab> {
    if (!existsSync(IP)) throw new Error(`${IP} is missing: install iproute2`);
    const tag = `${NETNS_PREFIX}${randomBytes(3).toString('hex')}`;
    const subnet = `10.77.${randomBytes(1)[0]!}`;
    const lab = new NetnsLab(tag, opts.count, subnet, opts.baseDir);
    await writeFile(join(opts.baseDir, NETNS_FILE), JSON.stringify({ owner: process.pid, namespaces: lab.namespaces }) + '\n');
    live.add(lab);
    installExitHook();
    try {
      await lab.build();
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    opts.log?.(`network namespaces ${lab.namespaces.join(', ')}: ${subnet}.0/24 on a bridge in ${lab.bridgeNs} (nothing in the root namespace; ${lab.hostNs} names it for nsenter)`);
    return lab;
  }

  private async build(): Promise<void> {
    for (const ns of [...Array.from({ length: this.count }, (_, i) => this.nodeNs(i + 1)), this.bridgeNs]) {
      await ip(['netns', 'add', ns]);
      await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      // no IPv6: no router solicitation, no DAD, nothing but the VRRP unicast between the nodes
      await run(IP, ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'], { timeout: 10_000 });
    }
    await ip(['-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0']);
    await ip(['-n', this.bridgeNs, 'link', 'set', 'br0', 'up']);
    for (let i = 1; i <= this.count; i++) {
      const ns = this.nodeNs(i);
      // both ends are created inside namespaces: the root namespace never sees an interface
      await ip(['-n', this.bridgeNs, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'veth0', 'netns', ns]);
      await ip(['-n', this.bridgeNs, 'link', 'set', `p${i}`, 'master', 'br0']);
      await ip(['-n', this.bridgeNs, 'link', 'set', `p${i}`, 'up']);
      await ip(['-n', ns, 'addr', 'add', `${this.addressOf(i)}/24`, 'dev', 'veth0']);
      await ip(['-n', ns, 'link', 'set', 'veth0', 'up']);
    }
    await ip(['netns', 'attach', this.hostNs, String(process.pid)]);
  }

  /**
   * Node i's link at the bridge (`p<i>` in the bridge namespace) down or up: down, the node's veth0 loses its carrier
   * and no packet reaches it or leaves it (a host that died, or its cable pulled); up, it is back on the bridge.
   */
  async setLink(i: number, up: boolean): Promise<void> {
    await ip(['-n', this.bridgeNs, 'link', 'set', `p${i}`, up ? 'up' : 'down']);
  }

  /** The IPv4 addresses on node i's veth0. */
  async addresses(i: number): Promise<string[]> {
    const out = await ip(['-n', this.nodeNs(i), '-4', '-o', 'addr', 'show', 'dev', 'veth0']).catch(() => '');
    return [...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!);
  }

  /** Deletes every namespace of the lab (their veths and the bridge go with them). Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    for (const ns of this.namespaces) await ip(['netns', 'del', ns]).catch(() => undefined);
    this.destroyed = true;
    live.delete(this);
  }

  /** Synchronous variant for the exit hook. */
  destroySync(): void {
    if (this.destroyed) return;
    for (const ns of this.namespaces) deleteNamespaceSync(ns);
    this.destroyed = true;
  }
}

/** `ip netns del` of one namespace, if it exists (names starting with {@link NETNS_PREFIX} only). */
export function deleteNamespaceSync(ns: string): void {
  if (!ns.startsWith(NETNS_PREFIX) || !/^[a-z0-9-]+$/.test(ns) || !existsSync(`/run/netns/${ns}`)) return;
  try {
    execFileSync(IP, ['netns', 'del', ns], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // best effort
  }
}

function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const lab of live) lab.destroySync();
  });
}
