import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRange } from '../../server/api/range.js';

test('when no Range header is sent, then the default field, ascending, 200 max', () => {
  assert.deepEqual(parseRange(undefined, ['name', 'id'], 'name'), { field: 'name', startExclusive: false, order: 'asc', max: 200 });
});

test("when the Heroku CLI's Range forms are sent, then each is understood", () => {
  assert.deepEqual(parseRange('version ..; order=desc, max=15', ['version'], 'version'), { field: 'version', startExclusive: false, order: 'desc', max: 15 });
  assert.deepEqual(parseRange('id ..; max=1000;', ['id'], 'id'), { field: 'id', startExclusive: false, order: 'asc', max: 1000 });
  assert.deepEqual(parseRange('name ]my-app..; max=10', ['name'], 'name'), { field: 'name', start: 'my-app', startExclusive: true, order: 'asc', max: 10 });
  assert.equal(parseRange('id ..; max=99999', ['id'], 'id').max, 1000);
});

test('when the Range names an unknown field or is garbage, then 400', () => {
  assert.throws(() => parseRange('password ..', ['id'], 'id'), (e: { status: number }) => e.status === 400);
  assert.throws(() => parseRange('!!', ['id'], 'id'), (e: { status: number }) => e.status === 400);
});
