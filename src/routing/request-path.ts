// What a request's path and query may be when they cross the tunnel: both ends (the gateway before it sends,
// the operator before it dials a backend) apply the same rule, so a path that one end would read one way and
// a backend another never reaches a backend. Pure.
//   - origin form only: starts with "/", no "#", no whitespace or control characters, no backslash;
//   - every "%" starts a valid escape;
//   - no segment that is, or decodes to, "." or ".." (also with ";params" after it, as Tomcat, Jetty and
//     Spring read "..;"): a route for /api must not serve /api/..;/admin;
//   - no encoded "/" or "\" (%2F, %5C) inside a segment: routing and the backend would split it differently;
//   - no encoded control character (%00 …) and nothing encoded twice (%252e): backends that trim or decode
//     again would read another path.
// Refused paths are answered 400; nothing is rewritten, so what is matched is what the backend sees.

/** The longest path (and, separately, query) accepted, in characters: well above what browsers send. */
export const MAX_PATH_CHARS = 8192;

export type PathCheck = { ok: true } | { ok: false; error: string };

// Printable ASCII except space, '#', '\\' and DEL (non-ASCII must be percent-encoded on the wire).
const ORIGIN_FORM = /^\/[\x21-\x22\x24-\x5b\x5d-\x7e]*$/;
const QUERY = /^[\x21-\x22\x24-\x7e]*$/;
const ESCAPE = /%(?![0-9a-fA-F]{2})/;

/** A percent-encoded path segment, decoded; undefined when its encoding is malformed (%zz, %E0%A4%A, %C0%AE). */
export function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Whether `path` (without its query) may be forwarded to a backend, and why not. */
export function checkRequestPath(path: string): PathCheck {
  if (path.length > MAX_PATH_CHARS) return { ok: false, error: `path is longer than ${MAX_PATH_CHARS} characters` };
  if (!ORIGIN_FORM.test(path)) return { ok: false, error: 'path must start with "/" and hold only printable ASCII without "#", "\\" or spaces' };
  if (ESCAPE.test(path)) return { ok: false, error: 'path has a "%" that does not start an escape' };
  for (const segment of path.split('/')) {
    if (!segment.includes('.') && !segment.includes('%')) continue;
    const decoded = decodePathSegment(segment);
    if (decoded === undefined) return { ok: false, error: `path segment "${segment}" has an escape that is not UTF-8` };
    if (decoded.includes('/') || decoded.includes('\\')) return { ok: false, error: `path segment "${segment}" holds an encoded "/" or "\\"` };
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(decoded)) return { ok: false, error: `path segment "${segment}" holds an encoded control character` };
    if (/%[0-9a-fA-F]{2}/.test(decoded)) return { ok: false, error: `path segment "${segment}" is encoded twice` };
    // Backends that trim spaces read "..%20" as "..".
    const bare = (decoded.split(';')[0] ?? '').trim();
    if (bare === '.' || bare === '..') return { ok: false, error: `path segment "${segment}" is a dot segment` };
  }
  return { ok: true };
}

/** Whether `query` (without its "?") may be forwarded. */
export function checkRequestQuery(query: string): PathCheck {
  if (query.length > MAX_PATH_CHARS) return { ok: false, error: `query is longer than ${MAX_PATH_CHARS} characters` };
  if (!QUERY.test(query)) return { ok: false, error: 'query must hold only printable ASCII without "#" or spaces' };
  return { ok: true };
}

/** Path and query together, as the tunnel checks a request before dialling. */
export function checkRequestTarget(path: string, query: string | undefined): PathCheck {
  const checked = checkRequestPath(path);
  return checked.ok && query ? checkRequestQuery(query) : checked;
}
