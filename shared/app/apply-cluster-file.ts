import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../domain/errors';
import { parseClusterFile } from '../config/cluster-config';
import type { ClusterStore } from '../ports/cluster-store';

/**
 * `vipswitch apply -f cluster.yaml`: validate the file (every bad field named), read each node's key file
 * (relative to the yaml), and register the cluster and its nodes. Re-applying keeps the fencing record.
 */
export async function applyClusterFile(store: ClusterStore, path: string): Promise<{ cluster: string; created: boolean; nodes: string[] }> {
  const text = await readFile(path, 'utf8');
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new ConfigError([`(file): not valid YAML: ${(error as Error).message}`]);
  }
  const parsed = parseClusterFile(doc);
  const nodes = [];
  const problems: string[] = [];
  for (const [i, node] of parsed.nodes.entries()) {
    const keyPath = resolve(dirname(path), node.keyFile);
    try {
      const hookKey = (await readFile(keyPath, 'utf8')).trim();
      if (hookKey.length < 32) problems.push(`nodes.${i}.keyFile: ${keyPath} holds a key shorter than 32 characters (use: openssl rand -hex 32)`);
      const { keyFile: _path, ...record } = node;
      nodes.push({ ...record, hookKey });
    } catch (error) {
      problems.push(`nodes.${i}.keyFile: cannot read ${keyPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const { created } = await store.applyCluster(parsed.config, parsed.systemIdentifier, nodes);
  return { cluster: parsed.config.cluster, created, nodes: nodes.map((n) => n.name) };
}
