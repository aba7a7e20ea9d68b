/** The AWS SDK's Node version warning, kept from users of a Node version this project supports. */

/** The SDK's documented opt-out of that warning (aws/aws-sdk-js-v3#7983). */
const NODE_WARNING_OPT_OUT = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/**
 * Builds a client without the SDK's eight-line NodeVersionSupportWarning ("versions published
 * after January 2027 will require node >=22"), which it prints once per process under Node 20, a
 * version this project supports. The SDK reads its opt-out while a client is built and then
 * marks the warning as given, so the variable is set only for that moment and put back: no other
 * warning is touched, and a value the user set (true or false) is left to decide.
 */
export function withoutNodeVersionWarning<T>(build: () => T): T {
  if (process.env[NODE_WARNING_OPT_OUT] !== undefined) return build();
  process.env[NODE_WARNING_OPT_OUT] = 'true';
  try {
    return build();
  } finally {
    delete process.env[NODE_WARNING_OPT_OUT];
  }
}
