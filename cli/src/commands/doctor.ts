import { AwsDoctorProbe } from '../../../shared/adapters/aws-doctor-probe';
import { isUnreachable } from '../../../shared/adapters/aws-clients';
import { DEFAULT_HOOK_MAX_AGE_MS, runDoctor } from '../../../shared/app/doctor';
import type { CliContext } from '../context';
import { EXIT, UsageError, type ExitCode } from '../errors';
import { parseDuration } from '../format';
import type { Io, Output } from '../output';

/**
 * `vipswitch doctor <cluster>`: every pre-flight check (shared/app/doctor.ts), PASS or FAIL with the fix.
 * Exit 0: every check passed; 1: a check failed; 3: AWS or DynamoDB could not be reached.
 */
export async function doctorCommand(ctx: CliContext, out: Output, io: Io, cluster: string, options: { topicArn?: string; hookMaxAge?: string }): Promise<ExitCode> {
  let hookMaxAgeMs = DEFAULT_HOOK_MAX_AGE_MS;
  if (options.hookMaxAge !== undefined) {
    const parsed = parseDuration(options.hookMaxAge);
    if (parsed === null || parsed <= 0) throw new UsageError(`--hook-max-age takes a duration (30m, 24h, 7d), got ${JSON.stringify(options.hookMaxAge)}`);
    hookMaxAgeMs = parsed;
  }
  const topicArn = options.topicArn ?? io.env.VIPSWITCH_TOPIC_ARN;
  const probe = new AwsDoctorProbe({ ec2: ctx.ec2(), route53: ctx.route53(), sns: ctx.sns() });
  const report = await runDoctor({ store: ctx.store, probe, now: () => io.now(), isUnreachable }, cluster, {
    pagesTopic: topicArn ? { arn: topicArn } : { name: ctx.stage.pagesTopic },
    hookMaxAgeMs,
  });
  out.result(report);
  out.line(`vipswitch doctor ${cluster} (stage ${ctx.stage.stage}, table ${ctx.stage.state})`);
  const width = Math.max(...report.checks.map((c) => c.title.length));
  for (const check of report.checks) {
    out.line(`  ${check.ok ? 'PASS' : 'FAIL'}  ${check.title.padEnd(width)}  ${check.detail}`);
    if (!check.ok && check.fix) for (const line of check.fix.split('\n')) out.line(`        fix: ${line}`);
  }
  out.line(report.ok ? `${report.checks.length} checks: every check passed` : `${report.checks.length} checks: ${report.passed} passed, ${report.failed} FAILED`);
  if (report.unreachable) return EXIT.unreachable;
  return report.ok ? EXIT.ok : EXIT.failed;
}
