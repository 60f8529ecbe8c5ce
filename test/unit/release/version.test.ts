// One version, package.json's: the chart's version and appVersion, the image's label and config/'s images carry
// copies of it, and CHANGELOG.md has its entry. The image test (test/e2e/image.test.ts) reads the label off the
// built image; this checks the sources that put it there.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { changelogEntries, IMAGE_REPOSITORY, packageVersion, versionCopies, versionDisagreements } from '../../../hack/release.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const version = packageVersion(read('package.json'));

describe(`version ${version}`, () => {
  it("the chart (version, appVersion), package-lock.json, the images of config/ and docs/operations.md's runbook address agree with package.json", () => {
    expect(versionCopies().length).toBeGreaterThanOrEqual(7);
    expect(versionDisagreements()).toEqual([]);
  });

  it("the image's label is the version make image passes, read from package.json", () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toMatch(/^\s+org\.opencontainers\.image\.version="\$\{VERSION\}"/m);
    const makefile = read('Makefile');
    expect(makefile).toContain(`VERSION := $(shell node -p "require('./package.json').version")`);
    expect(/^IMAGE_BUILD_ARGS = .*--build-arg VERSION=\$\(VERSION\)/m.test(makefile)).toBe(true);
  });

  it('the chart runs the image this project publishes, tagged with its appVersion', () => {
    const values = yaml.load(read('charts/gateway-operator/values.yaml')) as { image: { repository: string; tag: string } };
    expect(values.image).toMatchObject({ repository: IMAGE_REPOSITORY, tag: '' });
    expect(read('Makefile')).toContain(`IMAGE_REPOSITORY := ${IMAGE_REPOSITORY}`);
  });

  it('CHANGELOG.md has an entry for it, the newest', () => {
    expect(changelogEntries(read('CHANGELOG.md'))[0]?.version).toBe(version);
  });
});
