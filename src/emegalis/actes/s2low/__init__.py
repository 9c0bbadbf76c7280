"""The client API of a tiers de télétransmission, S²LOW-style: the paths and answers existing
client software (Pastell, web-delib…) expects."""
