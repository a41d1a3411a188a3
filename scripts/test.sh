#!/bin/sh
# test.sh - the whole test suite on a fresh Debian 12 machine: installs what
# is missing, builds in build/, runs `make check` (unit tests, milter
# protocol tests, end to end through a private Postfix and Redis).
# With --sanitize, also builds in build-asan/ with AddressSanitizer and
# UndefinedBehaviorSanitizer (clang) and runs the unit tests there.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)

# summarise DIR: print each test's Check/summary line and failing logs.
summarise() {
    for trs in "$1"/tests/*.trs; do
        [ -e "$trs" ] || continue
        log=${trs%.trs}.log
        result=$(sed -n 's/^:test-result: //p' "$trs")
        line=$(grep -E '^[0-9]+%: Checks:|[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
        printf '%-5s %-28s %s\n' "$result" "$(basename "${trs%.trs}")" "$line"
        case "$result" in FAIL|ERROR) echo "----- $log"; tail -60 "$log"; echo "-----" ;; esac
    done
}

"$top/scripts/install-deps.sh"
"$top/scripts/build.sh" "$top/build"
status=0
make -C "$top/build" check >"$top/build/make-check.out" 2>&1 \
    || { status=1; grep -E "error|Error" "$top/build/make-check.out" | head -30; }
summarise "$top/build"
if [ "${1:-}" = "--sanitize" ]; then
    "$top/scripts/build.sh" "$top/build-asan" --enable-sanitizers CC=clang
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    make -C "$top/build-asan" check-unit >"$top/build-asan/make-check.out" 2>&1 \
        || { status=1; grep -E "error|Error" "$top/build-asan/make-check.out" | head -30; }
    echo "under ASan+UBSan:"
    summarise "$top/build-asan"
fi
passed=$(cat "$top"/build*/tests/*.trs 2>/dev/null | grep -c '^:test-result: PASS' || true)
failed=$(cat "$top"/build*/tests/*.trs 2>/dev/null | grep -c '^:test-result: \(FAIL\|ERROR\)' || true)
echo "test programs: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || status=1
exit $status
