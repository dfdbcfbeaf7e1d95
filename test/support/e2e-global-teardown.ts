import type { AwsRulesProxy } from './aws-rules-proxy.ts';
import { PROXY_GLOBAL } from './e2e-global-setup.ts';

export default async function tearDownE2eTier(): Promise<void> {
  const proxy = (globalThis as Record<string, unknown>)[PROXY_GLOBAL] as AwsRulesProxy | undefined;
  if (!proxy) return;
  const refused = proxy.refusals.filter((r) => r.violation).length;
  process.stderr.write(
    `e2e: the AWS-rules proxy saw ${proxy.requests.length} S3 requests and refused ${refused} as AWS would\n`,
  );
  await proxy.stop();
  delete (globalThis as Record<string, unknown>)[PROXY_GLOBAL];
}
