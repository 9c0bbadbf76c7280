"""What the journal's witnesses cost (ADR 0005): the head-witness log on each committed
entry, marking a PDF with the head before signing, and verify_journal on a grown journal.

Runs on a throw-away SQLite database in a temporary folder (the log's fsync is the same on
PostgreSQL). Prints:

- the time of journal.record() in its own transaction, without and with the log line
  (one O_APPEND write + fsync after commit), median and p99;
- the time of witnesses.mark_pdf() on a one-page and a 20-page PDF, and of sign_pdf();
- the time of verify() for N entries (each witnessed by the log) and A anchors.

Usage: .venv/bin/python bench/journal_witnesses.py [--entries 2000] [--anchors 60]
Not a test: `make test` does not run it.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(function, repeat: int) -> list[float]:
    durations = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        durations.append((time.perf_counter() - start) * 1000)
    return durations


def summary(durations: list[float]) -> str:
    ordered = sorted(durations)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"médiane {statistics.median(ordered):.2f} ms, p99 {p99:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--anchors", type=int, default=60)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="emegalis-bench-journal-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "emegalis.settings",
            "SECRET_KEY": "bench-only-secret-key",
            "EMEGALIS_VAR_DIR": str(workdir / "var"),
            "TASKS_BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
            "LOG_LEVEL": "WARNING",
        }
    )
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    call_command("migrate", verbosity=0)

    from emegalis.core import anchoring, journal, journal_audit, signing, witnesses
    from emegalis.core.pdf import DocumentBuilder

    counter = iter(range(10**9))

    def one_entry():
        with transaction.atomic():
            i = next(counter)
            journal.record(action="bench.event", object_type="thing", object_id=i, payload={"i": i})

    real_log_head = witnesses.log_head
    witnesses.log_head = lambda *args: None
    without = timed(one_entry, 300)
    witnesses.log_head = real_log_head
    with_log = timed(one_entry, 300)
    print(f"journal.record() sans registre des témoins : {summary(without)}")
    print(f"journal.record() avec registre (écriture + fsync) : {summary(with_log)}")

    def pdf(pages: int) -> bytes:
        doc = DocumentBuilder(title="Accusé de réception")
        for _ in range(pages):
            doc.paragraph("Texte du document. " * 200)
        return doc.build()

    head = witnesses.current_head()
    for pages in (1, 20):
        data = pdf(pages)
        marks = timed(lambda data=data: witnesses.mark_pdf(data, head), 20)
        print(f"mark_pdf(), {pages} page(s) : {summary(marks)}")
    data = pdf(1)
    signing.sign_pdf(data, reason="échauffement")
    bare = timed(lambda: signing._sign(data, reason="Accusé", location="e-mégalis"), 20)
    print(f"signature seule (PAdES, horodatage local) : {summary(bare)}")
    signs = timed(lambda: signing.sign_pdf(data, reason="Accusé"), 20)
    print(f"sign_pdf() complet (marquage, signature, horodatage local, témoin) : {summary(signs)}")

    for _ in range(max(0, args.entries - 600)):
        one_entry()
    for _ in range(args.anchors):
        one_entry()
        anchoring.anchor_head()
    total = journal.JournalEntry.objects.count()
    start = time.perf_counter()
    report = journal_audit.verify()
    elapsed = time.perf_counter() - start
    assert not report.problems, report.problems
    print(
        f"verify() : {total} entrées, {report.anchors} ancrages, {report.claims} témoignages "
        f"en {elapsed:.2f} s"
    )
    anchors = list(anchoring.JournalAnchor.objects.all()[:20])
    start = time.perf_counter()
    for anchor in anchors:
        anchoring.check_token(anchor)
    per_anchor = (time.perf_counter() - start) * 1000 / max(1, len(anchors))
    print(f"vérification d'un jeton d'horodatage : {per_anchor:.1f} ms")
    log = witnesses.witness_dir() / witnesses.LOG_NAME
    print(f"registre des témoins : {log.stat().st_size / total:.0f} octets par entrée en moyenne")


if __name__ == "__main__":
    main()
