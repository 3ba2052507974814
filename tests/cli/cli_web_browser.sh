# cli_web_browser.sh: the console in a real browser (Debian's chromium,
# headless, driven by python3-selenium through /usr/bin/chromedriver): every
# page loads; a held job is re-queued by clicking; a payload edited in the
# form is stored byte for byte; a <script> payload and error render as
# text; a form posted without its token gets 403. Skips when chromium or
# selenium is missing. PGQ_WEB_SCREENSHOTS=DIR also saves the screenshots
# shown in the README (docs/web-overview.png, docs/web-failed.png).
. "$(dirname "$0")/../lib.sh"
set -e
PY=/usr/bin/python3
if [ ! -x /usr/bin/chromedriver ] || ! $PY -c 'import selenium' 2>/dev/null; then
    echo "ok 1 # SKIP chromium-driver or python3-selenium is not installed"; echo "1..1"; exit 0
fi
expect_exit 0 "install" "$PGQ" install
PYTHONPATH="$(dirname "$0")" exec $PY "$(dirname "$0")/web_browser.py" "$T_NUM"
