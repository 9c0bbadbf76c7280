"""Member keys and share hand-over in Chromium (WebCrypto P-256, IndexedDB): a commission
member makes their key in the browser and saves the key file; another member's key file is
imported on the share page; each opens their share (encrypted to their key, so the page
never carries the words), downloads it, confirms it, and deposits open. The words shown by
the browser are the share committed at the ceremony; a wrong key file is refused."""

import json
import re
from datetime import date, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from emegalis.core import clock, sealing
from emegalis.core.services_catalog import Service
from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.consultations.models import Nature, Procedure
from emegalis.marches.opening import member_side
from emegalis.marches.opening import services as opening_services
from emegalis.marches.opening.models import CommissionMember
from emegalis.organisations.roles import Role
from tests.factories import (
    PASSWORD,
    OrganisationFactory,
    make_convention,
    make_member,
    token_for,
)

pytestmark = pytest.mark.browser


def _log_in(page, user, device):
    page.goto("/compte/connexion/")
    page.get_by_label("Adresse électronique").fill(user.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.locator("#id_token").fill(token_for(device))
    page.get_by_role("button", name="Valider").click()
    expect(page).to_have_url(re.compile(r"/tableau-de-bord/$"))


def _words_shown(page) -> list[str]:
    items = page.locator("#share-words .share-word").all_inner_texts()
    return [item.split(". ", 1)[1] for item in items]


def test_members_make_keys_in_the_browser_and_collect_their_shares(
    browser, live_server, transactional_db, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    commune = OrganisationFactory(name="Commune d'Auray", departement="056")
    make_convention(commune, [Service.MARCHES], start=date(2020, 1, 1), end=None)
    buyer = make_member(commune, Role.ACHETEUR)
    alice = make_member(commune, Role.COMMISSION)
    bruno = make_member(commune, Role.COMMISSION)
    devices = {
        u.pk: TOTPDevice.objects.create(user=u, confirmed=True, name="e2e") for u in (alice, bruno)
    }
    # Bruno made his key on another computer and kept its key file.
    bruno_key = member_side.create_key(bruno)
    bruno_file = tmp_path / "cle-bruno.json"
    bruno_file.write_text(member_side.key_file(bruno_key, bruno.email), encoding="utf-8")
    stranger_file = tmp_path / "cle-autre.json"
    stranger_file.write_text(
        member_side.key_file(ec.generate_private_key(ec.SECP256R1()), "x"),
        encoding="utf-8",
    )

    context = browser.new_context(base_url=live_server.url, locale="fr-FR", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    _log_in(page, alice, devices[alice.pk])
    page.goto("/marches/commission/")
    page.get_by_role("link", name="Créer ma clé de membre").click()
    page.get_by_role("button", name="Créer ma clé dans ce navigateur").click()
    expect(page.locator("#member-key-created")).to_contain_text("Clé créée")
    with page.expect_download() as saved:
        page.locator("#member-key-download").click()
    key_file = json.loads(saved.value.path().read_text(encoding="utf-8"))
    alice_key = opening_services.active_member_key(alice)
    assert alice_key is not None
    assert alice_key.fingerprint in page.locator("#member-key-created").inner_text()
    # The key file is the private key of the public key the platform received.
    assert member_side.public_key_bytes(
        member_side.load_key_file(json.dumps(key_file))
    ) == bytes.fromhex(alice_key.public_key)

    consultation = consultations_services.create_consultation(
        actor=buyer,
        organisation=commune,
        reference="E2E-CLE-01",
        title="Nettoyage des écoles",
        object="Nettoyage des écoles et de leurs vitres.",
        procedure=Procedure.AO_OUVERT,
        nature=Nature.SERVICES,
        cpv_main="90910000-9",
        departement="056",
        bids_deadline=clock.now() + timedelta(days=40),
        questions_deadline=clock.now() + timedelta(days=30),
    )
    commission = opening_services.create_opening_commission(
        actor=buyer, consultation=consultation, members=[alice, bruno], threshold=2
    )

    # Alice opens her share with the key kept in this browser.
    page.goto(f"/marches/commission/{consultation.pk}/part/")
    html = page.content()
    page.get_by_role("button", name="Afficher ma part").click()
    expect(page.locator("#share-words .share-word")).to_have_count(33)
    words = _words_shown(page)
    assert " ".join(words[:6]) not in html  # the page carried it encrypted only
    seat = commission.members.get(user=alice)
    assert sealing.verify_share(" ".join(words), seat.share_commitment, commission.public_key_bytes)
    with page.expect_download() as text:
        page.get_by_role("button", name="Télécharger ma part (fichier texte)").click()
    downloaded = text.value.path().read_text(encoding="utf-8")
    assert commission.fingerprint in downloaded and words[32] in downloaded
    # The download is confirmed on the page; once collected, the share's buttons are gone.
    expect(page.locator("#share-download-done")).to_contain_text("enregistré")
    page.get_by_role("button", name="J'ai conservé ma part").click()
    expect(page.locator("#share-done")).to_contain_text("Part retirée")
    expect(page.get_by_role("button", name="Télécharger ma part (fichier texte)")).to_be_hidden()
    expect(page.get_by_role("button", name="J'ai conservé ma part")).to_be_hidden()
    page.reload()
    expect(page.locator("#share-collected")).to_be_visible()
    expect(page.get_by_role("button", name="Afficher ma part")).to_have_count(0)
    seat.refresh_from_db()
    assert seat.has_collected and seat.encrypted_share is None
    context.close()

    # Bruno, on a browser without his key: a wrong key file is refused, his own opens it.
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    _log_in(page, bruno, devices[bruno.pk])
    page.goto(f"/marches/commission/{consultation.pk}/part/")
    expect(page.locator("#share-key-missing")).to_be_visible()
    page.locator("#share-key-file").set_input_files(str(stranger_file))
    page.get_by_role("button", name="Afficher ma part").click()
    expect(page.locator("#share-error")).to_contain_text("n'est pas celui")
    page.locator("#share-key-file").set_input_files(str(bruno_file))
    page.get_by_role("button", name="Afficher ma part").click()
    expect(page.locator("#share-words .share-word")).to_have_count(33)
    bruno_words = _words_shown(page)
    page.get_by_role("button", name="J'ai conservé ma part").click()
    expect(page.locator("#share-done")).to_contain_text("Toutes les parts sont retirées")
    context.close()

    commission.refresh_from_db()
    assert commission.is_complete
    assert not CommissionMember.objects.filter(encrypted_share__isnull=False).exists()
    key = sealing.combine_shares(
        [" ".join(words), " ".join(bruno_words)], 2, commission.public_key_bytes
    )
    assert sealing.public_key_of(key) == commission.public_key_bytes
