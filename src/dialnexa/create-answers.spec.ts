import { describe, expect, it } from '@jest/globals';
import { leadUploadOf, multipartFile } from './create-answers.js';

describe(multipartFile.name, () => {
  it('draws another boundary while the content holds the one drawn', () => {
    const first = Buffer.alloc(16, 1);
    const second = Buffer.alloc(16, 2);
    const draws = [first, second];
    const content = Buffer.from(`a\r\n--dialnexa-teardown-${first.toString('hex')}\r\nb`);

    const sut = multipartFile('file', 'leads.csv', 'text/csv', content, () => draws.shift()!);

    expect(sut.contentType).toBe(`multipart/form-data; boundary=dialnexa-teardown-${second.toString('hex')}`);
    expect(sut.body.includes(content)).toBe(true);
    expect(draws).toEqual([]);
  });
});

describe(leadUploadOf.name, () => {
  it('counts the ids when the answer has no count', () => {
    expect(leadUploadOf({ '+14155550100': ['wlead_a', 'wlead_b'] })).toEqual({
      leadIdsByPhone: { '+14155550100': ['wlead_a', 'wlead_b'] },
      count: 2,
    });
  });

  it('says why an answer is not an upload answer', () => {
    expect(leadUploadOf([])).toBe('is not a JSON object');
    expect(leadUploadOf({ data: [] })).toBe('has no map of phone numbers to lead ids');
    expect(leadUploadOf({ data: { '+14155550100': ['../x'] } })).toBe(
      'maps a phone number to something that is not a list of lead ids',
    );
  });
});
