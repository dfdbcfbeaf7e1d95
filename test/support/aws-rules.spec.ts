import { createHash } from 'node:crypto';
import { crc32c, crc64nvme } from './aws-checksums.ts';
import { awsRefusal, errorXml, isCreateOnly, parseRequest, type S3Request } from './aws-rules.ts';

const BODY = Buffer.from('archive bytes\n');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('base64');

function build(
  overrides: { method?: string; url?: string; headers?: Record<string, string> } = {},
): S3Request {
  return parseRequest(
    overrides.method ?? 'PUT',
    overrides.url ?? '/archive/teardowns/wfl_1/td_1/nodes.json?x-id=PutObject',
    overrides.headers ?? {},
  );
}

describe(crc64nvme.name, () => {
  // the standard check values of each CRC, over the ASCII bytes "123456789"
  it('computes CRC-32C and CRC-64/NVME as their specifications define them', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc64nvme(Buffer.from('123456789'))).toBe(0xae8b14860a799888n);
  });
});

describe(parseRequest.name, () => {
  it.each([
    ['PUT', '/b/k?x-id=PutObject', {}, 'PutObject'],
    ['PUT', '/b/a%20b/c.json', {}, 'PutObject'],
    ['PUT', '/b/k?partNumber=1&uploadId=u&x-id=UploadPart', {}, 'UploadPart'],
    ['PUT', '/b/k?partNumber=1&uploadId=u', { 'x-amz-copy-source': '/b/o' }, 'Other'],
    ['PUT', '/b/k?x-id=CopyObject', { 'x-amz-copy-source': '/b/o' }, 'CopyObject'],
    ['PUT', '/b/k?retention&versionId=v', {}, 'PutObjectRetention'],
    ['PUT', '/b/k?legal-hold', {}, 'PutObjectLegalHold'],
    ['PUT', '/b/k?tagging', {}, 'Other'],
    ['PUT', '/b?object-lock', {}, 'PutObjectLockConfiguration'],
    ['POST', '/b/k?uploads&x-id=CreateMultipartUpload', {}, 'CreateMultipartUpload'],
    ['POST', '/b/k?uploadId=u', {}, 'CompleteMultipartUpload'],
    ['GET', '/b/k', {}, 'Other'],
  ])('%s %s is %s', (method, url, headers, operation) => {
    expect(parseRequest(method, url, headers).operation).toBe(operation);
  });

  it('decodes the bucket and the key', () => {
    const sut = parseRequest('PUT', '/b/teardowns/a%20b/%E2%80%A8.json?x-id=PutObject', {});
    expect([sut.bucket, sut.key, sut.query]).toEqual(['b', 'teardowns/a b/\u2028.json', 'x-id=PutObject']);
  });
});

describe(awsRefusal.name, () => {
  const lock = { 'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': 'x' };

  it('refuses a PutObject with Object Lock parameters and no checksum', () => {
    expect(awsRefusal(build({ headers: lock }), BODY, false)).toMatchObject({
      status: 400,
      code: 'InvalidRequest',
      message:
        'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters',
      violation: true,
    });
  });

  it('accepts it with Content-MD5 or a correct checksum header', () => {
    expect(awsRefusal(build({ headers: { ...lock, 'content-md5': md5(BODY) } }), BODY, false)).toBeNull();
    expect(
      awsRefusal(build({ headers: { ...lock, 'x-amz-checksum-sha256': sha256(BODY) } }), BODY, false),
    ).toBeNull();
  });

  it('refuses every PutObject and UploadPart without a checksum in a bucket with default retention', () => {
    const part = build({ url: '/b/k?partNumber=2&uploadId=u&x-id=UploadPart' });
    expect(awsRefusal(build(), BODY, true)?.code).toBe('InvalidRequest');
    expect(awsRefusal(part, BODY, true)?.message).toContain('Put Part requests');
    expect(awsRefusal(build(), BODY, false)).toBeNull();
    expect(awsRefusal(part, BODY, false)).toBeNull();
  });

  it('refuses PutObjectRetention and PutObjectLegalHold without a checksum', () => {
    expect(awsRefusal(build({ url: '/b/k?retention' }), BODY, false)?.code).toBe('InvalidRequest');
    expect(awsRefusal(build({ url: '/b/k?legal-hold' }), BODY, false)?.code).toBe('InvalidRequest');
  });

  it.each([
    ['content-md5', md5(Buffer.from('other'))],
    ['x-amz-checksum-sha256', sha256(Buffer.from('other'))],
    ['x-amz-checksum-crc32', 'AAAAAA=='],
    ['x-amz-checksum-crc32c', 'AAAAAA=='],
    ['x-amz-checksum-crc64nvme', 'AAAAAAAAAAA='],
  ])('answers BadDigest to a wrong %s', (header, value) => {
    expect(awsRefusal(build({ headers: { [header]: value } }), BODY, false)).toMatchObject({
      status: 400,
      code: 'BadDigest',
    });
  });

  it('refuses two checksum headers, a malformed one, and one it cannot verify', () => {
    const both = { 'x-amz-checksum-sha256': sha256(BODY), 'x-amz-checksum-crc32': 'AAAAAA==' };
    expect(awsRefusal(build({ headers: both }), BODY, false)?.message).toContain('Multiple checksum');
    expect(awsRefusal(build({ headers: { 'x-amz-checksum-sha256': 'abc' } }), BODY, false)?.message).toBe(
      'Value for x-amz-checksum-sha256 header is invalid.',
    );
    expect(
      awsRefusal(build({ headers: { 'x-amz-checksum-xxhash64': 'AAAAAAAAAAA=' } }), BODY, false)?.code,
    ).toBe('NotImplemented');
  });

  it('does not take x-amz-checksum-type for a checksum', () => {
    expect(awsRefusal(build({ headers: { 'x-amz-checksum-type': 'FULL_OBJECT' } }), BODY, true)?.code).toBe(
      'InvalidRequest',
    );
  });

  it('refuses aws-chunked payloads, naming why', () => {
    const chunked = build({
      headers: {
        'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        'content-encoding': 'aws-chunked',
        'x-amz-trailer': 'x-amz-checksum-crc32',
      },
    });
    expect(awsRefusal(chunked, BODY, false)).toMatchObject({ status: 501, violation: true });
    expect(awsRefusal(chunked, BODY, false)?.message).toContain('aws-chunked');
  });

  it('answers 501 to If-None-Match with an ETag on a write, and leaves `*` to the store check', () => {
    const etag = build({ headers: { 'if-none-match': '"abc"', 'content-md5': md5(BODY) } });
    const star = build({ headers: { 'if-none-match': '*', 'content-md5': md5(BODY) } });
    const complete = build({ method: 'POST', url: '/b/k?uploadId=u', headers: { 'if-none-match': '*' } });
    expect(awsRefusal(etag, BODY, false)).toMatchObject({ status: 501, code: 'NotImplemented' });
    expect(awsRefusal(star, BODY, false)).toBeNull();
    expect([isCreateOnly(star), isCreateOnly(complete), isCreateOnly(build())]).toEqual([true, true, false]);
  });

  it('leaves reads and other operations alone', () => {
    expect(awsRefusal(build({ method: 'GET', url: '/b/k' }), Buffer.alloc(0), true)).toBeNull();
    expect(
      awsRefusal(build({ method: 'POST', url: '/b/k?uploads', headers: lock }), Buffer.alloc(0), true),
    ).toBeNull();
  });
});

describe(errorXml.name, () => {
  it('is the XML AWS sends, with the message escaped', () => {
    const xml = errorXml(
      {
        status: 412,
        code: 'PreconditionFailed',
        message: 'a < b',
        details: { Condition: 'If-None-Match' },
        violation: false,
      },
      'REQ1',
      '/b/k',
    );
    expect(xml).toContain(
      '<Error><Code>PreconditionFailed</Code><Message>a &#60; b</Message><Condition>If-None-Match</Condition>',
    );
    expect(xml).toContain('<RequestId>REQ1</RequestId></Error>');
  });
});
