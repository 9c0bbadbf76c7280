"""How many acts per second the @CTES codec builds, validates and archives (1 MiB PDF each),
against the time lxml alone needs to validate the same XML in the same run.

    .venv/bin/python bench/actes_envelopes.py            # 200 acts
    .venv/bin/python bench/actes_envelopes.py -n 1000 --read-back

Per act: the Acte (1-1) and its EnveloppeCLMISILL are built and validated against the XSD, then
packed with a real 1 MiB PDF into a .tar.gz with the naming rules. The lxml baseline parses and
validates the same two XML documents with the same schema object, nothing else.

Extension point — the Django side adds its own stages (storage, database rows, task enqueue)
without touching this file: ``--stage package.module:function`` (repeatable) imports
``function(index: int, archive_name: str, archive: bytes) -> None``, calls it after each
archive is built and reports its time as a separate line and in the platform total. A stage may
need Django set up: do it at import time of its module (``django.setup()``).

The platform's full path (services: checks, storage, counter, envelope, stored archive) is one
such stage, on one core (SQLite):

    .venv/bin/python bench/actes_envelopes.py -n 200 --stage bench.actes_platform:service_path

Its throughput on the whole machine (one worker per core, PostgreSQL) is
``bench/actes_platform.py``.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from lxml import etree

from emegalis.actes import protocol as p

MiB = 1024 * 1024
Stage = Callable[[int, str, bytes], None]


def make_pdf(size: int = MiB) -> bytes:
    """A real one-page PDF (reportlab) padded to ``size`` bytes with an embedded random file.

    Random padding keeps the gzip cost realistic: real PDFs are already compressed.
    """
    from pypdf import PdfReader, PdfWriter
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFont("Helvetica", 14)
    c.drawString(72, 770, "Délibération n° BENCH — banc d'essai @CTES")
    c.drawString(72, 750, "Document de 1 Mio pour mesurer la construction des archives.")
    c.showPage()
    c.save()
    base = buf.getvalue()

    def padded(n: int) -> bytes:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(base)))
        writer.add_attachment("remplissage.bin", os.urandom(max(n, 0)))
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    n = size - len(padded(0))
    for _ in range(3):  # the size grows with n (plus a few digits): converge
        data = padded(n)
        if len(data) == size:
            break
        n += size - len(data)
    PdfReader(io.BytesIO(data)).pages[0].extract_text()  # it opens
    return data


def load_stage(spec: str) -> Stage:
    # Stages may live beside this script (``bench.actes_platform``): the project root goes on
    # the path.
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    module_name, _, func_name = spec.partition(":")
    if not func_name:
        raise SystemExit(f"--stage attend module:fonction, reçu {spec!r}")
    return getattr(importlib.import_module(module_name), func_name)


@dataclass
class Timings:
    build_xml: list[float] = field(default_factory=list)
    archive: list[float] = field(default_factory=list)
    read_back: list[float] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=dict)


def run(n: int, compresslevel: int | None, read_back: bool, stages: dict[str, Stage]) -> None:
    pdf = make_pdf()
    schema = p.load_schema()
    t = Timings(stages={name: [] for name in stages})
    xml_docs: list[bytes] = []
    sizes: list[int] = []
    day = date(2025, 3, 3)
    counter = None
    siren, dep = "000000000", "034"

    wall = time.perf_counter()
    for i in range(n):
        counter = p.next_daily_counter(counter, day)
        stem = p.TransactionStem(dep, siren, date(2025, 3, 1), f"BENCH{i}", 1)
        doc_name = stem.document_name("1-1", 1, "pdf", "99_DE")
        msg_name = stem.message_name("1-1")
        env_name = p.envelope_name(quadrigramme="EACT", siren=siren, day=day, serial=counter.value)

        t0 = time.perf_counter()
        acte = p.Acte(
            date_decision=date(2025, 3, 1),
            numero_interne=f"BENCH{i}",
            code_nature=1,
            matieres=(5, 2),
            objet=f"Délibération n° {i} : approbation du compte rendu de la séance",
            classification_date=date(2017, 12, 8),
            document=p.FichierSigne(nom_fichier=doc_name),
        )
        envelope = p.EnveloppeCLMISILL(
            emetteur=p.IDCL(siren=siren, departement=dep, arrondissement="1", nature="31"),
            adresses_retour=("retour-actes@e-megalis.fr",),
            formulaires=(msg_name,),
        )
        acte_xml = p.build_acte(acte, schema=schema)  # validated against the XSD
        env_xml = p.build_envelope(envelope, schema=schema)
        t1 = time.perf_counter()
        archive = p.build_archive(
            (env_name, env_xml), {msg_name: acte_xml}, {doc_name: pdf}, compresslevel=compresslevel
        )
        t2 = time.perf_counter()
        t.build_xml.append(t1 - t0)
        t.archive.append(t2 - t1)
        xml_docs += [acte_xml, env_xml]
        sizes.append(len(archive))

        archive_name = p.archive_name_for_envelope(env_name, trigramme="meg")
        for name, stage in stages.items():
            s0 = time.perf_counter()
            stage(i, archive_name, archive)
            t.stages[name].append(time.perf_counter() - s0)
        if read_back:
            r0 = time.perf_counter()
            got = p.read_archive(archive)
            assert got.messages[msg_name] == acte
            t.read_back.append(time.perf_counter() - r0)
    wall = time.perf_counter() - wall

    # lxml alone: parse + validate the same documents with the same schema object.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    v0 = time.perf_counter()
    for xml in xml_docs:
        if not schema.validate(etree.fromstring(xml, parser=parser)):
            raise SystemExit("lxml baseline: invalid document")
    lxml_total = time.perf_counter() - v0

    codec_total = sum(t.build_xml) + sum(t.archive)
    platform_total = codec_total + sum(sum(v) for v in t.stages.values())

    def line(label: str, seconds: float, per: int = n) -> str:
        ms = seconds / per * 1000
        rate = per / seconds if seconds else float("inf")
        return f"  {label:<44} {ms:9.3f} ms/acte   {rate:10.1f} actes/s"

    chosen = p.choose_compresslevel([pdf]) if compresslevel is None else compresslevel
    level = f"gzip niveau {chosen}"
    if compresslevel is None:
        level += " (choisi d'après le contenu)"
    print(f"@CTES — {n} actes, PDF de {len(pdf) / MiB:.2f} Mio chacun, {level}, un seul cœur")
    print(f"  archive moyenne : {statistics.mean(sizes) / MiB:.3f} Mio")
    print(line("construction + validation XSD (2 XML)", sum(t.build_xml)))
    print(line("archive .tar.gz (noms vérifiés, gzip)", sum(t.archive)))
    print(line("CODEC : construire + valider + archiver", codec_total))
    for name, values in t.stages.items():
        print(line(f"étape {name}", sum(values)))
    if t.stages:
        print(line("PLATEFORME : codec + étapes", platform_total))
    if t.read_back:
        print(line("(relecture sûre de l'archive, hors total)", sum(t.read_back)))
    print(line("lxml seul : valider les mêmes XML", lxml_total))
    share = lxml_total / codec_total * 100 if codec_total else 0.0
    print(f"  la validation lxml seule pèse {share:.1f} % du temps du codec")
    print(f"  durée totale de la boucle : {wall:.2f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="nombre d'actes (200)")
    parser.add_argument(
        "--compresslevel",
        type=int,
        default=None,
        help="niveau gzip (défaut : choisi d'après le contenu)",
    )
    parser.add_argument("--read-back", action="store_true", help="relire chaque archive")
    parser.add_argument(
        "--stage",
        action="append",
        default=[],
        metavar="MODULE:FONCTION",
        help="étape supplémentaire appelée avec (index, nom d'archive, octets)",
    )
    args = parser.parse_args(argv)
    stages = {spec.rpartition(":")[2]: load_stage(spec) for spec in args.stage}
    run(args.n, args.compresslevel, args.read_back, stages)


if __name__ == "__main__":
    sys.exit(main())
