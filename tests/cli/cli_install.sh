# cli_install.sh: `meson install` lays out a library C programmers can use
# (docs/operations.md, "Installing"): binary, shared library with soname,
# static archive, header, pkg-config file, manual and systemd unit; the
# shared library exports exactly the functions pgq.h declares; a program
# builds with pkg-config alone and runs against the test cluster.
. "$PGQ_ROOT/tests/lib.sh"

dest=$(mktemp -d)
trap 'rm -rf "$dest" "$T_OUT" "$T_ERR"' EXIT
expect_exit 0 "meson install --destdir" meson install -C "$PGQ_BUILD" --no-rebuild --quiet --destdir "$dest"

opt() { # the build's value of a meson option
    meson introspect "$PGQ_BUILD" --buildoptions | python3 -c '
import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$1"
}
prefix=$(opt prefix)
# A program on a sanitized library must be built with the same sanitizer
# (the ASan lane runs this test too).
san=$(opt b_sanitize)
sanflags=()
[ "$san" != none ] && sanflags=(-fsanitize="$san")
root=$dest$prefix
libdir=$(dirname "$(find "$root" -name 'libpgq.so' | head -1)")
version=$("$PGQ_ROOT/tools/version.sh")
for f in bin/pgq include/pgq.h share/man/man1/pgq.1 lib/systemd/system/pgq-worker@.service \
         share/doc/pgq/examples/pgq-worker.env; do
    check_eq "installs $f" "$([ -f "$root/$f" ] && echo yes)" yes
done
for f in libpgq.so libpgq.so.0 "libpgq.so.$version" libpgq.a pkgconfig/pgq.pc; do
    check_eq "installs $f in the library folder" "$([ -e "$libdir/$f" ] && echo yes)" yes
done
check_match "the shared library's soname is libpgq.so.0" \
    "$(objdump -p "$libdir/libpgq.so.$version" | awk '/SONAME/ {print $2}')" '^libpgq\.so\.0$'
check_match "the unit stops with SIGTERM and waits past the default 30s grace" \
    "$(cat "$root/lib/systemd/system/pgq-worker@.service")" 'TimeoutStopSec=45s'
check_match "the unit runs the installed binary" \
    "$(cat "$root/lib/systemd/system/pgq-worker@.service")" "ExecStart=$prefix/bin/pgq run"

# Exported functions = functions declared in pgq.h: comments, preprocessor
# lines and typedefs removed, a pgq_ name followed by "(" is a declaration.
declared=$(python3 - "$PGQ_ROOT/include/pgq.h" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
text = re.sub(r"(?m)^\s*#(?:.*\\\n)*.*$", " ", text)
names = set()
for decl in text.split(";"):
    if "typedef" not in decl:
        names.update(re.findall(r"\b(pgq_[a-z0-9_]+)\s*\(", decl))
print("\n".join(sorted(names)))
PY
)
exported=$(nm -D --defined-only "$libdir/libpgq.so.$version" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sort -u)
check_eq "libpgq.so exports exactly the functions pgq.h declares" \
    "$(diff <(echo "$declared") <(echo "$exported"))" ""
check_eq "no internal pgq__ symbol is exported" "$(echo "$exported" | grep -c '^pgq__')" 0

# A program builds with pkg-config alone: the sysroot variable maps the
# installed prefix into the destdir.
pc() { PKG_CONFIG_PATH=$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest pkg-config "$@"; }
check_eq "pkg-config --modversion pgq" "$(pc --modversion pgq)" "$version"
expect_exit 0 "examples/producer.c builds with pkg-config's flags" \
    cc -Wall -Werror "${sanflags[@]}" "$PGQ_ROOT/examples/producer.c" $(pc --cflags --libs pgq) \
    -o "$dest/producer"
expect_exit 0 "the plug-in example builds with pkg-config's flags" \
    cc -Wall -Werror "${sanflags[@]}" -shared -fPIC "$PGQ_ROOT/examples/plugin_example.c" $(pc --cflags pgq) \
    -o "$dest/plugin_example.so"
"$PGQ" install >/dev/null 2>&1 || true
expect_exit 0 "the program runs on the installed library" \
    env LD_LIBRARY_PATH="$libdir" "$dest/producer" installed_check '{"n": 1}'
id=$OUT
check_eq "its job is in the queue" \
    "$(sql "SELECT entrypoint || ' ' || convert_from(payload, 'UTF8') FROM pgqueuer WHERE id = ${id:-0}")" \
    'installed_check {"n": 1}'
check_eq "it ran the installed library, not the build's" \
    "$(env LD_LIBRARY_PATH="$libdir" ldd "$dest/producer" | awk '/libpgq/ {print $3}')" "$libdir/libpgq.so.0"

done_testing
