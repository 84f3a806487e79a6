/**
 * `tributary/pairing`: pair a device with a gateway (CA pinned by its
 * fingerprint, a fresh device identity) and read the credentials pairing
 * stored — what `tributary-agent pair` does, for apps that pair themselves or
 * use the agent's credentials. A public entry module (docs/security.md).
 *
 * @example
 * import { loadDeviceCredentials } from 'tributary/pairing';
 * const creds = loadDeviceCredentials('/var/lib/tributary');   // written by tributary-agent pair
 * console.log(creds.name, creds.endpoint);
 */
export {
  pairDevice, loadDeviceCredentials, saveDeviceCredentials, credentialsFileName, type DeviceCredentials, type PairOptions,
} from './devices/pairing.ts';
export { fingerprintOf, normaliseFingerprint } from './crypto/fingerprint.ts';
export { TributaryError } from './protocol/errors.ts';
