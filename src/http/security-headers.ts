/**
 * Headers every response carries. Stockade serves JSON, tarballs and plain text to package
 * managers and scripts, never HTML, so the browser-facing ones lock everything down: they cost
 * nothing for npm or pip, and they stop a browser from rendering or framing an uploaded file
 * (a package's README.html or an .svg served from a tarball listing) as if it were our page.
 */
export const SECURITY_HEADERS: Record<string, string> = {
  // Browsers must take the content type we send, not guess HTML from a package file's bytes.
  'x-content-type-options': 'nosniff',
  // No page of ours may be framed (clickjacking); the CSP line below says the same to newer browsers.
  'x-frame-options': 'DENY',
  // Registry URLs name private packages and repositories; they must not leak to other sites.
  'referrer-policy': 'no-referrer',
  // Nothing we serve needs to load scripts, styles or images: if a browser ever renders a
  // response as a document, it gets no active content.
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  // Other sites' pages may not embed our responses (e.g. a private tarball via <img> or <script>);
  // package managers are not browsers and ignore it.
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * Sent only on requests that arrived over https (directly or through a trusted proxy): over plain
 * http a browser ignores it, and sending it there would promise https where none may exist.
 * A year, without includeSubDomains or preload: those bind other hosts of the domain too.
 */
export const HSTS_HEADER: Readonly<{ name: string; value: string }> = {
  name: 'strict-transport-security',
  value: 'max-age=31536000',
};
