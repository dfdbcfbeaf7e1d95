/**
 * The checksums S3 accepts in `x-amz-checksum-*` headers, computed here so that the AWS-rules proxy
 * can verify them: Ceph 16 ignores these headers, so a wrong value would otherwise go unnoticed
 * until the same request reached AWS. Each is the base64 of the digest's big-endian bytes.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** The algorithm each `x-amz-checksum-<name>` header names, as AWS spells it in its messages. */
export const CHECKSUM_ALGORITHMS = {
  crc32: 'CRC32',
  crc32c: 'CRC32C',
  crc64nvme: 'CRC64NVME',
  sha1: 'SHA1',
  sha256: 'SHA256',
  sha512: 'SHA512',
  md5: 'MD5',
  xxhash64: 'XXHASH64',
  xxhash3: 'XXHASH3',
  xxhash128: 'XXHASH128',
} as const;

export type ChecksumName = keyof typeof CHECKSUM_ALGORITHMS;

/** The base64 checksum of `body`, or null for an algorithm this module cannot compute. */
export function checksumOf(name: ChecksumName, body: Buffer): string | null {
  switch (name) {
    case 'crc32':
      return uint32(crc32(body));
    case 'crc32c':
      return uint32(crc32c(body));
    case 'crc64nvme':
      return uint64(crc64nvme(body));
    case 'sha1':
    case 'sha256':
    case 'sha512':
    case 'md5':
      return createHash(name).update(body).digest('base64');
    case 'xxhash64':
    case 'xxhash3':
    case 'xxhash128':
      return null;
  }
}

/** The bytes a checksum header of this algorithm must decode to (S3 refuses any other length). */
export function digestBytes(name: ChecksumName): number {
  switch (name) {
    case 'crc32':
    case 'crc32c':
      return 4;
    case 'crc64nvme':
    case 'xxhash64':
    case 'xxhash3':
      return 8;
    case 'md5':
    case 'xxhash128':
      return 16;
    case 'sha1':
      return 20;
    case 'sha256':
      return 32;
    case 'sha512':
      return 64;
  }
}

function uint32(value: number): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value >>> 0);
  return bytes.toString('base64');
}

function uint64(value: bigint): string {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(value);
  return bytes.toString('base64');
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli), reflected, as S3 and iSCSI define it. */
export function crc32c(body: Buffer): number {
  let c = 0xffffffff;
  for (const byte of body) c = CRC32C_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const MASK64 = 0xffffffffffffffffn;
const CRC64NVME_TABLE = (() => {
  const table = new BigUint64Array(256);
  for (let n = 0; n < 256; n++) {
    let c = BigInt(n);
    for (let k = 0; k < 8; k++) c = c & 1n ? 0x9a6c9329ac4bc9b5n ^ (c >> 1n) : c >> 1n;
    table[n] = c;
  }
  return table;
})();

/** CRC-64/NVME, reflected. BigInt arithmetic: slow (about 10 MB/s), but test bodies are small. */
export function crc64nvme(body: Buffer): bigint {
  let c = MASK64;
  for (const byte of body) c = CRC64NVME_TABLE[Number((c ^ BigInt(byte)) & 0xffn)]! ^ (c >> 8n);
  return c ^ MASK64;
}
