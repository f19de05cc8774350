import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The repository root: `VIPSWITCH_ROOT` (set by bin/vipswitch.mjs), else the nearest parent of the working
 * directory holding serverless.yml. (No import.meta here: jest runs this code as CommonJS.)
 */
export function repoRoot(): string {
  if (process.env.VIPSWITCH_ROOT) return process.env.VIPSWITCH_ROOT;
  let dir = process.cwd();
  while (!existsSync(join(dir, 'serverless.yml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the vipswitch repository (serverless.yml) from the working directory; set VIPSWITCH_ROOT');
    dir = parent;
  }
  return dir;
}
