import { connectionsAtOnce } from './export-run.ts';

const pages = (connections: number[]) => connections.map((connection, i) => ({ seq: i + 1, connection }));

describe(connectionsAtOnce.name, () => {
  it('is 1 for pages sent one after another on one connection', () => {
    expect(connectionsAtOnce(pages([1, 1, 1, 1, 1]))).toBe(1);
  });

  it('counts the connections pages were sent on together', () => {
    expect(connectionsAtOnce(pages([1, 1, 2, 3, 4, 1, 2, 3, 4, 2]))).toBe(4);
  });

  it('counts connections used one after another only where they meet, not over the whole run', () => {
    const sequential = [...Array(30).fill(1), ...Array(30).fill(2)] as number[];
    expect(connectionsAtOnce(pages(sequential))).toBe(2);
    expect(connectionsAtOnce(pages(sequential), 5)).toBe(2);
    expect(
      connectionsAtOnce(pages([...Array(10).fill(1), ...Array(10).fill(2), ...Array(10).fill(3)]), 5),
    ).toBe(2);
  });
});
