// Placeholder: being built by a helper.
export const SECURITY_HEADERS: Record<string, string> = {};
