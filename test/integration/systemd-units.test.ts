// Proves the shipped systemd units are valid: `systemd-analyze verify` (from
// Debian's systemd, installed by .ci/run when missing) accepts them without a
// warning. systemd itself does not run here, so this is the strongest check
// available short of booting a unit.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { tempDir } from '../helpers/gateway.ts';
import { repoRoot } from '../helpers/spawn-gateway.ts';

const run = promisify(execFile);

for (const unit of ['tributary-gateway.service', 'tributary-agent.service']) {
  it(`${unit} passes systemd-analyze verify`, async () => {
    // verify wants the file name to be the unit name.
    const dir = tempDir('trb-unit-');
    const file = path.join(dir, unit);
    fs.copyFileSync(path.join(repoRoot, 'configs', 'systemd', unit), file);
    const { stdout, stderr } = await run('systemd-analyze', ['verify', file]);
    expect(stdout + stderr).toBe('');
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/^NoNewPrivileges=yes$/m);
    expect(text).toMatch(/^ProtectSystem=strict$/m);
    if (unit.includes('agent')) {
      expect(text).toMatch(/^Type=notify$/m);
      expect(text).toMatch(/^WatchdogSec=\d+$/m);
      expect(text).toMatch(/^StateDirectory=tributary$/m);
    }
  });
}
