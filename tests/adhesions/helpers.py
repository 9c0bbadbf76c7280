from django.core.files.storage import default_storage

from emegalis.core.pdf import DocumentBuilder


def stored_files(root: str) -> set[str]:
    """Every file name under a folder of the default storage, recursively."""
    found: set[str] = set()

    def walk(path: str) -> None:
        try:
            folders, files = default_storage.listdir(path)
        except FileNotFoundError:
            return
        found.update(f"{path}/{name}" for name in files)
        for folder in folders:
            walk(f"{path}/{folder}")

    walk(root)
    return found


def pdf_bytes(text: str = "Convention signée") -> bytes:
    doc = DocumentBuilder(title=text)
    doc.paragraph(text)
    return doc.build()
