# lib.sh: TAP helpers for black-box CLI tests. Source it; $PGQ is the tool.
# Each check prints "ok N - what" or "not ok N - what" with what it saw.
set -u
: "${PGQ:?PGQ must point to the pgq binary}"
T_NUM=0
T_FAILED=0
T_OUT=$(mktemp)
T_ERR=$(mktemp)
trap 'rm -f "$T_OUT" "$T_ERR"' EXIT

t_result() { # ok? description [details]
    T_NUM=$((T_NUM + 1))
    if [ "$1" = 0 ]; then
        echo "ok $T_NUM - $2"
    else
        T_FAILED=$((T_FAILED + 1))
        echo "not ok $T_NUM - $2"
        [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
    fi
    return 0
}

# run CMD...: runs it, keeping stdout in $OUT, stderr in $ERR, status in $RC.
# The caller's errexit setting is left as it was.
run() {
    local errexit=0
    case $- in *e*) errexit=1 ;; esac
    set +e
    "$@" >"$T_OUT" 2>"$T_ERR"
    RC=$?
    [ $errexit = 1 ] && set -e
    OUT=$(cat "$T_OUT")
    ERR=$(cat "$T_ERR")
    return 0
}

# expect_exit N "what" CMD...
expect_exit() {
    local want=$1 what=$2
    shift 2
    run "$@"
    if [ "$RC" = "$want" ]; then t_result 0 "$what"
    else t_result 1 "$what" "exit $RC, expected $want; stdout: $OUT; stderr: $ERR"; fi
}

# check_eq "what" ACTUAL EXPECTED
check_eq() {
    if [ "$2" = "$3" ]; then t_result 0 "$1"
    else t_result 1 "$1" "got '$2', expected '$3'"; fi
}

# check_match "what" TEXT REGEX (grep -E)
check_match() {
    if printf '%s\n' "$2" | grep -Eq -- "$3"; then t_result 0 "$1"
    else t_result 1 "$1" "'$2' does not match /$3/"; fi
}

check_nomatch() {
    if printf '%s\n' "$2" | grep -Eq -- "$3"; then t_result 1 "$1" "'$2' matches /$3/"
    else t_result 0 "$1"; fi
}

# sql "QUERY": prints the unaligned result.
sql() { psql -X -q -v ON_ERROR_STOP=1 -At -c "$1"; }

# wait_sql "QUERY" [SECONDS]: until the query prints t (default 60 s);
# false if it never did. Errors count as not yet: the server may be down.
wait_sql() {
    local end=$(( $(date +%s) + ${2:-60} ))
    while [ "$(sql "$1" 2>/dev/null)" != t ]; do
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.05
    done
}

done_testing() {
    echo "1..$T_NUM"
    [ "$T_FAILED" = 0 ]
}
