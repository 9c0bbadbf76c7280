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
