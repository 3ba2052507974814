"""web_browser.py: the console in headless chromium (run by
cli_web_browser.sh)."""
import os
import shutil
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

import web_lib
from web_lib import Server, check, sql, pgq, wait_until

web_lib._n = int(sys.argv[1]) if len(sys.argv) > 1 else 0
shots = os.environ.get("PGQ_WEB_SCREENSHOTS")


def hold(ep, payload_sql, message, attempts=1):
    return int(sql(
        "WITH j AS (INSERT INTO pgqueuer (priority, status, entrypoint, payload, attempts) "
        "VALUES (0, 'failed', '%s', %s, %d) RETURNING id, priority, entrypoint) "
        "INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint, traceback) "
        "SELECT id, 'failed', priority, entrypoint, jsonb_build_object('job_id', id, "
        "'exception_type', 'ValueError', 'exception_message', $m$%s$m$, 'traceback', "
        "$t$Traceback (most recent call last):\n  File \"pay.py\", line 3, in charge\n"
        "ValueError: %s$t$, 'additional_context', jsonb_build_object('entrypoint', entrypoint)) "
        "FROM j RETURNING job_id" % (ep, payload_sql, attempts, message, message)).splitlines()[0])


# ---- data ----
for i in range(40):
    pgq("queue", "send_email", '{"to": "user%d@example.com"}' % i)
for i in range(12):
    pgq("queue", "payment_processing", '{"order": %d}' % i)
sql("INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint) "
    "SELECT now() - (g % 3600) * interval '1 second', 100000 + g, "
    "CASE WHEN g % 17 = 0 THEN 'exception' ELSE 'successful' END::pgqueuer_status, 0, "
    "CASE WHEN g % 3 = 0 THEN 'payment_processing' ELSE 'send_email' END FROM generate_series(1, 3000) g")
job_a = hold("payment_processing", "convert_to('{\"amount\": 12}', 'UTF8')", "card declined: insufficient funds")
job_b = hold("payment_processing", "convert_to('{\"amount\": -5}', 'UTF8')", "amount must be positive")
job_x = hold("send_email", "convert_to('<script>window.__pwned = 1</script>', 'UTF8')",
             "<script>window.__pwned = 2</script><img src=x onerror=\"window.__pwned=3\">")

profile = tempfile.mkdtemp(prefix="pgq-chromium-")
opts = webdriver.ChromeOptions()
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--no-first-run", "--disable-sync",
          "--disable-dev-shm-usage", "--window-size=1280,900", "--user-data-dir=" + profile,
          "--no-proxy-server"]:
    opts.add_argument(a)
opts.binary_location = "/usr/bin/chromium"
s = Server()
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
driver.set_page_load_timeout(60)
wait = WebDriverWait(driver, 30)
try:
    def open_page(path):
        driver.get(s.base + path)
        return driver.find_element(By.TAG_NAME, "h1").text

    def pwned():
        return driver.execute_script("return window.__pwned === undefined ? null : window.__pwned")

    # ---- every page loads ----
    for path, title in [("/", "Overview"), ("/failed", "Failed jobs"), ("/queue", "Queue"),
                        ("/queue?status=queued&entrypoint=send_email", "Queue"),
                        ("/workers", "Workers"), ("/schedules", "Schedules"), ("/system", "System"),
                        ("/job/%d" % job_a, "Job %d" % job_a)]:
        got = open_page(path)
        check(got == title, "browser: %s loads (%s)" % (path, title), got)
    open_page("/")
    rows = driver.find_elements(By.CSS_SELECTOR, "#overview-table tbody tr")
    check(len(rows) == 3, "overview: one row per entrypoint and a total", len(rows))
    check(len(driver.find_elements(By.CSS_SELECTOR, "#chart rect")) > 10,
          "overview: the throughput chart has bars")
    taken = driver.find_element(By.ID, "live").get_attribute("data-taken")
    refreshed = wait_until(lambda: driver.find_element(By.ID, "live").get_attribute("data-taken"), 20)
    check(refreshed and refreshed != taken, "overview: refreshes itself without reloading", refreshed)
    if shots:
        driver.save_screenshot(os.path.join(shots, "web-overview.png"))

    # ---- a <script> payload and error render as text ----
    open_page("/failed")
    if shots:
        driver.save_screenshot(os.path.join(shots, "web-failed.png"))
    text = driver.find_element(By.ID, "failed-table").text
    check("<script>window.__pwned = 2</script>" in text, "failed list: the error shows as text", text)
    check(pwned() is None, "failed list: nothing from the database ran as script")
    open_page("/job/%d" % job_x)
    payload = driver.find_element(By.ID, "payload").text
    check(payload == "<script>window.__pwned = 1</script>", "job page: the payload shows as text", payload)
    check(pwned() is None, "job page: nothing from the database ran as script")
    hist = driver.find_element(By.ID, "job-log").text
    check("ValueError" in hist and "Traceback (most recent call last)" in hist,
          "job page: the history shows the error and its traceback", hist)

    # ---- hold a job, re-queue it by clicking ----
    open_page("/failed")
    driver.find_element(By.CSS_SELECTOR, "#failed-table input[value='%d']" % job_a).click()
    driver.find_element(By.ID, "requeue").click()
    wait.until(EC.presence_of_element_located((By.ID, "results")))
    res = driver.find_element(By.ID, "results").text
    check(res == "re-queued %d\n1 of 1 job re-queued" % job_a,
          "clicking re-queue reports as the CLI does", res)
    row = sql("SELECT status || ' ' || attempts || ' ' || convert_from(payload, 'UTF8') "
              "FROM pgqueuer WHERE id = %d" % job_a)
    check(row == 'queued 0 {"amount": 12}', "the row is queued, attempts 0, payload kept", row)
    check(sql("SELECT status FROM pgqueuer_log WHERE job_id = %d ORDER BY id DESC LIMIT 1" % job_a)
          == "queued", "and a queued log row was written")

    # ---- edit a payload in the form, re-queue, check the bytes ----
    open_page("/job/%d" % job_b)
    area = driver.find_element(By.ID, "payload-edit")
    area.clear()
    new = '{"amount": 5, "note": "fixed by ops \u00e9"}'
    area.send_keys(new)
    check(driver.find_element(By.ID, "mode-edit").is_selected(), "typing selects 'use the payload below'")
    driver.find_element(By.ID, "requeue-one").click()
    wait.until(EC.presence_of_element_located((By.ID, "results")))
    res = driver.find_element(By.ID, "results").text
    check(res == "re-queued %d\n1 of 1 job re-queued" % job_b, "edit and re-queue reports", res)
    stored = sql("SELECT encode(payload, 'hex') FROM pgqueuer WHERE id = %d" % job_b)
    check(stored == new.encode().hex(), "the edited payload is stored byte for byte", stored)
    check(sql("SELECT status FROM pgqueuer WHERE id = %d" % job_b) == "queued", "and the job is queued")

    # ---- a form without its token: 403, nothing changes ----
    job_c = hold("send_email", "convert_to('{}', 'UTF8')", "mailbox full")
    open_page("/failed")
    driver.find_element(By.CSS_SELECTOR, "#failed-table input[value='%d']" % job_c).click()
    driver.execute_script("document.querySelectorAll('input[name=csrf]').forEach(function (e) { e.remove(); });")
    driver.find_element(By.ID, "requeue").click()
    wait.until(EC.title_contains("Error"))
    check(driver.title.startswith("Error 403"), "a POST without the token gets 403", driver.title)
    check(sql("SELECT status FROM pgqueuer WHERE id = %d" % job_c) == "failed", "and the job stays failed")
    # Mark failed by id from the form.
    q = int(sql("SELECT min(id) FROM pgqueuer WHERE status = 'queued' AND entrypoint = 'send_email'"))
    open_page("/failed")
    driver.find_element(By.ID, "mark-ids").send_keys("%d" % q)
    driver.find_element(By.ID, "mark-reason").send_keys("bad address")
    driver.find_element(By.ID, "mark-by-id").click()
    wait.until(EC.presence_of_element_located((By.ID, "results")))
    res = driver.find_element(By.ID, "results").text
    check(res == "marked failed %d\n1 of 1 job marked failed" % q, "mark failed by id reports", res)
    check(sql("SELECT status FROM pgqueuer WHERE id = %d" % q) == "failed", "the job is held")
    # The queue browser pages by id.
    open_page("/queue?status=queued")
    first = driver.find_elements(By.CSS_SELECTOR, "#queue-table tbody tr")
    driver.find_element(By.ID, "before").click()
    second = driver.find_elements(By.CSS_SELECTOR, "#queue-table tbody tr")
    check(len(first) == 50 and len(second) > 0, "the queue browser pages to older jobs",
          "%d then %d rows" % (len(first), len(second)))
    ids2 = [int(r.find_element(By.TAG_NAME, "a").text) for r in second]
    check(max(ids2) < min(int(x) for x in sql(
        "SELECT id FROM pgqueuer WHERE status = 'queued' ORDER BY id DESC LIMIT 50").split()),
        "the older page holds only older ids")
    severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"
              and "403" not in e.get("message", "") and "favicon" not in e.get("message", "")]
    check(not severe, "no script errors or CSP violations in the console", severe)
finally:
    driver.quit()
    s.stop()
    shutil.rmtree(profile, ignore_errors=True)
web_lib.done()
