"""The classification of an authority: natures with their typologies, matières on 1 to 5 levels.

A ``RetourClassification`` (message 7-2) is read into these plain dataclasses by
:func:`emegalis.actes.protocol.parse_classification`. The helpers answer the questions asked
before an act is sent: is this typology allowed for this nature, does this matière path exist.
Source: domain brief §6 and §8, XSD element ``RetourClassification``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

from .constants import NATURES, SIGNATURE_TYPOLOGY
from .errors import ClassificationError


@dataclass(frozen=True, kw_only=True)
class TypePJ:
    """A typology (``CodeTypePJ``) allowed for a nature, e.g. ``99_DE`` « Délibération »."""

    code: str
    libelle: str


@dataclass(frozen=True, kw_only=True)
class NatureActe:
    code: int | None  # optional in the XSD; derived from the abbreviation when absent
    libelle: str
    type_abrege: str
    typologies: tuple[TypePJ, ...] = ()

    def typology(self, code: str) -> TypePJ | None:
        return next((t for t in self.typologies if t.code == code), None)


@dataclass(frozen=True, kw_only=True)
class Matiere:
    code: int
    libelle: str
    niveau: int  # 1 to 5
    enfants: tuple[Matiere, ...] = ()

    def child(self, code: int) -> Matiere | None:
        return next((m for m in self.enfants if m.code == code), None)


@dataclass(frozen=True, kw_only=True)
class Classification:
    date_classification: date
    natures: tuple[NatureActe, ...] = ()
    matieres: tuple[Matiere, ...] = ()
    _by_code: dict[int, NatureActe] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "natures", tuple(self.natures))
        object.__setattr__(self, "matieres", tuple(self.matieres))
        object.__setattr__(
            self, "_by_code", {n.code: n for n in self.natures if n.code is not None}
        )

    # --- natures and typologies ---

    def nature(self, code_nature: int) -> NatureActe:
        try:
            return self._by_code[int(code_nature)]
        except (KeyError, TypeError, ValueError):
            raise ClassificationError(
                f"La nature d'acte {code_nature} n'existe pas dans la classification du "
                f"{self.date_classification:%d/%m/%Y}.",
                field="code_nature",
            ) from None

    def is_typology_allowed(self, code_nature: int, code_typologie: str) -> bool:
        """True if the typology is listed for the nature; ``99_SE`` is valid for every nature."""
        if code_typologie == SIGNATURE_TYPOLOGY and int(code_nature) in self._by_code:
            return True
        nature = self._by_code.get(int(code_nature))
        return nature is not None and nature.typology(code_typologie) is not None

    def check_typology(
        self, code_nature: int, code_typologie: str, *, field: str = "typologie"
    ) -> TypePJ:
        nature = self.nature(code_nature)
        if not self.is_typology_allowed(code_nature, code_typologie):
            allowed = ", ".join(t.code for t in nature.typologies)
            raise ClassificationError(
                f"La typologie « {code_typologie} » n'est pas autorisée pour la nature "
                f"« {nature.libelle} ». Typologies possibles : {allowed}.",
                field=field,
            )
        return nature.typology(code_typologie) or TypePJ(
            code=SIGNATURE_TYPOLOGY, libelle="Fichier de signature électronique"
        )

    # --- matières ---

    def matiere_path(self, codes: Sequence[int], *, field: str = "matieres") -> tuple[Matiere, ...]:
        """The chain of matières that ``codes`` designates (levels 1 and 2 mandatory, ≤ 5)."""
        codes = [int(c) for c in codes]
        if len(codes) < 2:
            raise ClassificationError(
                "La classification de l'acte doit préciser au moins les niveaux 1 et 2.",
                field=field,
            )
        if len(codes) > 5:
            raise ClassificationError(
                "La classification d'un acte compte au plus 5 niveaux.", field=field
            )
        path: list[Matiere] = []
        level: Sequence[Matiere] = self.matieres
        for depth, code in enumerate(codes, start=1):
            found = next((m for m in level if m.code == code), None)
            if found is None:
                shown = ".".join(str(c) for c in codes[:depth])
                raise ClassificationError(
                    f"La matière {shown} n'existe pas dans la classification du "
                    f"{self.date_classification:%d/%m/%Y}.",
                    field=field,
                )
            path.append(found)
            level = found.enfants
        return tuple(path)

    def iter_matieres(self) -> Iterator[tuple[tuple[int, ...], Matiere]]:
        """Every matière with its code path, depth first."""

        def walk(prefix: tuple[int, ...], items: Sequence[Matiere]):
            for m in items:
                path = (*prefix, m.code)
                yield path, m
                yield from walk(path, m.enfants)

        yield from walk((), self.matieres)

    def count_by_level(self) -> dict[int, int]:
        counts = dict.fromkeys(range(1, 6), 0)
        for path, _ in self.iter_matieres():
            counts[len(path)] += 1
        return counts


def nature_code_from_abbreviation(abbreviation: str) -> int | None:
    return next((n.code for n in NATURES.values() if n.abbreviation == abbreviation), None)
