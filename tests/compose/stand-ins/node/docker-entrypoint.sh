#!/bin/sh
# Same contract as the official node image's docker-entrypoint.sh: when the first argument is an option
# (starts with "-"), is not a command, or is a non-executable file, run it with node; otherwise exec it as is.
set -e
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
