from django import forms

from emegalis.core.forms import StyledFormMixin

from .models import Role


class WorkspaceForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label="Nom de l'espace", max_length=120)
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class FolderForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label="Nom du dossier", max_length=200)


class UploadForm(StyledFormMixin, forms.Form):
    file = forms.FileField(label="Fichier")
    comment = forms.CharField(
        label="Commentaire de version",
        max_length=300,
        required=False,
        help_text="Facultatif : ce qui change dans cette version.",
    )


class RenameForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label="Nom", max_length=200)
    folder = forms.ChoiceField(label="Dossier", required=False)

    def __init__(self, *args, folders=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["folder"].choices = [("", "Racine de l'espace")] + [
            (str(f.pk), f.name) for f in folders
        ]


class InviteForm(StyledFormMixin, forms.Form):
    email = forms.EmailField(label="Adresse électronique")
    role = forms.ChoiceField(label="Rôle", choices=Role.choices, initial=Role.CONTRIBUTEUR)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class _MembersAndDocuments(StyledFormMixin, forms.Form):
    def __init__(self, *args, workspace=None, **kwargs):
        super().__init__(*args, **kwargs)
        users = [m.user for m in workspace.members.select_related("user")] if workspace else []
        self.users = {str(u.pk): u for u in users}
        for name in ("mentions", "attendees"):
            if name in self.fields:
                self.fields[name].choices = [
                    (str(u.pk), u.get_full_name() or u.email) for u in users
                ]
        if "documents" in self.fields and workspace is not None:
            docs = workspace.documents.filter(trashed_at__isnull=True)
            self.documents = {str(d.pk): d for d in docs}
            self.fields["documents"].choices = [(str(d.pk), d.name) for d in docs]

    def chosen_users(self, name: str) -> list:
        return [self.users[pk] for pk in self.cleaned_data.get(name, [])]

    def chosen_documents(self) -> list:
        return [self.documents[pk] for pk in self.cleaned_data.get("documents", [])]


class PostForm(_MembersAndDocuments):
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 5}))
    mentions = forms.MultipleChoiceField(
        label="Mentionner",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Les membres mentionnés reçoivent un courriel, quel que soit leur choix.",
    )
    documents = forms.MultipleChoiceField(
        label="Lier des documents", required=False, widget=forms.CheckboxSelectMultiple
    )


class ThreadForm(PostForm):
    title = forms.CharField(label="Sujet", max_length=200)
    field_order = ["title", "body", "mentions", "documents"]


class NotifyForm(forms.Form):
    notify = forms.ChoiceField(choices=())

    def __init__(self, *args, **kwargs):
        from .models import Notify

        super().__init__(*args, **kwargs)
        self.fields["notify"].choices = Notify.choices


DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class EventForm(_MembersAndDocuments):
    title = forms.CharField(label="Intitulé", max_length=200)
    starts_at = forms.DateTimeField(label="Début", widget=DATETIME)
    ends_at = forms.DateTimeField(label="Fin", widget=DATETIME)
    place = forms.CharField(label="Lieu", max_length=200, required=False)
    video_url = forms.URLField(label="Lien de visioconférence", required=False)
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    recurrence = forms.ChoiceField(label="Répétition", required=False)
    occurrences = forms.IntegerField(
        label="Nombre d'occurrences", required=False, min_value=2, max_value=366
    )
    attendees = forms.MultipleChoiceField(
        label="Participants",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Chaque participant reçoit l'invitation par courriel, avec le fichier .ics.",
    )

    def __init__(self, *args, **kwargs):
        from .models import Recurrence

        super().__init__(*args, **kwargs)
        self.fields["recurrence"].choices = Recurrence.choices

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("attendees", None)
        data["recurrence"] = data.get("recurrence") or ""
        return data
