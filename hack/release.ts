// The release's version and notes. package.json's version is the one source: the chart (version and
// appVersion), the image label (make image passes it as VERSION), the kustomize images and the runbook
// address in docs/operations.md's alerts example carry copies that must agree with it.
//
//   tsx hack/release.ts prepare <dir>    versions agree and CHANGELOG.md has an entry for the version: writes
//                                        <dir>/RELEASE-NOTES.md (that entry) and <dir>/gateway-operator-crds-<v>.yaml
//                                        (the CRDs of crds/, for `kubectl apply --server-side -f`); else exits 1,
//                                        printing a skeleton entry from git log since the previous release
//   tsx hack/release.ts set-version <v>  writes <v> into package.json, package-lock.json and every copy
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crdFiles } from './chart-crds.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** The image this project publishes; the chart's image.repository and the kustomize Deployment and Job name it. */
export const IMAGE_REPOSITORY = 'ghcr.io/pipeops/gateway-operator';

/** A copy of the version: the file it is in, and how to find (group 2) and replace it in that file's text. */
interface Copy {
  file: string;
  what: string;
  pattern: RegExp;
}

const escaped = IMAGE_REPOSITORY.replace(/[./]/g, '\\$&');
export const VERSION_COPIES: readonly Copy[] = [
  { file: 'package-lock.json', what: 'version', pattern: /^(  "version": ")([^"]+)(")/m },
  { file: 'package-lock.json', what: 'packages[""].version', pattern: /^(      "version": ")([^"]+)(")/m },
  { file: 'charts/gateway-operator/Chart.yaml', what: 'version', pattern: /^(version: )(\S+)()$/m },
  { file: 'charts/gateway-operator/Chart.yaml', what: 'appVersion', pattern: /^(appVersion: ")([^"]+)(")$/m },
  { file: 'config/manager/manager.yaml', what: 'image', pattern: new RegExp(`^(\\s+image: ${escaped}:)(\\S+)()$`, 'm') },
  { file: 'config/deregister/job.yaml', what: 'image', pattern: new RegExp(`^(\\s+image: ${escaped}:)(\\S+)()$`, 'm') },
  // The runbook address of the alerts example: the tag whose operations.md has the runbooks this chart's alerts link to.
  { file: 'docs/operations.md', what: 'runbookBaseUrl example', pattern: /(runbookBaseUrl=\S+\/blob\/v)([^/\s]+)(\/docs\/operations\.md)/ },
];

export const packageVersion = (packageJson: string): string => (JSON.parse(packageJson) as { version: string }).version;

/** Each copy of the version as found (undefined: the pattern no longer matches, which is a disagreement too). */
export function versionCopies(readFile: (path: string) => string = read): Array<{ where: string; version: string | undefined }> {
  return VERSION_COPIES.map(({ file, what, pattern }) => ({ where: `${file} ${what}`, version: pattern.exec(readFile(file))?.[2] }));
}

/** The copies that disagree with package.json's version, as sentences. */
export function versionDisagreements(readFile: (path: string) => string = read): string[] {
  const version = packageVersion(readFile('package.json'));
  return versionCopies(readFile)
    .filter((copy) => copy.version !== version)
    .map((copy) => `${copy.where} is ${copy.version ?? 'not found'}, package.json says ${version}`);
}

/** The entries of CHANGELOG.md: `## <version>` headings, each with its text up to the next one. */
export function changelogEntries(changelog: string): Array<{ version: string; text: string }> {
  return changelog
    .split(/^(?=## )/m)
    .slice(1)
    .map((section) => ({ version: /^## \[?([^\]\s]+)/.exec(section)![1]!, text: section.trimEnd() + '\n' }));
}

/**
 * The release before `version` (the entry below its own, or the newest entry when it has none yet) and the git
 * revision it was made from: the tag v<version>, or for a release made before tags, the commit its entry names
 * ("Released as commit <hash>").
 */
export function previousRelease(changelog: string, version: string): { version: string; tag: string; commit: string | undefined } | undefined {
  const entries = changelogEntries(changelog);
  const own = entries.findIndex((entry) => entry.version === version);
  const previous = entries[own + 1];
  if (!previous) return undefined;
  return { version: previous.version, tag: `v${previous.version}`, commit: /released as commit ([0-9a-f]{7,40})/i.exec(previous.text)?.[1] };
}

/** A CHANGELOG.md entry to start from: the subjects of the commits since the previous release. */
export function changelogSkeleton(version: string, date: string, subjects: readonly string[]): string {
  return [`## ${version} - ${date}`, '', '### Changed', '', ...subjects.map((subject) => `- ${subject}`), ''].join('\n');
}

/** The first revision of `revisions` this checkout has, or undefined. */
export function resolveRevision(revisions: ReadonlyArray<string | undefined>): string | undefined {
  for (const revision of revisions) {
    if (!revision) continue;
    try {
      return execFileSync('git', ['rev-parse', '--verify', '--quiet', `${revision}^{commit}`], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      // not in this checkout (a shallow clone, or not tagged): try the next
    }
  }
  return undefined;
}

function prepare(dir: string): void {
  const version = packageVersion(read('package.json'));
  const problems = versionDisagreements();
  const changelog = read('CHANGELOG.md');
  const entry = changelogEntries(changelog).find((e) => e.version === version);
  if (!entry) {
    const previous = previousRelease(changelog, version);
    const since = previous && resolveRevision([previous.tag, previous.commit]);
    const log = execFileSync('git', ['log', '--no-merges', '--format=%s', ...(since ? [`${since}..HEAD`] : ['-20'])], { cwd: ROOT, encoding: 'utf8' });
    const skeleton = changelogSkeleton(version, new Date().toISOString().slice(0, 10), log.trim().split('\n').filter(Boolean));
    const range = since ? `the commits since release ${previous!.version}` : `the last 20 commits: no tag or commit of a previous release found`;
    problems.push(`CHANGELOG.md has no entry for ${version}. Edit this one (${range}) into it:\n\n${skeleton}`);
  }
  if (problems.length) {
    console.error(`make release: not releasing ${version}:\n- ${problems.join('\n- ')}`);
    process.exit(1);
  }
  mkdirSync(join(ROOT, dir), { recursive: true });
  writeFileSync(join(ROOT, dir, 'RELEASE-NOTES.md'), entry!.text);
  const crds = crdFiles(join(ROOT, 'crds')).map((file) => read(join('crds', file)).trimEnd());
  writeFileSync(join(ROOT, dir, `gateway-operator-crds-${version}.yaml`), `${crds.join('\n---\n')}\n`);
  console.log(`release ${version}: wrote ${dir}/RELEASE-NOTES.md and ${dir}/gateway-operator-crds-${version}.yaml`);
}

function setVersion(version: string): void {
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) throw new Error(`"${version}" is not a semantic version`);
  const packageJson = read('package.json');
  writeFileSync(join(ROOT, 'package.json'), packageJson.replace(/^(  "version": ")([^"]+)(")/m, `$1${version}$3`));
  for (const { file, pattern } of VERSION_COPIES) writeFileSync(join(ROOT, file), read(file).replace(pattern, `$1${version}$3`));
  console.log(`version ${version} in package.json and ${[...new Set(VERSION_COPIES.map((c) => c.file))].join(', ')}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [command, argument] = process.argv.slice(2);
  if (command === 'prepare' && argument) prepare(argument);
  else if (command === 'set-version' && argument) setVersion(argument);
  else {
    console.error('usage: tsx hack/release.ts prepare <dir> | set-version <version>');
    process.exit(2);
  }
}
