#!/bin/sh
# Rebuild examples/*.o from examples/*.s with `iterscope asm`, and examples/*.bpf.o from
# examples/*.bpf.c with the project's own minimal vmlinux.h
# (examples/vmlinux.h) and the libbpf headers:
#   clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I examples -I/usr/include
# then drops the DWARF sections (llvm-strip --strip-debug; .BTF and .BTF.ext stay).
# Skips with a message when clang is missing (the committed .o files are kept).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
clang=${CLANG:-clang}

# Assembly examples: examples/*.s -> examples/*.o with the project's own assembler.
if command -v cargo >/dev/null 2>&1; then
	for src in "$here"/*.s; do
		cargo run -q -p iterscope-emulator --bin iterscope -- asm "$src" -o "${src%.s}.o"
		echo "built ${src%.s}.o"
	done
fi

if ! command -v "$clang" >/dev/null 2>&1; then
	echo "build.sh: $clang not found; skipping (committed .o files are kept)" >&2
	exit 0
fi

# Compile from inside examples/ with relative names and a debug prefix map, so the objects
# do not record this checkout's absolute path.
cd "$here"
for src in *.bpf.c; do
	obj=${src%.c}.o
	"$clang" -O2 -g -target bpf -D__TARGET_ARCH_x86 -I. -I/usr/include \
		-fdebug-prefix-map="$here"=. -c "$src" -o "$obj"
	# DWARF is not needed (BTF and .BTF.ext carry the types and source lines) and would
	# only grow the objects the web bundle embeds.
	llvm-strip --strip-debug "$obj"
	echo "built $obj"
done
