"""The pages: members reach their groupement, nobody else does (404); a member sees its own
needs and the totals, the coordinator every member's; the needs sheet goes down and back up,
and a sheet that is not ours is refused cell by cell, nothing saved."""

import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from emegalis.groupements import services
from emegalis.groupements.models import Need

from .helpers import constituted, open_survey, side

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey_setup():
    agglo, commune, other = side(), side(), side()
    groupement = constituted(agglo, commune, other)
    survey = open_survey(agglo, groupement)
    first, second = survey.lots.get().items.all()
    services.record_needs(
        actor=other.coordinator,
        survey=survey,
        organisation=other.organisation,
        quantities={first.pk: "777", second.pk: "1"},
    )
    return agglo, commune, other, groupement, survey, first, second


def test_an_outsider_reaches_nothing_of_a_groupement(client, login, survey_setup):
    _agglo, _commune, _other, groupement, survey, _first, _second = survey_setup
    outsider = side()
    login(outsider.coordinator)
    version = services.latest_version(groupement)
    for url in (
        f"/groupements/{groupement.pk}/",
        f"/groupements/{groupement.pk}/modifier/",
        f"/groupements/convention/{version.pk}.pdf",
        f"/groupements/recensements/{survey.pk}/",
        f"/groupements/recensements/{survey.pk}/besoins.xlsx",
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(f"/groupements/recensements/{survey.pk}/", {"q-1": "5"})
    assert response.status_code == 404
    assert groupement.object not in client.get("/groupements/").content.decode()


def test_a_member_sees_its_own_needs_and_the_totals_only(client, login, survey_setup):
    agglo, commune, other, groupement, survey, first, second = survey_setup
    login(commune.coordinator)
    page = client.get(f"/groupements/recensements/{survey.pk}/").content.decode()
    assert "777" in page  # the total of the item
    assert other.organisation.name not in page  # no column per member
    response = client.post(
        f"/groupements/recensements/{survey.pk}/", {f"q-{first.pk}": "12", f"q-{second.pk}": "3"}
    )
    assert response.status_code == 302
    assert Need.objects.get(item=first, member__organisation=commune.organisation).quantity == 12
    client.logout()
    login(agglo.coordinator)
    page = client.get(f"/groupements/recensements/{survey.pk}/").content.decode()
    assert other.organisation.name in page and commune.organisation.name in page
    assert "789" in page  # 777 + 12


def test_a_bad_quantity_on_the_page_saves_nothing(client, login, survey_setup):
    _agglo, commune, _other, _groupement, survey, first, second = survey_setup
    login(commune.coordinator)
    response = client.post(
        f"/groupements/recensements/{survey.pk}/", {f"q-{first.pk}": "4", f"q-{second.pk}": "-1"}
    )
    assert response.status_code == 200
    assert "ne peut pas être négative" in response.content.decode()
    assert not Need.objects.filter(member__organisation=commune.organisation).exists()


def _download(client, survey):
    response = client.get(f"/groupements/recensements/{survey.pk}/besoins.xlsx")
    assert response.status_code == 200
    return load_workbook(
        io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content)
    )


def _upload(client, survey, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    sheet = SimpleUploadedFile("besoins.xlsx", data)
    return client.post(
        f"/groupements/recensements/{survey.pk}/import/", {"sheet": sheet}, follow=True
    )


def _bytes(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_needs_sheet_goes_down_filled_and_comes_back(client, login, survey_setup):
    _agglo, commune, _other, _groupement, survey, first, second = survey_setup
    login(commune.coordinator)
    book = _download(client, survey)
    sheet = book["Besoins"]
    assert sheet["A2"].value == first.pk and sheet["F2"].value == 0
    sheet["F2"] = 150
    sheet["F3"] = "2,5"
    response = _upload(client, survey, _bytes(book))
    assert "2 articles enregistrés" in response.content.decode()
    own = {
        n.item_id: n.quantity
        for n in Need.objects.filter(member__organisation=commune.organisation)
    }
    assert own == {first.pk: 150, second.pk: 2.5}
    assert _download(client, survey)["Besoins"]["F2"].value == 150


def _zip_with(data: bytes, extra_name: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        target.writestr(extra_name, b"macro")
    return out.getvalue()


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (
            lambda book: book["Besoins"].__setitem__("F3", -4),
            "Cellule F3 : une quantité ne peut pas être négative",
        ),
        (
            lambda book: book["Besoins"].__setitem__("F2", "beaucoup"),
            "Cellule F2 : « beaucoup » n&#x27;est pas un nombre",
        ),
        (
            lambda book: book["Besoins"].__setitem__("F2", "=1+1"),
            "Cellule F2 : les formules ne sont pas acceptées",
        ),
        (lambda book: book.create_sheet("Autre"), "la seule feuille « Besoins »"),
        (lambda book: book["Besoins"].__setitem__("A2", 424242), "Cellule A2 : référence"),
        (lambda book: book["Besoins"].__setitem__("C1", "Article"), "l&#x27;en-tête a été modifié"),
        (lambda book: book["Besoins"].__setitem__("H2", "note"), "Cellule H2 : hors du tableau"),
        (lambda book: book["Besoins"].append([1, 1, "ajout", "u", 1, 1]), "ligne ajoutée"),
    ],
)
def test_a_spoilt_sheet_is_refused_with_its_cell_and_nothing_saved(
    client, login, survey_setup, spoil, message
):
    _agglo, commune, _other, _groupement, survey, _first, _second = survey_setup
    login(commune.coordinator)
    book = _download(client, survey)
    book["Besoins"]["F2"] = 10
    spoil(book)
    response = _upload(client, survey, _bytes(book))
    assert message in response.content.decode()
    assert not Need.objects.filter(member__organisation=commune.organisation).exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda good: b"%PDF-1.7 pas un classeur", "n&#x27;est pas un classeur Excel"),
        (lambda good: _zip_with(good, "xl/vbaProject.bin"), "contient des macros"),
        (lambda good: good[: len(good) // 2], "n&#x27;est pas un classeur Excel"),
        (lambda good: _bytes(Workbook()), "la seule feuille « Besoins »"),
    ],
)
def test_a_file_that_is_not_our_sheet_is_refused(client, login, survey_setup, make, message):
    _agglo, commune, _other, _groupement, survey, _first, _second = survey_setup
    login(commune.coordinator)
    good = _bytes(_download(client, survey))
    response = _upload(client, survey, make(good))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Need.objects.filter(member__organisation=commune.organisation).exists()


def test_the_referent_signs_on_the_page_only_after_the_second_factor(client, login, login_verified):
    from datetime import date

    from emegalis.groupements.models import State

    from .helpers import record

    agglo, commune = side(), side()
    groupement = services.create_groupement(
        actor=agglo.coordinator, coordinator=agglo.organisation, **record()
    )
    services.add_member(
        actor=agglo.coordinator, groupement=groupement, organisation=commune.organisation
    )
    services.submit_for_signature(actor=agglo.coordinator, groupement=groupement)
    data = {"deliberation_date": "2026-11-20", "deliberation_number": "DEL-42"}
    login(commune.referent)
    page = client.get(f"/groupements/{groupement.pk}/").content.decode()
    assert "Signer la convention version 1" in page
    response = client.post(f"/groupements/{groupement.pk}/signer/", data)
    assert response.status_code == 302 and "/compte/" in response["Location"]
    assert not services.latest_version(groupement).signatures.exists()
    client.logout()
    login_verified(commune.referent)
    response = client.post(f"/groupements/{groupement.pk}/signer/", data)
    assert response.status_code == 302
    signature = services.latest_version(groupement).signatures.get()
    assert signature.deliberation_number == "DEL-42"
    assert signature.deliberation_date == date(2026, 11, 20)
    groupement.refresh_from_db()
    assert groupement.state == State.EN_SIGNATURE  # the coordinator has not signed yet
