#!/bin/sh
# Rebuild emulator/tests/sk/<case>/prog.bpf.o (socket cases, recorded by sk-oracle) from
# prog.bpf.c exactly as the kernel cases are built: see ../kernel/build.sh.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
CASES_DIR=$here exec sh "$here/../kernel/build.sh" "$@"
