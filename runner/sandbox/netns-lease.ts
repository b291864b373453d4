import { type BuildEgress, type EgressPolicy } from '../../platform/egress.js';
import { applyEgress } from './egress.js';
import { allowAddonTraffic, bridgeOnce, createNetns, removeAddonTraffic, removeNetns, type AddonEndpoint, type NetworkConfig } from './network.js';

export interface AddressAllocator {
  allocate(owner: string): Promise<string>;
  release(address: string): Promise<void>;
}

/**
 * Runs fn with a fresh network namespace on the bridge (an address leased for it, an app's egress policy loaded);
 * always cleans both up.
 */
export function createNetnsLeaser(network: NetworkConfig, addresses: AddressAllocator) {
  const bridge = bridgeOnce(network);
  return async function withNetns<T>(id: string, fn: (netnsPath: string, address: string) => Promise<T>, egress?: EgressPolicy | BuildEgress, addons?: AddonEndpoint[]): Promise<T> {
    await bridge();
    const address = await addresses.allocate(id);
    let created = false;
    try {
      const ns = await createNetns(network, id, address);
      created = true;
      if (egress) await applyEgress(ns.name, egress, network.subnet);
      if (addons?.length) await allowAddonTraffic(address, addons);
      return await fn(ns.path, address);
    } finally {
      if (created) await removeNetns(id);
      if (addons?.length) await removeAddonTraffic(address);
      await addresses.release(address);
    }
  };
}

export type NetnsLeaser = ReturnType<typeof createNetnsLeaser>;
