import { randomInt } from 'node:crypto';
import type { Db } from '../db/pool.js';
import { pgCode } from '../db/pool.js';
import { addressAt, parseSubnet } from '../../runner/index.js';

/** Allocates container addresses from the subnet; the primary key makes concurrent allocations safe. */
export function createAddressService(db: Db, subnet: string) {
  const { size } = parseSubnet(subnet);
  return {
    async allocate(owner: string): Promise<string> {
      for (let attempt = 0; attempt < 50; attempt++) {
        const address = addressAt(subnet, randomInt(2, size - 1));
        try {
          await db.query('INSERT INTO addresses (address, owner) VALUES ($1, $2)', [address, owner]);
          return address;
        } catch (e) {
          if (pgCode(e) !== '23505') throw e;
        }
      }
      throw new Error(`no free address in ${subnet}`);
    },
    /** Frees the owners' addresses; returns them (their rules may need removing). */
    async releaseOwners(owners: string[]): Promise<string[]> {
      if (!owners.length) return [];
      return (await db.query<{ address: string }>('DELETE FROM addresses WHERE owner = ANY($1) RETURNING address', [owners])).rows.map((r) => r.address);
    },
    async release(address: string): Promise<void> {
      await db.query('DELETE FROM addresses WHERE address = $1', [address]);
    },
  };
}

export type AddressService = ReturnType<typeof createAddressService>;
