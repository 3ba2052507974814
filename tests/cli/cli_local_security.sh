# cli_local_security.sh: `pgq local` run as root, attacked by an unprivileged
# local user (nobody) and by the server's own user (postgres): the private
# cluster must stay private, root must never write or chown through a
# planted link, and the folder path must not inject server settings.
# Needs root (it switches users); skips otherwise.
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" != 0 ]; then
    echo "ok 1 # SKIP cli_local_security needs root (it runs attacks as another user)"
    exit 0
fi
U=nobody
if ! id "$U" >/dev/null 2>&1; then
    U=pgq-sec-test
    useradd -r -M -s /usr/sbin/nologin "$U"
fi
if ! id postgres >/dev/null 2>&1; then
    echo "ok 1 # SKIP no postgres user (apt-get install postgresql)"
    exit 0
fi
as_user() { setpriv --reuid="$U" --regid="$(id -g "$U")" --clear-groups "$@"; }
as_pg() { setpriv --reuid=postgres --regid="$(id -g postgres)" --clear-groups "$@"; }

# Everything lives under one folder every user can traverse, as /tmp
# folders of real users are, so the attacks are meaningful.
T=$(mktemp -d)
chmod 755 "$T"
cd "$T"
CLUSTERS=()
cleanup() {
    set +e
    for d in "${CLUSTERS[@]+"${CLUSTERS[@]}"}"; do "$PGQ" local destroy --dir "$d" >/dev/null 2>&1; done
    for d in "${USER_CLUSTERS[@]+"${USER_CLUSTERS[@]}"}"; do as_user "$PGQ" local destroy --dir "$d" >/dev/null 2>&1; done
    rm -rf "$T" "$T_OUT" "$T_ERR"
    [ -n "${PLANTED:-}" ] && rm -f "$PLANTED"
    return 0
}
USER_CLUSTERS=()
trap cleanup EXIT
unset PGHOST PGPORT PGUSER

# The socket folder pgq local used to pick for long paths: FNV-1a of the
# path, in /tmp, so anyone could create it first.
old_socket_dir() {
    local h=1469598103934665603 s=$1 i c
    for ((i = 0; i < ${#s}; i++)); do
        printf -v c '%d' "'${s:i:1}"
        h=$(( (h ^ c) * 1099511628211 ))
    done
    printf '/tmp/pgq-%012x' $(( h & 0xffffffffffff ))
}

# A root-owned folder and file whose owner, mode and contents must survive.
mkdir -m 700 "$T/victim"
echo "root's secret" >"$T/victim/secret"
chmod 600 "$T/victim/secret"
victim_state() { stat -c '%U %a' "$T/victim" "$T/victim/secret" | tr '\n' ' '; cat "$T/victim/secret"; }
VICTIM=$(victim_state)

# ---- 1: a long path: its socket must stay private -------------------------------------------------
# long_dir CHAR: a new 100-character folder path, reachable by postgres so
# the cluster lives in it and the socket has to move elsewhere.
long_dir() {
    local d="$T/$(printf "$1%.0s" $(seq 1 $((100 - ${#T} - 1))))"
    mkdir -m 755 "$d"
    echo "$d"
}
LONG=$(long_dir d)
check_eq "the folder path is 100 characters" "${#LONG}" 100
CLUSTERS+=("$LONG")
expect_exit 0 "pgq local start --dir (100 characters)" "$PGQ" local start --dir "$LONG" --fast
expect_exit 0 "pgq local env" "$PGQ" local env --dir "$LONG"
eval "$OUT"
SOCK=$PGHOST
check_eq "root connects through the long-path fallback" \
    "$(psql -X -At -d postgres -c 'SELECT current_user' 2>&1)" postgres
check_match "the socket is in a private folder" "$SOCK" '^/tmp/pgq-[A-Za-z0-9]{6}$'
check_eq "the socket folder is postgres's, mode 700, not a link" \
    "$(stat -c '%U %a %F' "$SOCK")" "postgres 700 directory"
run as_user psql -X -At -h "$SOCK" -U postgres -d postgres -c 'SELECT 1'
check_eq "$U cannot connect as postgres" "$RC$OUT" 2
# Authentication, not only the folder's mode, keeps other users out.
chmod 755 "$SOCK"
chmod 777 "$SOCK/.s.PGSQL.5432"
run as_user psql -X -At -h "$SOCK" -U postgres -d postgres -c 'SELECT 1'
check_eq "$U cannot connect as postgres even with the socket opened up" "$RC$OUT" 2
check_match "the server refused it (peer authentication)" "$ERR" "authentication failed"
chmod 700 "$SOCK" "$SOCK/.s.PGSQL.5432"
unset PGHOST PGPORT PGUSER PGDATABASE

# ---- 2: a link planted at the old, predictable socket path -------------------------------------------
LONG2=$(long_dir e)
PLANTED=$(old_socket_dir "$LONG2")
rm -rf "$PLANTED"
as_user ln -s "$T/victim" "$PLANTED"
CLUSTERS+=("$LONG2")
expect_exit 0 "start with a link planted at $PLANTED" "$PGQ" local start --dir "$LONG2" --fast
check_eq "the link was not followed: root's folder and file are intact" "$(victim_state)" "$VICTIM"
eval "$("$PGQ" local env --dir "$LONG2")"
check_match "the socket is elsewhere" "$PGHOST" '^/tmp/pgq-[A-Za-z0-9]{6}$'
check_eq "and works" "$(psql -X -At -d postgres -c 'SELECT 1' 2>&1)" 1
unset PGHOST PGPORT PGUSER PGDATABASE

# ---- 2: a --dir through another user's link --------------------------------------------------------
mkdir -m 755 "$T/nb"
chown "$U" "$T/nb"
mkdir -m 755 "$T/victim2"
as_user ln -s "$T/victim2" "$T/nb/link"
CLUSTERS+=("$T/nb/link")
expect_exit 1 "a --dir through $U's link is refused" "$PGQ" local start --dir "$T/nb/link" --fast
check_match "saying why" "$ERR" "symbolic link owned by another user"
check_eq "the link's target is still root's, 755, empty" \
    "$(stat -c '%U %a' "$T/victim2") $(ls -A "$T/victim2" | wc -l)" "root 755 0"

# ---- 3: links planted by postgres in the data folder -------------------------------------------------
SHORT="$T/short"
CLUSTERS+=("$SHORT")
mkdir -m 755 "$SHORT"
expect_exit 0 "start a cluster in a short folder" "$PGQ" local start --dir "$SHORT" --fast
expect_exit 0 "stop it" "$PGQ" local stop --dir "$SHORT"
for f in pgq_local.conf pg_hba.conf pg_ident.conf; do
    as_pg ln -sf "$T/victim/secret" "$SHORT/data/$f"
done
as_pg sh -c "echo '$T/nb' >'$SHORT/socket_dir'"
expect_exit 0 "start again with links planted by postgres" "$PGQ" local start --dir "$SHORT" --fast
check_eq "root's file behind the links keeps its owner, mode and contents" "$(victim_state)" "$VICTIM"
check_eq "the settings are regular files again" \
    "$(stat -c '%F' "$SHORT/data/pgq_local.conf" "$SHORT/data/pg_hba.conf" | sort -u)" "regular file"
eval "$("$PGQ" local env --dir "$SHORT")"
check_eq "the socket is in the folder, not where postgres pointed" "$PGHOST" "$SHORT"
check_eq "and the server works" "$(psql -X -At -d postgres -c 'SELECT 1' 2>&1)" 1
unset PGHOST PGPORT PGUSER PGDATABASE

# ---- 4: the folder path must not inject settings -------------------------------------------------------
NL="$T/x
listen_addresses = '*'"
expect_exit 2 "a --dir with a newline is refused (usage error)" "$PGQ" local start --dir "$NL" --fast
check_match "naming the option" "$ERR" "--dir"
check_eq "nothing was created" "$(ls -d "$T"/x* 2>/dev/null)" ""
CLUSTERS+=("$NL")
# pg_ctl and initdb pass the path to a shell inside double quotes.
mkdir -m 777 "$T/pw"
SH="$T/\$(touch $T/pw/pwned)"
(umask 022 && mkdir -p "$SH")
CLUSTERS+=("$SH")
run "$PGQ" local start --dir "$SH" --fast
check_eq "a --dir with \$( is refused (usage error)" "$RC" 2
check_eq "and no command ran" "$(ls -A "$T/pw")" ""
for name in "it's" "a,b c" "q' listen_addresses='*"; do
    D="$T/$name"
    CLUSTERS+=("$D")
    mkdir -m 755 "$D"
    expect_exit 0 "start with --dir ending in $name" "$PGQ" local start --dir "$D" --fast
    eval "$("$PGQ" local env --dir "$D")"
    check_eq "listen_addresses stays empty ($name)" \
        "$(psql -X -At -d postgres -c 'SHOW listen_addresses' 2>&1)" ""
    expect_exit 0 "stop it" "$PGQ" local stop --dir "$D"
    unset PGHOST PGPORT PGUSER PGDATABASE
done

# ---- pgq local as an ordinary user --------------------------------------------------------------------
if ! as_user "$PGQ" --version >/dev/null 2>&1; then
    echo "# $U cannot run $PGQ (its folders are not traversable): ordinary-user checks skipped"
else
    UL="$T/nb/$(printf 'u%.0s' $(seq 1 $((100 - ${#T} - 4))))"
    USER_CLUSTERS+=("$UL")
    expect_exit 0 "$U starts a cluster with a 100-character --dir" \
        as_user "$PGQ" local start --dir "$UL" --fast
    ENV=$(as_user "$PGQ" local env --dir "$UL")
    check_eq "$U connects as postgres" \
        "$(as_user sh -c "$ENV; psql -X -At -d postgres -c 'SELECT 1'" 2>&1)" 1
    check_eq "root connects too" "$(sh -c "$ENV; psql -X -At -d postgres -c 'SELECT 1'" 2>&1)" 1
    run as_pg sh -c "$ENV; psql -X -At -d postgres -c 'SELECT 1'"
    check_eq "the postgres user cannot" "$RC$OUT" 2
    expect_exit 0 "$U destroys it" as_user "$PGQ" local destroy --dir "$UL"
    check_eq "the socket folder is gone" "$(ls -d "$(echo "$ENV" | sed -n "s/^export PGHOST='\(.*\)'$/\1/p")" 2>/dev/null)" ""
fi
exit 0
