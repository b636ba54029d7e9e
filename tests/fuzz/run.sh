#!/bin/sh
# Fuzz the remote reader's ELF parser.
#   tests/fuzz/run.sh [SECONDS]     (default 60)
# With clang: libFuzzer + ASan/UBSan, seeded with real libpython and
# executable images. Without clang: the plain-main driver under gcc's ASan.
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-60}
out=${FUZZ_OUT:-/tmp/spyglass-fuzz}
mkdir -p "$out/corpus"
for f in $(ls "$(pyenv root 2>/dev/null)"/versions/3.*/lib/libpython3.*.so.1.0 2>/dev/null) /usr/bin/python3.11; do
    [ -f "$f" ] && [ ! -e "$out/corpus/$(basename "$f")" ] && cp "$f" "$out/corpus/"
done
src="$here/fuzz_elf.c $root/src/remote/elf.c"
if command -v clang >/dev/null; then
    clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
        -I"$root/src" $src -o "$out/fuzz_elf"
    "$out/fuzz_elf" -max_total_time="$secs" -max_len=262144 \
        -rss_limit_mb=4096 "$out/work" "$out/corpus" 2>&1 | tail -15
else
    gcc -g -O1 -fsanitize=address,undefined -DSG_FUZZ_MAIN -D_GNU_SOURCE \
        -I"$root/src" $src -o "$out/fuzz_elf"
    "$out/fuzz_elf" "$out"/corpus/*
fi
