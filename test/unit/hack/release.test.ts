import { describe, expect, it } from '@jest/globals';
import { changelogEntries, changelogSkeleton, previousRelease, versionDisagreements } from '../../../hack/release.js';

const CHANGELOG = `# Changelog

Prose.

## 0.3.0 - 2027-01-02

- c

## [0.2.0] - 2026-12-01

- b

## 0.1.0

Released as commit f90746f, before releases were tagged.
`;

describe('CHANGELOG.md', () => {
  it('has one entry per "## <version>" heading, newest first, with its text', () => {
    const entries = changelogEntries(CHANGELOG);
    expect(entries.map((e) => e.version)).toEqual(['0.3.0', '0.2.0', '0.1.0']);
    expect(entries[0]!.text).toBe('## 0.3.0 - 2027-01-02\n\n- c\n');
  });

  it('names the release before a version: its tag, and the commit of an untagged one', () => {
    expect(previousRelease(CHANGELOG, '0.3.0')).toEqual({ version: '0.2.0', tag: 'v0.2.0', commit: undefined });
    expect(previousRelease(CHANGELOG, '0.2.0')).toEqual({ version: '0.1.0', tag: 'v0.1.0', commit: 'f90746f' });
    expect(previousRelease(CHANGELOG, '0.1.0')).toBeUndefined();
    // A version without an entry yet: the newest one is its previous release.
    expect(previousRelease(CHANGELOG, '0.4.0')?.version).toBe('0.3.0');
  });

  it('a skeleton lists the commits', () => {
    expect(changelogSkeleton('0.4.0', '2027-02-03', ['one', 'two'])).toBe('## 0.4.0 - 2027-02-03\n\n### Changed\n\n- one\n- two\n');
  });
});

describe('version copies', () => {
  const files = (chart: string, image = 'ghcr.io/pipeops/gateway-operator:1.0.0', runbooks = '1.0.0'): Record<string, string> => ({
    'package.json': '{\n  "name": "x",\n  "version": "1.0.0"\n}\n',
    'package-lock.json': '{\n  "version": "1.0.0",\n  "packages": {\n    "": {\n      "version": "1.0.0"\n    }\n  }\n}\n',
    'charts/gateway-operator/Chart.yaml': chart,
    'config/manager/manager.yaml': `        - name: operator\n          image: ${image}\n`,
    'config/deregister/job.yaml': `        - name: deregister\n          image: ${image}\n`,
    'docs/operations.md': `  --set prometheusRule.runbookBaseUrl=https://git.example.com/x/blob/v${runbooks}/docs/operations.md \\\n`,
  });
  const reader = (contents: Record<string, string>) => (path: string) => contents[path] ?? '';

  it('agree', () => {
    expect(versionDisagreements(reader(files('version: 1.0.0\nappVersion: "1.0.0"\n')))).toEqual([]);
  });

  it('each one that disagrees or is gone is named', () => {
    expect(versionDisagreements(reader(files('version: 1.0.1\nappVersion: "1.0.0"\n', 'gateway-operator:1.0.0', '0.9.0')))).toEqual([
      'charts/gateway-operator/Chart.yaml version is 1.0.1, package.json says 1.0.0',
      'config/manager/manager.yaml image is not found, package.json says 1.0.0',
      'config/deregister/job.yaml image is not found, package.json says 1.0.0',
      'docs/operations.md runbookBaseUrl example is 0.9.0, package.json says 1.0.0',
    ]);
  });
});
