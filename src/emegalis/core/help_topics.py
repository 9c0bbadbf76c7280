"""The help centre's pages: one per journey, each for the people who make it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class HelpTopic:
    slug: str
    title: str
    audience: str


TOPICS = (
    HelpTopic("entreprise-inscription", "Inscrire mon entreprise", "Entreprises"),
    HelpTopic("entreprise-trouver", "Trouver une consultation et créer une alerte", "Entreprises"),
    HelpTopic("entreprise-telecharger", "Télécharger un dossier de consultation", "Entreprises"),
    HelpTopic("entreprise-question", "Poser une question à l'acheteur", "Entreprises"),
    HelpTopic("entreprise-deposer", "Déposer un pli", "Entreprises"),
    HelpTopic(
        "entreprise-accuse", "Retrouver mes dépôts et mes accusés de réception", "Entreprises"
    ),
    HelpTopic("acheteur-publier", "Publier une consultation et suivre ses dépôts", "Acheteurs"),
    HelpTopic("commission-ouvrir", "Ouvrir les plis en commission", "Membres de commission"),
    HelpTopic("actes-transmettre", "Transmettre un acte à la préfecture", "Agents « actes »"),
)

BY_SLUG = {topic.slug: topic for topic in TOPICS}


def by_audience() -> list[tuple[str, list[HelpTopic]]]:
    groups: dict[str, list[HelpTopic]] = {}
    for topic in TOPICS:
        groups.setdefault(topic.audience, []).append(topic)
    return list(groups.items())
