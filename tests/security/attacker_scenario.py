"""The attacker scenario, run in its own process against a real database file (or a real
PostgreSQL database) by test_sealed_against_server_secrets.py.

A buyer names a 2-of-3 opening commission, its members collect their shares, a company
deposits and confirms a pli. Then the process prints one JSON line (ids, public key, the
receipt's SHA-256: never a share or a key) after RESULT_MARKER and waits for a line on stdin
before exiting, so that the test can copy the database files while the "server" still runs,
as the outside tester did. No VACUUM, no checkpoint: only what the project itself does.

Every call that depends on the sealing API is in scenario_steps.py.
"""

import json
import os
import sys
from datetime import date, timedelta
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
RESULT_MARKER = "ATTACKER-SCENARIO-RESULT "
OFFER_SIZE = 3 * 1024 * 1024 + 17  # several 1 MiB chunks and a short tail


def main() -> None:
    sys.path[:0] = [str(PROJECT_DIR), str(PROJECT_DIR / "src")]
    import django

    django.setup()
    from django.core.files.base import ContentFile
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

    from emegalis.core import clock
    from emegalis.core.services_catalog import Service
    from emegalis.marches.consultations import dce
    from emegalis.marches.consultations import services as consultations_services
    from emegalis.marches.consultations.models import Nature, Procedure
    from emegalis.marches.deposit.models import Pli
    from emegalis.organisations.models import OrganisationKind
    from emegalis.organisations.roles import Role
    from tests.factories import OrganisationFactory, make_convention, make_member
    from tests.security import scenario_steps

    commune = OrganisationFactory(name="Commune de Lorient", departement="056")
    make_convention(commune, [Service.MARCHES], start=date(2020, 1, 1), end=None)
    buyer = make_member(commune, Role.ACHETEUR)
    members = [make_member(commune, Role.COMMISSION) for _ in range(3)]
    company = OrganisationFactory(
        name="Armor Bâtiment", kind=OrganisationKind.ENTREPRISE, insee_nature="", departement=""
    )
    company_user = make_member(company, Role.ENTREPRISE)

    now = clock.now()
    consultation = consultations_services.create_consultation(
        actor=buyer,
        organisation=commune,
        reference="2026-ATK",
        title="Nettoyage des écoles",
        object="Prestations de nettoyage des groupes scolaires et de vitrerie.",
        procedure=Procedure.AO_OUVERT,
        nature=Nature.SERVICES,
        cpv_main="90910000-9",
        bids_deadline=now + timedelta(days=40),
        questions_deadline=now + timedelta(days=30),
    )
    rc = ContentFile(b"%PDF-1.4 reglement")
    rc.name = "RC.pdf"
    dce.add_dce_file(actor=buyer, consultation=consultation, uploaded_file=rc)

    threshold = 2
    scenario_steps.name_commission(
        buyer=buyer, consultation=consultation, members=members, threshold=threshold
    )
    shares = scenario_steps.collect_shares(consultation=consultation, members=members)
    assert len(shares) == len(members)
    del shares  # the members keep them off the platform; the scenario writes them nowhere
    consultation = consultations_services.publish(actor=buyer, consultation=consultation)

    content = os.urandom(OFFER_SIZE)
    receipt_sha256 = scenario_steps.deposit_pli(
        company_user=company_user, consultation=consultation, content=content
    )
    del content
    pli = Pli.objects.get(consultation=consultation)
    result = {
        "consultation_id": consultation.pk,
        "pli_id": pli.pk,
        "pli_file_ids": sorted(pli.files.values_list("pk", flat=True)),
        "member_user_ids": [m.pk for m in members],
        "threshold": threshold,
        "public_key": scenario_steps.public_key_hex(consultation),
        "receipt_sha256": receipt_sha256,
        "offer_size": OFFER_SIZE,
    }
    sys.stdout.write(RESULT_MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()
    # The platform keeps running while the attacker copies its files.
    sys.stdin.readline()


if __name__ == "__main__":
    main()
