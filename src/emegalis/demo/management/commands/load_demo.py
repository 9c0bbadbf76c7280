from django.core.management.base import BaseCommand

from emegalis.demo.region import DEMO_PASSWORD, load_demo_region

JOURNEYS = (
    "déposer un pli : DEMO-2026-001 et DEMO-2026-003 sont ouvertes aux dépôts (la commission "
    "a retiré ses parts) — entreprise.armor, « Consultations »",
    "retirer une part de clé : DEMO-2026-002 attend sa commission (dépôts pas encore "
    "ouverts) — commission.agglo et president.cao, « Commission d'ouverture »",
    "ouvrir, analyser, attribuer : DEMO-2026-010 (plis ouverts, lot 1 attribué) — acheteur.agglo",
    "transmettre un acte : referent.lorient ou actes.lanester, « Actes »",
    "s'inscrire comme entreprise : « Inscrire mon entreprise » sur l'accueil (le lien de "
    "confirmation s'affiche dans la console du serveur)",
)


class Command(BaseCommand):
    help = "Charge (ou met à jour) la région de démonstration et affiche les comptes de démo."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="N'affiche pas les comptes.")

    def handle(self, *args, quiet=False, **options):
        logins = load_demo_region()
        if quiet:
            return
        out = self.stdout
        out.write("")
        out.write(self.style.SUCCESS("Région de démonstration chargée (données fictives)."))
        out.write(f"Mot de passe de tous les comptes de démo : {DEMO_PASSWORD}")
        out.write("")
        for login in logins:
            out.write(f"  {login.email:<45} {login.roles}")
            out.write(f"  {'':<45} {login.organisations}")
            if login.totp_secret:
                out.write(f"  {'':<45} double authentification : secret TOTP {login.totp_secret}")
        out.write("")
        out.write(
            "Les comptes marqués « double authentification » demandent un code à 6 chiffres : "
            "ajoutez leur secret TOTP dans une application d'authentification, ou affichez le "
            "code du moment avec : make totp EMAIL=<adresse>"
        )
        from emegalis.demo.marches import COMMISSION_EMAILS
        from emegalis.demo.member_keys import key_file_path

        out.write(
            "Membres de commission d'ouverture de démo : leur part se retire sur "
            "/marches/commission/ avec leur fichier de clé de membre (à choisir sur la page) :"
        )
        for email in COMMISSION_EMAILS:
            out.write(f"  {email:<45} {key_file_path(email)}")
        out.write("")
        out.write("Parcours prêts :")
        for line in JOURNEYS:
            out.write(f"  - {line}")
        out.write("Plateforme : http://127.0.0.1:8000/")
