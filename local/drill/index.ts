export { RepmgrCluster } from './repmgr';
export type { RepmgrClusterOptions } from './repmgr';
export { recordingHook, readHookCalls, waitForHookCall, RECORD_HOOK } from './hook';
export type { HookWiring, NodeInfo, HookCall } from './hook';
export { reapOrphans, freePorts, processesOf, pidAlive, portOpen, Timeline, DeadlineError } from './util';
export type { LogFn, ProcInfo, TimingEntry } from './util';
export { PatroniCluster } from './patroni';
export type { PatroniClusterOptions, PatroniDcsTiming, PatroniMemberStatus } from './patroni';
export { runDrillCli } from './cli';
