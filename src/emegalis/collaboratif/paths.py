"""Where a folder or a document sits under /dav/: « /<workspace slug>/<folders…>/<name> »."""

from .models import Document, Folder


def folder_names(folder: Folder | None) -> list[str]:
    names = []
    while folder is not None:
        names.append(folder.name)
        folder = folder.parent
    return list(reversed(names))


def folder_path(workspace_slug: str, folder: Folder | None) -> str:
    return "/" + "/".join([workspace_slug, *folder_names(folder)])


def document_path(document: Document) -> str:
    return f"{folder_path(document.workspace.slug, document.folder)}/{document.name}"


def is_inside(folder: Folder | None, ancestor: Folder) -> bool:
    """True when `folder` is `ancestor` or one of its sub-folders."""
    while folder is not None:
        if folder.pk == ancestor.pk:
            return True
        folder = folder.parent
    return False
