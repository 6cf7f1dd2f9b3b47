import { loadConfig } from '@lb/runtime';
import { resolveAdvertisedUrl, resolveBackendId, resolveIdentity } from './backend-identity';
import { BackendSimEnv } from './backend-sim.env';

const config = (env: Record<string, string> = {}) => loadConfig(BackendSimEnv, { BACKEND_REGISTER: 'false', ...env });

describe('resolveBackendId', () => {
  it.each<[Record<string, string>, string, string]>([
    [{ BACKEND_ID: 'chosen', NOMAD_ALLOC_ID: '5b1a-77' }, 'box', 'chosen'],
    [{ NOMAD_ALLOC_ID: '5b1a-77' }, 'box', '5b1a-77'],
    [{}, 'box', 'sim-box-40123'],
    [{}, 'my_host!name', 'sim-my_host-name-40123'],
    [{}, '', 'sim-host-40123'],
  ])('%p on host %p -> %p', (env, host, expected) => {
    expect(resolveBackendId(config(env), 40_123, host)).toBe(expected);
  });
});

describe('resolveAdvertisedUrl', () => {
  it.each<[Record<string, string>, string]>([
    [{ ADVERTISE_URL: 'http://10.0.0.5:9000', NOMAD_IP_http: '10.9.9.9', NOMAD_PORT_http: '1' }, 'http://10.0.0.5:9000'],
    [{ NOMAD_IP_http: '10.9.9.9', NOMAD_PORT_http: '25001' }, 'http://10.9.9.9:25001'],
    [{ NOMAD_IP_http: 'fd00::5', NOMAD_PORT_http: '25001' }, 'http://[fd00::5]:25001'],
    [{}, 'http://127.0.0.1:40123'],
    [{ BACKEND_HOST: '10.0.0.7' }, 'http://10.0.0.7:40123'],
    [{ BACKEND_HOST: '::' }, 'http://[::1]:40123'],
  ])('%p -> %p', (env, expected) => {
    expect(resolveAdvertisedUrl(config(env), 40_123)).toBe(expected);
  });

  it('gives clients the advertised URL unless PUBLIC_URL says otherwise', () => {
    expect(resolveIdentity(config(), 1_234, 'h').publicUrl).toBe('http://127.0.0.1:1234');
    expect(resolveIdentity(config({ PUBLIC_URL: 'https://b.example' }), 1_234, 'h').publicUrl).toBe('https://b.example');
  });
});
