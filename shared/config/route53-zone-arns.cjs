// Renders the deployment parameter `hostedZoneIds` into the Resource list of the Lambdas' Route 53 statement
// (serverless.yml: `${file(./shared/config/route53-zone-arns.cjs):zoneArns}`), so record changes are allowed in the
// deployment's hosted zones only, never `hostedzone/*`.
//
// `hostedZoneIds` is a YAML list in `params:` or a comma-separated string (`--param="hostedZoneIds=Z1,Z2"`); ids as
// Route 53 prints them, with or without the `/hostedzone/` prefix. Empty (the default): Route 53 is allowed on no zone
// at all (a cluster using the route53 mechanism then fails with AccessDenied, which `vipswitch doctor` reports).
'use strict';

const ZONE_ID = /^Z[A-Z0-9]{1,32}$/;
// Matches no hosted zone: IAM needs at least one resource, and an empty grant must stay empty.
const NO_ZONE = 'arn:${AWS::Partition}:route53:::hostedzone/none-configured';

/** @param {unknown} value @returns {string[]} */
function zoneIds(value) {
  const items = Array.isArray(value) ? value : String(value ?? '').split(',');
  const ids = items.map((item) => String(item).trim().replace(/^\/?hostedzone\//, '')).filter((id) => id !== '');
  const bad = ids.filter((id) => !ZONE_ID.test(id));
  if (bad.length > 0) {
    throw new Error(`hostedZoneIds: not a Route 53 hosted zone id: ${bad.map((id) => JSON.stringify(id)).join(', ')} (expected e.g. Z0123456789ABCDEFGHIJ; "*" is not allowed)`);
  }
  return [...new Set(ids)];
}

module.exports.zoneArns = async ({ resolveVariable }) => {
  const ids = zoneIds(await resolveVariable('param:hostedZoneIds'));
  const arns = ids.length === 0 ? [NO_ZONE] : ids.map((id) => `arn:\${AWS::Partition}:route53:::hostedzone/${id}`);
  return arns.map((arn) => ({ 'Fn::Sub': arn }));
};

module.exports.zoneIds = zoneIds;
