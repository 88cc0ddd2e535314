#!/bin/sh
# Prints a NODE_PATH holding the official MongoDB Node.js driver (installed
# once from the npm registry).  The tests use it to read back what the
# gateway wrote with a client that is not the gateway's own.
exec "$(dirname "$0")/npm_package.sh" mongodb "${MONGODB_DRIVER_VERSION:-6.10.0}"
