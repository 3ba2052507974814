# cli_docs.sh: the manual and the README cannot drift from the tool.
. "$PGQ_ROOT/tests/lib.sh"

generated=$(python3 "$PGQ_ROOT/tools/gen_man.py" "$PGQ")
committed=$(cat "$PGQ_ROOT/man/pgq.1")
if [ "$generated" = "$committed" ]; then
    t_result 0 "man/pgq.1 matches the --help texts"
else
    t_result 1 "man/pgq.1 matches the --help texts" \
        "regenerate: python3 tools/gen_man.py build/cli/pgq > man/pgq.1
$(diff <(printf '%s\n' "$committed") <(printf '%s\n' "$generated") | head -20)"
fi

# Every command of `pgq --help` is named in the README and the manual.
for cmd in $("$PGQ" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF>1 && /^  /{print $1}'); do
    check_match "README names $cmd" "$(cat "$PGQ_ROOT/README.md")" "(^|[^a-z-])$cmd([^a-z-]|$)"
    check_match "the manual has a section for $cmd" "$committed" "^\.SS $cmd\$"
done

# Every long option of every command's help appears in the manual.
for cmd in $("$PGQ" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF>1 && /^  /{print $1}'); do
    for opt in $("$PGQ" "$cmd" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        check_match "manual documents $cmd $opt" "$committed" "\\\\-\\\\-${opt#--}|$opt"
    done
done
done_testing
