import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDb, type Db } from '../../server/db/pool.js';
import { migrate } from '../../server/db/migrate.js';
import { createTestDatabase } from '../helpers/services.js';

let db: Db;
let drop: () => Promise<void>;
before(async () => {
  const t = await createTestDatabase();
  drop = t.drop;
  db = createDb(t.url, 8);
});
after(async () => {
  await db?.end();
  await drop?.();
});

test('when several roles migrate at once, then each migration is applied exactly once', async () => {
  const results = await Promise.all([migrate(db), migrate(db), migrate(db), migrate(db)]);
  const applied = results.flat();
  assert.ok(applied.includes('0001_init.sql'));
  assert.equal(applied.filter((f) => f === '0001_init.sql').length, 1);
  assert.deepEqual(await migrate(db), []);
  const tables = (await db.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)).rows.map((r: { table_name: string }) => r.table_name);
  for (const t of ['users', 'api_tokens', 'apps', 'collaborators', 'config_vars', 'builds', 'slugs', 'releases', 'formation', 'dynos', 'domains', 'agents']) {
    assert.ok(tables.includes(t), `table ${t}`);
  }
});

test('when two releases of one app take the same version, then the database refuses the second', async () => {
  const user = (await db.query(`INSERT INTO users (email) VALUES ('v@example.com') RETURNING id`)).rows[0];
  const app = (await db.query(`INSERT INTO apps (name, owner_id) VALUES ('versions', $1) RETURNING id`, [user.id])).rows[0];
  await db.query(`INSERT INTO releases (app_id, version, description) VALUES ($1, 1, 'Initial release')`, [app.id]);
  await assert.rejects(db.query(`INSERT INTO releases (app_id, version, description) VALUES ($1, 1, 'dup')`, [app.id]), /duplicate key/);
});
