/**
 * The runner as the control plane sees it: the Runner interface and its dyno spec (runner.ts), and the host
 * mechanisms the control plane uses (stacks, the bridge, scratch disks, archives, runc for the add-on sandboxes).
 * `server` imports the runner through this file only (the composition roots in server/roles and server/up aside);
 * the import rules in .dependency-cruiser.cjs check it.
 */
export * from './runner.js';
export { DYNO_SIZES, DEFAULT_DYNO_SIZE, dynoSize, type DynoSize } from '../platform/sizes.js';
export { inspectTar, unpackTar, unpackSlugFile, unpackUser, PIGZ, PIGZ_PACK_ARGS } from './archive/unpack.js';
export { TarGuard, TarRefused, type TarGuardOptions } from './archive/tar-guard.js';
// What the control plane uses of the host's mechanisms (it reaches the runner through this file only).
export { type AgentStore, type DesiredDyno, type DynoReport, type OneOffDyno } from './agent/agent.js';
export { DYNO_PATH } from './sandbox/dyno-env.js';
export { addressAt, ensureBridge, intToIp, parseSubnet, type AddonEndpoint } from './sandbox/network.js';
export { type ProcessSpec } from './sandbox/oci-spec.js';
export { describeRunStackProblems, type RunStackCheck } from './build/run-stack-check.js';
export { createRunc, type Runc } from './sandbox/runc.js';
export { diskFull, diskUse, freeBytes, mountDisk, scratchPaths, unmountDisk } from './sandbox/scratch-disk.js';
export { unpackedArchive, unpackedDigest } from './archive/slug-cache.js';
export { DYNO_GID, DYNO_UID, ensureStack, stackName, stackPath } from './sandbox/stack.js';
