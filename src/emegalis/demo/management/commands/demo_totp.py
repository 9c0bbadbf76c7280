from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Affiche le code à 6 chiffres du moment pour un compte de démonstration."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        device = (
            TOTPDevice.objects.filter(user__email__iexact=email, user__is_demo=True, confirmed=True)
            .order_by("id")
            .first()
        )
        if device is None:
            raise CommandError(
                f"Aucun compte de démonstration avec double authentification pour {email}."
            )
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
