"""Secure messaging between a consultation's buyer and each bidder."""
