"""Helpers of the secure messaging tests: a consultation with two bidders, and sending."""

from django.core.files.uploadedfile import SimpleUploadedFile

from emegalis.marches.messaging import services as messaging_services
from emegalis.marches.messaging.models import MessageDirection
from emegalis.organisations.models import OrganisationKind
from emegalis.organisations.roles import Role
from tests.factories import OrganisationFactory, make_member
from tests.marches.helpers import deposit, offer_bytes


def company_of_user(user):
    return user.memberships.get(organisation__kind=OrganisationKind.ENTREPRISE).organisation


def make_bidders(consultation, *users):
    """Each user's company deposits a complete pli for the consultation."""
    for user in users:
        deposit(user, consultation, offer_bytes(2000))


def other_company_user():
    company = OrganisationFactory(
        name="Océane Services", kind=OrganisationKind.ENTREPRISE, insee_nature="", departement=""
    )
    return make_member(company, Role.ENTREPRISE)


def buyer_message(buyer, consultation, company, *, subject="Demande de précisions", **extra):
    """The buyer writes to one bidder through the service."""
    return messaging_services.send_message(
        actor=buyer,
        consultation=consultation,
        company=company,
        direction=MessageDirection.TO_COMPANY,
        subject=subject,
        body=extra.pop("body", "Merci de préciser le prix unitaire du poste 3."),
        **extra,
    )


def post_message(client, consultation, *, recipient, subject, body, attachment=None):
    """The buyer's messaging form, as a browser posts it (multipart)."""
    data = {"recipient": recipient, "subject": subject, "body": body}
    if attachment is not None:
        name, content = attachment
        data["attachment"] = SimpleUploadedFile(name, content)
    return client.post(f"/marches/acheteur/{consultation.pk}/messages/", data)
