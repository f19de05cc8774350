/**
 * The project's own local AWS endpoint: EC2, Route 53 and SNS over their real wire protocols on one
 * 127.0.0.1 port, for tests and the local stack. See `startAwsEndpoint`.
 */
export { type AwsEndpoint, type AwsEndpointOptions, type CallRecord, startAwsEndpoint } from './start-aws-endpoint';
export { defaultStatusFor, type FaultRule, FaultRuleError, type FaultRuleStatus, ServiceName, validateFaultRules } from './faults';
export {
  CallClass,
  LATENCY_PROFILES,
  type LatencyDistribution,
  type LatencyProfile,
  LatencyProfileError,
  type LatencyProfileName,
  latencyProfileFromEnv,
  type MsRange,
  parseMsRange,
  validateLatencyProfile,
} from './latency';
export type { DeliveryRecord, PublishedMessageRecord, RecordSetRecord, StateView } from './state';
export { SIGNING_CERT_PATH } from './sns';
export { snsStringToSign } from './sns-signing';
export {
  InstanceStateName,
  loadTopologyFile,
  type Tags,
  type Topology,
  type TopologyAddress,
  TopologyError,
  type TopologyHostedZone,
  type TopologyInstance,
  type TopologyNetworkInterface,
  type TopologyRecord,
  type TopologyRoute,
  type TopologyRouteTable,
  type TopologySubnet,
  validateTopology,
} from './topology';
