"""Forms of the secure messaging: the buyer's message (one bidder or all) and a reply."""

from django import forms

from emegalis.core.forms import StyledFormMixin
from emegalis.marches import conf
from emegalis.marches.messaging import services

ALL_BIDDERS = "tous"


class MessageForm(StyledFormMixin, forms.Form):
    subject = forms.CharField(
        label="Objet",
        max_length=services.MAX_SUBJECT,
        error_messages={"required": "Indiquez l'objet du message."},
    )
    body = forms.CharField(
        label="Message",
        max_length=services.MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": "Le message est vide."},
    )
    attachment = forms.FileField(label="Pièce jointe (facultatif)", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[
            "attachment"
        ].help_text = f"Un fichier, {conf.human_size(services.attachment_max_bytes())} au plus."

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        if upload and upload.size > services.attachment_max_bytes():
            raise forms.ValidationError(services.attachment_too_big())
        return upload

    def attachment_kwargs(self) -> dict:
        """`attachment_name` and `attachment_content` for services.send_message."""
        upload = self.cleaned_data.get("attachment")
        if not upload:
            return {}
        return {"attachment_name": upload.name, "attachment_content": upload.read()}


class BuyerMessageForm(MessageForm):
    """The buyer writes to one bidder or to every bidder (one message each)."""

    field_order = ["recipient", "subject", "body", "attachment"]

    recipient = forms.ChoiceField(
        label="Destinataire",
        error_messages={
            "required": "Choisissez le destinataire.",
            "invalid_choice": "Choisissez une entreprise ayant déposé un pli.",
        },
    )

    def __init__(self, *args, bidders=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.bidders = {str(company.pk): company for company in bidders}
        choices = [(pk, company.name) for pk, company in self.bidders.items()]
        if len(choices) > 1:
            choices.insert(0, (ALL_BIDDERS, f"Toutes les entreprises ({len(choices)})"))
        self.fields["recipient"].choices = [("", "— Choisissez le destinataire —"), *choices]

    @property
    def to_all(self) -> bool:
        return self.cleaned_data.get("recipient") == ALL_BIDDERS

    def company(self):
        """The chosen company (None for « toutes »)."""
        return None if self.to_all else self.bidders[self.cleaned_data["recipient"]]


class ReplyForm(MessageForm):
    """A reply in a thread; the subject is prefilled with « Re : … »."""

    def __init__(self, *args, replying_to=None, **kwargs):
        if replying_to is not None and not args and "initial" not in kwargs:
            subject = replying_to.subject
            if not subject.lower().startswith(("re :", "re:")):
                subject = f"Re : {subject}"
            kwargs["initial"] = {"subject": subject[: services.MAX_SUBJECT]}
        super().__init__(*args, **kwargs)


class CompanyMessageForm(MessageForm):
    """A company writes first to the buyer of a consultation where it deposited a pli."""

    field_order = ["thread", "subject", "body", "attachment"]

    thread = forms.ChoiceField(
        label="Consultation",
        error_messages={
            "required": "Choisissez la consultation.",
            "invalid_choice": "Choisissez une consultation où votre entreprise a déposé un pli.",
        },
    )

    def __init__(self, *args, threads=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.threads = {f"{c.pk}:{o.pk}": (c, o) for c, o in threads}
        self.fields["thread"].choices = [("", "— Choisissez la consultation —")] + [
            (key, f"{c.reference} — {c.title} ({c.organisation.name}) — {o.name}")
            for key, (c, o) in self.threads.items()
        ]

    def consultation_and_company(self):
        return self.threads[self.cleaned_data["thread"]]
