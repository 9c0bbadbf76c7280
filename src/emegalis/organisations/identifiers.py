"""Building checksum-valid SIREN and SIRET numbers (for demo data and tests)."""

from stdnum import luhn


def siren_from_prefix(prefix: str) -> str:
    """An 8-digit prefix completed with its Luhn check digit."""
    if len(prefix) != 8 or not prefix.isdigit():
        raise ValueError("A SIREN prefix has 8 digits.")
    return prefix + luhn.calc_check_digit(prefix)


def siret_from_siren(siren: str, nic_prefix: str = "0001") -> str:
    """A SIRET for the SIREN: 4-digit establishment prefix, then the Luhn check digit."""
    base = siren + nic_prefix
    return base + luhn.calc_check_digit(base)
