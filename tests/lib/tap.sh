# tap.sh - the assertions of the shell tests (sourced): each check prints
# "ok - ..." or "not ok - ..." (TAP style, as automake shows them in the
# test's .log) and is counted; tap_finish prints the counts and exits
# non-zero when a check failed or none ran. Failure details go on "#"
# lines under the check.
#
#   expect DESCRIPTION COMMAND...   one check from a command's exit status
#   equals GOT WANTED               (for expect) the same string
#   contains TEXT PART              TEXT holds PART
#   wait_for SECONDS COMMAND...     poll every 0.1 s until the command succeeds
#   free_port                       a free TCP port on 127.0.0.1

passed=0 failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
expect() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}
equals() { [ "$1" = "$2" ] || { echo "#   got \"$1\", expected \"$2\""; return 1; }; }
contains() { case $1 in *"$2"*) return 0 ;; esac; echo "#   \"$2\" not in \"${1:0:300}\""; return 1; }
wait_for() {
    local n=$(($1 * 10))
    shift
    while ((n-- > 0)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
tap_finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
    exit $?
}
