# cli_failed_docs.sh: docs/failed-jobs.md may not drift from the tool.
# - Every ```console block is replayed in order in this test's fresh
#   database: each "$ command" line runs in bash (stdout and stderr
#   together) and must print what the document shows, timestamps and uuids
#   aside. A ```sh block whose first line is "# file: NAME" is written to
#   NAME first, for the transcript to use.
# - The ```sql blocks for psql users run against the state the transcript
#   left, and do what the text says.
# - Every option in the --help of the five commands is documented.
# PGQ_DOCS_WRITE=FILE writes the document with this run's real outputs to
# FILE, to refresh it after a deliberate change of output.
. "$(dirname "$0")/../lib.sh"
set -e

doc="$PGQ_ROOT/docs/failed-jobs.md"
work=$(mktemp -d)
trap 'rm -rf "$work" "$T_OUT" "$T_ERR"' EXIT
mkdir "$work/bin"
ln -s "$PGQ" "$work/bin/pgq"

expect_exit 0 "install" "$PGQ" install

# ---- Transcript replay ---------------------------------------------------------------
set +e
(cd "$work" && PATH="$work/bin:$PATH" python3 - "$doc" "${PGQ_DOCS_WRITE:-}" <<'EOF'
import os, re, subprocess, sys

doc, write_to = sys.argv[1], sys.argv[2]
lines = open(doc).read().split("\n")
stamp = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?Z?")
uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
failed = 0
last_rc = 0

ms = re.compile(r"\d+(\.\d+)? ms")

def norm(s, unordered=False):
    """Hides what differs between runs; a worker's lines come in any order."""
    s = ms.sub("<ms>", uuid.sub("<uuid>", stamp.sub("<time>", s)))
    out = [l.rstrip() for l in s.strip("\n").split("\n")] if s.strip() else []
    return sorted(out) if unordered else out

def replay(cmd, expected, out):
    """Runs one transcript command; appends its real output to out."""
    global failed, last_rc
    # "(exit N)" first, so that "echo $?" shows the previous command's status.
    r = subprocess.run(["bash", "-c", "(exit %d); %s" % (last_rc, cmd)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace")
    last_rc = r.returncode
    got = r.stdout.rstrip("\n")
    worker = cmd.startswith("pgq run ")
    ok = norm(got, worker) == norm("\n".join(expected), worker)
    failed += not ok
    print("ok" if ok else "not ok", "- docs transcript: $", cmd)
    if not ok:
        for l in ["expected:"] + expected + ["got:"] + got.split("\n"):
            print("#   " + l)
    out.extend(got.split("\n") if got else [])

out, i = [], 0
while i < len(lines):
    line = lines[i]
    out.append(line)
    i += 1
    marker = [l for l in lines[i:i + 2] if l.startswith("# file: ")]
    if line.startswith("```sh") and marker:
        name, body = marker[0][len("# file: "):].strip(), []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            out.append(lines[i])
            i += 1
        with open(name, "w") as f:
            f.write("\n".join(body) + "\n")
        os.chmod(name, 0o755)
    elif line.startswith("```console"):
        cmd, expected = None, []
        while i < len(lines) and not lines[i].startswith("```"):
            if lines[i].startswith("$ "):
                if cmd is not None:
                    replay(cmd, expected, out)
                cmd, expected = lines[i][2:], []
                out.append(lines[i])
            else:
                expected.append(lines[i])
            i += 1
        if cmd is not None:
            replay(cmd, expected, out)

if write_to:
    with open(write_to, "w") as f:
        f.write("\n".join(out))
sys.exit(1 if failed else 0)
EOF
)
replay_rc=$?
set -e
check_eq "the transcript replays" "$replay_rc" 0

# block LANG N: the Nth ```LANG block of the document.
block() {
    awk -v lang="$1" -v want="$2" '
        $0 == "```" lang { n++; inside = (n == want); next }
        /^```/ { inside = 0 }
        inside { print }' "$doc"
}

# ---- The SQL for psql users ---------------------------------------------------------------
"$PGQ" uninstall >/dev/null
expect_exit 0 "fresh schema for the SQL blocks" "$PGQ" install
for i in 1 2 3 4 5 6; do "$PGQ" queue sqltest "$i" >/dev/null; done
"$PGQ" queue other x >/dev/null
"$PGQ" mark-failed --job-ids 1,2,3 --reason "from the CLI" >/dev/null
run psql -X -q -v ON_ERROR_STOP=1 -At -F '|' -c "$(block sql 1)"
check_eq "SQL list: the held jobs with their error" "$(printf '%s\n' "$OUT" | cut -d'|' -f1,2,7,8,9 | tr '\n' ' ')" \
    "1|sqltest|1|MarkedFailed|from the CLI 2|sqltest|1|MarkedFailed|from the CLI 3|sqltest|1|MarkedFailed|from the CLI "
run psql -X -q -v ON_ERROR_STOP=1 -At -f <(block sql 2)
check_eq "SQL requeue: exit 0" "$RC" 0
check_eq "SQL requeue: 1,2,3 queued again" \
    "$(sql "SELECT string_agg(id || ':' || status || ':' || attempts, ' ' ORDER BY id) FROM pgqueuer WHERE id <= 3")" \
    "1:queued:0 2:queued:0 3:queued:0"
check_eq "SQL requeue: logged" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE status = 'queued' AND job_id <= 3")" 6
run psql -X -q -v ON_ERROR_STOP=1 -At -f <(block sql 3)
check_eq "SQL mark: exit 0" "$RC" 0
check_eq "SQL mark: 4,5,6 held" \
    "$(sql "SELECT string_agg(id::text, ',' ORDER BY id) FROM pgqueuer WHERE status = 'failed'")" "4,5,6"
run "$PGQ" list-failed --json
check_eq "SQL mark: the CLI reads its record" \
    "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(sorted({r["error"] for r in json.load(sys.stdin)}))')" \
    "['marked failed by hand']"

# ---- The C example ---------------------------------------------------------------------------
block c 2 >"$work/held_jobs.c"
check_match "the C example is the program" "$(head -1 "$work/held_jobs.c")" "held_jobs.c"
# A sanitizer build's library needs the same runtime in the program.
san=()
case $(ldd "$PGQ_BUILD/src/libpgq.so") in
    *libasan*) san=(-fsanitize=address,undefined) ;;
    *libtsan*) san=(-fsanitize=thread) ;;
esac
run cc -std=c11 -Wall -Wextra -Werror "${san[@]+"${san[@]}"}" -I"$PGQ_ROOT/include" \
    -o "$work/held_jobs" "$work/held_jobs.c" -L"$PGQ_BUILD/src" -lpgq -Wl,-rpath,"$PGQ_BUILD/src"
check_eq "the C example compiles cleanly" \
    "$RC:$(printf '%s\n' "$ERR" | grep -c 'held_jobs\.c' || true)" "0:0"
expect_exit 0 "the C example runs" "$work/held_jobs" 4 5 99
check_eq "it lists, then re-queues" "$OUT" "Failed job 4: sqltest (marked failed by hand)
Failed job 5: sqltest (marked failed by hand)
Failed job 6: sqltest (marked failed by hand)
Re-queued 2 jobs"
check_eq "4 and 5 queued" "$(sql "SELECT string_agg(id::text, ',' ORDER BY id) FROM pgqueuer WHERE status = 'failed'")" 6

# ---- Options documented ----------------------------------------------------------------
for cmd in list-failed failed requeue-failed requeue mark-failed; do
    for opt in $("$PGQ" "$cmd" --help | grep -oE '(^|[ ,\[])--[a-z][a-z-]*' | tr -d ' ,[' | sort -u); do
        check_match "docs mention $cmd $opt" "$(cat "$doc")" "$opt"
    done
done

done_testing
