// Issue #6: the HTTP endpoint request codec, the retry clock and the
// configuration model, without a network: buildRequest's headers and body
// byte for byte, DeliveryRetry's duration and request-id reuse, and
// AWS's defaults and update merging for HttpEndpointDestinationConfiguration.
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../gateway/config.ts';
import { DeliveryRetry, retryMsOf } from '../../gateway/firehose/delivery-retry.ts';
import { buildRequest } from '../../gateway/firehose/destinations/http-endpoint.ts';
import { applyHttpUpdate, deliveryView, describeHttp, httpUpdate, normaliseHttp } from '../../gateway/firehose/http-endpoint-model.ts';

const s3 = { RoleARN: 'arn:aws:iam::000000000000:role/r', BucketARN: 'arn:aws:s3:::b' };
const base = normaliseHttp({ EndpointConfiguration: { Url: 'https://example.com/in', AccessKey: 'k' }, S3Configuration: s3 });

describe('buildRequest', () => {
  const req = { requestId: '11111111-2222-3333-4444-555555555555', timestampMs: 1_700_000_000_000, records: [Buffer.from('a'), Buffer.from([0, 255])], sourceArn: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/s' };

  it('writes the specification body and headers', async () => {
    const { headers, body } = await buildRequest(base, req);
    expect(body.toString()).toBe('{"requestId":"11111111-2222-3333-4444-555555555555","timestamp":1700000000000,"records":[{"data":"YQ=="},{"data":"AP8="}]}');
    expect(headers).toEqual({
      'Content-Type': 'application/json',
      'Content-Length': String(body.length),
      'X-Amz-Firehose-Protocol-Version': '1.0',
      'X-Amz-Firehose-Request-Id': req.requestId,
      'X-Amz-Firehose-Source-Arn': req.sourceArn,
      'X-Amz-Firehose-Access-Key': 'k',
    });
  });

  it('gzips the body and sends common attributes when configured', async () => {
    const h = { ...base, RequestConfiguration: { ContentEncoding: 'GZIP' as const, CommonAttributes: [{ AttributeName: 'a', AttributeValue: '1' }] } };
    const { headers, body } = await buildRequest(h, req);
    expect(headers['Content-Encoding']).toBe('gzip');
    expect(headers['X-Amz-Firehose-Common-Attributes']).toBe('{"commonAttributes":{"a":"1"}}');
    expect(JSON.parse(zlib.gunzipSync(body).toString()).records).toEqual([{ data: 'YQ==' }, { data: 'AP8=' }]);
  });
});

describe('DeliveryRetry', () => {
  it('keeps the request id while the same batch is retried and expires after the duration', () => {
    const r = new DeliveryRetry();
    const b = r.begin(10, 20);
    expect(r.readLimit(10)).toBe(10);
    expect(r.expired(1000, 2000)).toBe(false);
    r.failed(1000, new Error('x'));
    expect(r.waitMs(500, 1000, 2000)).toBe(500);
    expect(r.waitMs(4000, 2500, 2000)).toBe(500); // cut short to the end of the duration
    expect(r.begin(10, 20).requestId).toBe(b.requestId);
    expect(r.batch!.attempts).toBe(2);
    expect(r.expired(2999, 2000)).toBe(false);
    expect(r.expired(3000, 2000)).toBe(true);
    expect(r.waitMs(4000, 3000, 2000)).toBe(0); // the error-output attempt runs at once...
    expect(r.waitMs(4000, 3100, 2000)).toBe(4000); // ...and backs off in full if it fails too
    expect(r.begin(10, 25).requestId).not.toBe(b.requestId);
    r.done();
    expect(r.readLimit(10)).toBeUndefined();
  });

  it('takes the duration from RetryOptions or the gateway config', () => {
    expect(retryMsOf(base, 86_400_000)).toBe(300_000);
    expect(retryMsOf(undefined, 1234)).toBe(1234);
  });
});

describe('HttpEndpointDestinationConfiguration model', () => {
  it('fills AWS defaults and hides the access key in descriptions', () => {
    expect(base.BufferingHints).toEqual({ SizeInMBs: 5, IntervalInSeconds: 300 });
    expect(base.RetryOptions).toEqual({ DurationInSeconds: 300 });
    expect(base.S3BackupMode).toBe('FailedDataOnly');
    expect(base.RequestConfiguration).toEqual({ ContentEncoding: 'NONE' });
    expect(JSON.stringify(describeHttp(base))).not.toContain('"k"');
    expect(deliveryView(base).BucketARN).toBe(s3.BucketARN);
  });

  it('merges updates member-wise and switches destination types only with full configs', () => {
    const next = applyHttpUpdate(base, { BufferingHints: { SizeInMBs: 2 }, EndpointConfiguration: { Url: 'https://example.com/v2' }, S3Update: { Prefix: 'p/' } });
    expect(next.BufferingHints).toEqual({ SizeInMBs: 2, IntervalInSeconds: 300 });
    expect(next.EndpointConfiguration).toEqual({ Url: 'https://example.com/v2', AccessKey: 'k' });
    expect(next.S3Configuration.Prefix).toBe('p/');
    const fromS3 = { destination: deliveryView(base) };
    expect(() => httpUpdate(fromS3, { HttpEndpointDestinationUpdate: { RetryOptions: { DurationInSeconds: 1 } } })).toThrow(/EndpointConfiguration/);
    expect(httpUpdate(fromS3, { ExtendedS3DestinationUpdate: { Prefix: 'x/' } })).toBeUndefined();
    expect(httpUpdate({ destination: deliveryView(base), httpEndpoint: base }, { ExtendedS3DestinationUpdate: s3 })!.httpEndpoint).toBeUndefined();
  });
});

describe('firehose.s3RetryMs', () => {
  it('defaults to 24 h and is bounded', () => {
    expect(parseGatewayConfig('', 'g.yaml').firehoseS3RetryMs).toBe(86_400_000);
    expect(parseGatewayConfig('firehose:\n  s3RetryMs: 5000\n', 'g.yaml').firehoseS3RetryMs).toBe(5000);
    expect(() => parseGatewayConfig('firehose:\n  s3RetryMs: -1\n', 'g.yaml')).toThrow(/g\.yaml:2: firehose\.s3RetryMs/);
  });
});
