#!/bin/sh
# Fuzz the parsers that read untrusted bytes.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]   (default 60 s each; targets:
#                                              elf linetable pystr dat pstats json)
# With clang: libFuzzer + ASan/UBSan, each target with its own corpus under
# $FUZZ_OUT (default /tmp/spyglass-fuzz). Without clang: the plain driver
# (driver.c) under gcc's ASan/UBSan over the corpus. The test suite runs the
# driver briefly on every target (tests/test_fuzz.py).
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-elf linetable pystr dat pstats json}
out=${FUZZ_OUT:-/tmp/spyglass-fuzz}

deps() {
    case $1 in
    elf) echo "$root/src/remote/elf.c" ;;
    linetable) echo "$root/src/remote/linetable.c" ;;
    pystr) echo "$root/src/remote/pystr.c $root/src/common/strbuf.c $root/src/common/alloc.c $root/src/common/output.c $root/src/common/err.c" ;;
    dat) echo "$root/src/writers/datread.c $root/src/model/timeline.c $root/src/common/alloc.c" ;;
    pstats) echo "$root/src/writers/pstatsread.c $root/src/model/profile.c $root/src/model/funcstats.c $root/src/common/hashmap.c $root/src/common/alloc.c $root/src/common/strbuf.c $root/src/common/err.c $root/src/common/output.c" ;;
    json) echo "$root/src/common/jsonread.c $root/src/common/json.c $root/src/writers/ssread.c $root/src/model/profile.c $root/src/common/hashmap.c $root/src/common/alloc.c $root/src/common/strbuf.c $root/src/common/err.c $root/src/common/output.c" ;;
    *) echo "run.sh: unknown target $1" >&2; exit 2 ;;
    esac
}

seed() {
    corpus=$1
    case $2 in
    elf)
        # Real images, and the small ones of elf_seed.c.
        for f in $(ls "$(pyenv root 2>/dev/null)"/versions/3.*/lib/libpython3.*.so.1.0 2>/dev/null); do
            [ -e "$corpus/$(basename "$f")" ] || cp "$f" "$corpus/"
        done
        if [ ! -e "$corpus/seed.so" ]; then
            gcc -shared -fPIC -o "$corpus/seed.so" "$here/elf_seed.c"
            gcc -no-pie -o "$corpus/seed-exe" "$here/elf_seed.c"
            strip -o "$corpus/seed-stripped.so" "$corpus/seed.so"
            # The same image with e_machine 183 (aarch64).
            cp "$corpus/seed.so" "$corpus/seed-aarch64.so"
            printf '\267\000' | dd of="$corpus/seed-aarch64.so" bs=1 seek=18 \
                conv=notrunc 2>/dev/null
        fi ;;
    linetable)
        # format byte, first line (LE), then a table of that format.
        printf '\000\001\000\000\000\006\001\004\002\010\375' > "$corpus/lnotab"
        printf '\002\001\000\000\000\360\003\001\002\003\200\001\001' > "$corpus/loc" ;;
    pystr)
        printf '\000caf\351' > "$corpus/latin1"
        printf '\001\254\040\000\330' > "$corpus/ucs2"
        printf '\002\000\366\001\000\377\377\021\000' > "$corpus/ucs4" ;;
    dat)
        printf 'CMDLINE python3 x.py\nMEM 12.5 1795476171.2658\nCHLD 10374 10.5 1795476171.2898\nFUNC m.f 21.7 1795476170.4773 44.6 1795476170.6186 0\n' > "$corpus/mprof.dat" ;;
    pstats)
        printf 'main (a.py:1);f (a.py:3) 5\nmain (a.py:1);g (b.py:7) 2\n' > "$corpus/s.folded" ;;
    json)
        printf '{"shared":{"frames":[{"name":"m","file":"a.py","line":1},{"name":"f"}]},"profiles":[{"type":"sampled","name":"t","unit":"nanoseconds","startValue":0,"endValue":8,"samples":[[0,1],[0]],"weights":[5,3]},{"type":"evented","name":"e","unit":"seconds","startValue":0,"endValue":2,"events":[{"type":"O","at":0,"frame":0},{"type":"O","at":0.5,"frame":1},{"type":"C","at":1,"frame":1}]}]}' > "$corpus/ss.json" ;;
    esac
}

for t in $targets; do
    src="$here/fuzz_$t.c $(deps "$t")"
    corpus="$out/$t/corpus"
    mkdir -p "$corpus" "$out/$t/work"
    seed "$corpus" "$t"
    echo "== $t"
    if command -v clang >/dev/null; then
        # shellcheck disable=SC2086
        clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
            -I"$root/src" -I"$here" $src -o "$out/fuzz_$t"
        "$out/fuzz_$t" -max_total_time="$secs" -max_len=262144 \
            -rss_limit_mb=4096 "$out/$t/work" "$corpus" 2>&1 | tail -5
    else
        # shellcheck disable=SC2086
        gcc -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
            -D_GNU_SOURCE -I"$root/src" -I"$here" $src "$here/driver.c" \
            -o "$out/fuzz_$t"
        FUZZ_ROUNDS=${FUZZ_ROUNDS:-20000} "$out/fuzz_$t" "$corpus"/*
    fi
done
