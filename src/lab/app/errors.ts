// The lab page's own error. The page's modules are served from app/ alone (../static.ts), so they cannot import
// src/errors.ts: LabPageError (and http-client.ts's LabRequestError) stand in for TlensError on the page.

/** The page cannot run as built or as asked: an element it needs is missing, a mode this browser cannot run. */
export class LabPageError extends Error {
  override name = "LabPageError";
}
