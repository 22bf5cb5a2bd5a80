/** The one loader: a failed load throws one clear error that says what was tried and how to fix it. */
describe('native loader', () => {
  const saved = process.env.NODETRAIN_ADDON;
  afterEach(() => {
    if (saved === undefined) delete process.env.NODETRAIN_ADDON;
    else process.env.NODETRAIN_ADDON = saved;
  });

  it('names the tried path, the reason and the fix', () => {
    process.env.NODETRAIN_ADDON = '/nonexistent/nodetrain.node';
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const nt = require('../../lib') as typeof import('../../lib');
      let err: (Error & { code?: string }) | undefined;
      try {
        nt.tensor([1, 2]);
      } catch (e) {
        err = e as Error & { code?: string };
      }
      expect(err?.code).toBe('ERR_NT_LOAD');
      expect(err?.message).toMatch(/^nodetrain could not load its native addon for \w+-\w+ \(Node v[\d.]+, Node-API \d+\)\. Tried: \/nonexistent\/nodetrain\.node\. Reason: Cannot find module '\/nonexistent\/nodetrain\.node'.*Fix: unset NODETRAIN_ADDON or point it at a built nodetrain\.node\.$/s);
    });
  });

  it('loads the local build by default and reports the CPU features it dispatches on', () => {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const nt = require('../../lib') as typeof import('../../lib');
      expect(nt.backend()).toBe('cpu');
      const f = nt.cpuFeatures();
      expect(typeof f.avx2).toBe('boolean');
      expect(f.useAvx2).toBe(f.avx2 && f.fma && f.avx2Kernels);
      nt.setForcePortable(true);
      expect(nt.cpuFeatures().useAvx2).toBe(false);
      nt.setForcePortable(false);
      expect(() => nt.setNumThreads(0)).toThrow('Expected an integer in [1, 256] for n but received 0');
    });
  });
});
