from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from emegalis.adhesions.access import enabled_services
from emegalis.adhesions.models import Contribution, Convention
from emegalis.core.journal import first_break
from emegalis.core.services_catalog import Service
from emegalis.demo.region import DEMO_PASSWORD, demo_email, demo_organisation, load_demo_region
from emegalis.organisations.models import Organisation, OrganisationKind, User


@pytest.mark.django_db
def test_demo_region_loads_twice_without_duplicates(capsys):
    call_command("load_demo")
    counts = (Organisation.objects.count(), User.objects.count(), Convention.objects.count())
    call_command("load_demo", "--quiet")
    assert (
        Organisation.objects.count(),
        User.objects.count(),
        Convention.objects.count(),
    ) == counts
    out = capsys.readouterr().out
    assert DEMO_PASSWORD in out
    assert demo_email("referent.lorient") in out
    assert first_break() is None


@pytest.mark.django_db
def test_demo_region_has_the_expected_shape():
    call_command("load_demo", "--quiet")
    agglo = demo_organisation("agglo")
    communes = agglo.children.filter(kind=OrganisationKind.COMMUNE)
    assert communes.count() >= 6
    assert Organisation.objects.filter(kind__in=["ca", "cc", "cu", "metropole"]).count() >= 2
    assert Organisation.objects.filter(kind=OrganisationKind.ENTREPRISE).count() == 3
    assert Organisation.objects.filter(kind=OrganisationKind.PREFECTURE).count() == 1
    assert not Organisation.objects.filter(is_demo=False).exists()
    for organisation in Organisation.objects.all():
        organisation.full_clean()  # SIREN/SIRET checksums, codes

    contribution = Contribution.objects.get(payer=agglo, year=2026)
    assert str(contribution.amount_ht) == "3000.00"
    assert set(communes) <= set(contribution.beneficiaries.all())


@pytest.mark.django_db
def test_demo_conventions_follow_the_access_rule():
    call_command("load_demo", "--quiet")
    on = date(2026, 6, 1)
    assert enabled_services(demo_organisation("lorient"), on) == set(Service.values)
    assert enabled_services(demo_organisation("hennebont"), on) == {
        Service.ACTES,
        Service.FORMATIONS,
    }
    # Still being deliberated, and terminated on 1 January 2026.
    assert enabled_services(demo_organisation("larmor"), on) == set()
    assert enabled_services(demo_organisation("queven"), on) == set()
    assert enabled_services(demo_organisation("queven"), date(2025, 12, 31)) == {Service.MARCHES}


@pytest.mark.django_db
def test_every_demo_login_works(client):
    call_command("load_demo", "--quiet")
    for user in User.objects.filter(is_demo=True):
        response = client.post(
            "/compte/connexion/", {"username": user.email, "password": DEMO_PASSWORD}
        )
        assert response.status_code == 302, user.email
        client.post("/compte/deconnexion/")


@pytest.mark.django_db
def test_demo_totp_prints_current_code_only_for_demo_accounts(capsys):
    from django.core.management.base import CommandError
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    call_command("load_demo", "--quiet")
    email = demo_email("operateur")
    call_command("demo_totp", email)
    code = capsys.readouterr().out.strip()
    device = TOTPDevice.objects.get(user__email=email)
    assert int(code) == totp(device.bin_key)
    with pytest.raises(CommandError):
        call_command("demo_totp", demo_email("referent.lorient"))


@pytest.mark.django_db
def test_demo_issues_the_2026_calls_once():
    from emegalis.adhesions.models import ContributionCall

    call_command("load_demo", "--quiet")
    call_command("load_demo", "--quiet")
    calls = ContributionCall.objects.filter(contribution__year=2026)
    assert calls.count() == 2
    agglo_call = calls.get(contribution__payer=demo_organisation("agglo"))
    assert (agglo_call.amount_ht, agglo_call.amount_ttc) == (Decimal("3000.00"), Decimal("3600.00"))
    assert not agglo_call.is_paid
    assert calls.get(contribution__payer=demo_organisation("aqta")).is_paid


@pytest.mark.django_db
def test_the_demo_has_a_consultation_open_for_deposits_and_one_waiting_for_its_commission():
    from emegalis.marches.consultations.models import Consultation
    from emegalis.marches.deposit.services import deposit_refusal

    load_demo_region()
    open_for_deposits = Consultation.objects.get(reference="DEMO-2026-001")
    waiting = Consultation.objects.get(reference="DEMO-2026-002")
    assert deposit_refusal(open_for_deposits) == ""
    assert open_for_deposits.opening_commission.is_complete
    assert "commission" in deposit_refusal(waiting)
    assert not waiting.opening_commission.is_complete
