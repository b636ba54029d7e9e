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
mkdir -p "$out/corpus" "$out/work"
for f in $(ls "$(pyenv root 2>/dev/null)"/versions/3.*/lib/libpython3.*.so.1.0 2>/dev/null) /usr/bin/python3.11; do
    [ -f "$f" ] && [ ! -e "$out/corpus/$(basename "$f")" ] && cp "$f" "$out/corpus/"
done
# Small seeds that keep their section tables within -max_len: images that
# look like libpython to the reader (_PyRuntime in a .PyRuntime section,
# Py_Version, a PY_VERSION string), shared and executable, plain and
# stripped.
cat > "$out/seed.c" <<'SEED'
__attribute__((section(".PyRuntime"))) char _PyRuntime[672];
const unsigned Py_Version = 0x030c01f0;
const char *version_string = "3.10.13";
int main(void) { return _PyRuntime[0] + (int)Py_Version; }
SEED
if [ ! -e "$out/corpus/seed.so" ]; then
    gcc -shared -fPIC -o "$out/corpus/seed.so" "$out/seed.c"
    gcc -no-pie -o "$out/corpus/seed-exe" "$out/seed.c"
    strip -o "$out/corpus/seed-stripped.so" "$out/corpus/seed.so"
fi
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
