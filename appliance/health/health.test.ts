import t from 'tap';
import { type HealthProbes, HealthSampler } from './health.js';

const good: HealthProbes = {
  currentLoad: async () => ({ currentLoad: 12.345 }),
  mem: async () => ({ total: 4e9, available: 1e9 }),
  fsSize: async () => [
    { mount: '/', size: 100e9, used: 10e9, use: 10 },
    { mount: '/var', size: 50e9, used: 25e9, use: 50 },
    { mount: '/var/lib/cyberalarm-other', size: 1e9, used: 1e9, use: 100 },
  ],
  cpuTemperature: async () => ({ main: 51.2 }),
  time: () => ({ uptime: 3600 }),
};

t.test('a sample reads every probe; the disk is the one holding the data directory', async (t) => {
  const sampler = new HealthSampler({ version: '1.2.3', dataDir: '/var/lib/cyberalarm', probes: good });
  t.equal(sampler.latest().sampledAt, null, 'nothing before the first sample');
  await sampler.sample();
  const h = sampler.latest();
  t.equal(h.version, '1.2.3');
  t.equal(h.cpuLoadPercent, 12.3);
  t.same(h.memory, { totalBytes: 4e9, availableBytes: 1e9, usedPercent: 75 });
  t.equal(h.disk?.mount, '/var', 'longest mount that is a prefix of the data directory, by path segment');
  t.equal(h.disk?.usedPercent, 50);
  t.equal(h.temperatureC, 51.2);
  t.equal(h.uptimeS, 3600);
  t.same(h.errors, []);
});

t.test('failing or odd probes never throw: fields go null and the errors are listed', async (t) => {
  const broken: HealthProbes = {
    currentLoad: async () => {
      throw new Error('no /proc/stat');
    },
    mem: async () => ({ total: 0, available: Number.NaN }),
    fsSize: async () => {
      throw 'not an Error';
    },
    cpuTemperature: async () => ({ main: null }),
    time: () => {
      throw new Error('clock');
    },
  };
  const sampler = new HealthSampler({ version: 'v', dataDir: '/data', probes: broken });
  await t.resolves(sampler.sample());
  const h = sampler.latest();
  t.ok(h.sampledAt);
  t.equal(h.cpuLoadPercent, null);
  t.equal(h.memory, null);
  t.equal(h.disk, null);
  t.equal(h.temperatureC, null, 'no sensor is not an error');
  t.equal(h.uptimeS, null);
  t.same([...h.errors].sort(), ['currentLoad: no /proc/stat', 'fsSize: not an Error', 'time: clock']);
});

t.test('the real systeminformation probes work here and sampling runs in the background', async (t) => {
  const sampler = new HealthSampler({ version: 'v', dataDir: process.cwd(), everyMs: 60_000 });
  sampler.start();
  await sampler.sample(); // joins the sample start() began
  await sampler.stop();
  const h = sampler.latest();
  t.ok(h.sampledAt, 'sampled');
  t.ok(h.memory && h.memory.totalBytes > 0, 'memory read');
  t.type(h.uptimeS, 'number');
});
