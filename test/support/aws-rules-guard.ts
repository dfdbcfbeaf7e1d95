/**
 * Fails an e2e test in which an S3 request was refused by the AWS-rules proxy (started by
 * e2e-global-setup.ts): AWS would have refused it too, though Ceph accepted it.
 *
 * Refusals are read after each test, so one made between two tests (in a suite's beforeAll, or by
 * a service still at work after the previous test) fails the next test; one made after a file's
 * last test (while its suite stops its services) fails the file, in this root-level afterAll that
 * runs after the suite's own. A 412 on a create-only write is not a refusal of this kind: a correct
 * client expects it. Connection cuts by the chaos S3Proxy never reach the AWS-rules proxy as
 * refusals.
 */
import { fetchRefusals, formatRefusals } from './aws-rules-proxy.ts';

const proxyUrl = process.env['AWS_RULES_PROXY_URL'];
if (!proxyUrl) throw new Error('AWS_RULES_PROXY_URL is not set: the e2e global set-up did not run');

let seen = 0;

async function failOnNewRefusals(when: string): Promise<void> {
  const { total, refusals } = await fetchRefusals(proxyUrl!, seen);
  seen = total;
  const violations = refusals.filter((r) => r.violation);
  if (violations.length > 0)
    throw new Error(
      `${violations.length} S3 request(s) ${when} that AWS would refuse, refused by the AWS-rules proxy:\n` +
        formatRefusals(violations),
    );
}

beforeAll(async () => {
  seen = (await fetchRefusals(proxyUrl)).total;
});

afterEach(() => failOnNewRefusals('during this test'));

afterAll(() => failOnNewRefusals("after this file's last test"));
