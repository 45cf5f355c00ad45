/**
 * How a turn's writes cross to the SQLite writer thread: as JSON text when every one is plain data,
 * as the objects (structured clone) when any may carry what JSON would change.
 */
import { describe, expect, it } from 'vitest';
import { decodeWrites, encodeWrites, type WriteRequest } from '../../src/store/sqlite/writer-protocol.ts';

const statusChange: WriteRequest = {
  id: 1,
  method: 'commitVersionChanges',
  args: [{ packageId: 3, guards: [{ version: '1.0.0', revision: 'r1' }], changes: [], disposeAssets: false, audit: { decisionId: 'd', request: { versions: ['1.0.0'] }, packageScope: undefined }, deadlineAt: 1.5 }],
};

describe('writes crossing to the writer', () => {
  it('sends a turn of plain-data writes as one JSON text that reads back the same, undefined fields left out', () => {
    const sent = encodeWrites([statusChange, { id: 2, method: 'appendAudit', args: [{ decisionId: 'e', time: '2026-12-06T00:00:00.000Z' }] }]);
    expect(typeof sent).toBe('string');
    const [first, second] = decodeWrites(structuredClone(sent));
    expect(first).toEqual(statusChange);
    expect('packageScope' in (first!.args[0] as { audit: object }).audit).toBe(false);
    expect(second!.args[0]).toEqual({ decisionId: 'e', time: '2026-12-06T00:00:00.000Z' });
  });

  it('sends the objects themselves when any write of the turn may carry bytes', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const turn: WriteRequest[] = [statusChange, { id: 2, method: 'addVersion', args: [{ body: bytes }] }];
    const sent = encodeWrites(turn);
    expect(sent).toBe(turn);
    const received = decodeWrites(structuredClone(sent));
    expect((received[1]!.args[0] as { body: Uint8Array }).body).toEqual(bytes);
  });
});
