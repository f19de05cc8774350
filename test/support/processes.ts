/**
 * Other processes for tests about pids (lock holders, spool writers): a live one that is not us, a dead one, and
 * killing what a test started. Module state is per test file under jest: call {@link killStarted} in afterEach.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const started: ChildProcess[] = [];

/** Remember `child` so that {@link killStarted} SIGKILLs it; returns it. */
export function killLater<T extends ChildProcess>(child: T): T {
  started.push(child);
  return child;
}

/** SIGKILL every process started through {@link liveProcess} or given to {@link killLater} since the last call. */
export function killStarted(): void {
  for (const child of started.splice(0)) child.kill('SIGKILL');
}

/** A live process that is not us (a writer still probing, a sender holding the lock), until {@link killStarted}. */
export async function liveProcess(): Promise<number> {
  const child = killLater(spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }));
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  return child.pid!;
}

/** The pid of a process that has exited. */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('close', resolve));
  return child.pid!;
}
