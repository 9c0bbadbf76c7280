"""Archives: built by the naming rules, read defensively (traversal, links, bombs, non-gzip)."""

import gzip
import io
import tarfile
import zlib
from datetime import date, datetime
from pathlib import Path

import pytest

from emegalis.actes import protocol as p
from emegalis.actes.protocol import naming

from .conftest import STEM, all_envelopes, donnees, enveloppe_cl, make_acte

ENV_NAME = p.envelope_name(quadrigramme="EACT", siren="000000000", day=date(2024, 12, 10), serial=6)
MSG_NAME = STEM.message_name("1-1")
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _files(acte: p.Acte) -> dict[str, bytes]:
    names = [acte.document.nom_fichier, *(a.nom_fichier for a in acte.annexes)]
    return {name: PDF + name.encode() for name in names}


def _build(**options) -> bytes:
    acte = make_acte()
    return p.build_archive((ENV_NAME, enveloppe_cl()), {MSG_NAME: acte}, _files(acte), **options)


def test_archive_round_trip_every_member_named_by_the_rules_and_valid():
    acte = make_acte()
    data = _build(mtime=datetime(2024, 12, 10, 9, 30))
    assert data[:2] == b"\x1f\x8b"
    archive = p.read_archive(data)
    assert list(archive.files) == [ENV_NAME, MSG_NAME, *_files(acte)]
    assert archive.envelope_name == ENV_NAME
    assert archive.envelope == enveloppe_cl()
    assert archive.messages == {MSG_NAME: acte}
    assert archive.documents == _files(acte)
    assert naming.ENVELOPE_NAME_RE.match(ENV_NAME)
    assert naming.ARCHIVE_NAME_RE.match(p.archive_name_for_envelope(ENV_NAME, trigramme="abc"))
    for name, content in archive.files.items():
        if name.endswith("_0.xml"):
            assert naming.MESSAGE_NAME_RE.match(name)
            p.validate(content)
        elif name == ENV_NAME:
            p.validate(content)
        else:
            assert p.check_document_name(name, require_typologie=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for info in tar.getmembers():
            assert info.isreg() and info.mode == 0o644 and info.uid == 0
            assert info.mtime == int(datetime(2024, 12, 10, 9, 30).timestamp())


def test_archive_of_xml_bytes_and_file_paths(tmp_path: Path):
    acte = make_acte()
    files = {}
    for name, content in _files(acte).items():
        path = tmp_path / "upload.bin"
        path = tmp_path / f"{len(files)}.pdf"
        path.write_bytes(content)
        files[name] = path
    env_xml = p.build_envelope(enveloppe_cl())
    data = p.build_archive((ENV_NAME, env_xml), {MSG_NAME: p.build_acte(acte)}, files)
    assert p.read_archive(io.BytesIO(data)).messages[MSG_NAME] == acte


def test_every_prefecture_message_fits_in_a_return_archive():
    env = all_envelopes()["EnveloppeMISILLCL"]
    ar = p.ARActe(
        id_acte="034-000000000-20241209-20241209_MR02-DE",
        date_reception=date(2024, 12, 10),
        acte_recu=donnees(make_acte()),
        classification_date_en_cours=date(2017, 12, 8),
    )
    name = p.return_envelope_name(
        application="TACT", service="SPREF0342", siren="000000000", day=date(2024, 12, 10), serial=1
    )
    data = p.build_archive((name, env), {STEM.message_name("1-2"): ar})
    archive = p.read_archive(data)
    assert archive.envelope.destinataire_siren == "000000000"
    assert archive.messages[STEM.message_name("1-2")].acte_recu == ar.acte_recu


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda a, m, f: (("archive.xml", a[1]), m, f), "Nom d'enveloppe invalide"),
        (lambda a, m, f: (a, {"acte.xml": m[MSG_NAME]}, f), "ne concordent pas"),
        (lambda a, m, f: (a, m, dict(list(f.items())[:1])), "annoncée mais absente"),
        (lambda a, m, f: (a, m, {**f, "99_DE-x.pdf": PDF}), "qu'aucun message ne nomme"),
        (
            lambda a, m, f: (a, {STEM.message_name("1-2"): m[MSG_NAME]}, f),
            "ne concordent pas",
        ),
    ],
)
def test_inconsistent_archives_are_not_built(change, fragment):
    acte = make_acte()
    args = change((ENV_NAME, enveloppe_cl()), {MSG_NAME: acte}, _files(acte))
    with pytest.raises(p.ProtocolError, match=fragment):
        p.build_archive(*args)


def test_message_name_must_carry_its_code():
    acte = make_acte()
    wrong = STEM.message_name("6-1")
    with pytest.raises(p.NamingError, match="porte le code 6-1"):
        p.build_archive((ENV_NAME, enveloppe_cl([wrong])), {wrong: acte}, _files(acte))


def test_outgoing_documents_need_their_typology_prefix():
    acte = make_acte(
        document=p.FichierSigne(nom_fichier=STEM.document_name("1-1", 1, "pdf")), annexes=()
    )
    with pytest.raises(p.NamingError, match="code de typologie"):
        p.build_archive((ENV_NAME, enveloppe_cl()), {MSG_NAME: acte}, _files(acte))


def test_archive_size_cap_when_building():
    with pytest.raises(p.ArchiveError, match="taille maximale autorisée"):
        _build(limits=p.ArchiveLimits(max_archive_bytes=500))


# --- reading hostile archives ---


def _tar_gz(*members: tuple[tarfile.TarInfo, bytes | None], fmt=tarfile.GNU_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=fmt) as tar:
        for info, content in members:
            if content is not None:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
            else:
                tar.addfile(info)
    return buf.getvalue()


def _file(name: str, content: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), content


def _special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("../../etc/cron.d/x", "remonte dans l'arborescence (..)"),
        ("ok/../../x.xml", "remonte dans l'arborescence (..)"),
        ("/etc/passwd", "Chemin absolu interdit"),
        ("C:/Windows/x.xml", "Chemin absolu interdit"),
        ("dir\\..\\x.xml", "Nom de fichier interdit"),
        ("sub/x.xml", "Sous-dossier non autorisé"),
    ],
)
def test_member_paths_outside_a_flat_archive_are_refused(name, fragment):
    data = _tar_gz(_file("a.xml"), _file(name))
    with pytest.raises(p.ArchiveError, match=fragment):
        p.read_archive(data)


@pytest.mark.parametrize(
    ("member", "fragment"),
    [
        (_special("lien.pdf", tarfile.SYMTYPE, "/etc/passwd"), "Lien interdit"),
        (_special("dur.pdf", tarfile.LNKTYPE, "a.xml"), "Lien interdit"),
        (_special("tty", tarfile.CHRTYPE), "n'est pas un fichier ordinaire"),
        (_special("disque", tarfile.BLKTYPE), "n'est pas un fichier ordinaire"),
        (_special("tube", tarfile.FIFOTYPE), "n'est pas un fichier ordinaire"),
        (_special("dossier", tarfile.DIRTYPE), "Dossier non autorisé"),
    ],
)
def test_links_devices_and_folders_are_refused(member, fragment):
    data = _tar_gz(_file("a.xml"), member)
    with pytest.raises(p.ArchiveError, match=fragment):
        p.read_archive(data)


def test_dot_entry_and_dot_slash_names_are_accepted():
    data = _tar_gz(_special("./", tarfile.DIRTYPE), _file("./a.xml", b"<a/>"))
    assert p.read_archive(data).files == {"a.xml": b"<a/>"}


def test_pax_header_cannot_smuggle_a_traversal():
    info = tarfile.TarInfo("innocent.xml")
    info.pax_headers = {"path": "../evil.xml"}
    data = _tar_gz((info, b"x"), fmt=tarfile.PAX_FORMAT)
    with pytest.raises(p.ArchiveError, match="remonte dans l'arborescence"):
        p.read_archive(data)


def test_duplicate_members_are_refused():
    with pytest.raises(p.ArchiveError, match="en double"):
        p.read_archive(_tar_gz(_file("a.xml"), _file("a.xml")))


def test_too_many_members_are_refused():
    data = _tar_gz(*(_file(f"f{i}.xml") for i in range(6)))
    with pytest.raises(p.ArchiveError, match="trop de fichiers"):
        p.read_archive(data, p.ArchiveLimits(max_members=5))


def _gzip_stream_of_zeros(size: int) -> bytes:
    """A tar.gz holding one file of ``size`` zero bytes, built without holding it in memory."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    info = tarfile.TarInfo("bombe.pdf")
    info.size = size
    out = [comp.compress(info.tobuf(format=tarfile.GNU_FORMAT))]
    chunk = bytes(1024 * 1024)
    remaining = size + (-size % 512) + 1024  # data, padding, two end blocks
    while remaining > 0:
        n = min(remaining, len(chunk))
        out.append(comp.compress(chunk[:n]))
        remaining -= n
    out.append(comp.flush())
    return b"".join(out)


def test_gzip_bomb_is_stopped_by_the_compression_ratio():
    bomb = _gzip_stream_of_zeros(64 * 1024 * 1024)  # 64 MiB of zeros in ~64 KiB
    assert len(bomb) < 200 * 1024
    with pytest.raises(p.ArchiveError, match="Taux de compression anormal"):
        p.read_archive(bomb)


def test_gzip_bomb_is_stopped_by_the_size_cap_whatever_the_headers_say():
    bomb = _gzip_stream_of_zeros(3 * 1024 * 1024)
    limits = p.ArchiveLimits(max_total_bytes=2 * 1024 * 1024, max_ratio=1e9)
    with pytest.raises(p.ArchiveError, match="décompressée dépasse la taille maximale"):
        p.read_archive(bomb, limits)


def _pax_bomb(size: int) -> bytes:
    """A tar.gz whose first record is a PAX header of ``size`` bytes: tarfile reads it whole
    before yielding any member, so only the inflation counter can stop it."""
    pax = tarfile.TarInfo("././@PaxHeader")
    pax.type = tarfile.XHDTYPE
    pax.size = size
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [comp.compress(pax.tobuf(format=tarfile.USTAR_FORMAT))]
    chunk = b"0" * (1024 * 1024)
    remaining = size
    while remaining > 0:
        out.append(comp.compress(chunk[: min(remaining, len(chunk))]))
        remaining -= len(chunk)
    out.append(comp.flush())
    return b"".join(out)


def test_inflation_counter_holds_what_no_member_header_announces():
    limits = p.ArchiveLimits(max_total_bytes=2 * 1024 * 1024, max_ratio=1e9)
    with pytest.raises(p.ArchiveError, match="décompressée dépasse la taille maximale"):
        p.read_archive(_pax_bomb(3 * 1024 * 1024), limits)
    with pytest.raises(p.ArchiveError, match="Taux de compression anormal"):
        p.read_archive(_pax_bomb(64 * 1024 * 1024))


def test_member_size_cap():
    data = _tar_gz(_file("a.pdf", b"x" * 2000))
    with pytest.raises(p.ArchiveError, match="taille maximale d'un fichier"):
        p.read_archive(data, p.ArchiveLimits(max_member_bytes=1000))


def test_compressed_size_cap():
    with pytest.raises(p.ArchiveError, match="taille maximale autorisée"):
        p.read_archive(_build(), p.ArchiveLimits(max_archive_bytes=100))


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"PK\x03\x04 this is a zip", "n'est pas une archive .tar.gz"),
        (b"%PDF-1.7 not an archive", "n'est pas une archive .tar.gz"),
        (b"", "n'est pas une archive .tar.gz"),
        (b"\x1f\x8b\x08\x00garbage-after-magic", "gzip corrompue"),
        (gzip.compress(b"plain text, not a tar" * 10), "pas un tar valide"),
        (gzip.compress(bytes(1024)), "vide"),
    ],
)
def test_non_gzip_and_corrupt_input_are_refused(data, fragment):
    with pytest.raises(p.ArchiveError, match=fragment):
        p.read_archive(data)


def test_truncated_archive_is_refused():
    data = _build()
    with pytest.raises(p.ArchiveError, match="tronqué"):
        p.read_archive(data[: len(data) // 2])


def test_garbage_inside_the_stream_is_refused_padding_and_concatenated_members_are_read():
    data = _build()
    assert p.read_archive(data + bytes(1024)).envelope_name == ENV_NAME
    # gzip allows concatenated members: split the tar stream in two members
    raw = gzip.decompress(data)
    two = gzip.compress(raw[:1536]) + gzip.compress(raw[1536:])
    assert p.read_archive(two).envelope_name == ENV_NAME
    with pytest.raises(p.ArchiveError, match="Données inattendues"):
        p.read_archive(gzip.compress(raw[:1536]) + b"junk where the tar goes on")


def test_archive_without_envelope_or_with_missing_message():
    data = _tar_gz(_file("a.pdf", PDF))
    with pytest.raises(p.ArchiveError, match="exactement une enveloppe"):
        _ = p.read_archive(data).envelope
    env_xml = p.build_envelope(enveloppe_cl())
    data = _tar_gz(_file(ENV_NAME, env_xml))
    with pytest.raises(p.ArchiveError, match="annoncé par l'enveloppe est absent"):
        _ = p.read_archive(data).messages


def test_read_archive_never_writes_to_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p.read_archive(_tar_gz(_file("a.xml")))
    assert list(tmp_path.iterdir()) == []


def _deflate_blocks_stored(data: bytes) -> bool:
    """True when the gzip member's deflate stream is made of stored blocks only (BTYPE 00)."""
    body = data[10:]  # no FNAME nor FEXTRA: a fixed 10-byte header
    return (body[0] >> 1) & 0b11 == 0


def _acte_files(filler: bytes) -> tuple[p.Acte, dict[str, bytes]]:
    acte = make_acte()
    return acte, {name: PDF + filler for name in _files(acte)}


def test_already_compressed_content_is_stored_and_every_inflater_reads_it(tmp_path: Path):
    import os
    import shutil
    import subprocess

    acte, files = _acte_files(os.urandom(256 * 1024))  # a real signed PDF does not shrink
    data = p.build_archive((ENV_NAME, enveloppe_cl()), {MSG_NAME: acte}, files)
    assert _deflate_blocks_stored(data)
    assert len(data) < sum(map(len, files.values())) * 1.01 + 16 * 1024
    assert p.read_archive(data).documents == files
    assert gzip.decompress(data)  # Python's gzip module
    if shutil.which("tar"):  # GNU tar, as S²LOW runs it (tar xzf)
        (tmp_path / "a.tar.gz").write_bytes(data)
        subprocess.run(["tar", "xzf", "a.tar.gz"], cwd=tmp_path, check=True)
        for name, content in files.items():
            assert (tmp_path / name).read_bytes() == content


def test_compressible_content_is_deflated():
    acte, files = _acte_files(b"<ligne>budget primitif 2026</ligne>\n" * 8000)
    data = p.build_archive((ENV_NAME, enveloppe_cl()), {MSG_NAME: acte}, files)
    assert not _deflate_blocks_stored(data)
    assert len(data) < sum(map(len, files.values())) / 10
    assert p.read_archive(data).documents == files


def test_an_explicit_level_is_kept():
    import os

    acte, files = _acte_files(os.urandom(64 * 1024))
    data = p.build_archive((ENV_NAME, enveloppe_cl()), {MSG_NAME: acte}, files, compresslevel=6)
    assert not _deflate_blocks_stored(data)
