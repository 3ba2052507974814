#!/usr/bin/env python3
"""Writes the pgq(1) manual from the tool's own --help texts, so the manual
cannot drift from the options. Usage: gen_man.py PATH/TO/pgq > man/pgq.1

tests/cli/cli_docs.sh regenerates it and fails when the committed page differs.
"""
import re
import subprocess
import sys


def help_of(pgq, *args):
    return subprocess.run([pgq, *args, "--help"], capture_output=True, text=True,
                          check=True).stdout


def roff(text):
    out = []
    for line in text.rstrip("\n").split("\n"):
        line = line.replace("\\", "\\e")
        if line.startswith((".", "'")):
            line = "\\&" + line
        out.append(line)
    return "\n".join(out)


def main():
    pgq = sys.argv[1]
    top = help_of(pgq)
    commands = re.findall(r"^  ([a-z][a-z-]+) ", top.split("Commands:")[1].split("\n\n")[0],
                          re.M)
    version = subprocess.run([pgq, "--version"], capture_output=True, text=True).stdout.split()[-1]
    print('.TH PGQ 1 "" "pgq %s" "User Commands"' % version)
    print(".SH NAME\npgq \\- a PostgreSQL job queue, database-compatible with PgQueuer 1.3")
    print(".SH SYNOPSIS\n.B pgq\n[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]")
    print(".SH DESCRIPTION\n.nf\n%s\n.fi" % roff(top))
    print(".SH COMMANDS")
    for cmd in commands:
        print(".SS %s\n.nf\n%s\n.fi" % (cmd, roff(help_of(pgq, cmd))))
    print(""".SH ENVIRONMENT
.TP
.B PGDSN, PGQUEUER_DSN
connection string, as \\-\\-dsn
.TP
.B PGHOST, PGPORT, PGUSER, PGDATABASE, ...
libpq's own variables, used when no DSN is given
.TP
.B PGQUEUER_PREFIX, PGQUEUER_SCHEMA
object-name prefix and schema, as \\-\\-prefix and \\-\\-schema
.TP
.B PGQUEUER_APPLICATION_NAME, PGQUEUER_CONNECT_TIMEOUT
application_name and connect_timeout of every connection
.TP
.B PGQUEUER_TABLEFMT
layout of the reports' tables: simple (default), plain, grid or pipe
.SH EXIT STATUS
0 success; 1 the operation failed or partly failed; 2 usage error (nothing changed).
.SH FILES
.TP
.I $XDG_STATE_HOME/pgq, ~/.local/state/pgq
the default folder of the private cluster of \\fBpgq local\\fR
.SH SEE ALSO
.BR psql (1),
.BR pg_ctl (1);
docs/failed-jobs.md and docs/benchmarks.md in the source tree.""")


if __name__ == "__main__":
    main()
