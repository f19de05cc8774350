/** `vipswitch apply` lives in shared/app (the operator CLI and the local stack share it); kept here for old imports. */
export { applyClusterFile } from '../shared/app/apply-cluster-file';
