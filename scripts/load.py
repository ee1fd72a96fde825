"""Injector and meter for scripts/load (Python stdlib only; run it through scripts/load).

Appends N data-subject requests to the intake mailbox over one IMAP connection, waits until N
acknowledgements are sent, and prints the figures. SQL goes through the `psql` client.
Exit status: 0 all checks passed, 1 a check failed or the run timed out, 2 usage/set-up error.
"""

import argparse
import atexit
import email
import email.policy
import email.utils
import imaplib
import json
import os
import random
import signal
import subprocess
import sys
import time
from email.headerregistry import Address
from email.message import EmailMessage

IMAP_HOST = "127.0.0.1"
IMAP_PORT = 1143
COMPANY = "info@nlg.kz"
POLL = 0.2          # seconds between outbox polls
SETTLE_MAX = 60     # seconds to wait, after the last ack, for the other e-mails to leave

# (language, kind, subject, body); {name} is filled per message.
TEMPLATES = [
    ("ru", "withdraw_consent", "Отзыв согласия",
     "Здравствуйте!\n\nПрошу отозвать моё согласие на обработку персональных данных.\n\n"
     "С уважением,\n{name}\n"),
    ("en", "erasure", "Please delete my data",
     "Hello,\n\nplease delete my account and all personal data you hold about me.\n\n"
     "Regards,\n{name}\n"),
    ("kk", "withdraw_consent", "Келісімді кері қайтару",
     "Сәлеметсіз бе!\n\nДербес деректерімді өңдеуге берген келісімімді кері қайтарып аламын.\n\n"
     "Құрметпен,\n{name}\n"),
    ("ru", "erasure", "Удаление персональных данных",
     "Добрый день.\n\nПрошу удалить все мои персональные данные, которые хранятся у вас, "
     "и закрыть мою учётную запись.\n\nСпасибо,\n{name}\n"),
    ("en", "withdraw_consent", "Withdrawal of consent",
     "Dear NLG.KZ team,\n\nI withdraw my consent to the processing of my personal data.\n\n"
     "Kind regards,\n{name}\n"),
    ("kk", "erasure", "Дербес деректерді жою",
     "Сәлеметсіз бе!\n\nМенің дербес деректерімді жоюыңызды сұраймын.\n\nРақмет,\n{name}\n"),
]
NAMES = {
    "ru": ["Иван Петров", "Ольга Смирнова", "Дмитрий Ким", "Елена Попова"],
    "en": ["John Smith", "Emma Brown", "David Lee", "Sarah Wilson"],
    "kk": ["Айгерім Садықова", "Нұрлан Әбенов", "Динара Жұмабаева", "Ерлан Серікұлы"],
}


def build_messages(n, run_id):
    """[(sender, raw bytes)] — built before the clock starts."""
    out = []
    for i in range(n):
        lang, _kind, subject, body = TEMPLATES[i % len(TEMPLATES)]
        name = NAMES[lang][(i // len(TEMPLATES)) % len(NAMES[lang])]
        sender = f"load-{i}-{run_id}@subjects.test"
        msg = EmailMessage(policy=email.policy.SMTP)
        msg["From"] = Address(display_name=name, addr_spec=sender)
        msg["To"] = COMPANY
        msg["Subject"] = subject
        msg["Date"] = email.utils.formatdate(localtime=True)
        msg["Message-ID"] = f"<load-{i}-{run_id}@subjects.test>"
        # Vary the transfer encoding as real mail clients do.
        msg.set_content(body.format(name=name), cte=("8bit", "quoted-printable", "base64")[i % 3])
        out.append((sender, msg.as_bytes()))
    return out


class Psql:
    def __init__(self, url):
        self.url = url

    def run(self, sql, timeout=60):
        p = subprocess.run(
            ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", self.url, "-f", "-"],
            input=sql, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError(f"psql failed: {p.stderr.strip()}")
        return p.stdout.strip()

    def json(self, sql, timeout=60):
        return json.loads(self.run(sql, timeout).splitlines()[-1])


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (None if gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def machine_cpu():
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


# Which service a process belongs to, by its command name (`/proc/PID/stat`).
SERVICES = (
    ("PostgreSQL", ("postgres",)),
    ("RabbitMQ", ("beam.smp", "erl_child_setup", "inet_gethost", "epmd")),
    ("mail servers", ("dovecot", "imap", "imap-login", "lmtp", "auth", "anvil", "log", "config",
                      "stats", "indexer", "indexer-worker", "master", "smtpd", "qmgr", "cleanup",
                      "trivial-rewrite", "scache", "postlogd", "proxymap", "tlsmgr", "pickup",
                      "bounce", "smtp", "local", "virtual", "anvil")),
    ("workers", ("dsr-worker", "tokio-rt-worker")),
    ("kernel writeback", ("kworker",)),
)


def cpu_by_service(worker_pids=()):
    """CPU seconds so far of every process on the machine, summed per service: each process's
    own utime + stime, plus what its reaped children used (so short-lived mail-server children
    count too). Differences of two calls are what the services used in between. The worker
    processes are `worker_pids` (whatever their binary is called) and any `dsr-worker`."""
    tck = os.sysconf("SC_CLK_TCK")
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except OSError:
            continue
        comm = text[text.find("(") + 1:text.rfind(")")]
        fields = text.rsplit(")", 1)[1].split()
        ticks = sum(int(x) for x in fields[11:15])
        name = "workers" if int(entry) in worker_pids else "other"
        for service, comms in SERVICES if name == "other" else ():
            if comm in comms or any(comm.startswith(c + "/") for c in comms):
                name = service
                break
        out[name] = out.get(name, 0.0) + ticks / tck
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def rss_kib(pid):
    """(VmRSS, VmHWM) of a process in KiB, (0, 0) if gone."""
    cur = peak = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    cur = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    peak = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return cur, peak


class Workers:
    """The worker processes: watched for peak RSS, and (crash mode) killed and restarted."""

    def __init__(self, pids, cmd, log):
        self.pids = list(pids)
        self.cmd = cmd
        self.log = log
        self.started = []   # processes this script started (restarts)
        self.peak_kib = 0
        self.kills = 0

    def sample(self):
        for pid in self.pids:
            cur, peak = rss_kib(pid)
            self.peak_kib = max(self.peak_kib, cur, peak)

    def kill_one(self):
        """SIGKILLs a random live worker and starts a new one in its place."""
        live = [p for p in self.pids if alive(p)]
        if not live or not self.cmd:
            return
        victim = random.choice(live)
        self.sample()
        try:
            os.kill(victim, signal.SIGKILL)
        except OSError:
            return
        for proc in self.started:
            if proc.pid == victim:
                proc.wait()
        self.kills += 1
        self.pids.remove(victim)
        with open(self.log, "ab") as log:
            proc = subprocess.Popen(self.cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        self.started.append(proc)
        self.pids.append(proc.pid)

    def stop_started(self):
        """SIGTERM to the workers this script started, SIGKILL after 25 s."""
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        end = time.time() + 25
        for proc in self.started:
            try:
                proc.wait(timeout=max(end - time.time(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def inject(messages, user, password, rate=None, workers=None, kills=0):
    """APPENDs every message on one connection, at `rate` per second if given; in crash mode
    SIGKILLs a worker `kills` times at random moments of the injection. Returns (start, end,
    [(sender, time)])."""
    conn = imaplib.IMAP4(IMAP_HOST, IMAP_PORT, timeout=30)
    conn.login(user, password)
    stamps = []
    n = len(messages)
    kill_at = sorted(random.sample(range(1, n), min(kills, n - 1))) if kills and n > 1 else []
    start = time.time()
    for i, (sender, raw) in enumerate(messages):
        if rate:
            delay = start + i / rate - time.time()
            if delay > 0:
                time.sleep(delay)
        while kill_at and kill_at[0] <= i:
            kill_at.pop(0)
            # A random moment within this message's slot, not always right after an APPEND.
            time.sleep(random.uniform(0, 1 / rate if rate else 0.05))
            workers.kill_one()
        if workers and i % 20 == 0:
            workers.sample()
        typ, data = conn.append("INBOX", None, None, raw)
        if typ != "OK":
            raise RuntimeError(f"APPEND failed: {typ} {data}")
        stamps.append((sender, time.time()))
    end = time.time()
    try:
        conn.logout()
    except Exception:
        pass
    return start, end, stamps


def read_answers(senders, password, settle=5.0):
    """What reached each subject: {sender: [Message-ID, ...]} over IMAP (one login per mailbox;
    waits up to `settle` s for Postfix/LMTP to deliver the last e-mails)."""
    time.sleep(settle)
    seen = {}
    for sender in senders:
        ids = []
        try:
            conn = imaplib.IMAP4(IMAP_HOST, IMAP_PORT, timeout=30)
            conn.login(sender, password)
            typ, data = conn.select("INBOX", readonly=True)
            if typ == "OK" and int(data[0] or 0) > 0:
                typ, data = conn.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
                for part in data:
                    if isinstance(part, tuple):
                        mid = email.message_from_bytes(part[1]).get("Message-ID", "")
                        ids.append(mid.strip().strip("<>").lower())
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            ids = None
        seen[sender] = ids
    return seen


def judge_answers(seen):
    """(unanswered, delivered twice, answered twice, unreadable) from read_answers().

    delivered twice: copies of one Message-ID beyond the first (an e-mail resent after a crash);
    answered twice: a subject holding acknowledgements with different Message-IDs (one request
    acknowledged twice, i.e. made twice)."""
    unanswered = twice = double = unreadable = 0
    for ids in seen.values():
        if ids is None:
            unreadable += 1
            continue
        if not ids:
            unanswered += 1
        twice += len(ids) - len(set(ids))
        acks = {i for i in ids if ".ack@" in i}
        if len(acks) > 1:
            double += 1
    return unanswered, twice, double, unreadable


ACK = "o.channel = 'email' AND o.dedupe_key LIKE 'ack:%'"


def pct(expr):
    return (f"(SELECT json_build_object('p', percentile_cont(ARRAY[0.5, 0.95, 0.99]) "
            f"WITHIN GROUP (ORDER BY {expr}), 'max', max({expr}), 'n', count({expr})) FROM j)")


def ms(a, b):
    return f"(extract(epoch FROM ({b}) - ({a})) * 1000)"


def report_sql(stamps):
    copy = "\n".join(f"{s}\t{t:.6f}" for s, t in stamps)
    return f"""
CREATE TEMP TABLE appended (sender text PRIMARY KEY, at double precision);
COPY appended FROM STDIN;
{copy}
\\.
WITH j AS (
  SELECT to_timestamp(a.at) AS appended_at, i.received_at, r.created_at AS request_at,
         o.created_at AS ack_queued_at, o.sent_at
  FROM requests r
  JOIN inbound_messages i ON i.id = r.inbound_message_id
  JOIN outbox o ON o.request_id = r.id AND o.dedupe_key = 'ack:' || r.id
  LEFT JOIN appended a ON a.sender = lower(r.sender)
  WHERE o.channel = 'email' AND o.status = 'sent'
)
SELECT json_build_object(
  'latency', {pct(ms('received_at', 'sent_at'))},
  'append_to_ack', {pct(ms('appended_at', 'sent_at'))},
  'stage_intake', {pct(ms('appended_at', 'received_at'))},
  'stage_triage', {pct(ms('received_at', 'request_at'))},
  'stage_ack_queue', {pct(ms('request_at', 'ack_queued_at'))},
  'stage_send', {pct(ms('ack_queued_at', 'sent_at'))},
  'inbound', (SELECT count(*) FROM inbound_messages),
  'inbound_status', (SELECT coalesce(json_object_agg(status, c), '{{}}')
                     FROM (SELECT status, count(*) c FROM inbound_messages GROUP BY 1) s),
  'inbound_failed', (SELECT count(*) FROM inbound_messages WHERE status = 'failed'),
  'requests', (SELECT count(*) FROM requests),
  'request_kinds', (SELECT coalesce(json_object_agg(k, c), '{{}}') FROM
                    (SELECT kind || '/' || language k, count(*) c FROM requests GROUP BY 1) s),
  'ack_rows', (SELECT count(*) FROM outbox o WHERE {ACK}),
  'ack_distinct', (SELECT count(DISTINCT o.request_id) FROM outbox o WHERE {ACK}),
  'ack_sent', (SELECT count(*) FROM outbox o WHERE {ACK} AND o.status = 'sent'),
  'emails', (SELECT coalesce(json_object_agg(k, c), '{{}}') FROM
             (SELECT split_part(dedupe_key, ':', 1) || '/' || status k, count(*) c
              FROM outbox WHERE channel = 'email' GROUP BY 1) s),
  'emails_sent', (SELECT count(*) FROM outbox WHERE channel = 'email' AND status = 'sent'),
  'publish', (SELECT coalesce(json_object_agg(status, c), '{{}}') FROM
              (SELECT status, count(*) c FROM outbox WHERE channel = 'publish' GROUP BY 1) s),
  'first_received', (SELECT extract(epoch FROM min(received_at)) FROM inbound_messages),
  'last_received', (SELECT extract(epoch FROM max(received_at)) FROM inbound_messages),
  'last_ack_sent', (SELECT extract(epoch FROM max(o.sent_at)) FROM outbox o
                    WHERE {ACK} AND o.status = 'sent'),
  'last_email_sent', (SELECT extract(epoch FROM max(sent_at)) FROM outbox
                      WHERE channel = 'email' AND status = 'sent')
);
"""


def fmt_pct(d):
    if not d or not d.get("n"):
        return "n/a"
    p50, p95, p99 = d["p"]
    return f"p50 {p50:8.0f}  p95 {p95:8.0f}  p99 {p99:8.0f}  max {d['max']:8.0f}  ms"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--id", required=True)
    ap.add_argument("--intake", required=True)
    ap.add_argument("--db-url", required=True)
    ap.add_argument("--workers", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--password", default="secret")
    ap.add_argument("--log", required=True)
    ap.add_argument("--pids", default="")
    ap.add_argument("--rate", type=float, default=None, help="APPENDs per second (default: burst)")
    ap.add_argument("--kill", type=int, default=0, help="SIGKILL a worker this many times")
    ap.add_argument("--worker-cmd", default="", help="JSON list: how to start a worker again")
    a = ap.parse_args()
    pids = [int(p) for p in a.pids.split()]
    workers = Workers(pids, json.loads(a.worker_cmd) if a.worker_cmd else None, a.log)
    if a.kill and not workers.cmd:
        print("load: --kill needs --worker-cmd", file=sys.stderr)
        return 2
    # Restarted workers are ours to stop, however this script ends.
    atexit.register(workers.stop_started)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    db = Psql(a.db_url)
    n = a.n

    messages = build_messages(n, a.id)
    load_before = os.getloadavg()
    cpu0 = {p: cpu_seconds(p) or 0.0 for p in pids}
    busy0, total0 = machine_cpu()
    services0 = cpu_by_service(set(pids))

    print(f"load: appending {n} requests to {a.intake} (IMAP {IMAP_HOST}:{IMAP_PORT})",
          file=sys.stderr)
    t0, t1, stamps = inject(messages, a.intake, a.password, a.rate, workers, a.kill)
    rate = n / max(t1 - t0, 1e-6)
    print(f"load: appended {n} in {t1 - t0:.2f} s ({rate:.0f} msg/s); waiting for acks "
          f"(at most {a.timeout:.0f} s)", file=sys.stderr)

    count_sql = (f"SELECT count(*) FROM outbox o WHERE {ACK} AND o.status = 'sent';")
    deadline = t0 + a.timeout
    last_note = time.time()
    sent = 0
    timed_out = died = False
    while True:  # bounded by deadline
        sent = int(db.run(count_sql) or 0)
        if sent >= n:
            break
        now = time.time()
        if now >= deadline:
            timed_out = True
            break
        if not any(alive(p) for p in workers.pids):
            died = True
            break
        workers.sample()
        if now - last_note >= 10:
            print(f"load: {sent}/{n} acks sent after {now - t0:.0f} s", file=sys.stderr)
            last_note = now
        time.sleep(POLL)
    t_acks = time.time()
    workers.sample()
    cpu1 = {p: cpu_seconds(p) for p in pids}
    busy1, total1 = machine_cpu()
    services1 = cpu_by_service(set(workers.pids))
    load_after = os.getloadavg()

    # Let the other e-mails (confirmation requests) leave too, for the e-mail totals.
    settle_end = time.time() + SETTLE_MAX
    pending_sql = "SELECT count(*) FROM outbox WHERE channel = 'email' AND status = 'pending';"
    while not (timed_out or died) and time.time() < settle_end:
        if int(db.run(pending_sql) or 0) == 0:
            break
        time.sleep(POLL)

    workers.sample()
    r = db.json(report_sql(stamps), timeout=120)
    answers = read_answers([sender for sender, _ in stamps], a.password)
    unanswered, delivered_twice, answered_twice, unreadable = judge_answers(answers)
    last_ack = r["last_ack_sent"] or t_acks
    throughput = r["ack_sent"] / max(last_ack - t0, 1e-6)
    # CPU of the first workers only: a killed worker's CPU is gone with it.
    worker_cpu = sum((cpu1[p] or 0) - cpu0[p] for p in pids if p in workers.pids)
    machine_busy = (busy1 - busy0) / max(total1 - total0, 1) * 100
    by_service = {k: services1.get(k, 0.0) - services0.get(k, 0.0)
                  for k in set(services0) | set(services1)}
    by_service = {k: v for k, v in by_service.items() if v >= 0.05}
    window = t_acks - t0
    try:
        with open(a.log, encoding="utf-8", errors="replace") as f:
            log_lines = [line for line in f if line.strip()]
    except OSError:
        log_lines = []

    checks = [
        ("requests == N", r["requests"] == n, f"{r['requests']}"),
        ("distinct ack rows == N", r["ack_rows"] == n and r["ack_distinct"] == n,
         f"{r['ack_rows']} rows, {r['ack_distinct']} requests"),
        ("acks sent == N", r["ack_sent"] == n, f"{r['ack_sent']}"),
        ("failed inbound == 0", r["inbound_failed"] == 0, f"{r['inbound_failed']}"),
        ("every subject answered", unanswered == 0 and unreadable == 0,
         f"{unanswered} unanswered, {unreadable} mailboxes unreadable"),
        ("no e-mail delivered twice (after a crash: at most the in-flight ones)",
         delivered_twice <= workers.kills, f"{delivered_twice} extra copies, {workers.kills} kills"),
        ("no request answered twice", answered_twice == 0, f"{answered_twice}"),
    ]
    ok = all(c[1] for c in checks) and not timed_out and not died

    p = r["latency"]["p"] if r["latency"].get("n") else [float("nan")] * 3
    w = "" if a.workers == 1 else "s"
    crash = f", {workers.kills} SIGKILLs" if a.kill else ""
    paced = f" (paced at {a.rate:g}/s)" if a.rate else ""
    per_request = r["emails_sent"] / max(r["requests"], 1)
    out = [
        "",
        f"=== dsr-worker load: {n} requests, {a.workers} worker{w}{crash} (run {a.id}) ===",
        f"injection    {n} APPENDs in {t1 - t0:.2f} s = {rate:.0f} msg/s{paced} (one IMAP connection)",
        f"end-to-end   {r['ack_sent']} acks sent in {last_ack - t0:.2f} s from first APPEND "
        f"= {throughput:.1f} acks/s",
        f"latency      received_at -> ack sent_at   {fmt_pct(r['latency'])}",
        f"  (context)  APPEND -> ack sent_at         {fmt_pct(r['append_to_ack'])}",
        f"stages       APPEND -> stored (intake)     {fmt_pct(r['stage_intake'])}",
        f"             stored -> request (triage)    {fmt_pct(r['stage_triage'])}",
        f"             request -> ack queued         {fmt_pct(r['stage_ack_queue'])}",
        f"             ack queued -> sent (SMTP)     {fmt_pct(r['stage_send'])}",
        f"intake span  first stored +{r['first_received'] - t0:.2f} s, last stored "
        f"+{r['last_received'] - t0:.2f} s after first APPEND",
        f"e-mails      {r['emails_sent']} sent in total ({json.dumps(r['emails'], sort_keys=True)}); "
        f"last +{(r['last_email_sent'] or t0) - t0:.2f} s",
        f"per request  {per_request:.2f} e-mails sent per request",
        f"subjects     {n - unanswered - unreadable} answered, {unanswered} unanswered, "
        f"{delivered_twice} e-mails delivered twice, {answered_twice} requests answered twice "
        f"(read from the {n} subjects' mailboxes)",
        f"memory       peak RSS {workers.peak_kib / 1024:.1f} MiB (largest of the workers)",
        f"publish      {json.dumps(r['publish'], sort_keys=True)}",
        f"requests     {json.dumps(r['request_kinds'], sort_keys=True)}",
        f"inbound      {r['inbound']} stored {json.dumps(r['inbound_status'], sort_keys=True)}",
        f"cpu          workers {worker_cpu:.1f} s CPU over {window:.1f} s; machine "
        f"{machine_busy:.0f}% busy of {os.cpu_count()} cores; load avg "
        f"{load_before[0]:.2f} -> {load_after[0]:.2f} (1 min)",
        "cpu by svc   " + ", ".join(
            f"{k} {v:.1f} s" for k, v in sorted(by_service.items(), key=lambda kv: -kv[1]))
        + f" (every process on the machine, first APPEND -> last ack; {sum(by_service.values()) / max(n, 1) * 1000:.1f} s per 1,000 requests in all)",
        f"worker log   {len(log_lines)} warn/error lines",
    ]
    for line in log_lines[:3]:
        out.append("             " + line.strip()[:200])
    for name, passed, detail in checks:
        out.append(f"check        {'ok  ' if passed else 'FAIL'} {name} ({detail})")
    if timed_out:
        out.append(f"check        FAIL only {sent}/{n} acks sent within {a.timeout:.0f} s")
    if died:
        out.append("check        FAIL every worker exited")
    out.append(f"result       {'PASS' if ok else 'FAIL'}")
    out.append(f"load: {n} requests, {throughput:.1f} acks/s, p50 {p[0]:.0f} ms, p95 {p[1]:.0f} ms")
    print("\n".join(out))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, imaplib.IMAP4.error, RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"load: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(2)
