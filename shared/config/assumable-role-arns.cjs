// Renders the deployment parameter `assumableRoles` into the Resource list of the Lambdas' sts:AssumeRole statement
// (serverless.yml: `${file(./shared/config/assumable-role-arns.cjs):roleArns}`): vipswitch may assume exactly the
// roles the deployment lists (a cluster's endpoints.assumeRoleArn), never `role/*`.
//
// `assumableRoles` is a YAML list in `params:` or a comma-separated string
// (`--param="assumableRoles=arn:aws:iam::111122223333:role/vipswitch-network"`). Empty (the default): no role at all
// (a cluster naming one then fails with AccessDenied, and its page says so).
'use strict';

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
// Matches no role: IAM needs at least one resource, and an empty grant must stay empty.
const NO_ROLE = 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/vipswitch-no-assumable-role-configured';

/** @param {unknown} value @returns {string[]} */
function roleArns(value) {
  const items = Array.isArray(value) ? value : String(value ?? '').split(',');
  const arns = items.map((item) => String(item).trim()).filter((arn) => arn !== '');
  const bad = arns.filter((arn) => !ROLE_ARN.test(arn));
  if (bad.length > 0) {
    throw new Error(`assumableRoles: not an IAM role ARN: ${bad.map((arn) => JSON.stringify(arn)).join(', ')} (expected e.g. arn:aws:iam::111122223333:role/vipswitch-network; wildcards are not allowed)`);
  }
  return [...new Set(arns)];
}

module.exports.roleArns = async ({ resolveVariable }) => {
  const arns = roleArns(await resolveVariable('param:assumableRoles'));
  return arns.length === 0 ? [{ 'Fn::Sub': NO_ROLE }] : arns;
};
module.exports.parseRoleArns = roleArns;
