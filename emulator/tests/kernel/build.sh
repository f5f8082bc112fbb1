#!/bin/sh
# Rebuild emulator/tests/kernel/<case>/prog.bpf.o (or those of CASES_DIR) from prog.bpf.c exactly as the
# kernel oracle compiles them:
#   clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -DORACLE_NCPUS=2 \
#         -I<tmp dir with vmlinux.h> -I/usr/include [case cflags...]
# vmlinux.h is generated from this machine's kernel BTF into a temporary
# directory and deleted afterwards; it is never committed.
#
# After compiling, the DWARF sections (.debug_*, ~600 KiB per object because
# vmlinux.h drags in every kernel enum) are removed with
# `llvm-objcopy --strip-debug`. Code, relocations, .BTF and .BTF.ext are kept
# byte for byte, so the objects stay what the oracle loaded, minus DWARF.
# Set KEEP_DEBUG=1 to keep the DWARF sections.
set -eu

# CASES_DIR: the folder of case directories (default: this script's; tests/sk/build.sh
# points it at the socket cases).
here=${CASES_DIR:-$(cd "$(dirname "$0")" && pwd)}
clang=${CLANG:-clang}
bpftool=${BPFTOOL:-bpftool}
btf=${VMLINUX_BTF:-/sys/kernel/btf/vmlinux}
objcopy=${LLVM_OBJCOPY:-llvm-objcopy}

if ! command -v "$clang" >/dev/null 2>&1; then
	echo "build.sh: $clang not found; skipping (committed .o files are kept)" >&2
	exit 0
fi
if ! command -v "$bpftool" >/dev/null 2>&1 || [ ! -r "$btf" ]; then
	echo "build.sh: bpftool or $btf not available; skipping (committed .o files are kept)" >&2
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
"$bpftool" btf dump file "$btf" format c >"$tmp/vmlinux.h"

for dir in "$here"/*/; do
	dir=${dir%/}
	[ -f "$dir/prog.bpf.c" ] || continue
	# Extra flags from case.json ("cflags": [...]); none of the recorded cases has any yet.
	cflags=""
	if command -v python3 >/dev/null 2>&1 && [ -f "$dir/case.json" ]; then
		cflags=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1])).get("cflags", [])))' "$dir/case.json")
	fi
	# shellcheck disable=SC2086 # cflags is a word list on purpose
	# Compile from inside the case directory, with a debug prefix map, so the objects record
	# "prog.bpf.c" (as the kernel prints it in "; ... @ prog.bpf.c:LINE") rather than this
	# checkout's absolute path. This changes only recorded file names, not code or types.
	if (cd "$dir" && "$clang" -O2 -g -target bpf -D__TARGET_ARCH_x86 -DORACLE_NCPUS=2 \
		-I"$tmp" -I/usr/include $cflags -fdebug-prefix-map="$dir"=. \
		-c prog.bpf.c -o prog.bpf.o); then
		if [ "${KEEP_DEBUG:-0}" != 1 ] && command -v "$objcopy" >/dev/null 2>&1; then
			"$objcopy" --strip-debug "$dir/prog.bpf.o"
		fi
		echo "built $(basename "$dir")/prog.bpf.o"
	else
		echo "build.sh: $(basename "$dir"): compile failed" >&2
	fi
done
