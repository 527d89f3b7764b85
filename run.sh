#!/bin/sh
# Set up, build, and start the KMS with its embedded defaults.
set -u
top=$(cd "$(dirname "$0")" && pwd)
cd "$top" || exit 1
. "$top/scripts/deps.sh"
kms_deps_install || { echo "run.sh: package installation failed" >&2; exit 1; }
kms_build "$top/build" || { echo "run.sh: build failed" >&2; exit 1; }
mkdir -p "$top/var"

if [ ! -x "$top/build/kms/kmsd" ]; then
	cat <<MSG
run.sh: built the libraries and tools in ./build.
  kmsd and bsf-stubd do not exist yet; once they do, this script starts:
    build/bsf-stub/bsf-stubd  (Zn on 127.0.0.1:8081, store var/bsf.db)
    build/kms/kmsd            (Ua on 127.0.0.1:8080, stores under var/)
  Tools available now: build/tools/kms-ue (if built).
MSG
	exit 0
fi
exec "$top/build/kms/kmsd" -f
